"""Small immutable core types: Span, Sentence, Link, Alignment, ParallelPair.

All are frozen dataclasses holding tuples; nothing in projner mutates them. Spans use
half-open word indices ``[start, end)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterable, Iterator, Sequence

from projner.errors import E, ProjnerError


@dataclass(frozen=True, order=True)
class Span:
    """An entity span over word indices ``[start, end)`` with a label and an optional score."""

    start: int
    end: int
    label: str
    score: float | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not (0 <= self.start < self.end):
            raise ProjnerError(E.E049, what="span", detail=f"[{self.start}, {self.end}) for {self.label!r} (0 <= start < end)")
        if not self.label:
            raise ProjnerError(E.E049, what="span", detail=f"[{self.start}, {self.end}) has an empty label")

    def __len__(self) -> int:
        return self.end - self.start

    @property
    def key(self) -> tuple[int, int, str]:
        """Identity for strict matching (boundaries and type; the score does not count)."""
        return (self.start, self.end, self.label)

    def overlaps(self, other: "Span") -> bool:
        return self.start < other.end and other.start < self.end

    def with_label(self, label: str) -> "Span":
        return replace(self, label=label)

    def with_score(self, score: float | None) -> "Span":
        return replace(self, score=score)


@dataclass(frozen=True)
class Sentence:
    """Tokens plus entity spans. ``spans`` are kept sorted; tokens are plain strings.

    ``unknown``: indices of tokens whose tag is not known (partial annotation, e.g. a word the
    projection may have missed): a tagger that supports partial labels sums over every tag for
    them instead of training them as ``O``; the others treat them as ``O``. Kept sorted and
    unique; an unknown token may not lie inside a span.
    """

    tokens: tuple[str, ...]
    spans: tuple[Span, ...] = ()
    id: str | None = None
    unknown: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "tokens", tuple(self.tokens))
        spans = tuple(sorted(self.spans, key=lambda s: (s.start, s.end, s.label)))
        n = len(self.tokens)
        for s in spans:
            if s.end > n:
                raise ProjnerError(E.E049, what="span", detail=f"[{s.start}, {s.end}) exceeds a sentence of {n} tokens")
        object.__setattr__(self, "spans", spans)
        if self.unknown:
            unknown = tuple(sorted(set(int(i) for i in self.unknown)))
            if unknown[0] < 0 or unknown[-1] >= n:
                raise ProjnerError(E.E049, what="unknown", detail=f"token index out of range for a sentence of {n} tokens")
            inside = [i for i in unknown if any(s.start <= i < s.end for s in spans)]
            if inside:
                raise ProjnerError(E.E049, what="unknown", detail=f"token {inside[0]} is inside a span")
            object.__setattr__(self, "unknown", unknown)
        else:
            object.__setattr__(self, "unknown", ())

    def __len__(self) -> int:
        return len(self.tokens)

    def span_text(self, span: Span, sep: str = " ") -> str:
        return sep.join(self.tokens[span.start : span.end])

    def with_spans(self, spans: Iterable[Span]) -> "Sentence":
        """A copy with other spans; unknown tokens the new spans cover become known."""
        spans = tuple(spans)
        unknown = tuple(i for i in self.unknown if not any(s.start <= i < s.end for s in spans))
        return Sentence(self.tokens, spans, self.id, unknown)

    def with_unknown(self, unknown: Iterable[int]) -> "Sentence":
        return Sentence(self.tokens, self.spans, self.id, tuple(unknown))

    def unlabelled(self) -> "Sentence":
        return Sentence(self.tokens, (), self.id)


@dataclass(frozen=True, order=True)
class Link:
    """A word-alignment link from source word ``src`` to target word ``tgt``."""

    src: int
    tgt: int
    score: float | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Alignment:
    """A set of links between one source and one target sentence, kept sorted and unique.

    When the same (src, tgt) pair is given twice, the higher score wins.
    """

    links: tuple[Link, ...] = ()

    def __post_init__(self) -> None:
        best: dict[tuple[int, int], Link] = {}
        for link in self.links:
            if link.src < 0 or link.tgt < 0:
                raise ProjnerError(E.E049, what="alignment link", detail=f"negative index in {link.src}-{link.tgt}")
            k = (link.src, link.tgt)
            prev = best.get(k)
            if prev is None or (link.score or 0.0) > (prev.score or 0.0):
                best[k] = link
        object.__setattr__(self, "links", tuple(best[k] for k in sorted(best)))

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[int, int]], scores: Sequence[float] | None = None) -> "Alignment":
        pairs = list(pairs)
        if scores is None:
            return cls(tuple(Link(i, j) for i, j in pairs))
        return cls(tuple(Link(i, j, float(s)) for (i, j), s in zip(pairs, scores, strict=True)))

    def __len__(self) -> int:
        return len(self.links)

    def __iter__(self) -> Iterator[Link]:
        return iter(self.links)

    @property
    def pairs(self) -> frozenset[tuple[int, int]]:
        return frozenset((l.src, l.tgt) for l in self.links)

    @property
    def has_scores(self) -> bool:
        return any(l.score is not None for l in self.links)

    def reversed(self) -> "Alignment":
        """The same links seen from the other side (target→source)."""
        return Alignment(tuple(Link(l.tgt, l.src, l.score) for l in self.links))

    def targets_of(self, src_indices: Iterable[int]) -> tuple[int, ...]:
        wanted = set(src_indices)
        return tuple(sorted({l.tgt for l in self.links if l.src in wanted}))

    def max_indices(self) -> tuple[int, int]:
        """(max source index, max target index), or (-1, -1) when empty."""
        if not self.links:
            return (-1, -1)
        return (max(l.src for l in self.links), max(l.tgt for l in self.links))


@dataclass(frozen=True)
class ParallelPair:
    """A source sentence, its target counterpart, and (optionally) their word alignment."""

    src: Sentence
    tgt: Sentence
    alignment: Alignment = Alignment()

    def __post_init__(self) -> None:
        ms, mt = self.alignment.max_indices()
        if ms >= len(self.src) or mt >= len(self.tgt):
            raise ProjnerError(
                E.E049, what="alignment",
                detail=f"index out of range: max ({ms}, {mt}) for {len(self.src)}x{len(self.tgt)} words",
            )
