import pytest

from projner.errors import E, ProjnerError
from projner.project.candidates import (
    ANY_LABEL,
    Candidate,
    CandidateSet,
    CapitalisationModel,
    alignment_candidates,
    build_candidates,
    default_max_len,
    model_candidates,
    ngram_candidates,
)
from projner.types import Alignment, ParallelPair, Sentence, Span


class LexiconModel:
    """A tiny real NER model: looks token sequences up in a gazetteer of (words, label, prob)."""

    def __init__(self, entries):
        self.entries = [(tuple(w.split()), lab, p) for w, lab, p in entries]

    def predict_spans(self, sentences):
        out = []
        for toks in sentences:
            spans = []
            for words, lab, p in self.entries:
                n = len(words)
                for i in range(len(toks) - n + 1):
                    if tuple(toks[i : i + n]) == words:
                        spans.append(Span(i, i + n, lab, p))
            out.append(spans)
        return out


def test_ngrams_count_order_and_limits():
    cs = ngram_candidates(5, 2)
    assert len(cs) == 5 + 4
    assert [(c.start, c.end) for c in cs][:3] == [(0, 1), (0, 2), (1, 2)]
    assert all(len(c) <= 2 and c.end <= 5 for c in cs)
    assert len(ngram_candidates(3, 10)) == 6  # clipped to the sentence
    assert len(ngram_candidates(0, 3)) == 0
    with pytest.raises(ProjnerError) as ei:
        ngram_candidates(3, 0)
    assert ei.value.code is E.E128


def test_default_max_len():
    assert default_max_len([Span(0, 3, "ORG"), Span(4, 5, "PER")]) == 5
    assert default_max_len([Span(0, 20, "ORG")]) == 8
    assert default_max_len([Span(0, 20, "ORG")], cap=30) == 22
    assert default_max_len([]) == 3


def test_capitalisation_model_runs_particles_and_probabilities():
    toks = "Yesterday the Bank of England met Mr Smith".split()
    (spans,) = CapitalisationModel().predict_spans([toks])
    got = {(s.start, s.end): s.score for s in spans}
    assert got[(0, 1)] == pytest.approx(0.3)  # sentence-initial
    assert got[(2, 5)] == pytest.approx(0.8 * 0.8)  # one particle inside
    assert got[(2, 3)] == pytest.approx(0.8 * 0.8 * 0.5)  # sub-run "Bank"
    assert got[(6, 8)] == pytest.approx(0.8)
    assert (2, 4) not in got  # sub-runs never end on a particle
    (spans,) = CapitalisationModel().predict_spans(["la Comisión de la UE".split()])
    got = {(s.start, s.end): s.score for s in spans}
    assert got[(1, 5)] == pytest.approx(0.8 * 0.8**2)  # particle + article join, two particles
    assert all(s.label == ANY_LABEL for s in spans)


def test_model_candidates_and_union():
    model = LexiconModel([("Banco de España", "ORG", 0.9), ("España", "LOC", 0.7), ("España", "ORG", 0.2)])
    toks = "el Banco de España dijo".split()
    (cs,) = model_candidates(model, [toks])
    assert [(c.start, c.end) for c in cs] == [(1, 4), (3, 4)]
    assert cs[1].ner == {"LOC": 0.7, "ORG": 0.2}
    assert cs[1].ner_prob("LOC") == 0.7 and cs[1].ner_prob("PER") == 0.0
    both = ngram_candidates(len(toks), 1).union(cs)
    assert len(both) == 5 + 1
    merged = next(c for c in both if (c.start, c.end) == (3, 4))
    assert merged.origins == {"ngram", "ner"} and merged.ner["LOC"] == 0.7


def test_any_label_matches_every_type():
    c = Candidate(0, 1, {ANY_LABEL: 0.4, "PER": 0.6})
    assert c.ner_prob("PER") == 0.6 and c.ner_prob("LOC") == 0.4


class BadCountModel:
    def predict_spans(self, sentences):
        return [[]]


class OutOfRangeModel:
    def predict_spans(self, sentences):
        return [[Span(0, len(t) + 1, "PER", 0.5)] for t in sentences]


class BadProbModel:
    def predict_spans(self, sentences):
        return [[Span(0, 1, "PER", 1.5)] for t in sentences]


@pytest.mark.parametrize("model", [BadCountModel(), OutOfRangeModel(), BadProbModel()])
def test_bad_models_are_reported(model):
    with pytest.raises(ProjnerError) as ei:
        model_candidates(model, [["a", "b"], ["c"]])
    assert ei.value.code is E.E127


def test_union_of_different_sentences_is_refused():
    with pytest.raises(ProjnerError) as ei:
        CandidateSet(3).union(CandidateSet(4))
    assert ei.value.code is E.E127


def test_alignment_candidates_blocks_and_hull():
    src = Sentence(tuple("a b c".split()), (Span(0, 2, "ORG"),))
    tgt = Sentence(tuple("w x y z v u".split()))
    al = Alignment.from_pairs([(0, 0), (1, 2), (1, 5), (2, 3)])
    cs = alignment_candidates(ParallelPair(src, tgt, al))
    # links of the entity: 0, 2, 5 -> blocks [0,3) (gap 1 bridged) and [5,6); hull [0,6)
    assert [(c.start, c.end) for c in cs] == [(0, 3), (0, 6), (5, 6)]
    assert [(c.start, c.end) for c in alignment_candidates(ParallelPair(src, tgt, al), max_gap=0)] == [
        (0, 1),
        (0, 6),
        (2, 3),
        (5, 6),
    ]


def test_build_candidates_defaults_and_errors():
    toks = [tuple("a b c d e f g h i j k".split()), ()]
    ents = [(Span(0, 2, "PER"),), (Span(0, 1, "PER"),)]
    sets = build_candidates(toks, ents)
    assert sets[0].max_len == 4 and len(sets[1]) == 0
    with pytest.raises(ProjnerError) as ei:
        build_candidates(toks, ents, use_ngrams=False)
    assert ei.value.code is E.E128
    with pytest.raises(ProjnerError) as ei:
        build_candidates(toks, ents[:1])
    assert ei.value.code is E.E001
