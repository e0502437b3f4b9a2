import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
from seqeval.scheme import IOB2

from projner.data.schemes import decode
from projner.errors import ProjnerError
from projner.evaluate import evaluate_spans
from projner.evaluate.alignment import alignment_scores, parse_gold_line
from projner.types import Alignment, Sentence, Span

TAG = st.sampled_from(["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG"])


@st.composite
def gold_pred(draw):
    lengths = draw(st.lists(st.integers(1, 8), min_size=1, max_size=6))
    gold = [draw(st.lists(TAG, min_size=n, max_size=n)) for n in lengths]
    pred = [draw(st.lists(TAG, min_size=n, max_size=n)) for n in lengths]
    return gold, pred


def sents(seqs, repair="drop"):
    return [Sentence(tuple("w" * len(t)), decode(t, "iob2", repair).spans) for t in seqs]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # seqeval's own averages over empty classes
@settings(max_examples=300, deadline=None)
@given(gold_pred())
def test_equals_seqeval_strict(gp):
    gold, pred = gp
    ours = evaluate_spans(sents(gold), sents(pred))
    kw = dict(mode="strict", scheme=IOB2, zero_division=0)
    assert math.isclose(ours.precision, precision_score(gold, pred, **kw), abs_tol=1e-9)
    assert math.isclose(ours.recall, recall_score(gold, pred, **kw), abs_tol=1e-9)
    assert math.isclose(ours.f1, f1_score(gold, pred, **kw), abs_tol=1e-9)
    rep = classification_report(gold, pred, output_dict=True, **kw)
    for label, ts in ours.per_type.items():
        if ts.support:
            assert math.isclose(ts.f1, rep[label]["f1-score"], abs_tol=1e-9)
            assert ts.support == rep[label]["support"]


def test_fixture_counts_and_signature():
    gold = [Sentence(("a", "b", "c", "d"), (Span(0, 2, "PER"), Span(3, 4, "LOC")))]
    pred = [Sentence(("a", "b", "c", "d"), (Span(0, 2, "PER"), Span(2, 4, "LOC")))]
    s = evaluate_spans(gold, pred)
    assert (s.micro.tp, s.micro.fp, s.micro.fn) == (1, 1, 1)
    assert s.per_type["PER"].f1 == 1.0 and s.per_type["LOC"].f1 == 0.0 and s.macro_f1 == 0.5
    # spans given directly (no file read): the signature says so instead of claiming iob2/begin
    assert s.signature.startswith("projner-eval:1|scheme:spans|mode:strict|repair:none|labels:LOC,PER|version:")
    assert set(s.to_dict()) >= {"precision", "recall", "f1", "per_type", "signature"}
    only = evaluate_spans(gold, pred, labels=["PER"])
    assert only.f1 == 1.0 and "labels:PER|" in only.signature


def test_bootstrap_interval_brackets_estimate():
    gold = [Sentence(("a", "b"), (Span(0, 1, "PER"),)) for _ in range(30)]
    pred = [Sentence(("a", "b"), (Span(0, 1, "PER") if i % 3 else Span(1, 2, "PER"),)) for i in range(30)]
    s = evaluate_spans(gold, pred, bootstrap=500, seed=1)
    lo, hi = s.ci["f1"]
    assert lo <= s.f1 <= hi and lo < hi
    assert s.ci == evaluate_spans(gold, pred, bootstrap=500, seed=1).ci  # seeded


def test_mismatch_errors():
    with pytest.raises(ProjnerError, match="E016"):
        evaluate_spans([Sentence(("a",))], [])
    with pytest.raises(ProjnerError, match="sentence 1 has 1 tokens"):
        evaluate_spans([Sentence(("a",))], [Sentence(("a", "b"))])


def test_alignment_error_rate():
    gold = [parse_gold_line("0-0 1-1 2p2")]
    pred = [Alignment.from_pairs([(0, 0), (2, 2), (1, 2)])]
    s = alignment_scores(pred, gold)
    assert s.precision == pytest.approx(2 / 3) and s.recall == pytest.approx(1 / 2)
    assert s.aer == pytest.approx(1 - (1 + 2) / (3 + 2))
