"""Scores for (source entity, target candidate) pairs, as named, pluggable components.

Every scorer turns one parallel pair, its source entities and the target candidate set into a
matrix ``[n_entities, n_candidates]`` of scores (higher is better; the built-in ones lie in
[0, 1] except the NER score, which the length factor may push above 1). Registered in
:data:`projner.registry.scorers`:

``projner.scorer.alignment.v1``  word-alignment agreement (:class:`AlignmentScorer`)
``projner.scorer.ner.v1``        target-side NER probability × length factor (:class:`NERScorer`)
``projner.scorer.translation.v1`` a :class:`TranslationModel` 's score (:class:`TranslationScorer`)
``projner.scorer.string.v1``     character n-gram overlap, diacritics folded (:class:`StringSimilarityScorer`)
``projner.scorer.fusion.v1``     weighted sum of the above (:class:`FusionScorer`)

Weights are written ``"align=1,ner=0.5"`` (:func:`parse_weights`); the short component names
are ``align``, ``ner``, ``translation`` and ``string``.
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable, Mapping, Protocol, Sequence, runtime_checkable

import numpy as np

from projner.errors import E, ProjnerError
from projner.project.candidates import CandidateSet
from projner.project.filters import DETERMINERS
from projner.registry import scorers
from projner.signature import component_signature, nest
from projner.types import Alignment, ParallelPair, Span

COMPONENTS = ("align", "ner", "translation", "string")


@runtime_checkable
class Scorer(Protocol):
    name: str

    def matrix(self, pair: ParallelPair, entities: Sequence[Span], cands: CandidateSet) -> np.ndarray: ...

    def signature(self) -> str: ...


# ----------------------------------------------------------------------------- alignment


def link_matrix(alignment: Alignment, n_src: int, n_tgt: int, weighted: bool = False) -> np.ndarray:
    """Dense ``[n_src, n_tgt]`` link weights: 1 per link, or ``Link.score`` (missing → 1) when weighted."""
    m = np.zeros((n_src, n_tgt), dtype=np.float64)
    for l in alignment.links:
        m[l.src, l.tgt] = (1.0 if l.score is None else float(l.score)) if weighted else 1.0
    if weighted:
        np.clip(m, 0.0, 1.0, out=m)
    return m


def _range_max(rows: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``out[i, c] = max(rows[i, starts[c] : starts[c] + lengths[c]])`` for all rows and candidates."""
    n_rows, n = rows.shape
    out = np.zeros((n_rows, len(starts)), dtype=np.float64)
    if len(starts) == 0 or n == 0:
        return out
    win = rows.copy()  # win[:, s] = max over rows[:, s : s + L] for the current L
    for L in range(1, int(lengths.max()) + 1):
        if L > 1:
            win = np.maximum(win[:, :-1], rows[:, L - 1 :])
        sel = np.nonzero(lengths == L)[0]
        if len(sel):
            out[:, sel] = win[:, starts[sel]]
    return out


