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
import re
from collections import Counter
from pathlib import Path
from typing import Sequence

from projner.errors import E, ProjnerError
from projner.registry import translators
from projner.translate.base import Translation, Translator, batches_by_length, join_pieces, check_pairs, check_texts, split_long
from projner.translate.langcodes import _NLLB_RE, _parse, iso639_3, to_m2m100, to_nllb

_M2M_TOKEN = re.compile(r"^__([a-z]{2,3})__$")
_MARIAN_TOKEN = re.compile(r"^>>([a-zA-Z_]{2,8})<<$")
LONG_INPUT_MODES = ("error", "split")


def detect_family(vocab: dict[str, int] | Sequence[str]) -> str:
    """``nllb``, ``m2m100``, ``marian-multi`` or ``fixed`` from a tokenizer vocabulary."""
    toks = list(vocab)
    if any(_NLLB_RE.match(t) for t in toks):
        return "nllb"
    if any(_M2M_TOKEN.match(t) for t in toks):
        return "m2m100"
    if any(_MARIAN_TOKEN.match(t) for t in toks):
        return "marian-multi"
    return "fixed"


class LanguageTokens:
    """Maps user language codes onto one model's language tokens (or checks them, for fixed models)."""

    def __init__(self, vocab: dict[str, int], model_name: str):
        self.family = detect_family(vocab)
        self.model_name = model_name
        self.vocab = vocab
        if self.family == "nllb":
            self.supported = sorted(t for t in vocab if _NLLB_RE.match(t))
        elif self.family == "m2m100":
            self.supported = sorted(m.group(1) for t in vocab if (m := _M2M_TOKEN.match(t)))
        elif self.family == "marian-multi":
            self.supported = sorted(m.group(1) for t in vocab if (m := _MARIAN_TOKEN.match(t)))
        else:
            self.supported = []

    def token(self, code: str) -> str | None:
        """The language token for ``code`` (None for fixed-pair models); E180/E181 when unusable."""
        full = self.supported and len(self.supported) >= 100
        if self.family == "nllb":
            return to_nllb(code, self.supported, "NLLB-200" if full else self.model_name)
        if self.family == "m2m100":
            return f"__{to_m2m100(code, self.supported, 'M2M100' if full else self.model_name)}__"
        if self.family == "marian-multi":
            iso, script = _parse(code)
            inv = {"swh": "sw"}
            for cand in (f"{iso}_{script}" if script else None, iso, inv.get(iso), code):
                if cand and cand in self.supported:
                    return f">>{cand}<<"
            from projner.translate.langcodes import _unsupported

            near = [c for c in self.supported if c[:2] == iso[:2]][:6]
            raise _unsupported(code, iso, f"{self.model_name} (targets: {', '.join(self.supported[:30])})", near)
        _parse(code)  # syntax check only
        return None


    def check(self, src: str, tgt: str) -> None:
        """Validate a language pair for this model (E180 unknown code, E181 unsupported language)."""
        if self.family in ("nllb", "m2m100"):
            self.token(src)
        else:
            _parse(src)
        self.token(tgt)


def _resolve_device(device: str | None) -> str:
    import torch

    if device in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise ProjnerError(E.E185, detail=f"device {device!r} requested but CUDA is not available")
    return str(device)


