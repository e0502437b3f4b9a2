"""Translation with CTranslate2 (a converted model folder), for fast CPU/GPU inference.

``ctranslate2`` is optional and imported only when a :class:`CT2Translator` is built; without it
the error is E020 with the pip command. Convert a transformers model first, e.g.
``ct2-transformers-converter --model facebook/nllb-200-distilled-600M --output_dir nllb-ct2
--copy_files tokenizer.json tokenizer_config.json special_tokens_map.json`` (or
:func:`convert_transformers`). The tokenizer is the transformers one: from the model folder when
it was copied there, else from ``tokenizer=`` (a folder or name).

Language tokens, input limits (``long_inputs="error"|"split"``, never silent truncation) and the
score (mean log-probability per target token, forced language token excluded, end of sentence
included; computed by forced decoding with ``score_batch``) are the same as for the
transformers backend, so the two are interchangeable.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

from projner.errors import E, ProjnerError
from projner.registry import translators
from projner.translate.base import Translator
from projner.translate.frontend import LONG_INPUT_MODES, LanguageTokens, TokenizerFrontend


def _import_ct2():
    try:
        import ctranslate2
    except ImportError:
        raise ProjnerError(E.E020, package="ctranslate2", hint="ctranslate2  (or projner[translate])") from None
    return ctranslate2


def convert_transformers(model: str, output_dir: str | Path, *, quantization: str | None = None, force: bool = False) -> Path:
    """Convert a transformers seq2seq model (name or folder) to a CTranslate2 folder; copies the tokenizer files."""
    _import_ct2()
    from ctranslate2.converters import TransformersConverter

    files = [f for f in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "sentencepiece.bpe.model")
             if (Path(model) / f).is_file()]
    try:
        TransformersConverter(str(model), copy_files=files or None).convert(str(output_dir), quantization=quantization, force=force)
    except (OSError, ValueError, RuntimeError, NotImplementedError) as exc:
        raise ProjnerError(E.E182, model=str(model), detail=f"CTranslate2 conversion failed: {exc}") from None
    return Path(output_dir)


class CT2Translator(TokenizerFrontend, Translator):
    name = "ct2"

    def __init__(
        self,
        model: str | Path,
        *,
        tokenizer: str | None = None,
        beam: int = 4,
        max_length: int = 256,
        batch_size: int = 16,
        device: str | None = None,
        compute_type: str = "default",
        long_inputs: str = "error",
        max_input_tokens: int | None = None,
        threads: int = 0,
        with_scores: bool = True,
    ):
        ct2 = _import_ct2()
        if beam < 1 or max_length < 1 or batch_size < 1:
            raise ProjnerError(E.E185, detail=f"beam, max_length and batch_size must be >= 1, got {beam}, {max_length}, {batch_size}")
        if long_inputs not in LONG_INPUT_MODES:
            raise ProjnerError(E.E185, detail=f"long_inputs must be one of {LONG_INPUT_MODES}, got {long_inputs!r}")
        self.model_name = str(model)
        if not (Path(self.model_name) / "model.bin").is_file():
            raise ProjnerError(
                E.E182, model=self.model_name,
                detail="not a CTranslate2 folder (no model.bin); convert it with ct2-transformers-converter or projner.translate.ct2.convert_transformers",
            )
        self.beam, self.max_length, self.batch_size = int(beam), int(max_length), int(batch_size)
        self.long_inputs, self.with_scores = long_inputs, bool(with_scores)
        if device in (None, "auto"):
            device = "cuda" if ct2.get_cuda_device_count() > 0 else "cpu"
        self.device = device
        try:
            from transformers import AutoTokenizer
        except ImportError as exc:
            raise ProjnerError(E.E020, package=str(exc.name), hint="projner[neural]") from None
        tok_src = tokenizer or self.model_name
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(tok_src, local_files_only=Path(tok_src).is_dir() or os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0"))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ProjnerError(E.E182, model=self.model_name, detail=f"no usable tokenizer at {tok_src!r} (pass tokenizer=...): {str(exc).splitlines()[0][:200]}") from None
        try:
            self.translator = ct2.Translator(self.model_name, device=device, compute_type=compute_type,
                                             inter_threads=1, intra_threads=int(threads))
        except (RuntimeError, ValueError) as exc:
            raise ProjnerError(E.E182, model=self.model_name, detail=str(exc)) from None
        self.vocab = self.tokenizer.get_vocab()
        self.langs = LanguageTokens(self.vocab, self.model_name)
        self.eos_id = self.tokenizer.eos_token_id
        if self.eos_id is None:
            raise ProjnerError(E.E182, model=self.model_name, detail="the tokenizer defines no end-of-sentence token")
        limits = [int(max_input_tokens)] if max_input_tokens else []
        tml = getattr(self.tokenizer, "model_max_length", None)
        if isinstance(tml, int) and 0 < tml < 1_000_000:
            limits.append(tml)
        cfg = Path(self.model_name) / "config.json"
        self.max_input_tokens = min(limits) if limits else 1024
        self._ct2_config = json.loads(cfg.read_text()) if cfg.is_file() else {}
        self.counts: Counter = Counter()

    def _toks(self, ids: list[int]) -> list[str]:
        return self.tokenizer.convert_ids_to_tokens(ids)

    def _score_outputs(self, batch: list[list[int]], outputs: list[list[str]], n_forced: int) -> list[tuple[float, int]]:
        src_tok = [self._toks(ids) for ids in batch]
        res = self.translator.score_batch(src_tok, outputs, max_batch_size=self.batch_size, max_input_length=0)
        out = []
        for r in res:
            lp = list(r.log_probs)[n_forced:]
            out.append((float(sum(lp)), len(lp)))
        return out

    def _score_ids(self, src_ids: list[list[int]], labels: list[list[int]], n_forced: int) -> list[tuple[float, int]]:
        # CTranslate2 appends the end token itself
        tgt_tok = [self._toks(lab[:-1] if lab and lab[-1] == self.eos_id else lab) for lab in labels]
        return self._score_outputs(src_ids, tgt_tok, n_forced)

    def _generate(self, batch: list[list[int]], tgt_token: str | None, n_forced: int) -> tuple[list[list[int]], list[list[str]]]:
        res = self.translator.translate_batch(
            [self._toks(ids) for ids in batch], target_prefix=None if tgt_token is None else [[tgt_token] for _ in batch],
            beam_size=self.beam, max_decoding_length=self.max_length, max_input_length=0, return_scores=False,
        )
        hyps = [list(r.hypotheses[0]) for r in res]
        for h in hyps:
            if len(h) >= self.max_length:
                self.counts["output_cut"] += 1
        return [self.tokenizer.convert_tokens_to_ids(h[n_forced:]) for h in hyps], hyps


@translators.register("projner.translator.ct2.v1")
def make_ct2_translator(model: str, **params) -> CT2Translator:
    return CT2Translator(model, **params)
