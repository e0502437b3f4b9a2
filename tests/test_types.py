import dataclasses

import pytest

from projner.types import Alignment, Link, ParallelPair, Sentence, Span


def test_span_is_immutable_and_validated():
    s = Span(1, 3, "PER", 0.9)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.start = 0  # type: ignore[misc]
    assert len(s) == 2 and s.key == (1, 3, "PER")
    assert Span(1, 3, "PER", 0.1) == Span(1, 3, "PER", 0.9)  # the score does not change identity
    for bad in ((2, 2, "X"), (-1, 2, "X"), (0, 1, "")):
        with pytest.raises(ValueError):
            Span(*bad)


def test_sentence_sorts_spans_and_checks_bounds():
    sent = Sentence(["a", "b", "c"], (Span(2, 3, "LOC"), Span(0, 1, "PER")))
    assert [s.start for s in sent.spans] == [0, 2]
    assert isinstance(sent.tokens, tuple)
    with pytest.raises(ValueError):
        Sentence(("a",), (Span(0, 2, "PER"),))
    assert sent.unlabelled().spans == () and sent.spans  # original untouched


def test_alignment_dedups_keeps_best_score_and_reverses():
    al = Alignment((Link(1, 0, 0.2), Link(0, 0), Link(1, 0, 0.7)))
    assert al.pairs == {(0, 0), (1, 0)}
    assert [l.score for l in al.links] == [None, 0.7]
    assert al.reversed().pairs == {(0, 0), (0, 1)}
    assert al.targets_of([1]) == (0,)
    assert Alignment.from_pairs([(0, 1)], [0.5]).links[0].score == 0.5


def test_parallel_pair_checks_alignment_range():
    with pytest.raises(ValueError):
        ParallelPair(Sentence(("a",)), Sentence(("b",)), Alignment.from_pairs([(0, 1)]))


def test_invalid_core_values_are_catalogue_errors():
    """Issue 14: the core types raise coded errors (E049), not bare ValueErrors."""
    from projner.errors import ProjnerError

    with pytest.raises(ProjnerError, match=r"\[E049\] Invalid span: \[2, 2\)"):
        Span(2, 2, "X")
    with pytest.raises(ProjnerError, match="E049.*empty label"):
        Span(0, 1, "")
    with pytest.raises(ProjnerError, match="E049.*exceeds a sentence of 1 tokens"):
        Sentence(("a",), (Span(0, 2, "PER"),))
    with pytest.raises(ProjnerError, match="E049.*negative index in -1-0"):
        Alignment((Link(-1, 0),))
    with pytest.raises(ProjnerError, match=r"E049.*out of range: max \(0, 1\) for 1x1 words"):
        ParallelPair(Sentence(("a",)), Sentence(("b",)), Alignment.from_pairs([(0, 1)]))
