"""Weight tuning for candidate matching: a grid over score-component weights (and thresholds),
each point scored by strict F1 of the projected spans on a dev split.

It lives here, not in :mod:`projner.project.matching`, because it scores: projection sits below
evaluation.
"""

from __future__ import annotations

from typing import Sequence

from projner.errors import E, ProjnerError
from projner.evaluate.spans import evaluate_spans
from projner.project.matching import CandidateProjector
from projner.project.scores import format_weights, simplex_grid
from projner.types import ParallelPair, Sentence


def tune_weights(
    projector: CandidateProjector,
    dev_pairs: Sequence[ParallelPair],
    dev_gold: Sequence[Sentence],
    *,
    components: Sequence[str] | None = None,
    step: float = 0.25,
    thresholds: Sequence[float] | None = None,
) -> tuple[CandidateProjector, list[dict]]:
    """Grid search over a simplex of weights (entries multiples of ``step`` summing to 1),
    optionally also over ``thresholds``, maximising strict F1 of the projected target spans
    against ``dev_gold``. Returns the best projector (a copy; ``projector`` is unchanged; ties:
    first in grid order) and every grid point's result. ``components``: the weighted score
    components (default: all that ``projector`` has, :meth:`CandidateProjector.available_components`)."""
    dev_pairs = list(dev_pairs)
    if not dev_pairs:
        raise ProjnerError(E.E126, detail="a non-empty dev split")
    if len(dev_gold) != len(dev_pairs):
        raise ProjnerError(E.E126, detail=f"one gold target sentence per dev pair ({len(dev_gold)} for {len(dev_pairs)})")
    names = list(components) if components is not None else sorted(projector.available_components())
    scored = projector.score_pairs(dev_pairs, names)
    grid = simplex_grid(names, step)
    ths = list(thresholds) if thresholds is not None else [projector.threshold]
    results = []
    best: tuple[float, int] | None = None
    for t in ths:
        for w in grid:
            trial = projector.with_weights(w)
            trial.threshold = float(t)
            projs, _ = trial.project_scored(scored)
            pred = [sp.pair.tgt.with_spans(pr.spans) for sp, pr in zip(scored, projs)]
            f1 = evaluate_spans(dev_gold, pred).f1
            results.append({"weights": format_weights(w), "threshold": float(t), "f1": f1})
            if best is None or f1 > best[0] + 1e-12:
                best = (f1, len(results) - 1)
    assert best is not None
    chosen = results[best[1]]
    tuned = projector.with_weights(chosen["weights"])
    tuned.threshold = chosen["threshold"]
    return tuned, results
