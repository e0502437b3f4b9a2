"""Projection rate: the share of source entities that received a target span."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Mapping

from projner.project.base import Projection


@dataclass(frozen=True)
class ProjectionStats:
    n_source: int
    n_projected: int
    outcomes: Mapping[str, int]
    per_type: Mapping[str, tuple[int, int]]  # label -> (projected, source)

    @property
    def rate(self) -> float:
        return self.n_projected / self.n_source if self.n_source else 0.0

    def to_dict(self) -> dict:
        return {
            "projection_rate": self.rate,
            "n_source": self.n_source,
            "n_projected": self.n_projected,
            "outcomes": dict(self.outcomes),
            "per_type": {k: {"projected": a, "source": b, "rate": a / b if b else 0.0} for k, (a, b) in self.per_type.items()},
        }


def projection_stats(projections: Iterable[Projection]) -> ProjectionStats:
    outcomes: Counter[str] = Counter()
    proj: Counter[str] = Counter()
    src: Counter[str] = Counter()
    for p in projections:
        for e in p.entities:
            outcomes[e.outcome.value] += 1
            src[e.source.label] += 1
            if e.target is not None:
                proj[e.source.label] += 1
    n_src = sum(src.values())
    return ProjectionStats(
        n_source=n_src,
        n_projected=sum(proj.values()),
        outcomes=dict(sorted(outcomes.items())),
        per_type={k: (proj[k], src[k]) for k in sorted(src)},
    )