class TokenizerFrontend:
    """Turns texts into model input/label ids for one tokenizer + language-token layout.

    Needs ``tokenizer``, ``langs``, ``eos_id``, ``max_input_tokens``, ``long_inputs`` and ``counts``.
    Shared by the transformers and CTranslate2 backends.
    """

    # ------------------------------------------------------------------ encoding

    def _lang_id(self, code: str) -> int | None:
        tok = self.langs.token(code)
        return None if tok is None else self.vocab[tok]

    def _encode_src(self, texts: list[str], src: str, tgt: str) -> list[list[int]]:
        fam = self.langs.family
        if fam == "fixed":
            return [list(x) for x in self.tokenizer(texts, add_special_tokens=True)["input_ids"]]
        body = self.tokenizer(texts, add_special_tokens=False)["input_ids"] if texts else []
        if fam in ("nllb", "m2m100"):
            sid = self._lang_id(src)
            return [[sid, *ids, self.eos_id] for ids in body]
        tid = self._lang_id(tgt)  # marian-multi: >>tgt<< prefix
        return [[tid, *ids, self.eos_id] for ids in body]

    def _encode_tgt(self, texts: list[str], tgt: str) -> tuple[list[list[int]], int]:
        """Label ids for forced decoding, and how many leading forced tokens to leave out of the score."""
        fam = self.langs.family
        if fam == "fixed":
            return [list(x) for x in self.tokenizer(text_target=texts, add_special_tokens=True)["input_ids"]], 0
        body = self.tokenizer(texts, add_special_tokens=False)["input_ids"] if texts else []
        if fam in ("nllb", "m2m100"):
            tid = self._lang_id(tgt)
            return [[tid, *ids, self.eos_id] for ids in body], 1
        return [[*ids, self.eos_id] for ids in body], 0

    def _n_special(self, src: str, tgt: str) -> int:
        return len(self._encode_src([""], src, tgt)[0])

    def _check_lengths(self, src_ids: list[list[int]], texts: list[str]) -> None:
        for i, ids in enumerate(src_ids):
            if len(ids) > self.max_input_tokens:
                raise ProjnerError(
                    E.E183, index=i, n_tokens=len(ids), limit=self.max_input_tokens,
                    action="forced-decoding scores need the whole sentence in one input; shorten it",
                )

    def _pieces(self, texts: list[str], src: str, tgt: str) -> tuple[list[str], list[list[int]], list[list[int]]]:
        """Input pieces to translate and, per input sentence, the indices of its pieces."""
        ids = self._encode_src(texts, src, tgt)
        pieces: list[str] = []
        piece_ids: list[list[int]] = []
        owner: list[list[int]] = []
        budget = self.max_input_tokens - self._n_special(src, tgt)
        for i, (text, seq) in enumerate(zip(texts, ids)):
            if not text.strip():
                owner.append([])
                continue
            if len(seq) <= self.max_input_tokens:
                owner.append([len(pieces)])
                pieces.append(text)
                piece_ids.append(seq)
                continue
            if self.long_inputs == "error":
                raise ProjnerError(
                    E.E183, index=i, n_tokens=len(seq), limit=self.max_input_tokens,
                    action="split it, or pass long_inputs='split' (--long-inputs split) to cut it at punctuation and count the cuts",
                )
            words = text.split()
            n_tok = [len(x) for x in self.tokenizer(words, add_special_tokens=False)["input_ids"]]
            chunks = split_long(words, n_tok, budget)
            for a, b in chunks:
                if sum(n_tok[a:b]) > budget:
                    raise ProjnerError(
                        E.E183, index=i, n_tokens=sum(n_tok[a:b]), limit=budget,
                        action=f"the single word {words[a][:40]!r} does not fit the model input",
                    )
            self.counts["split_sentences"] += 1
            self.counts["split_pieces"] += len(chunks)
            mine = []
            for a, b in chunks:
                mine.append(len(pieces))
                piece = " ".join(words[a:b])
                pieces.append(piece)
                piece_ids.append(self._encode_src([piece], src, tgt)[0])
            owner.append(mine)
        return pieces, piece_ids, owner


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

    def score(self, src_texts: Sequence[str], tgt_texts: Sequence[str], src: str, tgt: str) -> list[float]:
        s, t = check_pairs(src_texts, tgt_texts)
        self.langs.check(src, tgt)
        if not s:
            return []
        src_ids = self._encode_src(s, src, tgt)
        self._check_lengths(src_ids, s)
        labels, n_forced = self._encode_tgt(t, tgt)
        out: list[float] = [0.0] * len(s)
        lengths = [len(a) + len(b) for a, b in zip(src_ids, labels)]
        for idx in batches_by_length(lengths, self.batch_size):
            res = self._forced_logprobs([src_ids[i] for i in idx], [labels[i] for i in idx], n_forced)
            for i, (tot, cnt) in zip(idx, res):
                out[i] = tot / max(cnt, 1)
        return out

    # ------------------------------------------------------------------ translation

    def translate(self, sentences: Sequence[str], src: str, tgt: str) -> list[Translation]:
        import torch

        texts = check_texts(sentences)
        if not texts:
            return []
        self.langs.check(src, tgt)
        tgt_id = self._lang_id(tgt) if self.langs.family in ("nllb", "m2m100") else None
        pieces, piece_ids, owner = self._pieces(texts, src, tgt)
        results: list[tuple[str, float, int]] = [("", 0.0, 0)] * len(pieces)
        gen_kw = dict(num_beams=self.beam, max_new_tokens=self.max_length, do_sample=False)
        if self.beam > 1:
            gen_kw["early_stopping"] = True
        if tgt_id is not None:
            gen_kw["forced_bos_token_id"] = tgt_id
        n_forced = 1 if tgt_id is not None else 0
        for idx in batches_by_length([len(x) for x in piece_ids], self.batch_size):
            inp, att = self._pad([piece_ids[i] for i in idx], self.pad_id)
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
            texts_out = self.tokenizer.batch_decode(labels, skip_special_tokens=True, clean_up_tokenization_spaces=False)
            if self.with_scores:
                scored = self._forced_logprobs([piece_ids[i] for i in idx], labels, n_forced)
            else:
                scored = [(0.0, 0)] * len(idx)
            for k, i in enumerate(idx):
                results[i] = (texts_out[k].strip(), scored[k][0], scored[k][1])
        self.counts["sentences"] += len(texts)
        return join_pieces(owner, results, self.with_scores)

    def signature(self) -> str:
        return (
            f"seq2seq(model={self.model_name},family={self.langs.family},beam={self.beam},"
            f"max_length={self.max_length},long_inputs={self.long_inputs})"
        )


@translators.register("projner.translator.seq2seq.v1")
def make_seq2seq_translator(model: str, **params) -> Seq2SeqTranslator:
    return Seq2SeqTranslator(model, **params)


__all__ = ["Seq2SeqTranslator", "LanguageTokens", "detect_family", "make_seq2seq_translator", "iso639_3"]
