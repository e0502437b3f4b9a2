import pytest

from projner.errors import E, ProjnerError
from projner.project.candidates import ANY_LABEL, Candidate, CandidateSet, ngram_candidates
from projner.project.scores import (
    AlignmentScorer,
    CharOverlapTranslation,
    FusionScorer,
    LexicalTranslationModel,
    NERScorer,
    StringSimilarityScorer,
    TranslationScorer,
    fold,
    format_weights,
    ngram_dice,
    parse_weights,
    simplex_grid,
)
from projner.registry import scorers
from projner.types import Alignment, ParallelPair, Sentence, Span


def pair(src, tgt, links, spans, scores=None):
    return ParallelPair(
        Sentence(tuple(src.split()), tuple(spans)), Sentence(tuple(tgt.split())), Alignment.from_pairs(links, scores)
    )


def cands(n, *ranges):
    return CandidateSet(n, tuple(Candidate(a, b) for a, b in ranges))


# --------------------------------------------------------------------------- alignment


def test_alignment_one_to_one_equals_classic_formula():
    p = pair("the European Parliament met", "el Parlamento Europeo se reunió", [(0, 0), (1, 2), (2, 1), (3, 4)], [Span(1, 3, "ORG")])
    cs = cands(5, (1, 3), (0, 3), (1, 2), (3, 5))
    m = AlignmentScorer().matrix(p, p.src.spans, cs)
    # [1,3): 2 links -> 2*2/(2+2) = 1; [0,3): 2*2/(2+3) = 0.8; [1,2): 2*1/(2+1); [3,5): none
    assert m[0] == pytest.approx([1.0, 0.8, 2 / 3, 0.0])
    links = AlignmentScorer(mode="links").matrix(p, p.src.spans, cs)
    assert links == pytest.approx(m)


def test_alignment_one_to_many_compound():
    p = pair("Member States agree", "Mitgliedstaaten stimmen zu", [(0, 0), (1, 0), (2, 1), (2, 2)], [Span(0, 2, "ORG")])
    cs = cands(3, (0, 1), (0, 2))
    words = AlignmentScorer().matrix(p, p.src.spans, cs)
    assert words[0] == pytest.approx([1.0, 3 / 4])  # (2 src + 1 tgt) / (2 + 1); (2 + 1) / (2 + 2)
    links = AlignmentScorer(mode="links").matrix(p, p.src.spans, cs)
    assert links[0] == pytest.approx([1.0, 1.0])  # 2*2/3 clipped; 2*2/4


def test_alignment_weighted_by_link_probability():
    p = pair("New York", "Nueva York", [(0, 0), (1, 1), (1, 0)], [Span(0, 2, "LOC")], scores=[0.5, 0.9, 0.2])
    cs = cands(2, (0, 2), (1, 2))
    m = AlignmentScorer(weighted=True).matrix(p, p.src.spans, cs)
    # [0,2): src New .5, York max(.9,.2)=.9 ; tgt Nueva max(.5,.2)=.5, York .9 -> 2.8/4
    # [1,2): src New 0, York .9 ; tgt York .9 -> 1.8/3
    assert m[0] == pytest.approx([2.8 / 4, 1.8 / 3])
    unweighted = AlignmentScorer().matrix(p, p.src.spans, cs)
    assert unweighted[0] == pytest.approx([1.0, 2 / 3])


def test_alignment_strip_determiners():
    p = pair("the Netherlands voted", "los Países Bajos votaron", [(1, 1), (1, 2), (2, 3)], [Span(0, 2, "LOC")])
    cs = cands(4, (1, 3), (0, 3))
    plain = AlignmentScorer().matrix(p, p.src.spans, cs)
    assert plain[0] == pytest.approx([3 / 4, 3 / 5])
    stripped = AlignmentScorer(strip_determiners=True).matrix(p, p.src.spans, cs)
    assert stripped[0] == pytest.approx([1.0, 3 / 4])


