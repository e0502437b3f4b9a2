"""One bootstrap for span scores: evaluate_spans' intervals and the paired drop interval share it."""

from __future__ import annotations

import numpy as np
import pytest

from projner.evaluate.bootstrap import paired_drop_ci, prf, prf_intervals, resample
from projner.evaluate.spans import evaluate_spans
from projner.types import Sentence, Span


def _corpus(seed: int, n: int = 40):
    rng = np.random.default_rng(seed)
    toks = tuple(f"w{k}" for k in range(6))
    gold, pred = [], []
    for i in range(n):
        g = (Span(0, 1, "PER"),) + ((Span(3, 5, "LOC"),) if rng.random() < 0.5 else ())
        p = tuple(sp for sp in g if rng.random() < 0.7) + ((Span(2, 3, "ORG"),) if rng.random() < 0.3 else ())
        gold.append(Sentence(toks, g, f"s{i}"))
        pred.append(Sentence(toks, p, f"s{i}"))
    return gold, pred


def test_prf_matches_the_point_estimate_and_is_zero_where_undefined():
    gold, pred = _corpus(0)
    s = evaluate_spans(gold, pred)
    p, r, f = prf(np.array([s.micro.tp, s.micro.fp, s.micro.fn]))
    assert (float(p), float(r), float(f)) == pytest.approx((s.precision, s.recall, s.f1))
    assert [float(x) for x in prf(np.zeros(3))] == [0.0, 0.0, 0.0]


def test_evaluate_spans_intervals_come_from_the_shared_bootstrap():
    gold, pred = _corpus(1)
    s = evaluate_spans(gold, pred, bootstrap=300, seed=7)
    per_sentence = np.array([[len({x.key for x in g.spans} & {x.key for x in q.spans}),
                              len({x.key for x in q.spans} - {x.key for x in g.spans}),
                              len({x.key for x in g.spans} - {x.key for x in q.spans})] for g, q in zip(gold, pred)])
    assert s.ci == prf_intervals(per_sentence, 300, 7)
    lo, hi = s.ci["f1"]
    assert lo <= s.f1 <= hi and lo < hi
    assert resample(5, 3, 0).shape == (3, 5) and (resample(5, 3, 0) == resample(5, 3, 0)).all()


def test_paired_drop_uses_the_same_resamples():
    gold, pred = _corpus(2)
    labels = ["PER", "LOC", "ORG"]
    # against a perfect system (F1 = 1 in every resample: each sentence has a gold span) the drop
    # interval is 1 minus the F1 interval of the same resamples, reversed
    lo, hi = paired_drop_ci(gold, gold, pred, labels, n_boot=400, seed=3)
    f_lo, f_hi = evaluate_spans(gold, pred, labels=labels, bootstrap=400, seed=3).ci["f1"]
    assert lo == pytest.approx(1 - f_hi, abs=1e-6) and hi == pytest.approx(1 - f_lo, abs=1e-6)
    assert paired_drop_ci(gold, pred, pred, labels) == [0.0, 0.0]
    assert paired_drop_ci([], [], [], labels) == [0.0, 0.0]
    # spans of other labels are ignored: a wrong ORG span costs nothing when only PER is scored
    no_org = [q.with_spans(sp for sp in q.spans if sp.label != "ORG") for q in pred]
    assert paired_drop_ci(gold, no_org, pred, ["PER"], seed=1) == [0.0, 0.0]
