"""Translation with any transformers seq2seq model (NLLB, M2M100, Marian, BART-style), by name or folder.

Language handling is read off the tokenizer's vocabulary:

* ``nllb``: codes such as ``eng_Latn`` are tokens. Input ``[src_code] text </s>``, output forced
  to start with the target code (``forced_bos_token_id``), as NLLB-200 expects.
* ``m2m100``: codes such as ``__en__``; same layout.
* ``marian-multi``: target tokens such as ``>>swh<<`` prefixed to the input.
* ``fixed``: a one-pair model (e.g. ``opus-mt-en-de``); language codes are checked for syntax only.

Sentences are translated in batches of similar length. A sentence longer than the model's input
limit is never silently truncated: ``long_inputs="error"`` (default) raises E183 naming it,
``"split"`` cuts it at punctuation/word boundaries into pieces that fit, translates them and
joins the outputs; every split is counted in :attr:`Seq2SeqTranslator.counts`. Outputs that hit
``max_length`` before end-of-sentence are counted too (``output_cut``).
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from projner.errors import E, ProjnerError
from projner.registry import translators
from projner.translate.base import Translator, batches_by_length
from projner.translate.frontend import LONG_INPUT_MODES, LanguageTokens, TokenizerFrontend


def _resolve_device(device: str | None) -> str:
    import torch

    if device in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise ProjnerError(E.E185, detail=f"device {device!r} requested but CUDA is not available")
    return str(device)


class Seq2SeqTranslator(TokenizerFrontend, Translator):
    """A transformers ``AutoModelForSeq2SeqLM`` translator (see module docs)."""

    name = "seq2seq"

    def __init__(
        self,
        model: str,
        *,
        beam: int = 4,
        max_length: int = 256,
        batch_size: int = 16,
        device: str | None = None,
        long_inputs: str = "error",
        max_input_tokens: int | None = None,
        dtype: str | None = None,
        with_scores: bool = True,
    ):
        if beam < 1:
            raise ProjnerError(E.E185, detail=f"beam must be >= 1, got {beam}")
        if max_length < 1:
            raise ProjnerError(E.E185, detail=f"max_length must be >= 1, got {max_length}")
        if batch_size < 1:
            raise ProjnerError(E.E185, detail=f"batch_size must be >= 1, got {batch_size}")
        if long_inputs not in LONG_INPUT_MODES:
            raise ProjnerError(E.E185, detail=f"long_inputs must be one of {LONG_INPUT_MODES}, got {long_inputs!r}")
        try:
            import torch
            from transformers import AutoModelForSeq2SeqLM, AutoTokenizer
        except ImportError as exc:
            raise ProjnerError(E.E020, package=str(exc.name), hint="projner[neural]") from None
        self.model_name = str(model)
        self.beam, self.max_length, self.batch_size = int(beam), int(max_length), int(batch_size)
        self.long_inputs, self.with_scores = long_inputs, bool(with_scores)
        self.device = _resolve_device(device)
        from projner.data.paths import missing_model_folder

        missing = missing_model_folder(self.model_name)  # a path-like name is a folder, never a hub id
        if missing:
            raise ProjnerError(E.E182, model=self.model_name, detail=missing)
        local = Path(self.model_name).is_dir()
        offline = local or os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.model_name, local_files_only=offline)
            kw = {}
            if dtype is not None:
                kw["dtype"] = getattr(torch, dtype)
            self.model = AutoModelForSeq2SeqLM.from_pretrained(self.model_name, local_files_only=offline, **kw)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ProjnerError(E.E182, model=self.model_name, detail=str(exc).splitlines()[0][:300]) from None
        if not getattr(self.tokenizer, "is_fast", True) and not hasattr(self.tokenizer, "get_vocab"):
            raise ProjnerError(E.E182, model=self.model_name, detail="tokenizer has no vocabulary")
        self.model.to(self.device).eval()
        self.vocab = self.tokenizer.get_vocab()
        self.langs = LanguageTokens(self.vocab, self.model_name)
        cfg = self.model.config
        self.eos_id = self.tokenizer.eos_token_id if self.tokenizer.eos_token_id is not None else cfg.eos_token_id
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else cfg.pad_token_id
        if self.eos_id is None or self.pad_id is None:
            raise ProjnerError(E.E182, model=self.model_name, detail="the tokenizer defines no end-of-sentence or padding token")
        limits = [int(max_input_tokens)] if max_input_tokens else []
        tml = getattr(self.tokenizer, "model_max_length", None)
        if isinstance(tml, int) and 0 < tml < 1_000_000:
            limits.append(tml)
        mpe = getattr(cfg, "max_position_embeddings", None)
        if isinstance(mpe, int) and mpe > 0:
            limits.append(mpe)
        self.max_input_tokens = min(limits) if limits else 1024
        self.counts: Counter = Counter()

    def _pad(self, seqs: list[list[int]], value: int):
        import torch

        width = max(len(s) for s in seqs)
        out = torch.full((len(seqs), width), value, dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for i, s in enumerate(seqs):
            out[i, : len(s)] = torch.tensor(s, dtype=torch.long)
            mask[i, : len(s)] = 1
        return out.to(self.device), mask.to(self.device)

    # ------------------------------------------------------------------ scoring

    def _forced_logprobs(self, src_ids: list[list[int]], labels: list[list[int]], n_forced: int) -> list[tuple[float, int]]:
        """(sum of log-probs, number of scored tokens) per pair, the first ``n_forced`` labels left out."""
        import torch

        inp, att = self._pad(src_ids, self.pad_id)
        lab, lmask = self._pad(labels, self.pad_id)
        with torch.inference_mode():
            masked = lab.masked_fill(lmask == 0, -100)
            logits = self.model(input_ids=inp, attention_mask=att, labels=masked).logits
            logp = torch.log_softmax(logits.float(), dim=-1).gather(-1, lab.unsqueeze(-1)).squeeze(-1)
        keep = lmask.clone()
        keep[:, :n_forced] = 0
        tot = (logp * keep).sum(-1).tolist()
        cnt = keep.sum(-1).tolist()
        return [(float(t), int(c)) for t, c in zip(tot, cnt)]

    def _score_ids(self, src_ids: list[list[int]], labels: list[list[int]], n_forced: int) -> list[tuple[float, int]]:
        out: list[tuple[float, int]] = [(0.0, 0)] * len(src_ids)
        lengths = [len(a) + len(b) for a, b in zip(src_ids, labels)]
        for idx in batches_by_length(lengths, self.batch_size):
            res = self._forced_logprobs([src_ids[i] for i in idx], [labels[i] for i in idx], n_forced)
            for i, r in zip(idx, res):
                out[i] = r
        return out

    # ------------------------------------------------------------------ translation

    def _generate(self, batch: list[list[int]], tgt_token: str | None, n_forced: int) -> tuple[list[list[int]], list[list[int]]]:
        import torch

        gen_kw = dict(num_beams=self.beam, max_new_tokens=self.max_length, do_sample=False)
        if self.beam > 1:
            gen_kw["early_stopping"] = True
        if tgt_token is not None:
            gen_kw["forced_bos_token_id"] = self.vocab[tgt_token]
        inp, att = self._pad(batch, self.pad_id)
        with torch.inference_mode():
            seqs = self.model.generate(input_ids=inp, attention_mask=att, **gen_kw)
        labels: list[list[int]] = []
        for row in seqs.tolist():
            row = row[1:]  # the decoder start token
            if self.eos_id in row[n_forced:]:
                row = row[: row.index(self.eos_id, n_forced) + 1]
            else:
                self.counts["output_cut"] += 1
                while row and row[-1] == self.pad_id:
                    row.pop()
            labels.append(row or [self.eos_id])
        return labels, labels

    def _score_outputs(self, batch: list[list[int]], outputs: list[list[int]], n_forced: int) -> list[tuple[float, int]]:
        return self._forced_logprobs(batch, outputs, n_forced)


@translators.register("projner.translator.seq2seq.v1")
def make_seq2seq_translator(model: str, **params) -> Seq2SeqTranslator:
    return Seq2SeqTranslator(model, **params)


__all__ = ["Seq2SeqTranslator", "make_seq2seq_translator"]