@dataclass(frozen=True)
class AlignmentScorer:
    """Agreement between the word alignment and a (source entity, candidate) pair.

    ``mode="words"`` (default): (source words of the entity with a link into the candidate +
    candidate words with a link into the entity) / (entity length + candidate length). On
    one-to-one links this equals the classic ``2 * aligned_links / (len(entity) + len(candidate))``,
    and it stays in [0, 1] when one word carries several links, so 1:n alignments onto
    compounds ("Member States" → "Mitgliedstaaten") score 1.0 instead of being lost.
    ``mode="links"``: the classic formula itself, clipped to 1.

    ``unaligned_weight`` (γ, default 1 = classic) makes the score tolerant of words the aligner
    left unaligned altogether (no link to anything): such a source word of the entity, and such
    a target word strictly inside the candidate (not its first or last word), count only γ in
    the denominator. With γ < 1, "cohesion funds" → "Fondo de cohesión" with "de" unaligned
    scores 1.0 instead of 0.8, while candidates still pay fully for unaligned edge words
    ("los Países Bajos").

    ``target_share``: a candidate word counts with the share of its links that go into the
    entity rather than 1, so a word also linked outside the entity ("Dutch channel" →
    "niederländischen Sender", "Sender" linked to both) counts half.

    ``weighted``: a word counts with its strongest link's probability (``Link.score``,
    missing → 1) instead of 1. ``strip_determiners``: a leading English determiner of a
    multi-word source entity ("the", "a", "an") is left out of the entity for scoring.
    """

    weighted: bool = False
    mode: str = "words"
    strip_determiners: bool = False
    unaligned_weight: float = 1.0
    target_share: bool = False
    determiners: frozenset[str] = DETERMINERS
    name: str = field(default="align", init=False)

    def __post_init__(self) -> None:
        if self.mode not in ("words", "links"):
            raise ProjnerError(E.E128, detail=f"alignment score mode must be 'words' or 'links', got {self.mode!r}")
        if not (0.0 <= self.unaligned_weight <= 1.0):
            raise ProjnerError(E.E128, detail=f"unaligned_weight must be in [0, 1], got {self.unaligned_weight!r}")

    def entity_range(self, tokens: Sequence[str], e: Span) -> tuple[int, int]:
        if self.strip_determiners and len(e) > 1 and tokens[e.start].lower() in self.determiners:
            return e.start + 1, e.end
        return e.start, e.end

    def matrix(self, pair: ParallelPair, entities: Sequence[Span], cands: CandidateSet) -> np.ndarray:
        n_c = len(cands)
        out = np.zeros((len(entities), n_c), dtype=np.float64)
        if n_c == 0 or not entities:
            return out
        L = link_matrix(pair.alignment, len(pair.src), len(pair.tgt), self.weighted)
        starts, ends = cands.starts, cands.ends
        lengths = ends - starts
        relief = 1.0 - self.unaligned_weight
        tgt_relief = np.zeros(n_c)
        src_unlinked = ~(L > 0).any(axis=1)
        if relief > 0:
            # interior candidate words (not first or last) without any link count unaligned_weight
            unl = np.concatenate([[0.0], np.cumsum(~(L > 0).any(axis=0))])
            inner = lengths >= 3
            tgt_relief[inner] = relief * (unl[ends[inner] - 1] - unl[starts[inner] + 1])
        for k, e in enumerate(entities):
            a, b = self.entity_range(pair.src.tokens, e)
            M = L[a:b]  # [len_e, n_tgt]
            denom = (b - a) + lengths - tgt_relief - relief * float(src_unlinked[a:b].sum())
            if self.mode == "links":
                cs = np.concatenate([[0.0], np.cumsum(M.sum(axis=0))])
                out[k] = np.minimum(1.0, 2.0 * (cs[ends] - cs[starts]) / denom)
                continue
            tgt_w = M.max(axis=0)  # each target word's link weight into the entity
            if self.target_share:
                tot = L.sum(axis=0)
                tgt_w = np.divide(M.sum(axis=0), tot, out=np.zeros_like(tgt_w), where=tot > 0)
            cs = np.concatenate([[0.0], np.cumsum(tgt_w)])
            tgt_part = cs[ends] - cs[starts]
            src_part = _range_max(M, starts, lengths).sum(axis=0)
            out[k] = (src_part + tgt_part) / denom
        return out

    def signature(self) -> str:
        return component_signature("score", "align", mode=self.mode, weighted=self.weighted,
                                   strip_det=self.strip_determiners, unaligned=self.unaligned_weight, share=self.target_share)


# ----------------------------------------------------------------------------- NER probability


@dataclass(frozen=True)
class NERScorer:
    """``p(candidate has the entity's type) * alpha ** (len(candidate) - 1)``.

    The probability comes from the candidate model (0 for candidates it did not propose; an
    untyped proposal matches every type). ``alpha`` > 1 offsets the lower probabilities models
    give longer spans (default 1.15 per extra word).
    """

    alpha: float = 1.15
    name: str = field(default="ner", init=False)

    def __post_init__(self) -> None:
        if not (self.alpha > 0 and math.isfinite(self.alpha)):
            raise ProjnerError(E.E128, detail=f"length factor alpha must be a positive number, got {self.alpha!r}")

    def matrix(self, pair: ParallelPair, entities: Sequence[Span], cands: CandidateSet) -> np.ndarray:
        out = np.zeros((len(entities), len(cands)), dtype=np.float64)
        for j, c in enumerate(cands):
            if not c.ner:
                continue
            factor = self.alpha ** (len(c) - 1)
            for k, e in enumerate(entities):
                out[k, j] = c.ner_prob(e.label) * factor
        return out

    def signature(self) -> str:
        return component_signature("score", "ner", alpha=self.alpha)


# ----------------------------------------------------------------------------- strings

_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Lowercase, diacritics removed (NFKD, combining marks dropped), punctuation → single spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_WORD.sub(" ", stripped.lower()).strip()


@lru_cache(maxsize=65536)
def char_ngrams(text: str, n: int = 3) -> Counter:
    """Character n-grams of the folded text, each word padded with one space on both sides."""
    t = f" {fold(text)} "
    if len(t.strip()) == 0:
        return Counter()
    if len(t) < n:
        return Counter({t: 1})
    return Counter(t[i : i + n] for i in range(len(t) - n + 1))


def ngram_dice(a: str, b: str, n: int = 3) -> float:
    """Dice overlap of the character n-gram multisets of ``a`` and ``b`` (folded), in [0, 1]."""
    ga, gb = char_ngrams(a, n), char_ngrams(b, n)
    tot = sum(ga.values()) + sum(gb.values())
    if tot == 0:
        return 0.0
    return 2.0 * sum((ga & gb).values()) / tot


