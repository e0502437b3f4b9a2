"""Partial labels from projection (projner.project.partial): each rule on hand-built pairs."""

import copy

import pytest

from projner.errors import E, ProjnerError
from projner.project.base import EntityProjection, Outcome, Projection
from projner.project.build import project_corpora
from projner.project.filters import filter_projected, looks_like_name, stray_capitalised
from projner.project.heuristic import HeuristicProjector
from projner.project.partial import UNKNOWN_RULES, check_rules, confident_sources, mark_unknown, unknown_params
from projner.types import Alignment, Sentence, Span


def _identity(n: int, skip: tuple[int, ...] = ()) -> Alignment:
    return Alignment.from_pairs((i, i) for i in range(n) if i not in skip)


def _project(src, tgt, als):
    return project_corpora(src, tgt, als, HeuristicProjector(), progress=False)


def test_caps_marks_capitalised_words_outside_spans_but_not_sentence_initial_ones():
    tgt = Sentence(("Jana", "Ali", "na", "Musa", "walikwenda", "Kano", ".", "Leo", "ni", "A"), (Span(1, 2, "PER"),))
    src = Sentence(("x",) * 10)
    proj = Projection(tgt.spans, ())
    out, st = mark_unknown([tgt], [src], [Alignment()], [proj], ["caps"])
    # "Jana" is sentence-initial, "Ali" is inside a span, "Leo" follows ".", "A" is one letter
    assert out[0].unknown == (3, 5)
    assert out[0].spans == tgt.spans and out[0].tokens == tgt.tokens
    assert st["by_rule"]["caps"] == {"tokens": 2, "sentences": 1} and st["tokens"] == 2 and st["sentences"] == 1
    assert [i for i in range(len(tgt)) if looks_like_name(tgt.tokens, i)] == [1, 3, 5]


def test_low_score_entities_are_not_projected_their_aligned_words_become_unknown():
    src = Sentence(("Obi", "met", "Kano", "Pillars", "today"),
                   (Span(0, 1, "PER", 0.9), Span(2, 4, "ORG", 0.3)))
    tgt = Sentence(("Obi", "alikutana", "Kano", "Pillars", "leo"))
    als = [_identity(5)]
    kept_src = confident_sources([src], ["low-score"], 0.5)
    assert kept_src[0].spans == (Span(0, 1, "PER", 0.9),) and len(src.spans) == 2  # input untouched
    projected, projections = _project(kept_src, [tgt], als)
    out, st = mark_unknown(projected, [src], als, projections, ["low-score"], 0.5)
    assert out[0].spans == (Span(0, 1, "PER"),) and out[0].unknown == (2, 3)
    assert st["low_score_entities"] == 1 and st["by_rule"]["low-score"] == {"tokens": 2, "sentences": 1}
    # the low-score entity is no failure for the complete filter: the sentence is kept
    kept, fst = filter_projected(out, [p.n_source for p in projections], [p.n_projected for p in projections], "complete")
    assert len(kept) == 1 and fst["dropped_incomplete"] == 0


def test_low_score_threshold_and_unscored_entities():
    src = Sentence(("Obi", "met", "Kano"), (Span(0, 1, "PER", 0.9), Span(2, 3, "LOC")))
    tgt = Sentence(("Obi", "alikutana", "Kano"))
    als = [_identity(3)]
    projected, projections = _project(confident_sources([src], ["low-score"], 0.95), [tgt], als)
    out, st = mark_unknown(projected, [src], als, projections, ["low-score"], 0.95)
    assert out[0].spans == (Span(2, 3, "LOC"),) and out[0].unknown == (0,)
    assert st["low_score_entities"] == 1 and st["unscored_entities"] == 1 and st["unknown_score"] == 0.95


def test_low_score_entity_a_projector_projected_anyway_is_removed_and_marked():
    src = Sentence(("Kano", "Pillars", "won"), (Span(0, 2, "ORG", 0.2),))
    tgt = Sentence(("Kano", "Pillars", "sun", "ci"))
    als = [_identity(3)]
    projected, projections = _project([src], [tgt], als)  # projected without confident_sources
    assert projected[0].spans
    out, st = mark_unknown(projected, [src], als, projections, ["low-score"])
    assert out[0].spans == () and out[0].unknown == (0, 1) and st["spans_removed"] == 1
    # without the low-score rule a low score changes nothing
    other, st_other = mark_unknown(projected, [src], als, projections, ["caps", "unaligned-edge", "unprojected"])
    assert other == projected and "low_score_entities" not in st_other


