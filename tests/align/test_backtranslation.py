import pytest

from projner.align.backtranslation import (
    compose,
    compose_through_back_translation,
    monolingual_alignment,
    refine,
    refine_corpus,
)
from projner.errors import ProjnerError
from projner.types import Alignment, Link


def test_monolingual_alignment_prefers_exact_then_case_then_prefix_one_to_one():
    x = "The president visited Nairobi on Monday .".split()
    y = "On monday the presidents visited Nairobi .".split()
    al = monolingual_alignment(x, y)
    pairs = al.pairs
    assert (3, 5) in pairs  # Nairobi exact
    assert (5, 1) in pairs  # Monday ~ monday (case)
    assert (1, 3) in pairs  # president ~ presidents (prefix)
    assert (0, 2) in pairs and (4, 0) in pairs and (6, 6) in pairs
    assert len({l.src for l in al}) == len(al) == len({l.tgt for l in al})  # one-to-one
    scores = {(l.src, l.tgt): l.score for l in al}
    assert scores[(3, 5)] == 1.0 and scores[(5, 1)] == 0.9 and scores[(1, 3)] == 0.6
    assert (1, 3) not in monolingual_alignment(x, y, prefix_len=0).pairs


def test_monolingual_alignment_repeated_words_pair_by_position():
    al = monolingual_alignment("a b a".split(), "a a b".split())
    assert al.pairs == {(0, 0), (1, 2), (2, 1)}
    with pytest.raises(ProjnerError, match="prefix_len"):
        monolingual_alignment(["a"], ["a"], prefix_len=-1)


def test_compose_and_scores():
    ab = Alignment((Link(0, 1, 0.5), Link(1, 0)))
    bc = Alignment((Link(1, 2, 0.8), Link(0, 0), Link(0, 3)))
    c = compose(ab, bc)
    assert c.pairs == {(0, 2), (1, 0), (1, 3)}
    assert {(l.src, l.tgt): l.score for l in c}[(0, 2)] == pytest.approx(0.4)


def test_refine_modes():
    direct = Alignment.from_pairs([(0, 0), (1, 1)])
    composed = Alignment.from_pairs([(0, 0), (1, 2), (2, 2)])
    assert refine(direct, composed, "fill").pairs == {(0, 0), (1, 1), (2, 2)}  # only word 2 was unaligned
    assert refine(direct, composed, "union").pairs == {(0, 0), (1, 1), (1, 2), (2, 2)}
    assert refine(direct, composed, "intersect").pairs == {(0, 0)}
    with pytest.raises(ProjnerError, match="back-translation mode"):
        refine(direct, composed, "bogus")
    out, st = refine_corpus([direct, Alignment()], [composed, composed], "fill")
    assert st.source_words_newly_aligned == 1 + 3 and st.refined_links == 3 + 3
    assert direct.pairs == {(0, 0), (1, 1)}  # inputs untouched


def test_compose_through_back_translation_both_sides():
    src = [["John", "visited", "Kano"]]
    tgt = [["John", "alitembelea", "Kano"]]
    # translate-train: back-translation in the source language, aligned back→tgt
    back = [["John", "visits", "Kano"]]
    back_links = [Alignment.from_pairs([(0, 0), (2, 2)])]
    c = compose_through_back_translation(src, tgt, back, back_links, back_side="source")
    assert c[0].pairs == {(0, 0), (2, 2)}
    # translate-test: back-translation in the target language, aligned src→back
    back_t = [["Kano", "John", "alitembelea"]]
    links_t = [Alignment.from_pairs([(0, 1), (1, 2), (2, 0)])]
    c2 = compose_through_back_translation(src, tgt, back_t, links_t, back_side="target")
    assert c2[0].pairs == {(0, 0), (1, 1), (2, 2)}
    with pytest.raises(ProjnerError, match="E001"):
        compose_through_back_translation(src, tgt, [], back_links, back_side="source")
    with pytest.raises(ProjnerError, match="back_side"):
        compose_through_back_translation(src, tgt, back, back_links, back_side="middle")
