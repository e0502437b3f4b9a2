import itertools

import numpy as np
import pytest

from projner.errors import E, ProjnerError
from projner.project.solvers import MatchProblem, solve, solve_bipartite, solve_greedy, solve_ilp


def brute_force(p: MatchProblem) -> float:
    """Best objective over every assignment (each entity: one eligible candidate or none)."""
    options = [[-1] + [c for c in range(p.n_candidates) if p.eligible[e, c]] for e in range(p.n_entities)]
    best = 0.0 if p.meets_type_bounds([-1] * p.n_entities) else -np.inf
    for a in itertools.product(*options):
        used = [c for c in a if c >= 0]
        if len(used) != len(set(used)):
            continue
        if p.is_feasible(a):
            best = max(best, p.objective(a))
    return best


def problem(scores, ranges, labels=None, threshold=0.0, **kw):
    scores = np.asarray(scores, dtype=float)
    labels = labels or tuple("PER" for _ in range(scores.shape[0]))
    return MatchProblem(scores, [a for a, _ in ranges], [b for _, b in ranges], tuple(labels), threshold, **kw)


def test_greedy_and_ilp_differ_ilp_is_optimal():
    # A prefers c0 (0.9) over c1 (0.8); B can only use c0 (0.85); c0 and c1 do not overlap,
    # but only one entity can have c0. Greedy: A (best 0.9) first takes c0, B gets nothing.
    p = problem([[0.9, 0.8], [0.85, 0.0]], [(0, 2), (2, 3)])
    g, i = solve_greedy(p), solve_ilp(p)
    assert g.assignment == (0, -1) and g.objective == pytest.approx(0.9)
    assert i.assignment == (1, 0) and i.objective == pytest.approx(1.65)
    assert i.optimal and not i.shortcut and not g.optimal
    assert brute_force(p) == pytest.approx(1.65)
    b = solve_bipartite(p)
    assert b.assignment == (1, 0)


def test_overlap_constraint_greedy_vs_ilp():
    # c0=[0,3) overlaps c1=[1,2) and c2=[2,3); A likes c0, B likes c1, C likes c2
    p = problem([[0.9, 0.0, 0.0], [0.0, 0.6, 0.0], [0.0, 0.0, 0.6]], [(0, 3), (1, 2), (2, 3)])
    assert solve_greedy(p).objective == pytest.approx(0.9)
    i = solve_ilp(p)
    assert i.assignment == (-1, 1, 2) and i.objective == pytest.approx(1.2)
    # bipartite ignores overlaps while matching, then drops the loser(s)
    b = solve_bipartite(p)
    assert b.assignment == (0, -1, -1) and b.dropped == (1, 2)


def test_threshold_and_zero_scores_are_not_eligible():
    p = problem([[0.2, 0.0]], [(0, 1), (1, 2)], threshold=0.3)
    for s in ("greedy", "bipartite", "ilp"):
        assert solve(p, s).assignment == (-1,)
    p0 = problem([[0.0, 0.0]], [(0, 1), (1, 2)])
    assert solve_ilp(p0).assignment == (-1,)


@pytest.mark.parametrize("seed", range(150))
def test_ilp_matches_brute_force_on_random_problems(seed):
    rng = np.random.default_rng(seed)
    n_tok = int(rng.integers(2, 7))
    all_ranges = [(a, b) for a in range(n_tok) for b in range(a + 1, min(n_tok, a + 3) + 1)]
    k = int(rng.integers(1, min(6, len(all_ranges)) + 1))
    ranges = sorted(all_ranges[i] for i in rng.choice(len(all_ranges), size=k, replace=False))
    n_e = int(rng.integers(1, 4))
    scores = rng.random((n_e, k)) * (rng.random((n_e, k)) < 0.7)
    scores = np.round(scores, 2)  # ties happen
    labels = tuple(rng.choice(["PER", "ORG"], size=n_e))
    bounds = {"PER": (None, 1)} if seed % 3 == 0 else {}
    p = problem(scores, ranges, labels, threshold=float(rng.choice([0.0, 0.3])), type_bounds=bounds)
    opt = brute_force(p)
    i = solve_ilp(p)
    assert i.fallback == ""
    assert p.is_feasible(i.assignment)
    assert i.objective == pytest.approx(opt, abs=1e-5)
    g = solve_greedy(p)
    assert p.is_feasible(g.assignment, check_types=False)
    assert g.objective <= opt + 1e-9 or bounds  # greedy ignores type bounds
    b = solve_bipartite(p)
    assert p.is_feasible(b.assignment, check_types=False)
    assert i.objective >= b.objective - 1e-5 or bounds
    assert solve_ilp(p, shortcut=False).objective == pytest.approx(opt, abs=1e-5)


