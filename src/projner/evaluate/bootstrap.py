"""Bootstrap confidence intervals of strict span scores, resampling test sentences.

One resampling for all: ``B`` samples of ``n`` sentence indices drawn with replacement by
``numpy.random.default_rng(seed).integers(0, n, size=(B, n))``; the scores of a sample are
computed from the summed per-sentence (tp, fp, fn) counts; the 95% interval is the 2.5 and
97.5 percentiles. Used by :func:`projner.evaluate.spans.evaluate_spans` (``bootstrap=``) and,
paired (the same samples for two systems on the same gold), by :func:`paired_drop_ci`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from projner.evaluate.spans import _counts
from projner.types import Sentence


def resample(n: int, n_boot: int, seed: int) -> np.ndarray:
    """``[n_boot, n]`` sentence indices drawn with replacement (seeded)."""
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def prf(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and F1 of ``counts[..., (tp, fp, fn)]`` (0 where undefined)."""
    tp, fp, fn = counts[..., 0], counts[..., 1], counts[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        r = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
        f = np.where(p + r > 0, 2 * p * r / (p + r), 0.0)
    return p, r, f


def interval(values: np.ndarray) -> tuple[float, float]:
    """The 95% percentile interval of bootstrap ``values``."""
    return float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))


def prf_intervals(per_sentence: np.ndarray, n_boot: int, seed: int) -> dict[str, tuple[float, float]]:
    """95% intervals of precision, recall and F1 from per-sentence counts ``[n, (tp, fp, fn)]``."""
    sums = per_sentence[resample(len(per_sentence), n_boot, seed)].sum(axis=1)  # [B, 3]
    p, r, f = prf(sums)
    return {name: interval(vals) for name, vals in (("precision", p), ("recall", r), ("f1", f))}


def paired_drop_ci(gold: Sequence[Sentence], pred0: Sequence[Sentence], pred: Sequence[Sentence],
                   labels: Sequence[str], n_boot: int = 1000, seed: int = 0) -> list[float]:
    """95% percentile interval of F1(``pred0``) − F1(``pred``) on ``gold`` by a paired bootstrap
    over sentences (spans of other types than ``labels`` ignored), rounded to 6 digits."""
    if not len(gold):
        return [0.0, 0.0]
    lab = frozenset(labels)
    c0 = _counts(gold, pred0, lab)[1].sum(axis=1)
    c1 = _counts(gold, pred, lab)[1].sum(axis=1)
    idx = resample(len(gold), n_boot, seed)
    lo, hi = interval(prf(c0[idx].sum(axis=1))[2] - prf(c1[idx].sum(axis=1))[2])
    return [round(lo, 6), round(hi, 6)]