def test_alignment_unaligned_weight_relieves_inner_unaligned_words():
    p = pair("cohesion funds", "el Fondo de cohesión", [(0, 3), (1, 1)], [Span(0, 2, "MISC")])
    cs = cands(4, (1, 4), (0, 4), (3, 4))
    classic = AlignmentScorer().matrix(p, p.src.spans, cs)
    assert classic[0] == pytest.approx([4 / 5, 4 / 6, 2 / 3])
    tolerant = AlignmentScorer(unaligned_weight=0.0).matrix(p, p.src.spans, cs)
    # "de" is inside [1,4) and aligned to nothing: it no longer counts; "el" at an edge still does
    assert tolerant[0] == pytest.approx([1.0, 4 / 5, 2 / 3])
    half = AlignmentScorer(unaligned_weight=0.5).matrix(p, p.src.spans, cs)
    assert half[0][0] == pytest.approx(4 / 4.5)
    with pytest.raises(ProjnerError):
        AlignmentScorer(unaligned_weight=2.0)


def test_alignment_empty_inputs():
    p = pair("a", "b", [], [Span(0, 1, "PER")])
    assert AlignmentScorer().matrix(p, p.src.spans, CandidateSet(1)).shape == (1, 0)
    assert AlignmentScorer().matrix(p, p.src.spans, cands(1, (0, 1)))[0, 0] == 0.0


# --------------------------------------------------------------------------- NER


def test_ner_score_with_length_factor_and_types():
    cs = CandidateSet(4, (Candidate(0, 1, {"PER": 0.9}), Candidate(0, 3, {"PER": 0.5, "ORG": 0.2}), Candidate(2, 4, {ANY_LABEL: 0.4}), Candidate(3, 4)))
    p = pair("John went to Bank", "Juan fue al Banco", [], [Span(0, 1, "PER"), Span(3, 4, "ORG")])
    m = NERScorer().matrix(p, p.src.spans, cs)
    assert m[0] == pytest.approx([0.9, 0.5 * 1.15**2, 0.4 * 1.15, 0.0])
    assert m[1] == pytest.approx([0.0, 0.2 * 1.15**2, 0.4 * 1.15, 0.0])
    assert NERScorer(alpha=1.0).matrix(p, p.src.spans, cs)[0][1] == pytest.approx(0.5)
    with pytest.raises(ProjnerError):
        NERScorer(alpha=0)


# --------------------------------------------------------------------------- strings


def test_fold_and_dice():
    assert fold("Müller-Lüdenscheidt") == "muller ludenscheidt"
    assert fold("São  Paulo!") == "sao paulo"
    assert ngram_dice("Nikitin", "Nikitin") == 1.0
    assert ngram_dice("Nikitin", "Ñíkitin") == 1.0
    # " nikitin " has 7 trigrams, " nikitine " 8; shared: 6 (all but "in ") -> 12/15
    assert ngram_dice("Nikitin", "Nikitine") == pytest.approx(12 / 15)
    assert ngram_dice("abc", "xyz") == 0.0
    assert ngram_dice("", "") == 0.0


def test_string_scorer_matrix():
    p = pair("Mr Nikitin spoke", "el señor Nikitin habló", [], [Span(1, 2, "PER")])
    cs = cands(4, (2, 3), (1, 3), (0, 1))
    m = StringSimilarityScorer().matrix(p, p.src.spans, cs)
    assert m[0][0] == 1.0 and 0 < m[0][1] < 1 and m[0][2] == 0.0
    with pytest.raises(ProjnerError):
        StringSimilarityScorer(n=0)


# --------------------------------------------------------------------------- translation


def test_lexical_translation_model():
    corpus = [
        pair("the house", "la casa", [(0, 0), (1, 1)], []),
        pair("the red house", "la casa roja", [(0, 0), (1, 2), (2, 1)], []),
        pair("the house", "el hogar", [(0, 0), (1, 1)], []),
    ]
    lt = LexicalTranslationModel.from_pairs(corpus)
    assert lt.fwd["house"] == pytest.approx({"casa": 2 / 3, "hogar": 1 / 3})
    assert lt.rev["casa"] == {"house": 1.0}
    # fwd: house->casa 2/3 ; rev: casa->house 1.0 -> mean 5/6
    assert lt.score("House", "casa") == pytest.approx(0.5 * (2 / 3 + 1.0))
    assert lt.score("Obama", "Obama") == 1.0  # copies translate themselves
    assert lt.score("house", "") == 0.0