def test_unaligned_edge_marks_unaligned_alphanumeric_neighbours_of_spans():
    # target: "bwana Musa Ali ," : "bwana" (0) and "," (3) unaligned; span Musa Ali (1-3)
    src = Sentence(("Musa", "Ali", "said"), (Span(0, 2, "PER", 0.9),))
    tgt = Sentence(("bwana", "Musa", "Ali", ",", "alisema"))
    als = [Alignment.from_pairs([(0, 1), (1, 2), (2, 4)])]
    projected, projections = _project([src], [tgt], als)
    assert projected[0].spans == (Span(1, 3, "PER"),)
    out, st = mark_unknown(projected, [src], als, projections, ["unaligned-edge"])
    assert out[0].unknown == (0,)  # the comma is punctuation: left known
    assert st["by_rule"]["unaligned-edge"] == {"tokens": 1, "sentences": 1}
    # an aligned neighbour is not marked
    als2 = [Alignment.from_pairs([(2, 0), (0, 1), (1, 2), (2, 4)])]
    projected2, projections2 = _project([src], [tgt], als2)
    out2, _ = mark_unknown(projected2, [src], als2, projections2, ["unaligned-edge"])
    assert out2[0].unknown == ()


def test_unprojected_entities_make_their_aligned_words_unknown():
    # "Red Cross" (2 words) aligns to one target word 3 apart from another: the length ratio fails
    src = Sentence(("Red", "Cross", "helped", "Obi"), (Span(0, 2, "ORG", 0.9), Span(3, 4, "PER", 0.9)))
    tgt = Sentence(("Msalaba", "ulimsaidia", "Obi", "jana", "Mwekundu"))
    als = [Alignment.from_pairs([(0, 4), (1, 0), (2, 1), (3, 2)])]
    projected, projections = _project([src], [tgt], als)
    assert projections[0].entities[0].outcome is not Outcome.PROJECTED and projected[0].spans == (Span(2, 3, "PER"),)
    out, st = mark_unknown(projected, [src], als, projections, ["unprojected"])
    assert out[0].unknown == (0, 4) and st["by_rule"]["unprojected"] == {"tokens": 2, "sentences": 1}
    # it is still a failure for the complete filter (documented)
    kept, _ = filter_projected(out, [p.n_source for p in projections], [p.n_projected for p in projections], "complete")
    assert kept == ()


def test_rules_combine_counts_per_rule_and_keep_existing_unknown_and_never_mutate():
    src = Sentence(("Obi", "visited", "Kano"), (Span(0, 1, "PER", 0.9),))
    tgt = Sentence(("Obi", "alitembelea", "Kano", "leo"), (Span(0, 1, "PER"),), "s1", (3,))
    als = [Alignment.from_pairs([(0, 0), (1, 1)])]
    proj = [Projection((Span(0, 1, "PER"),), (EntityProjection(src.spans[0], Span(0, 1, "PER"), Outcome.PROJECTED),))]
    before = copy.deepcopy((tgt, src, als, proj))
    out, st = mark_unknown([tgt], [src], als, proj, ["caps", "unaligned-edge", "unprojected", "low-score"])
    assert (tgt, src, als, proj) == before
    assert out[0].unknown == (2, 3) and out[0].id == "s1" and out[0].spans == tgt.spans
    assert st["rules"] == list(UNKNOWN_RULES)  # table order whatever the given order
    assert st["by_rule"]["caps"]["tokens"] == 1 and st["by_rule"]["unaligned-edge"]["tokens"] == 0
    assert st["tokens"] == 1 and st["sentences"] == 1  # token 3 was unknown already: not counted as added
    out_none, st_none = mark_unknown([tgt], [src], als, proj, [])
    assert out_none == (tgt,) and st_none["tokens"] == 0


def test_rule_names_are_checked_with_a_hint_and_params_name_only_what_matters():
    with pytest.raises(ProjnerError) as ei:
        check_rules(["cap"])
    assert ei.value.code is E.E129 and "did you mean 'caps'" in str(ei.value)
    with pytest.raises(ProjnerError):
        mark_unknown([], [], [], [], ["bogus"])
    with pytest.raises(ProjnerError) as ei:
        mark_unknown([Sentence(("a",))], [], [], [], ["caps"])
    assert ei.value.code is E.E001
    assert unknown_params([]) == {}
    assert unknown_params(["caps"], 0.3) == {"unknown": ["caps"]}
    assert unknown_params(["low-score", "caps"], 0.3) == {"unknown": ["caps", "low-score"], "unknown_score": 0.3}
    assert confident_sources([Sentence(("a",), (Span(0, 1, "PER", 0.1),))], ["caps"])[0].spans  # off: unchanged


def test_complete_caps_filter_ignores_capitalised_words_of_unknown_tag():
    s = Sentence(("Jana", "Musa", "alikuja"))
    assert stray_capitalised(s) and not stray_capitalised(s.with_unknown([1]))
