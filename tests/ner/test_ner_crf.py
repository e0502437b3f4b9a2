import json

import pytest

from projner.errors import E, ProjnerError
from projner.ner import CrfTagger, load_tagger, read_meta
from projner.ner.base import span_scores, strict_f1
from projner.ner.crf import token_features
from projner.registry import taggers
from projner.types import Sentence, Span


@pytest.fixture(scope="module")
def crf(toy_train):
    return CrfTagger(max_iterations=50, progress=False).fit(toy_train)


def test_crf_learns_toy_data(crf, toy_test):
    pred = crf.predict([s.unlabelled() for s in toy_test])
    assert strict_f1(toy_test, pred) >= 0.95
    assert crf.labels == ("LOC", "ORG", "PER")
    scores = [sp.score for s in pred for sp in s.spans]
    assert scores and all(0.0 < x <= 1.0 for x in scores)
    # same tokens and ids, input untouched
    assert [p.tokens for p in pred] == [g.tokens for g in toy_test]
    assert [p.id for p in pred] == [g.id for g in toy_test]


def test_multiword_span_predicted(crf):
    s = Sentence(("Bob", "visited", "Port", "Harcourt", "yesterday", "."))
    (pred,) = crf.predict([s])
    assert [sp.key for sp in pred.spans] == [(0, 1, "PER"), (2, 4, "LOC")]


def test_registry_and_roundtrip(crf, toy_test, tmp_path):
    assert taggers.get("crf") is CrfTagger
    assert taggers.resolve("crf") == "projner.tagger.crf.v1"
    crf.save(tmp_path / "m")
    meta = read_meta(tmp_path / "m")
    assert meta["backend"] == "crf" and meta["labels"] == ["LOC", "ORG", "PER"] and meta["scheme"] == "iob2"
    assert (tmp_path / "m" / "model.crfsuite").is_file()
    again = load_tagger(tmp_path / "m", progress=False)
    assert isinstance(again, CrfTagger)
    a, b = crf.predict(toy_test), again.predict(toy_test)
    assert a == b
    assert [[sp.score for sp in s.spans] for s in a] == [[sp.score for sp in s.spans] for s in b]


def test_deterministic(toy_train):
    a = CrfTagger(max_iterations=20, progress=False, seed=3).fit(toy_train)
    b = CrfTagger(max_iterations=20, progress=False, seed=3).fit(toy_train)
    assert a._model == b._model


def test_restrict_labels_and_unknown(crf, toy_test):
    pred = crf.predict(toy_test, labels=["PER"])
    assert {sp.label for s in pred for sp in s.spans} == {"PER"}
    with pytest.raises(ProjnerError) as ei:
        crf.predict(toy_test, labels=["PER", "DATE"])
    assert ei.value.code is E.E142 and "DATE" in str(ei.value)


def test_empty_training_set():
    with pytest.raises(ProjnerError) as ei:
        CrfTagger(progress=False).fit([])
    assert ei.value.code is E.E140
    with pytest.raises(ProjnerError) as ei:
        CrfTagger(progress=False).fit([Sentence(("a", "b"))])
    assert ei.value.code is E.E140


def test_dev_label_mismatch(toy_train):
    dev = [Sentence(("on", "Monday"), (Span(1, 2, "DATE"),))]
    with pytest.raises(ProjnerError) as ei:
        CrfTagger(progress=False).fit(toy_train, dev)
    assert ei.value.code is E.E141 and "DATE" in str(ei.value)


def test_predict_before_fit():
    with pytest.raises(ProjnerError) as ei:
        CrfTagger().predict([Sentence(("a",))])
    assert ei.value.code is E.E148


def test_bad_model_folders(crf, tmp_path):
    with pytest.raises(ProjnerError) as ei:
        load_tagger(tmp_path / "nothing")
    assert ei.value.code is E.E143
    crf.save(tmp_path / "m")
    meta_path = tmp_path / "m" / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**meta, "projner_version": "9.3.0"}))
    with pytest.raises(ProjnerError) as ei:
        load_tagger(tmp_path / "m")
    assert ei.value.code is E.E144 and "9.3.0" in str(ei.value)
    meta_path.write_text(json.dumps({**meta, "backend": "transformer"}))
    with pytest.raises(ProjnerError) as ei:
        CrfTagger.load(tmp_path / "m")
    assert ei.value.code is E.E145
    meta_path.write_text(json.dumps({**meta, "backend": "hmm"}))
    with pytest.raises(ProjnerError) as ei:
        load_tagger(tmp_path / "m")
    assert ei.value.code is E.E150
    meta_path.write_text("{not json")
    with pytest.raises(ProjnerError) as ei:
        load_tagger(tmp_path / "m")
    assert ei.value.code is E.E143


def test_empty_sentence_passes_through(crf):
    out = crf.predict([Sentence(()), Sentence(("Alice",))])
    assert out[0].spans == () and len(out) == 2


def test_token_features_documented_set():
    f = token_features(["The", "Nairobi-based", "firm"], 1)
    assert "w=nairobi-based" in f and "hyphen" in f and "init_cap" in f and "title" not in f
    assert "s3=sed" in f and "p2=Na" in f and "shape=Xxxxxxx-" in f
    assert "-1:w=the" in f and "+1:w=firm" in f and "-1|0=the|nairobi-based" in f
    assert "BOS" in token_features(["A"], 0) and "EOS" in token_features(["A"], 0)


def test_span_scores_from_marginals():
    tags = ["B-PER", "I-PER", "O", "I-LOC"]
    marg = [{"B-PER": 0.9, "O": 0.1}, {"I-PER": 0.8, "O": 0.2}, {"O": 0.7, "I-PER": 0.3}, {"I-LOC": 0.6, "O": 0.4}]
    spans = span_scores(tags, marg)
    assert [s.key for s in spans] == [(0, 2, "PER"), (3, 4, "LOC")]
    assert spans[0].score == pytest.approx(0.9 * 0.8 * 0.7)
    assert spans[1].score == pytest.approx(0.6)
    assert [s.score for s in span_scores(tags, None)] == [None, None]
