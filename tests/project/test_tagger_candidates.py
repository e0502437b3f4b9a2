"""A projner tagger as the NER-candidate source of candidate matching (projner.project.tagger_candidates)."""

import numpy as np
import pytest

from testutil import run_cli
from projner.data.formats import read_corpus
from projner.errors import E, ProjnerError
from projner.ner.crf import CrfTagger
from projner.project.matching import CandidateProjector
from projner.project.tagger_candidates import TaggerCandidates, alternatives, candidate_model
from projner.types import Alignment, ParallelPair, Sentence, Span


class TitleTagger:
    """A real (rule-based) tagger with the projner tagger interface: a capitalised word after
    "Mr"/"Frau" is a PER (0.9), "Berlin"/"Kano" a LOC (0.7)."""

    labels = ("LOC", "PER")

    def __init__(self):
        self.calls = 0

    def predict(self, sentences, *, labels=None):
        self.calls += 1
        out = []
        for s in sentences:
            spans = []
            for i, t in enumerate(s.tokens):
                if i > 0 and s.tokens[i - 1] in ("Mr", "Frau") and t[:1].isupper():
                    spans.append(Span(i, i + 1, "PER", 0.9))
                elif t in ("Berlin", "Kano"):
                    spans.append(Span(i, i + 1, "LOC", 0.7))
            out.append(s.with_spans([sp for sp in spans if labels is None or sp.label in labels]))
        return out


class UncertainTagger(TitleTagger):
    """TitleTagger with token marginals: "Berlin" is B-LOC 0.7, B-PER 0.25, O 0.05."""

    def marginals(self, sentences, *, tags=None):
        cols = list(tags)
        out = []
        for s in sentences:
            m = np.zeros((len(s), len(cols)))
            for i, t in enumerate(s.tokens):
                if i > 0 and s.tokens[i - 1] in ("Mr", "Frau") and t[:1].isupper():
                    dist = {"B-PER": 0.9, "O": 0.1}
                elif t in ("Berlin", "Kano"):
                    dist = {"B-LOC": 0.7, "B-PER": 0.25, "O": 0.05}
                else:
                    dist = {"O": 1.0}
                for tag, p in dist.items():
                    m[i, cols.index(tag)] = p
            out.append(m)
        return out


class BrokenTagger(TitleTagger):
    def predict(self, sentences, *, labels=None):
        return [Sentence(("x",)) for _ in sentences][:-1] if len(sentences) > 1 else [Sentence(("other",))]


def _pair(src, tgt, links, spans):
    s, t = src.split(), tgt.split()
    return ParallelPair(Sentence(tuple(s), tuple(spans)), Sentence(tuple(t)), Alignment.from_pairs(links))


def test_predicted_spans_with_their_probabilities_are_the_candidates():
    model = TaggerCandidates(TitleTagger())
    spans = model.predict_spans([["Frau", "Merkel", "in", "Berlin"], ["nichts"]])
    assert spans == [[Span(1, 2, "PER"), Span(3, 4, "LOC")], []]
    assert [s.score for s in spans[0]] == [0.9, 0.7]
    only_per = TaggerCandidates(TitleTagger(), labels=["PER"])
    assert only_per.predict_spans([["Frau", "Merkel", "in", "Berlin"]]) == [[Span(1, 2, "PER")]]


def test_ner_projection_follows_the_tagger_where_the_alignment_is_off():
    # "Merkel" is linked to "traf" (a wrong link): the tagger's PER candidate is the only one
    pair = _pair("Mrs Merkel met Putin", "Frau Merkel traf Putin", [(0, 0), (1, 2), (2, 2)], [Span(1, 2, "PER")])
    tagger = TitleTagger()
    proj = CandidateProjector("ner", "greedy", ner_model=tagger)  # a tagger object is wrapped
    (pr,) = proj.project([pair])
    assert [s.key for s in pr.spans] == [(1, 2, "PER")] and tagger.calls == 1
    assert "model:(candidates:tagger|model:TitleTagger)" in proj.signature()
    fusion = CandidateProjector("fusion", "greedy", ner_model=TaggerCandidates(TitleTagger()))
    assert "ner" in fusion.weights and "candidates:tagger" in fusion.signature()


def test_bad_taggers_and_specs_are_coded_errors():
    with pytest.raises(ProjnerError) as e:
        TaggerCandidates(object())
    assert e.value.code is E.E135
    for broken_batch in (["a", "b"], ["a"]):
        with pytest.raises(ProjnerError) as e:
            TaggerCandidates(BrokenTagger()).predict_spans([[w] for w in broken_batch])
        assert e.value.code is E.E135
    with pytest.raises(ProjnerError) as e:
        TaggerCandidates(TitleTagger(), floor=0.0)
    assert e.value.code is E.E135
    with pytest.raises(ProjnerError) as e:
        candidate_model("labeller", {})
    assert e.value.code is E.E123 and "translate-train" in str(e.value)
    with pytest.raises(ProjnerError) as e:
        CandidateProjector("ner", ner_model="/no/such/model/folder")
    assert e.value.code is E.E123


