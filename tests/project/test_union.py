"""Model transfer where projection is silent: projner.project.union.union_transfer."""

import copy

import pytest

from projner.errors import E, ProjnerError
from projner.project.union import union_transfer
from projner.types import Sentence, Span

TOKS = ("Ali", "met", "Musa", "Bello", "in", "Kano", "on", "Monday", ".")


def _proj(*spans, unknown=()):
    return Sentence(TOKS, tuple(spans), "s1", tuple(unknown))


def _tr(*spans):
    return Sentence(TOKS, tuple(spans))


def test_adds_confident_spans_only_where_projection_is_silent():
    projected = [_proj(Span(0, 1, "PER"))]
    transfer = [_tr(Span(0, 2, "ORG", 0.99),  # overlaps the projected PER: projection wins
                    Span(2, 4, "PER", 0.95),  # in silence, confident: added
                    Span(5, 6, "LOC", 0.6))]  # in silence, not confident: ignored
    out, counts = union_transfer(projected, transfer, min_score=0.8)
    assert out[0].spans == (Span(0, 1, "PER"), Span(2, 4, "PER"))
    assert out[0].id == "s1" and out[0].tokens == TOKS and out[0].unknown == ()
    assert counts.added == {"PER": 1} and counts.n_added == 1
    assert counts.overlapping == 1 and counts.below == 1 and counts.sentences == 1 and counts.unknown_tokens == 0
    assert counts.to_dict()["n_added"] == 1


def test_projected_spans_are_never_removed_or_changed():
    proj = _proj(Span(2, 4, "PER", 0.1), Span(5, 6, "LOC"))
    # the transfer tagger disagrees everywhere with high confidence
    out, counts = union_transfer([proj], [_tr(Span(2, 3, "ORG", 1.0), Span(3, 6, "ORG", 1.0))], min_score=0.5)
    assert out[0].spans == proj.spans and out[0].spans[0].score == 0.1
    assert counts.n_added == 0 and counts.overlapping == 2 and counts.sentences == 0


def test_the_more_confident_of_two_overlapping_transfer_spans_wins():
    out, counts = union_transfer([_proj()], [_tr(Span(5, 6, "LOC", 0.85), Span(4, 6, "ORG", 0.97))], min_score=0.8)
    assert out[0].spans == (Span(4, 6, "ORG"),) and out[0].spans[0].score == 0.97
    assert counts.overlapping == 1


def test_an_unscored_transfer_span_counts_as_certain():
    out, counts = union_transfer([_proj()], [_tr(Span(7, 8, "DATE"))], min_score=1.0)
    assert out[0].spans == (Span(7, 8, "DATE"),) and counts.added == {"DATE": 1}


def test_uncertain_transfer_spans_mark_their_tokens_unknown():
    projected = [_proj(Span(0, 1, "PER"), unknown=(8,))]
    transfer = [_tr(Span(2, 4, "PER", 0.5),   # in [0.4, 0.8): its words become unknown
                    Span(0, 2, "ORG", 0.6),   # overlaps a projected span: its words stay as they are
                    Span(5, 6, "LOC", 0.9),   # confident: added
                    Span(7, 8, "MISC", 0.2))]  # below both: ignored
    out, counts = union_transfer(projected, transfer, min_score=0.8, unknown_score=0.4)
    s = out[0]
    assert s.spans == (Span(0, 1, "PER"), Span(5, 6, "LOC"))
    assert s.unknown == (2, 3, 8)  # the earlier mark (8) is kept
    assert 1 not in s.unknown  # "met" is O: the uncertain ORG overlapped projection
    assert counts.unknown_tokens == 2 and counts.below == 1 and counts.added == {"LOC": 1}
    # without unknown_score the same uncertain spans are simply ignored
    out2, counts2 = union_transfer(projected, transfer, min_score=0.8)
    assert out2[0].unknown == (8,) and counts2.unknown_tokens == 0 and counts2.below == 3


def test_an_added_span_makes_earlier_unknown_tokens_known():
    out, counts = union_transfer([_proj(unknown=(5, 7))], [_tr(Span(5, 6, "LOC", 0.9))], min_score=0.8)
    assert out[0].spans == (Span(5, 6, "LOC"),) and out[0].unknown == (7,)


def test_counts_add_up_over_sentences():
    projected = [_proj(), _proj(Span(0, 1, "PER")), _proj()]
    transfer = [_tr(Span(0, 1, "PER", 0.9), Span(5, 6, "LOC", 0.9)), _tr(Span(0, 1, "PER", 0.9)), _tr()]
    out, counts = union_transfer(projected, transfer, min_score=0.8)
    assert counts.added == {"PER": 1, "LOC": 1} and counts.sentences == 1 and counts.overlapping == 1
    assert [len(s.spans) for s in out] == [2, 1, 0]


def test_inputs_are_not_mutated():
    projected = [_proj(Span(0, 1, "PER"), unknown=(8,))]
    transfer = [_tr(Span(2, 4, "PER", 0.95), Span(5, 6, "LOC", 0.5))]
    before = copy.deepcopy((projected, transfer))
    union_transfer(projected, transfer, min_score=0.8, unknown_score=0.4)
    assert (projected, transfer) == before


def test_token_and_length_mismatches_are_coded_errors():
    with pytest.raises(ProjnerError) as e:
        union_transfer([_proj(), _proj()], [_tr()], min_score=0.8)
    assert e.value.code is E.E132
    other = Sentence(TOKS[:-1] + ("!",))
    with pytest.raises(ProjnerError) as e:
        union_transfer([_proj(), _proj()], [_tr(), other], min_score=0.8)
    assert e.value.code is E.E133 and "sentence 2" in str(e.value) and "word 9" in str(e.value)
    with pytest.raises(ProjnerError) as e:
        union_transfer([_proj()], [Sentence(TOKS[:3])], min_score=0.8)
    assert e.value.code is E.E133


@pytest.mark.parametrize("kw", [dict(min_score=0.0), dict(min_score=1.5), dict(min_score=True),
                                dict(min_score=0.8, unknown_score=0.8), dict(min_score=0.8, unknown_score=0.0)])
def test_bad_thresholds(kw):
    with pytest.raises(ProjnerError) as e:
        union_transfer([_proj()], [_tr()], **kw)
    assert e.value.code is E.E134