def test_translation_scorer_uses_model_and_needs_one():
    p = pair("Mr Nikitin spoke", "el señor Nikitin habló", [], [Span(1, 2, "PER")])
    cs = cands(4, (2, 3), (3, 4))
    m = TranslationScorer(CharOverlapTranslation()).matrix(p, p.src.spans, cs)
    assert m[0][0] == 1.0 and m[0][1] == 0.0
    with pytest.raises(ProjnerError) as ei:
        TranslationScorer(None)
    assert ei.value.code is E.E123

    class NaNModel:
        def score(self, a, b):
            return float("nan")

    with pytest.raises(ProjnerError) as ei:
        TranslationScorer(NaNModel()).matrix(p, p.src.spans, cs)
    assert ei.value.code is E.E127


# --------------------------------------------------------------------------- weights & fusion


def test_parse_weights_good():
    assert parse_weights("align=1,ner=0.5") == {"align": 1.0, "ner": 0.5}
    assert parse_weights(" align = 1 , string=0 ") == {"align": 1.0, "string": 0.0}
    assert parse_weights({"translation": 2}) == {"translation": 2.0}
    assert format_weights({"ner": 0.5, "align": 1.0}) == "align=1,ner=0.5"


@pytest.mark.parametrize(
    "text,needle",
    [
        ("", "empty"),
        ("align:1", "has no '='"),
        ("foo=1", "unknown component 'foo'"),
        ("align=x", "not a number"),
        ("align=-1", ">= 0"),
        ("align=nan", ">= 0"),
        ("align=1,align=2", "given twice"),
        ("align=0,ner=0", "all weights are zero"),
        (None, "no weights"),
    ],
)
def test_parse_weights_bad(text, needle):
    with pytest.raises(ProjnerError) as ei:
        parse_weights(text)
    assert ei.value.code is E.E120
    assert needle in str(ei.value) and "align=1,ner=0.5" in str(ei.value)


def test_fusion_is_weighted_sum_and_skips_zero_weights():
    p = pair("Mr Nikitin spoke", "el señor Nikitin habló", [(1, 2), (0, 1)], [Span(1, 2, "PER")])
    cs = ngram_candidates(4, 2)
    a = AlignmentScorer().matrix(p, p.src.spans, cs)
    s = StringSimilarityScorer().matrix(p, p.src.spans, cs)
    f = FusionScorer({"align": AlignmentScorer(), "string": StringSimilarityScorer()}, {"align": 0.7, "string": 0.3})
    assert f.matrix(p, p.src.spans, cs) == pytest.approx(0.7 * a + 0.3 * s)
    only = FusionScorer({"align": AlignmentScorer()}, {"align": 1.0, "ner": 0.0})
    assert only.matrix(p, p.src.spans, cs) == pytest.approx(a)
    assert "1*(score:align|" in only.signature()
    with pytest.raises(ProjnerError) as ei:
        FusionScorer({"align": AlignmentScorer()}, {"ner": 1.0})
    assert ei.value.code is E.E123


def test_simplex_grid():
    g = simplex_grid(["align", "string", "ner"], 0.5)
    assert len(g) == 6 and all(sum(w.values()) == pytest.approx(1) for w in g)
    assert len(simplex_grid(["align", "string"], 0.25)) == 5
    with pytest.raises(ProjnerError):
        simplex_grid(["align"], 0.3)
    with pytest.raises(ProjnerError):
        simplex_grid([], 0.5)


def test_registered_scorers():
    for short in ("alignment", "ner", "translation", "string", "fusion"):
        assert scorers.resolve(short) == f"projner.scorer.{short}.v1"
    assert isinstance(scorers.create("alignment", weighted=True), AlignmentScorer)
