import pytest

pytest.importorskip("spacy")

from projner.errors import E, ProjnerError  # noqa: E402
from projner.ner import SpacyTagger, load_tagger  # noqa: E402
from projner.ner.spacy_tagger import load_pipeline  # noqa: E402
from projner.types import Sentence, Span  # noqa: E402


@pytest.fixture(scope="module")
def sm():
    try:
        return SpacyTagger("en_core_web_sm", progress=False)
    except ProjnerError as exc:
        if exc.code is E.E146:
            pytest.skip("no en_core_web_sm pipeline installed")
        raise


SENTS = [
    Sentence(("Angela", "Merkel", "visited", "New", "York", "on", "Monday", "."), id="a"),
    # spaCy's tokenizer would split "Merkel-led" and "U.S.-based"; pre-tokenised input must survive
    Sentence(("The", "Merkel-led", "government", "met", "IBM", "officials", "in", "London", "."), id="b"),
    Sentence(()),
]


def test_pretokenised_input_respected(sm):
    out = sm.predict(SENTS)
    assert [o.tokens for o in out] == [s.tokens for s in SENTS]
    assert [o.id for o in out] == ["a", "b", None]
    keys = {sp.key for sp in out[0].spans}
    assert (0, 2, "PER") in keys and (3, 5, "LOC") in keys
    assert all(sp.label in {"PER", "ORG", "LOC", "MISC"} for o in out for sp in o.spans)  # DATE mapped to O
    assert all(sp.end <= len(o) for o in out for sp in o.spans)
    assert (7, 8, "LOC") in {sp.key for sp in out[1].spans}
    assert out[2].spans == ()


def test_raw_labels_and_restriction(sm):
    raw = SpacyTagger("en_core_web_sm", label_map=None, progress=False)
    out = raw.predict(SENTS[:1])
    labels = {sp.label for sp in out[0].spans}
    assert "PERSON" in labels and "DATE" in labels
    only = sm.predict(SENTS[:1], labels=["PER"])
    assert {sp.label for sp in only[0].spans} == {"PER"}
    with pytest.raises(ProjnerError) as ei:
        sm.predict(SENTS[:1], labels=["DATE"])
    assert ei.value.code is E.E142


def test_cannot_fit(sm):
    with pytest.raises(ProjnerError) as ei:
        sm.fit([Sentence(("x",), (Span(0, 1, "PER"),))])
    assert ei.value.code is E.E147


def test_roundtrip_and_spec(sm, tmp_path):
    sm.save(tmp_path / "m")
    again = load_tagger(tmp_path / "m", progress=False)
    assert isinstance(again, SpacyTagger)
    assert again.predict(SENTS) == sm.predict(SENTS)
    via_spec = load_tagger("spacy:en_core_web_sm", progress=False)
    assert via_spec.predict(SENTS) == sm.predict(SENTS)


def test_missing_pipeline():
    with pytest.raises(ProjnerError) as ei:
        load_pipeline("xx_no_such_pipeline_sm")
    assert ei.value.code is E.E146
