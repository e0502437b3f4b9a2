"""Heuristic alignment-based projection (the paper's baseline, after Ehrmann et al. 2011 / García-Ferrero et al. 2022).

For each source entity:

1. collect the target words aligned to any of its words (none: ``no_links``);
2. merge them into ranges, allowing gaps of at most ``max_gap`` unaligned words;
3. keep ranges whose length ratio ``len(range) / len(entity)`` is **at least** ``min_ratio``
   (inclusive: with 0.8 a 4-word projection of a 5-word entity is kept) and at most
   ``max_ratio`` when one is set (none pass: ``length_ratio``);
4. ``keep="longest"`` keeps the range with most aligned links (then longest, then leftmost);
   ``keep="all"`` keeps every passing range.

Overlaps between projected spans of different entities are resolved greedily: the span with
more aligned links wins, then the longer source entity, then the leftmost; the loser's outcome
is ``overlap_lost``. Entity types are carried over; nothing is mutated.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Sequence

from projner.errors import E, ProjnerError
from projner.project.base import EntityProjection, Outcome, Projection
from projner.project.filters import DETERMINERS
from projner.registry import projectors
from projner.signature import component_signature
from projner.types import ParallelPair, Span

EPS = 1e-9


@dataclass(frozen=True)
class HeuristicProjector:
    max_gap: int = 1
    min_ratio: float = 0.8
    max_ratio: float | None = None
    keep: str = "longest"
    strip_determiners: bool = False  # drop a leading "the/a/an" from multi-word source entities first

    def __post_init__(self) -> None:
        if self.max_gap < 0 or self.min_ratio < 0 or (self.max_ratio is not None and self.max_ratio < self.min_ratio):
            raise ProjnerError(E.E018, detail=f"max_gap={self.max_gap}, min_ratio={self.min_ratio}, max_ratio={self.max_ratio}")
        if self.keep not in ("longest", "all"):
            raise ProjnerError(E.E018, detail=f"keep={self.keep!r}; known: longest, all")

    def signature(self) -> str:
        mr = "none" if self.max_ratio is None else f"{self.max_ratio:g}"
        return component_signature("method", "heuristic", gap=self.max_gap, ratio=f">={self.min_ratio:g},<={mr}",
                                   keep=self.keep, strip_det=self.strip_determiners)

    def project(self, pairs: Sequence[ParallelPair]) -> list[Projection]:
        return [self.project_one(p) for p in pairs]

    def _core(self, pair: ParallelPair, ent: Span) -> tuple[int, int]:
        if self.strip_determiners and len(ent) > 1 and pair.src.tokens[ent.start].lower() in DETERMINERS:
            return ent.start + 1, ent.end
        return ent.start, ent.end

    def project_one(self, pair: ParallelPair) -> Projection:
        by_src: dict[int, list[int]] = defaultdict(list)
        for link in pair.alignment.links:
            by_src[link.src].append(link.tgt)
        proposals: list[tuple[Span, Span, int]] = []  # (source entity, target span, support)
        verdicts: dict[Span, EntityProjection] = {}
        for ent in pair.src.spans:
            start, end = self._core(pair, ent)
            n_src = end - start
            tgt_counts: dict[int, int] = defaultdict(int)
            for i in range(start, end):
                for j in by_src.get(i, ()):
                    tgt_counts[j] += 1
            if not tgt_counts:
                verdicts[ent] = EntityProjection(ent, None, Outcome.NO_LINKS)
                continue
            ranges = _merge(sorted(tgt_counts), self.max_gap)
            passing = []
            best_ratio = 0.0
            for a, b in ranges:
                ratio = (b - a) / n_src
                best_ratio = max(best_ratio, ratio)
                if ratio + EPS >= self.min_ratio and (self.max_ratio is None or ratio - EPS <= self.max_ratio):
                    support = sum(tgt_counts.get(j, 0) for j in range(a, b))
                    passing.append((support, b - a, -a, a, b))
            if not passing:
                verdicts[ent] = EntityProjection(
                    ent, None, Outcome.LENGTH_RATIO, f"best ratio {best_ratio:.2f} over {len(ranges)} range(s)"
                )
                continue
            passing.sort(reverse=True)
            chosen = passing if self.keep == "all" else passing[:1]
            for support, _, _, a, b in chosen:
                proposals.append((ent, Span(a, b, ent.label), support))
        # resolve overlaps: most support, then longer source entity, then leftmost target
        proposals.sort(key=lambda x: (-x[2], -len(x[0]), x[1].start, x[1].end, x[0].start))
        taken: list[Span] = []
        won: dict[Span, Span] = {}
        lost: dict[Span, Span] = {}
        for ent, span, _ in proposals:
            if any(span.overlaps(t) for t in taken):
                lost.setdefault(ent, span)
                continue
            taken.append(span)
            won.setdefault(ent, span)
        entities = []
        for ent in pair.src.spans:
            if ent in verdicts:
                entities.append(verdicts[ent])
            elif ent in won:
                entities.append(EntityProjection(ent, won[ent], Outcome.PROJECTED))
            else:
                entities.append(EntityProjection(ent, None, Outcome.OVERLAP_LOST, f"wanted {lost[ent].start}-{lost[ent].end}"))
        return Projection(tuple(sorted(taken)), tuple(entities))


def _merge(indices: list[int], max_gap: int) -> list[tuple[int, int]]:
    """Sorted word indices → half-open ranges, bridging gaps of at most ``max_gap`` words."""
    ranges = []
    start = prev = indices[0]
    for j in indices[1:]:
        if j - prev - 1 > max_gap:
            ranges.append((start, prev + 1))
            start = j
        prev = j
    ranges.append((start, prev + 1))
    return ranges


@projectors.register("projner.projector.heuristic.v1")
def make_heuristic(**params) -> HeuristicProjector:
    return HeuristicProjector(**params)
