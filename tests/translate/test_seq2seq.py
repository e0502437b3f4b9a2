"""The transformers backend on a tiny NLLB-style model trained in the session (tiny_mt.py)."""

from __future__ import annotations

import pytest

from projner.errors import E, ProjnerError
from projner.project.base import Outcome
from projner.registry import translators
from projner.translate import TranslatorScoreModel
from projner.translate.markers import MarkerProjector, marker_stats
from projner.types import Sentence, Span

pytestmark = pytest.mark.slow

SRC = [
    "the man saw John in the city",
    "Mary visited Nairobi today",
    "the big house",
    "",
    "the woman went to school with Peter",
    "Obama met Kenya",
]
REF = [
    "ile mtu aliona John katika ile mji",
    "Mary alitembelea Nairobi leo",
    "ile kubwa nyumba",
    "",
    "ile mke alienda kwa shule pamoja Peter",
    "Obama alikutana Kenya",
]


def test_translate_toy_language(tiny_translator):
    out = tiny_translator.translate(SRC, "en", "swa")
    assert [o.text for o in out] == REF
    assert out[3].score is None
    for o in out[:3] + out[4:]:
        assert o.score is not None and -1.0 < o.score <= 0.0
    assert tiny_translator.signature().startswith("seq2seq(model=") and "family=nllb" in tiny_translator.signature()


def test_forced_bos_selects_the_output_language(tiny_translator):
    back = tiny_translator.translate(["ile mtu aliona John"], "swh_Latn", "eng_Latn")
    assert back[0].text == "the man saw John"


def test_batching_preserves_order(tiny_mt_dir, tiny_translator):
    from projner.translate.seq2seq import Seq2SeqTranslator

    one = Seq2SeqTranslator(str(tiny_mt_dir), beam=2, batch_size=1)
    many = tiny_translator.translate(SRC[::-1], "en", "sw")
    single = one.translate(SRC[::-1], "en", "sw")
    assert [o.text for o in many] == [o.text for o in single] == REF[::-1]
    for a, b in zip(many, single):
        assert (a.score is None) == (b.score is None)
        if a.score is not None:
            assert a.score == pytest.approx(b.score, abs=1e-4)


def test_scores_prefer_the_trained_translation(tiny_translator):
    good, bad, shuffled = tiny_translator.score(
        ["the big house"] * 3, ["ile kubwa nyumba", "Paris leo Obama shule", "nyumba ile kubwa"], "eng", "swa"
    )
    assert good > shuffled > bad
    assert good > -0.5 and bad < -2.0
    # translate()'s score is the forced-decoding score of its own output
    t = tiny_translator.translate(["the big house"], "eng", "swa")[0]
    assert t.score == pytest.approx(good, abs=1e-4)
    m = TranslatorScoreModel(tiny_translator, "eng", "swa")
    assert 0.0 < m.score("the big house", "Paris leo") < m.score("the big house", "ile kubwa nyumba") <= 1.0


def test_language_errors(tiny_translator):
    with pytest.raises(ProjnerError) as ei:
        tiny_translator.translate(["the man"], "eng", "pcm")
    assert ei.value.code is E.E181 and "Nigerian Pidgin" in str(ei.value)
    with pytest.raises(ProjnerError) as ei:
        tiny_translator.translate(["the man"], "eng", "deu")  # the tiny model knows eng_Latn and swh_Latn only
    assert ei.value.code is E.E181 and "this model knows 2 codes: eng_Latn, swh_Latn" in str(ei.value)
    with pytest.raises(ProjnerError) as ei:
        tiny_translator.translate("the man", "eng", "swa")
    assert ei.value.code is E.E185


def test_long_inputs_error_or_counted_split(tiny_mt_dir):
    long = "the man saw John . the woman met Mary , the big house"
    strict = translators.create("seq2seq", model=str(tiny_mt_dir), beam=1, max_input_tokens=8)
    with pytest.raises(ProjnerError) as ei:
        strict.translate(["the man", long], "en", "sw")
    assert ei.value.code is E.E183 and ei.value.fields["index"] == 1
    split = translators.create("seq2seq", model=str(tiny_mt_dir), beam=1, max_input_tokens=8, long_inputs="split")
    out = split.translate(["the man", long], "en", "sw")
    assert out[0].text == "ile mtu"
    assert out[1].text.split() == "ile mtu aliona John . ile mke alikutana Mary , ile kubwa nyumba".split() or \
        out[1].text.split()[:3] == ["ile", "mtu", "aliona"]
    assert split.counts["split_sentences"] == 1 and split.counts["split_pieces"] >= 2


def test_bad_model_and_parameters(tmp_path):
    from projner.translate.seq2seq import Seq2SeqTranslator

    with pytest.raises(ProjnerError) as ei:
        Seq2SeqTranslator(str(tmp_path / "nope"))
    assert ei.value.code is E.E182
    with pytest.raises(ProjnerError) as ei:
        Seq2SeqTranslator("x", beam=0)
    assert ei.value.code is E.E185
    with pytest.raises(ProjnerError) as ei:
        Seq2SeqTranslator("x", long_inputs="truncate")
    assert ei.value.code is E.E185


def test_markers_survive_translation(tiny_translator):
    sents = [
        Sentence(tuple("the man saw John in the city".split()), (Span(3, 4, "PER"),)),
        Sentence(tuple("Mary Anna visited Nairobi today".split()), (Span(0, 2, "PER"), Span(3, 4, "LOC"))),
        Sentence(tuple("the big house".split())),
        Sentence(tuple("Obama went to Berlin".split()), (Span(0, 1, "PER"), Span(3, 4, "LOC"))),
    ]
    mp = MarkerProjector(tiny_translator, "eng", "swa")
    res = mp.project(sents)
    got = [[(t.span_text(s), s.label) for s in t.spans] for t, _ in res]
    assert got == [[("John", "PER")], [("Mary Anna", "PER"), ("Nairobi", "LOC")], [], [("Obama", "PER"), ("Berlin", "LOC")]]
    assert res[0][0].tokens == tuple("ile mtu aliona John katika ile mji".split())
    st = marker_stats(res)
    assert st.entities == 5 and st.projected == 5 and st.lost_share == 0.0
    assert all(e.outcome is Outcome.PROJECTED for _, p in res for e in p.entities)
    assert "markers(style=brackets" in mp.signature()


def test_fixed_pair_model_path(tiny_mt_dir, tmp_path):
    """A tokenizer without language tokens (like opus-mt-en-de): codes are only checked, no forced BOS."""
    import shutil

    from projner.translate.seq2seq import Seq2SeqTranslator

    d = tmp_path / "fixed"
    shutil.copytree(tiny_mt_dir, d)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        p = d / name
        p.write_text(p.read_text(encoding="utf-8").replace("eng_Latn", "LANGA").replace("swh_Latn", "LANGB"), encoding="utf-8")
    tr = Seq2SeqTranslator(str(d), beam=1, max_length=12)
    assert tr.langs.family == "fixed"
    out = tr.translate(["the man", "the big house"], "en", "de")  # any valid codes are accepted
    assert len(out) == 2 and all(isinstance(o.text, str) and o.score is not None and o.score <= 0 for o in out)
    s = tr.score(["the man"], ["ile mtu"], "en", "de")
    assert len(s) == 1 and s[0] < 0
    with pytest.raises(ProjnerError) as ei:
        tr.translate(["the man"], "en", "qq")
    assert ei.value.code is E.E180
