"""Verdict logic of the inspector: every failure reason and every gold category, by hand."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from projner.errors import ProjnerError
from projner.evaluate.spans import evaluate_spans
from projner.inspect.verdicts import (
    Category,
    build_report,
    classify_targets,
    pair_report,
    parse_ratio,
    source_verdicts,
)
from projner.project.base import Outcome
from projner.project.heuristic import HeuristicProjector
from projner.types import Alignment, ParallelPair, Sentence, Span

H = HeuristicProjector()


def pair(src_tokens: str, spans, tgt_tokens: str, links) -> ParallelPair:
    return ParallelPair(
        Sentence(tuple(src_tokens.split()), tuple(Span(*s) for s in spans)),
        Sentence(tuple(tgt_tokens.split())),
        Alignment.from_pairs(links),
    )


def verdicts(p: ParallelPair, pred=None):
    return source_verdicts(p, H.project_one(p), pred)


# ----------------------------------------------------------------------------- source verdicts


def test_projected_has_target_and_aligned_words():
    p = pair("the European Commission said", [(1, 3, "ORG")], "die Europäische Kommission sagte", [(0, 0), (1, 1), (2, 2), (3, 3)])
    (v,) = verdicts(p)
    assert v.outcome is Outcome.PROJECTED and v.target == Span(1, 3, "ORG")
    assert v.aligned == (1, 2) and v.ok and v.in_pred is None
    assert v.explain() == "projected to 1-3"


def test_no_links():
    p = pair("Barnier said", [(0, 1, "PER")], "sagte Barnier", [(1, 0)])
    (v,) = verdicts(p)
    assert v.outcome is Outcome.NO_LINKS and v.target is None and v.aligned == () and not v.ok
    assert v.explain() == "no_links"


def test_length_ratio_compound_carries_ratio_and_hint():
    p = pair("the Member States agree", [(1, 3, "ORG")], "die Mitgliedstaaten stimmen", [(0, 0), (1, 1), (2, 1), (3, 2)])
    (v,) = verdicts(p)
    assert v.outcome is Outcome.LENGTH_RATIO
    assert v.ratio == pytest.approx(0.5)
    assert v.aligned == (1,)
    assert v.hint == "2 words → 1 (compound?)"
    assert v.explain() == "length_ratio: ratio 0.50, 2 words → 1 (compound?)"


def test_length_ratio_without_compound_hint_when_spread():
    # 5-word entity aligned to words 0 and 3 (gap 2 > max_gap): ranges of 1 word each, ratio 0.2
    p = pair("a b c d e", [(0, 5, "MISC")], "w x y z", [(0, 0), (4, 3)])
    (v,) = verdicts(p)
    assert v.outcome is Outcome.LENGTH_RATIO and v.ratio == pytest.approx(0.2)
    assert v.hint == "5 words → 4"  # the aligned words span 4 target words, not one


def test_overlap_lost_names_wanted_range():
    # both entities align to the same target word; the one with more links wins
    p = pair("New York City hall", [(0, 3, "LOC"), (3, 4, "ORG")], "NYC Rathaus", [(0, 0), (1, 0), (2, 0), (3, 0), (3, 1)])
    proj = HeuristicProjector(min_ratio=0.3).project_one(p)
    vs = source_verdicts(p, proj)
    lost = [v for v in vs if v.outcome is Outcome.OVERLAP_LOST]
    assert len(lost) == 1 and "wanted" in lost[0].detail and lost[0].explain().startswith("overlap_lost: wanted")


def test_in_pred_compares_projection_with_prediction_file():
    p = pair("the European Commission said", [(1, 3, "ORG")], "die Europäische Kommission sagte", [(0, 0), (1, 1), (2, 2), (3, 3)])
    (v,) = verdicts(p, pred=[Span(1, 3, "ORG")])
    assert v.in_pred is True and v.ok
    (v,) = verdicts(p, pred=[Span(2, 3, "ORG")])
    assert v.in_pred is False and not v.ok and "not in --pred" in v.explain()
    rep = pair_report(0, p, H.project_one(p), pred=[Span(2, 3, "ORG"), Span(0, 1, "MISC")])
    assert rep.pred_extra == (Span(0, 1, "MISC"), Span(2, 3, "ORG"))
    assert "pred_differs" in rep.reasons and rep.has_error
    assert rep.pred == (Span(0, 1, "MISC"), Span(2, 3, "ORG"))  # --pred is what gets evaluated


def test_parse_ratio():
    assert parse_ratio("best ratio 0.67 over 2 range(s)") == pytest.approx(0.67)
    assert parse_ratio("") is None


# ----------------------------------------------------------------------------- gold categories


def cats(gold, pred):
    return [(t.category, t.gold, t.pred) for t in classify_targets([Span(*g) for g in gold], [Span(*p) for p in pred])]


def test_correct():
    assert cats([(0, 2, "ORG")], [(0, 2, "ORG")]) == [(Category.CORRECT, Span(0, 2, "ORG"), Span(0, 2, "ORG"))]


def test_wrong_type():
    (t,) = classify_targets([Span(0, 2, "ORG")], [Span(0, 2, "MISC")])
    assert t.category is Category.WRONG_TYPE and t.detail == "MISC instead of ORG"


def test_wrong_boundary():
    (t,) = classify_targets([Span(0, 3, "ORG")], [Span(0, 2, "ORG")])
    assert t.category is Category.WRONG_BOUNDARY and t.detail == "0-2 instead of 0-3"
    (t,) = classify_targets([Span(0, 3, "ORG")], [Span(1, 2, "LOC")])
    assert t.category is Category.WRONG_BOUNDARY and "LOC instead of ORG" in t.detail


def test_missed_and_spurious():
    assert cats([(0, 1, "PER")], []) == [(Category.MISSED, Span(0, 1, "PER"), None)]
    assert cats([], [(2, 3, "LOC")]) == [(Category.SPURIOUS, None, Span(2, 3, "LOC"))]


def test_pairing_is_one_to_one_and_prefers_exact():
    # pred 0-2 exactly matches gold 0-2 and also overlaps gold 1-3: the exact pair wins, 1-3 is missed
    out = cats([(0, 2, "ORG"), (1, 3, "ORG")], [(0, 2, "ORG")])
    assert [c for c, _, _ in out] == [Category.CORRECT, Category.MISSED]
    # two preds in one gold: the bigger overlap is the wrong boundary, the other is spurious
    out = cats([(0, 4, "ORG")], [(0, 1, "ORG"), (1, 4, "ORG")])
    assert sorted(c.value for c, _, _ in out) == ["spurious", "wrong_boundary"]
    assert [(c, p) for c, _, p in out if c is Category.WRONG_BOUNDARY] == [(Category.WRONG_BOUNDARY, Span(1, 4, "ORG"))]


spans_st = st.lists(
    st.tuples(st.integers(0, 9), st.integers(1, 3), st.sampled_from(["PER", "ORG", "LOC"])).map(
        lambda t: Span(t[0], min(10, t[0] + t[1]), t[2])
    ),
    max_size=5,
).map(lambda xs: _non_overlapping(xs))


def _non_overlapping(xs):
    out = []
    for s in xs:
        if not any(s.overlaps(o) for o in out):
            out.append(s)
    return sorted(out)


@settings(max_examples=200, deadline=None)
@given(gold=spans_st, pred=spans_st)
def test_categories_add_up_to_strict_counts(gold, pred):
    ts = classify_targets(gold, pred)
    n = {c: sum(1 for t in ts if t.category is c) for c in Category}
    sc = evaluate_spans([Sentence(tuple("w" * 10), tuple(gold))], [Sentence(tuple("w" * 10), tuple(pred))])
    assert n[Category.CORRECT] == sc.micro.tp
    assert n[Category.WRONG_BOUNDARY] + n[Category.WRONG_TYPE] + n[Category.SPURIOUS] == sc.micro.fp
    assert n[Category.WRONG_BOUNDARY] + n[Category.WRONG_TYPE] + n[Category.MISSED] == sc.micro.fn
    assert sum(1 for t in ts if t.gold is not None) == len(gold)
    assert sum(1 for t in ts if t.pred is not None) == len(pred)


# ----------------------------------------------------------------------------- whole reports


def test_missed_gold_names_its_cause():
    p = pair("the Member States agree", [(1, 3, "ORG")], "die Mitgliedstaaten stimmen", [(0, 0), (1, 1), (2, 1), (3, 2)])
    rep = pair_report(0, p, H.project_one(p), gold=[Span(1, 2, "ORG")])
    (t,) = rep.targets
    assert t.category is Category.MISSED and t.causes == (0,)
    assert set(rep.reasons) == {"length_ratio", "missed", "compound"} and rep.has_error
    assert rep.types == ("ORG",)


def test_build_report_scores_equal_evaluate_and_flags_errors():
    src = [
        Sentence(("Barnier", "said"), (Span(0, 1, "PER"),)),
        Sentence(("the", "Member", "States"), (Span(1, 3, "ORG"),)),
    ]
    tgt = [
        Sentence(("Barnier", "sagte"), (Span(0, 1, "PER"),)),
        Sentence(("die", "Mitgliedstaaten"), (Span(1, 2, "ORG"),)),
    ]
    als = [Alignment.from_pairs([(0, 0), (1, 1)]), Alignment.from_pairs([(0, 0), (1, 1), (2, 1)])]
    rep = build_report(src, tgt, als, H, gold=tgt, gold_scheme="iob2")
    assert [p.has_error for p in rep.pairs] == [False, True]
    assert rep.n_error_pairs == 1
    assert rep.category_counts() == {"correct": 1, "wrong_boundary": 0, "wrong_type": 0, "missed": 1, "spurious": 0}
    assert rep.stats.outcomes == {"length_ratio": 1, "projected": 1}
    ref = evaluate_spans(tgt, [tgt[0], tgt[1].with_spans(())], scheme="iob2", repair="begin")  # as the inspector states them
    assert rep.scores is not None and rep.scores.f1 == pytest.approx(ref.f1) and rep.scores.signature == ref.signature
    assert rep.pred_is_projection
    # schemes that differ are stated per side, in the form `projner evaluate` uses
    mixed = build_report(src, tgt, als, H, gold=tgt, gold_scheme="iob1", pred_scheme="iob2")
    assert "scheme:gold=iob1,pred=iob2|" in str(mixed.scores.signature)


def test_build_report_refuses_mismatched_gold():
    src = [Sentence(("a",), (Span(0, 1, "PER"),))]
    tgt = [Sentence(("b",))]
    with pytest.raises(ProjnerError) as ei:
        build_report(src, tgt, [Alignment.from_pairs([(0, 0)])], H, gold=[Sentence(("c",))], files={"gold": "g.conll"})
    assert ei.value.code.name == "E160" and "g.conll" in str(ei.value)