def test_shortcut_when_greedy_reaches_the_upper_bound():
    p = problem([[0.9, 0.1], [0.0, 0.8]], [(0, 1), (1, 2)])
    i = solve_ilp(p)
    assert i.shortcut and i.optimal and i.assignment == (0, 1)
    assert p.upper_bound() == pytest.approx(1.7)


def test_deterministic_tie_breaking_prefers_longer_then_leftmost():
    p = problem([[0.5, 0.5, 0.5]], [(0, 1), (0, 2), (1, 3)])
    for s in ("greedy", "bipartite", "ilp"):
        assert solve(p, s).assignment == (1,), s
    p2 = problem([[0.5, 0.5]], [(0, 2), (2, 4)])
    for s in ("greedy", "bipartite", "ilp"):
        assert solve(p2, s).assignment == (0,), s
    # entities with equal best scores: the earlier entity chooses first
    p3 = problem([[0.7, 0.0], [0.7, 0.6]], [(0, 1), (0, 2)])
    assert solve_greedy(p3).assignment == (0, -1)


def test_type_bounds():
    p = problem([[0.9, 0.0], [0.0, 0.8]], [(0, 1), (1, 2)], labels=("PER", "PER"), type_bounds={"PER": (None, 1)})
    i = solve_ilp(p)
    assert i.assignment == (0, -1) and not i.shortcut
    lo = problem([[0.4, 0.0]], [(0, 1), (1, 2)], labels=("ORG",), type_bounds={"ORG": (1, 1)})
    assert solve_ilp(lo).assignment == (0,)


def test_infeasible_type_bounds_fall_back_or_raise():
    p = problem([[0.9]], [(0, 1)], labels=("PER",), type_bounds={"ORG": (1, None)})
    s = solve_ilp(p, sentence=7)
    assert s.solver == "greedy" and "E125" in s.fallback and "sentence 7" in s.fallback
    with pytest.raises(ProjnerError) as ei:
        solve_ilp(p, on_fail="error")
    assert ei.value.code is E.E125


def test_too_large_for_the_ilp_falls_back_to_greedy():
    p = problem([[0.9, 0.8], [0.85, 0.0]], [(0, 2), (2, 3)])
    s = solve_ilp(p, max_vars=2, sentence=3)
    assert s.solver == "greedy" and s.assignment == (0, -1)
    assert "E124" in s.fallback and "3 variables (limit 2)" in s.fallback
    with pytest.raises(ProjnerError) as ei:
        solve_ilp(p, max_vars=2, on_fail="error")
    assert ei.value.code is E.E124


def test_empty_problems():
    p = problem(np.zeros((2, 0)), [])
    for s in ("greedy", "bipartite", "ilp"):
        sol = solve(p, s)
        assert sol.assignment == (-1, -1) and sol.objective == 0.0
    q = problem(np.zeros((0, 2)), [(0, 1), (1, 2)], labels=())
    assert solve_ilp(q).assignment == ()


def test_bad_problems():
    with pytest.raises(ProjnerError) as ei:
        problem([[0.5, 0.2]], [(0, 1)])
    assert ei.value.code is E.E128
    with pytest.raises(ProjnerError):
        problem([[float("nan")]], [(0, 1)])
    with pytest.raises(ProjnerError) as ei:
        solve(problem([[0.5]], [(0, 1)]), "magic")
    assert ei.value.code is E.E122