@dataclass(frozen=True)
class StringSimilarityScorer:
    """Normalised character n-gram overlap (Dice, diacritics folded) between the entity's and
    the candidate's surface text: finds names copied or transliterated into the target."""

    n: int = 3
    name: str = field(default="string", init=False)

    def __post_init__(self) -> None:
        if not (isinstance(self.n, int) and self.n >= 1):
            raise ProjnerError(E.E128, detail=f"character n-gram size must be an integer >= 1, got {self.n!r}")

    def matrix(self, pair: ParallelPair, entities: Sequence[Span], cands: CandidateSet) -> np.ndarray:
        out = np.zeros((len(entities), len(cands)), dtype=np.float64)
        if not entities or not len(cands):
            return out
        ctexts = [pair.tgt.span_text(c) for c in cands]  # type: ignore[arg-type]
        for k, e in enumerate(entities):
            etext = pair.src.span_text(e)
            out[k] = [ngram_dice(etext, t, self.n) for t in ctexts]
        return out

    def signature(self) -> str:
        return component_signature("score", "string", n=self.n)


# ----------------------------------------------------------------------------- translation


@runtime_checkable
class TranslationModel(Protocol):
    """Anything that scores how well ``candidate_text`` translates ``source_text`` (higher = better)."""

    def score(self, source_text: str, candidate_text: str) -> float: ...


@dataclass(frozen=True)
class CharOverlapTranslation:
    """The simplest translation model: character n-gram Dice of the two texts (cognates, names)."""

    n: int = 3

    def score(self, source_text: str, candidate_text: str) -> float:
        return ngram_dice(source_text, candidate_text, self.n)


@dataclass(frozen=True)
class LexicalTranslationModel:
    """Word-translation probabilities estimated from word-aligned parallel text.

    ``p(t|s) = links(s, t) / links(s, ·)`` and ``p(s|t)`` likewise (lowercased words). The score
    of two phrases is the mean of both directions' average best word-translation probability;
    words copied unchanged count as translations of each other (probability 1).
    """

    fwd: Mapping[str, Mapping[str, float]]
    rev: Mapping[str, Mapping[str, float]]

    @classmethod
    def from_pairs(cls, pairs: Iterable[ParallelPair], min_count: int = 1) -> "LexicalTranslationModel":
        counts: dict[tuple[str, str], int] = defaultdict(int)
        for p in pairs:
            for l in p.alignment.links:
                counts[(p.src.tokens[l.src].lower(), p.tgt.tokens[l.tgt].lower())] += 1
        s_tot: dict[str, int] = defaultdict(int)
        t_tot: dict[str, int] = defaultdict(int)
        for (s, t), c in counts.items():
            s_tot[s] += c
            t_tot[t] += c
        fwd: dict[str, dict[str, float]] = defaultdict(dict)
        rev: dict[str, dict[str, float]] = defaultdict(dict)
        for (s, t), c in counts.items():
            if c >= min_count:
                fwd[s][t] = c / s_tot[s]
                rev[t][s] = c / t_tot[t]
        return cls(dict(fwd), dict(rev))

    @staticmethod
    def _direction(table: Mapping[str, Mapping[str, float]], xs: list[str], ys: list[str]) -> float:
        if not xs or not ys:
            return 0.0
        tot = 0.0
        for x in xs:
            row = table.get(x, {})
            tot += max(1.0 if x == y else row.get(y, 0.0) for y in ys)
        return tot / len(xs)

    def score(self, source_text: str, candidate_text: str) -> float:
        xs, ys = source_text.lower().split(), candidate_text.lower().split()
        return 0.5 * (self._direction(self.fwd, xs, ys) + self._direction(self.rev, ys, xs))


@dataclass(frozen=True)
class TranslationScorer:
    """Scores with a :class:`TranslationModel` on the surface texts (entity, candidate)."""

    model: TranslationModel | None = None
    name: str = field(default="translation", init=False)

    def __post_init__(self) -> None:
        if self.model is None or not callable(getattr(self.model, "score", None)):
            raise ProjnerError(E.E123, name="translation", needs="a translation model with score(source_text, candidate_text)")

    def matrix(self, pair: ParallelPair, entities: Sequence[Span], cands: CandidateSet) -> np.ndarray:
        out = np.zeros((len(entities), len(cands)), dtype=np.float64)
        ctexts = [pair.tgt.span_text(c) for c in cands]  # type: ignore[arg-type]
        for k, e in enumerate(entities):
            etext = pair.src.span_text(e)
            for j, t in enumerate(ctexts):
                v = float(self.model.score(etext, t))  # type: ignore[union-attr]
                if not math.isfinite(v):
                    raise ProjnerError(E.E127, detail=f"translation score {v!r} for ({etext!r}, {t!r}) is not finite")
                out[k, j] = v
        return out

    def signature(self) -> str:
        return component_signature("score", "translation", model=type(self.model).__name__)


