"""What the transformers and CTranslate2 backends share: language tokens, input encoding, the decode loop.

:class:`LanguageTokens` reads a tokenizer vocabulary's language-token layout (``nllb``,
``m2m100``, ``marian-multi`` or ``fixed``, see :mod:`projner.translate.seq2seq`);
:class:`TokenizerFrontend` turns texts into input/label ids, splits long inputs (or refuses
them), and runs the batched translate loop and forced-decoding scores; a backend supplies only
``_generate`` (one batch), ``_score_outputs`` (the scores of what it generated) and
``_score_ids`` (forced decoding of given targets).
"""

from __future__ import annotations

import re
from typing import Sequence

from projner.errors import E, ProjnerError
from projner.signature import component_signature
from projner.translate.base import Translation, batches_by_length, check_pairs, check_texts, join_pieces, split_long
from projner.translate.langcodes import _NLLB_RE, _parse, _unsupported, to_m2m100, to_nllb

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


class TokenizerFrontend:
    """Turns texts into model input/label ids for one tokenizer + language-token layout.

    Needs ``name``, ``model_name``, ``tokenizer``, ``vocab``, ``langs``, ``eos_id``,
    ``max_input_tokens``, ``long_inputs``, ``beam``, ``max_length``, ``batch_size``,
    ``with_scores`` and ``counts``. Shared by the transformers and CTranslate2 backends, which
    supply :meth:`_generate`, :meth:`_score_outputs` and :meth:`_score_ids`.
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

    # ------------------------------------------------------------------ what a backend supplies

    def _generate(self, batch: list[list[int]], tgt_token: str | None, n_forced: int) -> tuple[list[list[int]], list]:
        """Translate one batch of input ids: per input, the output ids to decode into text, and the
        output as :meth:`_score_outputs` takes it. ``tgt_token``: the forced target-language token."""
        raise NotImplementedError

    def _score_outputs(self, batch: list[list[int]], outputs: list, n_forced: int) -> list[tuple[float, int]]:
        """(summed log-probability, scored tokens) of each generated output given its input."""
        raise NotImplementedError

    def _score_ids(self, src_ids: list[list[int]], labels: list[list[int]], n_forced: int) -> list[tuple[float, int]]:
        """(summed log-probability, scored tokens) of each label sequence by forced decoding, the first
        ``n_forced`` labels left out."""
        raise NotImplementedError

    # ------------------------------------------------------------------ the shared loop

    def score(self, src_texts: Sequence[str], tgt_texts: Sequence[str], src: str, tgt: str) -> list[float]:
        s, t = check_pairs(src_texts, tgt_texts)
        self.langs.check(src, tgt)
        if not s:
            return []
        src_ids = self._encode_src(s, src, tgt)
        self._check_lengths(src_ids, s)
        labels, n_forced = self._encode_tgt(t, tgt)
        return [tot / max(cnt, 1) for tot, cnt in self._score_ids(src_ids, labels, n_forced)]

    def translate(self, sentences: Sequence[str], src: str, tgt: str) -> list[Translation]:
        texts = check_texts(sentences)
        if not texts:
            return []
        self.langs.check(src, tgt)
        forced = self.langs.family in ("nllb", "m2m100")
        tgt_token = self.langs.token(tgt) if forced else None
        pieces, piece_ids, owner = self._pieces(texts, src, tgt)
        results: list[tuple[str, float, int]] = [("", 0.0, 0)] * len(pieces)
        n_forced = 1 if forced else 0
        for idx in batches_by_length([len(x) for x in piece_ids], self.batch_size):
            batch = [piece_ids[i] for i in idx]
            out_ids, outputs = self._generate(batch, tgt_token, n_forced)
            texts_out = self.tokenizer.batch_decode(out_ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)
            scored = self._score_outputs(batch, outputs, n_forced) if self.with_scores else [(0.0, 0)] * len(idx)
            for k, i in enumerate(idx):
                results[i] = (texts_out[k].strip(), scored[k][0], scored[k][1])
        self.counts["sentences"] += len(texts)
        return join_pieces(owner, results, self.with_scores)

    def signature(self) -> str:
        return component_signature("translator", self.name, model=self.model_name, family=self.langs.family,
                                   beam=self.beam, max_length=self.max_length, long_inputs=self.long_inputs)