def test_k_best_alternatives_with_a_floor():
    sent = [["Frau", "Merkel", "in", "Berlin"]]
    plain = TaggerCandidates(UncertainTagger()).predict_spans(sent)
    assert [s.key for s in plain[0]] == [(1, 2, "PER"), (3, 4, "LOC")]
    wide = TaggerCandidates(UncertainTagger(), floor=0.2).predict_spans(sent)
    assert {s.key: round(s.score, 6) for s in wide[0]} == {(1, 2, "PER"): 0.9, (3, 4, "LOC"): 0.7, (3, 4, "PER"): 0.25}
    high = TaggerCandidates(UncertainTagger(), floor=0.3).predict_spans(sent)
    assert [s.key for s in high[0]] == [(1, 2, "PER"), (3, 4, "LOC")]
    # a tagger without marginals gives its predicted spans only, floor or not
    assert TaggerCandidates(TitleTagger(), floor=0.2).predict_spans(sent) == plain
    assert "floor:0.2" in TaggerCandidates(UncertainTagger(), floor=0.2).signature()


def test_alternatives_from_marginals():
    # tags O, B-PER, I-PER over 3 tokens
    m = np.array([[0.1, 0.9, 0.0],
                  [0.5, 0.0, 0.5],
                  [1.0, 0.0, 0.0]])
    alts = {s.key: s.score for s in alternatives(m, ["PER"], 0.3, 8)}
    # [0,1): 0.9 * (1 - 0.5); [0,2): 0.9 * 0.5 * (1 - 0) ; nothing starts at 1 or 2
    assert alts == {(0, 1, "PER"): pytest.approx(0.45), (0, 2, "PER"): pytest.approx(0.45)}
    assert {s.key for s in alternatives(m, ["PER"], 0.5, 8)} == set()
    assert {s.key for s in alternatives(m, ["PER"], 0.3, 1)} == {(0, 1, "PER")}


@pytest.fixture(scope="module")
def crf_folder(tmp_path_factory):
    from projner.pipeline.demo import demo_files

    _, de = demo_files()
    train = [s for s in read_corpus(str(de)).sentences]
    folder = tmp_path_factory.mktemp("m") / "de-crf"
    CrfTagger(max_iterations=25, progress=False).fit(train[:200]).save(folder)
    return folder, train[200:]  # sentences the model has not seen


def test_a_saved_crf_folder_as_candidate_model(crf_folder):
    folder, train = crf_folder
    sents = [list(s.tokens) for s in train[:60]]
    model = candidate_model(str(folder), {})
    assert isinstance(model, TaggerCandidates) and model.name.startswith("crf:de-crf@")
    spans = model.predict_spans(sents)
    assert len(spans) == 60 and any(spans)
    assert all(0.0 <= s.score <= 1.0 for ss in spans for s in ss)
    # with a floor the marginal-based alternatives come too: a superset of the confident predictions
    wide = TaggerCandidates.from_path(folder, floor=0.05).predict_spans(sents)
    for pred, alts in zip(spans, wide):
        keys = {s.key for s in alts}
        assert {s.key for s in pred} <= keys  # predicted spans are always kept
        assert all(s.score >= 0.05 for s in alts if s not in pred)
    proj = CandidateProjector("ner", "greedy", ner_model=str(folder))
    assert "model:(candidates:tagger|model:crf:de-crf@" in proj.signature()


def test_project_cli_with_a_model_folder(tmp_path, crf_folder, capsys):
    from projner.pipeline.demo import demo_files

    folder, _ = crf_folder
    en, de = (str(p) for p in demo_files())
    al = tmp_path / "de.align"
    assert run_cli(["align", "--src", en, "--tgt", de, "--out", str(al), "-q"], capsys)[0] == 0
    out = tmp_path / "ner.conll"
    code, _, err = run_cli(["project", "--src", en, "--tgt", de, "--align", str(al), "--out", str(out), "-q",
                            "--method", "fusion", "--ner-model", str(folder)], capsys)
    assert code == 0, err
    assert "candidates:tagger|model:crf:de-crf@" in err and "ner=" in err
    assert len(read_corpus(str(out)).sentences) == len(read_corpus(de).sentences)
    code, _, err = run_cli(["project", "--src", en, "--tgt", de, "--align", str(al), "--out", str(out), "-q",
                            "--method", "ner", "--ner-model", str(tmp_path / "missing")], capsys)
    assert code != 0 and "E123" in err
