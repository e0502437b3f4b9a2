"""Target-side candidate spans for candidate-matching projection.

A :class:`CandidateSet` lists the target spans a source entity may be projected onto, in a
fixed order (by start, then end) that the solvers use to break ties. Two sources, combined
by union:

* **n-grams**: every word range up to ``max_len`` words (:func:`ngram_candidates`);
* **a target-side NER model**: anything implementing :class:`CandidateModel`, whose spans
  carry a probability in ``Span.score``; the probability is kept per label on the candidate;
* **the alignment** (:func:`alignment_candidates`): the linked blocks and hull of each source
  entity, so that entities longer than ``max_len`` can still be matched.

:class:`CapitalisationModel` is a small rule-based :class:`CandidateModel` (runs of
capitalised words, optionally joined by lowercase name particles such as "of", "de", "von",
each optionally followed by an article: "Bank of the West", "Comisión de la UE")
for tests and for languages without an NER model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping, Protocol, Sequence, runtime_checkable

import numpy as np

from projner.errors import E, ProjnerError
from projner.types import ParallelPair, Span

#: Label a :class:`CandidateModel` uses for an untyped span (matches every source type).
ANY_LABEL = "ANY"
#: Hard cap on the default n-gram length ("longest source entity + 2, capped").
DEFAULT_MAX_LEN_CAP = 8
DEFAULT_MAX_LEN_EXTRA = 2


@runtime_checkable
class CandidateModel(Protocol):
    """A target-side span proposer (typically an NER model).

    ``predict_spans`` takes a batch of token lists and returns, for each, the spans it
    proposes; ``Span.score`` is the model's probability for that span and label (``None``
    counts as 1.0). The label :data:`ANY_LABEL` marks an untyped proposal.
    """

    def predict_spans(self, sentences: Sequence[Sequence[str]]) -> list[list[Span]]: ...


@dataclass(frozen=True)
class Candidate:
    """One target span ``[start, end)`` with its NER probabilities per label and its origins."""

    start: int
    end: int
    ner: Mapping[str, float] = field(default_factory=dict, compare=False)
    origins: frozenset[str] = frozenset()

    def __len__(self) -> int:
        return self.end - self.start

    def overlaps(self, other: "Candidate") -> bool:
        return self.start < other.end and other.start < self.end

    def ner_prob(self, label: str) -> float:
        """Probability the model gave this span for ``label`` (or for :data:`ANY_LABEL`), else 0."""
        return max(self.ner.get(label, 0.0), self.ner.get(ANY_LABEL, 0.0))


@dataclass(frozen=True)
class CandidateSet:
    """The candidates of one target sentence, sorted by (start, end) without duplicates."""

    n_tokens: int
    candidates: tuple[Candidate, ...] = ()

    def __len__(self) -> int:
        return len(self.candidates)

    def __iter__(self):
        return iter(self.candidates)

    def __getitem__(self, i: int) -> Candidate:
        return self.candidates[i]

    @property
    def starts(self) -> np.ndarray:
        return np.fromiter((c.start for c in self.candidates), dtype=np.int64, count=len(self.candidates))

    @property
    def ends(self) -> np.ndarray:
        return np.fromiter((c.end for c in self.candidates), dtype=np.int64, count=len(self.candidates))

    @property
    def max_len(self) -> int:
        return max((len(c) for c in self.candidates), default=0)

    def union(self, other: "CandidateSet") -> "CandidateSet":
        if other.n_tokens != self.n_tokens:
            raise ProjnerError(E.E127, detail=f"union of candidate sets over {self.n_tokens} and {other.n_tokens} tokens")
        return _merge(self.n_tokens, list(self.candidates) + list(other.candidates))


def _merge(n_tokens: int, cands: Iterable[Candidate]) -> CandidateSet:
    """Sort by (start, end); merge duplicates (NER probabilities: max per label; origins: union)."""
    merged: dict[tuple[int, int], Candidate] = {}
    for c in cands:
        prev = merged.get((c.start, c.end))
        if prev is None:
            merged[(c.start, c.end)] = c
            continue
        ner = dict(prev.ner)
        for k, v in c.ner.items():
            ner[k] = max(ner.get(k, 0.0), v)
        merged[(c.start, c.end)] = Candidate(c.start, c.end, ner, prev.origins | c.origins)
    return CandidateSet(n_tokens, tuple(merged[k] for k in sorted(merged)))


def default_max_len(entities: Sequence[Span], *, extra: int = DEFAULT_MAX_LEN_EXTRA, cap: int = DEFAULT_MAX_LEN_CAP) -> int:
    """Longest source entity + ``extra`` words, at most ``cap`` (at least 1)."""
    longest = max((len(e) for e in entities), default=1)
    return max(1, min(cap, longest + extra))


def ngram_candidates(n_tokens: int, max_len: int) -> CandidateSet:
    """Every word range of 1..``max_len`` words in a sentence of ``n_tokens`` words."""
    if max_len < 1:
        raise ProjnerError(E.E128, detail=f"max_len must be >= 1, got {max_len}")
    cands = tuple(
        Candidate(i, j, {}, frozenset({"ngram"}))
        for i in range(n_tokens)
        for j in range(i + 1, min(n_tokens, i + max_len) + 1)
    )
    return CandidateSet(n_tokens, cands)


def alignment_candidates(pair: ParallelPair, entities: Sequence[Span] | None = None, *, max_gap: int = 1) -> CandidateSet:
    """Target ranges the alignment suggests for each source entity, whatever their length: the
    blocks of linked target words merged across gaps of at most ``max_gap`` words, and the hull
    from the first to the last linked word. They let long entities past ``max_len`` be found."""
    if max_gap < 0:
        raise ProjnerError(E.E128, detail=f"max_gap must be >= 0, got {max_gap}")
    ents = pair.src.spans if entities is None else entities
    by_src: dict[int, set[int]] = {}
    for l in pair.alignment.links:
        by_src.setdefault(l.src, set()).add(l.tgt)
    cands = []
    for e in ents:
        tgts = sorted({t for i in range(e.start, e.end) for t in by_src.get(i, ())})
        if not tgts:
            continue
        cands.append(Candidate(tgts[0], tgts[-1] + 1, {}, frozenset({"align"})))
        a = prev = tgts[0]
        for t in tgts[1:] + [None]:  # type: ignore[list-item]
            if t is not None and t - prev <= max_gap + 1:
                prev = t
                continue
            cands.append(Candidate(a, prev + 1, {}, frozenset({"align"})))
            if t is not None:
                a = prev = t
    return _merge(len(pair.tgt), cands)


def model_candidates(model: CandidateModel, sentences: Sequence[Sequence[str]]) -> list[CandidateSet]:
    """Ask ``model`` for spans over a batch of sentences; validate and turn them into candidates."""
    batch = [list(s) for s in sentences]
    preds = model.predict_spans(batch)
    if len(preds) != len(batch):
        raise ProjnerError(E.E127, detail=f"candidate model returned {len(preds)} span lists for {len(batch)} sentences")
    out = []
    for i, (toks, spans) in enumerate(zip(batch, preds)):
        cands = []
        for s in spans:
            if not isinstance(s, Span) or s.end > len(toks):
                raise ProjnerError(
                    E.E127, detail=f"sentence {i + 1}: span {s!r} is not a Span inside its {len(toks)} tokens"
                )
            p = 1.0 if s.score is None else float(s.score)
            if not (0.0 <= p <= 1.0) or p != p:
                raise ProjnerError(E.E127, detail=f"sentence {i + 1}: span probability {s.score!r} is not in [0, 1]")
            cands.append(Candidate(s.start, s.end, {s.label: p}, frozenset({"ner"})))
        out.append(_merge(len(toks), cands))
    return out


# ----------------------------------------------------------------------------- a small real model

_PARTICLES = frozenset("of for and on de del della degli dei di da du des von vom zu und y e et van".split())
_ARTICLES = frozenset("the la le los las lo il der die das den".split())


def _is_cap(tok: str) -> bool:
    return tok[:1].isupper()


@dataclass(frozen=True)
class CapitalisationModel:
    """Rule-based untyped span proposer: maximal runs of capitalised words (joined across
    lowercase name particles), plus every sub-run; the probability falls with sentence-initial
    position (capitalised for grammar, not for names) and with particles inside the run.

    ``p_inner`` is the probability of a run not at sentence start, ``p_initial`` of one that
    starts the sentence; each particle multiplies it by ``particle_factor``; sub-runs of a
    longer run get ``sub_factor`` times the run's probability.
    """

    p_inner: float = 0.8
    p_initial: float = 0.3
    particle_factor: float = 0.8
    sub_factor: float = 0.5
    particles: frozenset[str] = _PARTICLES
    articles: frozenset[str] = _ARTICLES

    def predict_spans(self, sentences: Sequence[Sequence[str]]) -> list[list[Span]]:
        return [self._one(list(toks)) for toks in sentences]

    def _one(self, toks: list[str]) -> list[Span]:
        spans: dict[tuple[int, int], float] = {}
        n, i = len(toks), 0
        while i < n:
            if not _is_cap(toks[i]):
                i += 1
                continue
            j = i + 1
            while j < n:
                if _is_cap(toks[j]):
                    j += 1
                elif toks[j].lower() in self.particles and j + 1 < n and _is_cap(toks[j + 1]):
                    j += 2
                elif (
                    toks[j].lower() in self.particles
                    and j + 2 < n
                    and toks[j + 1].lower() in self.articles
                    and _is_cap(toks[j + 2])
                ):
                    j += 3
                else:
                    break
            n_part = sum(1 for t in toks[i:j] if not _is_cap(t))
            p = (self.p_initial if i == 0 else self.p_inner) * self.particle_factor**n_part
            spans[(i, j)] = max(spans.get((i, j), 0.0), p)
            for a in range(i, j):  # sub-runs that start and end on capitalised words
                for b in range(a + 1, j + 1):
                    if (a, b) != (i, j) and _is_cap(toks[a]) and _is_cap(toks[b - 1]):
                        q = p * self.sub_factor
                        spans[(a, b)] = max(spans.get((a, b), 0.0), q)
            i = j
        return [Span(a, b, ANY_LABEL, round(p, 6)) for (a, b), p in sorted(spans.items())]


def build_candidates(
    tokens: Sequence[Sequence[str]],
    entities: Sequence[Sequence[Span]],
    *,
    use_ngrams: bool = True,
    model: CandidateModel | None = None,
    max_len: int | None = None,
    max_len_cap: int = DEFAULT_MAX_LEN_CAP,
) -> list[CandidateSet]:
    """Candidates for a batch of target sentences: n-grams (``max_len`` or the default from the
    source entities of that sentence) united with the model's spans when a model is given."""
    if len(tokens) != len(entities):
        raise ProjnerError(E.E001, a="target sentences", na=len(tokens), b="source entity lists", nb=len(entities))
    if not use_ngrams and model is None:
        raise ProjnerError(E.E128, detail="no candidate source: n-grams are off and no candidate model is given")
    model_sets = model_candidates(model, tokens) if model is not None else None
    out = []
    for k, (toks, ents) in enumerate(zip(tokens, entities)):
        cs = CandidateSet(len(toks))
        if use_ngrams:
            n = max_len if max_len is not None else default_max_len(ents, cap=max_len_cap)
            cs = ngram_candidates(len(toks), n)
        if model_sets is not None:
            cs = cs.union(model_sets[k]) if use_ngrams else model_sets[k]
        out.append(cs)
    return out
