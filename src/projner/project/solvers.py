"""Choosing one target candidate (or none) per source entity from a score matrix.

A :class:`MatchProblem` holds the scores ``[n_entities, n_candidates]`` of one sentence pair,
the candidates' word ranges, the entities' types and a threshold: a pair is *eligible* when
its score is > 0 and >= the threshold. Every solver returns a :class:`Solution` in which each
entity gets at most one eligible candidate and chosen candidates never overlap.

``greedy``     entities by descending best eligible score; each takes its best eligible
               candidate that overlaps nothing chosen so far.
``bipartite``  maximum-weight bipartite matching (``scipy.optimize.linear_sum_assignment``) over
               eligible pairs, then overlaps resolved: chosen candidates by descending score
               keep their entity, a later one that overlaps is dropped (counted in
               ``Solution.dropped``).
``ilp``        the exact optimum (``scipy.optimize.milp`` / HiGHS): maximise the total score,
               each entity at most one candidate, each target word in at most one chosen
               candidate, optional per-type count bounds. When the greedy solution reaches the
               upper bound ``sum over entities of their best eligible score`` (and meets the type
               bounds) it is provably optimal and returned without calling HiGHS
               (``Solution.shortcut``). Too many variables (``max_vars``) or an infeasible
               problem fall back to greedy, with the reason in ``Solution.fallback``
               (or raise E124/E125 with ``on_fail="error"``).

Deterministic tie-breaking. Scores are compared rounded to 9 decimals. Greedy: entities with
equal best scores go in source order; among equally scored candidates the **longer** one wins
(an equally good longer candidate carries more aligned words), then the leftmost. Bipartite
and ILP break ties the same way through a bonus of ``TIE_EPS`` (1e-5) per candidate word added
to the objective they optimise (reported objectives never include it), so the ILP optimum is
exact up to ``TIE_EPS`` times the sentence length; bipartite's overlap resolution keeps the
higher score, then the earlier entity. HiGHS is deterministic for a given problem.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linear_sum_assignment, milp
from scipy.sparse import coo_matrix

from projner.errors import E, ProjnerError

SOLVERS = ("greedy", "bipartite", "ilp")
DEFAULT_MAX_VARS = 20000
TIE_EPS = 1e-5  # above HiGHS's absolute MIP gap (1e-6), so the tie bonus is honoured


@dataclass(frozen=True)
class MatchProblem:
    scores: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    labels: tuple[str, ...]
    threshold: float = 0.0
    type_bounds: Mapping[str, tuple[int | None, int | None]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        s = np.asarray(self.scores, dtype=np.float64)
        if s.ndim != 2 or s.shape != (len(self.labels), len(self.starts)) or len(self.starts) != len(self.ends):
            raise ProjnerError(
                E.E128,
                detail=f"score matrix of shape {s.shape} does not fit {len(self.labels)} entities x {len(self.starts)} candidates",
            )
        if not np.all(np.isfinite(s)):
            raise ProjnerError(E.E128, detail="score matrix holds NaN or infinite values")
        object.__setattr__(self, "scores", s)
        object.__setattr__(self, "starts", np.asarray(self.starts, dtype=np.int64))
        object.__setattr__(self, "ends", np.asarray(self.ends, dtype=np.int64))

    @property
    def n_entities(self) -> int:
        return len(self.labels)

    @property
    def n_candidates(self) -> int:
        return len(self.starts)

    @property
    def eligible(self) -> np.ndarray:
        return (self.scores > 0) & (self.scores >= self.threshold)

    def upper_bound(self) -> float:
        """Sum over entities of their best eligible score (no solution can exceed it)."""
        if self.n_candidates == 0:
            return 0.0
        return float(np.where(self.eligible, self.scores, 0.0).max(axis=1).sum()) if self.n_entities else 0.0

    def objective(self, assignment: Sequence[int]) -> float:
        return float(sum(self.scores[e, c] for e, c in enumerate(assignment) if c >= 0))

    def is_feasible(self, assignment: Sequence[int], check_types: bool = True) -> bool:
        """Eligible pairs only, no candidate twice, no two chosen candidates overlapping, type bounds."""
        chosen = [(e, c) for e, c in enumerate(assignment) if c >= 0]
        if any(not self.eligible[e, c] for e, c in chosen):
            return False
        spans = sorted((int(self.starts[c]), int(self.ends[c])) for _, c in chosen)
        if any(spans[i][1] > spans[i + 1][0] for i in range(len(spans) - 1)):
            return False
        return not check_types or self.meets_type_bounds(assignment)

    def meets_type_bounds(self, assignment: Sequence[int]) -> bool:
        for label, (lo, hi) in self.type_bounds.items():
            n = sum(1 for e, c in enumerate(assignment) if c >= 0 and self.labels[e] == label)
            if (lo is not None and n < lo) or (hi is not None and n > hi):
                return False
        return True


@dataclass(frozen=True)
class Solution:
    assignment: tuple[int, ...]  # candidate index per entity, -1 for none
    objective: float
    solver: str  # the solver that produced the assignment ("greedy" after a fallback)
    seconds: float
    optimal: bool = False  # proven optimal (ILP, or the greedy shortcut)
    shortcut: bool = False  # ILP: greedy reached the upper bound, HiGHS not called
    dropped: tuple[int, ...] = ()  # bipartite: entities whose match lost an overlap
    fallback: str = ""  # why the requested solver was not used


def _greedy_assignment(p: MatchProblem) -> list[int]:
    n_e, n_c = p.scores.shape
    assignment = [-1] * n_e
    if n_e == 0 or n_c == 0:
        return assignment
    elig = p.eligible
    masked = np.where(elig, p.scores, -np.inf)
    best = masked.max(axis=1)
    rounded = np.round(masked, 9)
    best_r = rounded.max(axis=1)
    order = sorted(range(n_e), key=lambda e: (-best_r[e], e))
    n_tok = int(p.ends.max())
    used = np.zeros(n_tok, dtype=bool)
    neg_len = p.starts - p.ends
    for e in order:
        if not np.isfinite(best[e]):
            continue
        for c in np.lexsort((p.starts, neg_len, -rounded[e])):
            if not elig[e, c]:
                break
            a, b = p.starts[c], p.ends[c]
            if not used[a:b].any():
                used[a:b] = True
                assignment[e] = int(c)
                break
    return assignment


def solve_greedy(p: MatchProblem) -> Solution:
    t0 = time.perf_counter()
    a = _greedy_assignment(p)
    return Solution(tuple(a), p.objective(a), "greedy", time.perf_counter() - t0)


def solve_bipartite(p: MatchProblem) -> Solution:
    t0 = time.perf_counter()
    n_e, n_c = p.scores.shape
    assignment = [-1] * n_e
    dropped: list[int] = []
    if n_e and n_c:
        elig = p.eligible
        w = np.where(elig, p.scores + TIE_EPS * (p.ends - p.starts)[None, :], 0.0)
        rows, cols = linear_sum_assignment(w, maximize=True)
        matched = [(int(e), int(c)) for e, c in zip(rows, cols) if elig[e, c]]
        matched.sort(key=lambda ec: (-round(float(p.scores[ec[0], ec[1]]), 9), ec[0]))
        used = np.zeros(int(p.ends.max()), dtype=bool)
        for e, c in matched:
            a, b = p.starts[c], p.ends[c]
            if used[a:b].any():
                dropped.append(e)
                continue
            used[a:b] = True
            assignment[e] = c
    return Solution(tuple(assignment), p.objective(assignment), "bipartite", time.perf_counter() - t0, dropped=tuple(sorted(dropped)))


def solve_ilp(
    p: MatchProblem,
    *,
    max_vars: int = DEFAULT_MAX_VARS,
    on_fail: str = "greedy",
    shortcut: bool = True,
    sentence: int | str = "?",
    time_limit: float | None = None,
) -> Solution:
    """Exact maximum-score consistent assignment; see the module docstring for fallbacks."""
    if on_fail not in ("greedy", "error"):
        raise ProjnerError(E.E128, detail=f"on_fail must be 'greedy' or 'error', got {on_fail!r}")
    t0 = time.perf_counter()
    n_e, n_c = p.scores.shape
    elig = p.eligible
    ev, cv = np.nonzero(elig)
    n_vars = len(ev)
    if n_vars == 0:
        a = [-1] * n_e
        if not p.meets_type_bounds(a):
            return _ilp_failed(p, t0, on_fail, sentence, "type bounds need entities but no pair is eligible")
        return Solution(tuple(a), 0.0, "ilp", time.perf_counter() - t0, optimal=True)
    if shortcut:
        g = _greedy_assignment(p)
        obj = p.objective(g)
        if obj >= p.upper_bound() - 1e-12 and p.meets_type_bounds(g):
            return Solution(tuple(g), obj, "ilp", time.perf_counter() - t0, optimal=True, shortcut=True)
    if n_vars > max_vars:
        action = "solved greedily instead" if on_fail == "greedy" else "raise max_vars, lower max_len or raise the threshold"
        err = ProjnerError(E.E124, n_vars=n_vars, limit=max_vars, sentence=sentence, action=action)
        if on_fail == "error":
            raise err
        g = _greedy_assignment(p)
        return Solution(tuple(g), p.objective(g), "greedy", time.perf_counter() - t0, fallback=str(err))

    rows, cols = [], []
    r = 0
    # each entity at most one candidate
    rows.extend(ev.tolist())
    cols.extend(range(n_vars))
    r = n_e
    # each target word in at most one chosen candidate (only words shared by >= 2 variables)
    n_tok = int(p.ends.max())
    cover = np.zeros((n_tok, n_vars), dtype=bool)
    for v, c in enumerate(cv):
        cover[p.starts[c] : p.ends[c], v] = True
    for w in np.nonzero(cover.sum(axis=1) >= 2)[0]:
        vs = np.nonzero(cover[w])[0]
        rows.extend([r] * len(vs))
        cols.extend(vs.tolist())
        r += 1
    ub = [1.0] * r
    lb = [-np.inf] * r
    for label in sorted(p.type_bounds):
        lo, hi = p.type_bounds[label]
        vs = [v for v in range(n_vars) if p.labels[ev[v]] == label]
        rows.extend([r] * len(vs))
        cols.extend(vs)
        lb.append(-np.inf if lo is None else float(lo))
        ub.append(np.inf if hi is None else float(hi))
        r += 1
    A = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(r, n_vars)).tocsr()
    options: dict = {"mip_rel_gap": 0.0, "presolve": True}
    if time_limit is not None:
        options["time_limit"] = float(time_limit)
    res = milp(
        c=-(p.scores[ev, cv] + TIE_EPS * (p.ends[cv] - p.starts[cv])),
        constraints=LinearConstraint(A, lb, ub),
        integrality=np.ones(n_vars),
        bounds=Bounds(0, 1),
        options=options,
    )
    if res.x is None or res.status not in (0,):
        return _ilp_failed(p, t0, on_fail, sentence, f"HiGHS status {res.status}: {res.message}")
    assignment = [-1] * n_e
    for v in np.nonzero(res.x > 0.5)[0]:
        assignment[int(ev[v])] = int(cv[v])
    return Solution(tuple(assignment), p.objective(assignment), "ilp", time.perf_counter() - t0, optimal=True)


def _ilp_failed(p: MatchProblem, t0: float, on_fail: str, sentence: int | str, detail: str) -> Solution:
    err = ProjnerError(E.E125, sentence=sentence, detail=detail)
    if on_fail == "error":
        raise err
    g = _greedy_assignment(p)
    return Solution(tuple(g), p.objective(g), "greedy", time.perf_counter() - t0, fallback=str(err))


def solve(p: MatchProblem, solver: str, **ilp_options) -> Solution:
    if solver == "greedy":
        return solve_greedy(p)
    if solver == "bipartite":
        return solve_bipartite(p)
    if solver == "ilp":
        return solve_ilp(p, **ilp_options)
    raise ProjnerError(E.E122, solver=solver, known=", ".join(SOLVERS))
