"""Multi-source combination of projected target sentences (vote / union / unanimous)."""

from __future__ import annotations

import pytest

from projner.errors import ProjnerError
from projner.project.base import EntityProjection, Outcome, Projection
from projner.project.multisource import (
    CombineConfig,
    alignment_confidence,
    combine,
    with_alignment_confidence,
)
from projner.types import Alignment, Sentence, Span

TOK = ("Frau", "Merkel", "besucht", "den", "Europäischen", "Rat", "heute")


def S(*spans, tokens=TOK, id=None):
    return Sentence(tokens, tuple(Span(a, b, lab, sc) for a, b, lab, sc in spans), id)


def keys(sent):
    return [(s.start, s.end, s.label) for s in sent.spans]


def test_vote_majority_with_confidence_weights():
    src = {
        "en": [S((1, 2, "PER", 1.0), (4, 6, "ORG", 1.0))],
        "es": [S((1, 2, "PER", 1.0), (4, 6, "ORG", 0.4))],
        "it": [S((0, 2, "PER", 1.0), (5, 6, "ORG", 1.0))],
    }
    out, st = combine(src)
    # PER 1-2: 2.0 of 3 ≥ 1.5; ORG 4-6: 1.4 < 1.5 (the low-confidence source does not carry it)
    assert keys(out[0]) == [(1, 2, "PER")]
    assert out[0].spans[0].score == pytest.approx(2 / 3)
    assert st.proposed == 4 and st.kept == 1 and st.covered == 1
    # uniform weighting: ORG 4-6 has 2 of 3 votes → kept
    out_u, _ = combine(src, CombineConfig(weighting="uniform"))
    assert keys(out_u[0]) == [(1, 2, "PER"), (4, 6, "ORG")]
    # a higher threshold needs every source
    out_t, _ = combine(src, CombineConfig(threshold=0.9, weighting="uniform"))
    assert keys(out_t[0]) == []


def test_union_and_unanimous_resolve_overlaps_deterministically():
    src = {
        "a": [S((1, 2, "PER", 0.5), (4, 6, "ORG", 1.0))],
        "b": [S((0, 2, "PER", 0.9), (4, 6, "ORG", 1.0))],
    }
    out, st = combine(src, CombineConfig(method="union"))
    # 0-2 (0.9) beats 1-2 (0.5): higher vote first
    assert keys(out[0]) == [(0, 2, "PER"), (4, 6, "ORG")]
    assert st.overlap_dropped == 1
    un, _ = combine(src, CombineConfig(method="unanimous"))
    assert keys(un[0]) == [(4, 6, "ORG")]
    # equal votes: the longest wins, then the leftmost, whatever the source order
    tie = {"x": [S((1, 2, "PER", 1.0))], "y": [S((1, 3, "ORG", 1.0))], "z": [S((0, 2, "LOC", 1.0))]}
    for order in (["x", "y", "z"], ["z", "y", "x"]):
        o, _ = combine({k: tie[k] for k in order}, CombineConfig(method="union"))
        assert keys(o[0]) == [(0, 2, "LOC")]


def test_coverage_source_weights_and_no_mutation():
    s0 = [S((1, 2, "PER", None)), S((4, 6, "ORG", None))]
    s1 = [None, S()]
    src = {"a": s0, "b": s1}
    before = (tuple(s0), tuple(s1))
    out, st = combine(src)
    # sentence 0: only "a" covers it → its span has all the weight; sentence 1: 1.0 of 2 ≥ 1.0
    assert keys(out[0]) == [(1, 2, "PER")] and keys(out[1]) == [(4, 6, "ORG")]
    assert st.covered == 2 and st.uncovered == 0
    out_w, _ = combine(src, CombineConfig(source_weights={"b": 3.0}))
    assert keys(out_w[1]) == []  # the heavier source saw no entity there
    assert (tuple(s0), tuple(s1)) == before and s0[0].spans[0].score is None
    # a sentence nobody covers: None, or the target's tokens without spans
    out_n, st_n = combine({"a": [None], "b": [None]})
    assert out_n == (None,) and st_n.uncovered == 1
    tgt = [S((0, 1, "PER", None), id="t0")]
    out_t, _ = combine({"a": [None]}, target=tgt)
    assert out_t[0].spans == () and out_t[0].id == "t0"


def test_mismatched_corpora_are_named():
    with pytest.raises(ProjnerError, match=r"E250.*'b' has 2 projected sentences, 'a' has 1"):
        combine({"a": [S()], "b": [S(), S()]})
    other = S(tokens=TOK[:-1] + ("morgen",))
    with pytest.raises(ProjnerError, match=r"E251.*Sentence 1: .*source 'b'.*'a'.*token 6: 'morgen' vs 'heute'"):
        combine({"a": [S(), S()], "b": [S(), other]})
    with pytest.raises(ProjnerError, match=r"E251.*Sentence 0: .*source 'a'.*'\(target\)'"):
        combine({"a": [other]}, target=[S()])
    with pytest.raises(ProjnerError, match="E252"):
        combine({})
    with pytest.raises(ProjnerError, match="E252.*method 'best'"):
        CombineConfig(method="best")
    with pytest.raises(ProjnerError, match="E252.*threshold"):
        CombineConfig(threshold=1.5)
    with pytest.raises(ProjnerError, match="E252.*weight"):
        CombineConfig(source_weights={"a": -1})


def test_signature_and_tag():
    assert CombineConfig().signature() == "combine:vote|threshold:0.5|weighting:confidence|source-weights:equal"
    assert CombineConfig(method="union").tag() == "union"
    assert CombineConfig(threshold=0.67, weighting="uniform").tag() == "vote@0.67-uniform"
    assert "source-weights:a=2,b=1" in CombineConfig(source_weights={"b": 1, "a": 2}).signature()


def test_alignment_confidence_is_share_of_aligned_entity_words():
    ent = Span(0, 3, "ORG")  # 3 source words; two of them aligned into the target span 4-6
    tgt = Span(4, 6, "ORG")
    proj = Projection((tgt,), (EntityProjection(ent, tgt, Outcome.PROJECTED),
                               EntityProjection(Span(5, 6, "PER"), None, Outcome.NO_LINKS)))
    al = Alignment.from_pairs([(0, 4), (1, 5), (1, 4), (2, 0)])
    assert alignment_confidence(proj, al) == {Span(4, 6, "ORG"): pytest.approx(2 / 3)}
    sents = [Sentence(TOK, (tgt,))]
    scored = with_alignment_confidence(sents, [proj], [al])
    assert scored[0].spans[0].score == pytest.approx(2 / 3) and sents[0].spans[0].score is None
    with pytest.raises(ProjnerError, match="E252"):
        with_alignment_confidence(sents, [], [al])