# ----------------------------------------------------------------------------- fusion


def parse_weights(text: str | Mapping[str, float] | None, known: Sequence[str] = COMPONENTS) -> dict[str, float]:
    """``"align=1,ner=0.5"`` → ``{"align": 1.0, "ner": 0.5}``; a mapping is checked the same way.

    Names must be known, values finite and >= 0, no name twice, not all zero.
    """
    if text is None:
        raise ProjnerError(E.E120, text=text, detail="no weights given", known=", ".join(known))
    items: list[tuple[str, object]]
    if isinstance(text, Mapping):
        items = list(text.items())
        shown = ",".join(f"{k}={v}" for k, v in items)
    else:
        shown = text
        if not text.strip():
            raise ProjnerError(E.E120, text=text, detail="empty", known=", ".join(known))
        items = []
        for part in text.split(","):
            if "=" not in part:
                raise ProjnerError(E.E120, text=text, detail=f"{part.strip()!r} has no '='", known=", ".join(known))
            k, _, v = part.partition("=")
            items.append((k.strip(), v.strip()))
    out: dict[str, float] = {}
    for k, v in items:
        if k not in known:
            raise ProjnerError(E.E120, text=shown, detail=f"unknown component {k!r}", known=", ".join(known))
        if k in out:
            raise ProjnerError(E.E120, text=shown, detail=f"{k!r} is given twice", known=", ".join(known))
        try:
            w = float(v)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ProjnerError(E.E120, text=shown, detail=f"{v!r} is not a number", known=", ".join(known)) from None
        if not math.isfinite(w) or w < 0:
            raise ProjnerError(E.E120, text=shown, detail=f"weight of {k!r} must be finite and >= 0, got {v!r}", known=", ".join(known))
        out[k] = w
    if not out or sum(out.values()) == 0:
        raise ProjnerError(E.E120, text=shown, detail="all weights are zero", known=", ".join(known))
    return out


def format_weights(weights: Mapping[str, float]) -> str:
    return ",".join(f"{k}={weights[k]:g}" for k in sorted(weights))


def simplex_grid(names: Sequence[str], step: float = 0.25) -> list[dict[str, float]]:
    """All weight vectors over ``names`` with entries in {0, step, 2*step, ..., 1} summing to 1."""
    if not names:
        raise ProjnerError(E.E126, detail="at least one score component")
    k = round(1.0 / step)
    if k < 1 or abs(k * step - 1.0) > 1e-9:
        raise ProjnerError(E.E126, detail=f"a grid step that divides 1 (got {step!r})")
    out = []
    for combo in itertools.product(range(k + 1), repeat=len(names)):
        if sum(combo) == k:
            out.append({n: c / k for n, c in zip(names, combo)})
    return out


@dataclass(frozen=True)
class FusionScorer:
    """Weighted sum of named component scorers; components with weight 0 are not computed."""

    components: Mapping[str, Scorer]
    weights: Mapping[str, float]
    name: str = field(default="fusion", init=False)

    def __post_init__(self) -> None:
        missing = [k for k, w in self.weights.items() if w > 0 and k not in self.components]
        if missing:
            raise ProjnerError(E.E123, name=missing[0], needs="a scorer for it (none was configured)")

    def component_matrices(self, pair: ParallelPair, entities: Sequence[Span], cands: CandidateSet) -> dict[str, np.ndarray]:
        return {k: self.components[k].matrix(pair, entities, cands) for k in sorted(self.weights) if self.weights[k] > 0}

    @staticmethod
    def combine(mats: Mapping[str, np.ndarray], weights: Mapping[str, float], shape: tuple[int, int]) -> np.ndarray:
        out = np.zeros(shape, dtype=np.float64)
        for k in sorted(weights):
            if weights[k] > 0:
                out += weights[k] * mats[k]
        return out

    def matrix(self, pair: ParallelPair, entities: Sequence[Span], cands: CandidateSet) -> np.ndarray:
        return self.combine(self.component_matrices(pair, entities, cands), self.weights, (len(entities), len(cands)))

    def signature(self) -> str:
        parts = [f"{self.weights[k]:g}*{nest(self.components[k].signature())}" for k in sorted(self.weights) if self.weights[k] > 0]
        return component_signature("score", "fusion", parts="+".join(parts))


scorers.register("projner.scorer.alignment.v1")(AlignmentScorer)
scorers.register("projner.scorer.ner.v1")(NERScorer)
scorers.register("projner.scorer.translation.v1")(TranslationScorer)
scorers.register("projner.scorer.string.v1")(StringSimilarityScorer)
scorers.register("projner.scorer.fusion.v1")(FusionScorer)
