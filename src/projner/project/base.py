"""What every projection method returns: target spans plus a verdict for each source entity."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol, Sequence

from projner.types import ParallelPair, Span


class Outcome(str, Enum):
    PROJECTED = "projected"
    NO_LINKS = "no_links"              # no target word aligned to the entity
    LENGTH_RATIO = "length_ratio"      # best range fails the length-ratio threshold
    OVERLAP_LOST = "overlap_lost"      # lost to another entity's overlapping projection
    NO_CANDIDATE = "no_candidate"      # candidate matching: nothing scored above threshold
    MARKER_LOST = "marker_lost"        # marker-based: markers missing after translation
    FILTERED = "filtered"              # removed by a later filter (e.g. label map)


@dataclass(frozen=True)
class EntityProjection:
    """The fate of one source entity."""

    source: Span
    target: Span | None
    outcome: Outcome
    detail: str = ""


@dataclass(frozen=True)
class Projection:
    """Projected target spans (non-overlapping, sorted) and one verdict per source entity."""

    spans: tuple[Span, ...]
    entities: tuple[EntityProjection, ...]

    @property
    def n_source(self) -> int:
        return len(self.entities)

    @property
    def n_projected(self) -> int:
        return sum(1 for e in self.entities if e.outcome is Outcome.PROJECTED)


class Projector(Protocol):
    """Projects the source spans of many pairs at once; pairs carry their alignments."""

    def project(self, pairs: Sequence[ParallelPair]) -> list[Projection]: ...

    def signature(self) -> str: ...
