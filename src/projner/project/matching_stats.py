"""What one :meth:`~projner.project.matching.CandidateProjector.project` call did: counts, objectives
(greedy against the ILP optimum), solve times, counted fallbacks."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np


def _pct(xs: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs), q)) if len(xs) else 0.0


@dataclass
class MatchingStats:
    """What the last :meth:`CandidateProjector.project` call did. Times in milliseconds."""

    solver: str
    n_pairs: int = 0
    n_entities: int = 0
    n_projected: int = 0
    n_candidates: int = 0
    objective: float = 0.0  # total score of the chosen assignments
    greedy_objective: float | None = None  # when greedy was run alongside (solver ilp, or compare)
    optimum: float | None = None  # exact optimum when the ILP was run
    n_problems: int = 0  # pairs with at least one source entity
    n_greedy_below_optimum: int = 0
    n_shortcut: int = 0  # ILP proven optimal by the greedy upper bound, HiGHS not called
    solve_ms: list[float] = field(default_factory=list)
    greedy_ms: list[float] = field(default_factory=list)
    ilp_ms: list[float] = field(default_factory=list)
    events: Counter = field(default_factory=Counter)  # counted fallbacks and odd inputs
    fallback_messages: list[str] = field(default_factory=list)  # first few, verbatim

    @property
    def gap(self) -> float | None:
        """Relative objective gap of greedy to the ILP optimum (0 = greedy optimal)."""
        if self.greedy_objective is None or self.optimum is None or self.optimum <= 0:
            return None
        return (self.optimum - self.greedy_objective) / self.optimum

    @property
    def share_greedy_below_optimum(self) -> float | None:
        if self.optimum is None or not self.n_problems:
            return None
        return self.n_greedy_below_optimum / self.n_problems

    def to_dict(self) -> dict:
        return {
            "solver": self.solver,
            "n_pairs": self.n_pairs,
            "n_entities": self.n_entities,
            "n_projected": self.n_projected,
            "n_candidates": self.n_candidates,
            "objective": self.objective,
            "greedy_objective": self.greedy_objective,
            "optimum": self.optimum,
            "gap": self.gap,
            "share_greedy_below_optimum": self.share_greedy_below_optimum,
            "n_shortcut": self.n_shortcut,
            "solve_ms_median": _pct(self.solve_ms, 50),
            "solve_ms_p99": _pct(self.solve_ms, 99),
            "greedy_ms_median": _pct(self.greedy_ms, 50),
            "greedy_ms_p99": _pct(self.greedy_ms, 99),
            "ilp_ms_median": _pct(self.ilp_ms, 50),
            "ilp_ms_p99": _pct(self.ilp_ms, 99),
            "events": dict(sorted(self.events.items())),
            "fallback_messages": list(self.fallback_messages),
        }

    def format(self) -> str:
        d = self.to_dict()
        lines = [
            f"{self.solver}: {self.n_projected}/{self.n_entities} entities projected in {self.n_pairs} pairs "
            f"({self.n_candidates} candidates)",
            f"objective {self.objective:.4f}; solve time median {d['solve_ms_median']:.3f} ms, p99 {d['solve_ms_p99']:.3f} ms",
        ]
        if self.optimum is not None and self.greedy_objective is not None:
            lines.append(
                f"greedy {self.greedy_objective:.4f} vs optimum {self.optimum:.4f} (gap {100 * (self.gap or 0):.3f}%); "
                f"greedy below optimum in {self.n_greedy_below_optimum}/{self.n_problems} sentences; "
                f"ILP shortcut in {self.n_shortcut}"
            )
        if self.events:
            lines.append("events: " + ", ".join(f"{k}={v}" for k, v in sorted(self.events.items())))
        lines.extend(f"  {m}" for m in self.fallback_messages[:3])
        return "\n".join(lines)
