"""The transformers backend on a tiny NLLB-style model with constructed weights (tiny_mt.py).

The model is a word-for-word dictionary by construction (every decision won by several nats, see
``tiny_mt.min_margin``), so its outputs are the same on every CPU and can be asserted exactly;
no test here depends on what a training run happened to learn.
"""

from __future__ import annotations

import pytest
from tiny_mt import MIN_MARGIN, dictionary_translation, min_margin

from projner.errors import E, ProjnerError
from projner.project.base import Outcome
from projner.registry import translators
from projner.translate import TranslatorScoreModel
from projner.project.markers import MarkerProjector, marker_stats
from projner.types import Sentence, Span

pytestmark = pytest.mark.slow

SRC = [
    "the man saw John in the city",
    "Mary visited Nairobi today",
    "the big house",
    "",
    "the woman went to school with Peter , and the man met Obama in Lagos .",
    "Obama met Kenya",
    "   ",
]


def expected(texts, tgt="swh"):
    return [dictionary_translation(t, tgt) for t in texts]


def test_constructed_model_decides_by_a_margin(tiny_mt_dir):
    """The saved model (reloaded from disk) still separates every right word from any other by MIN_MARGIN nats."""
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny_mt_dir))
    model = AutoModelForSeq2SeqLM.from_pretrained(str(tiny_mt_dir)).eval()
    assert min_margin(model, tok) >= MIN_MARGIN


def test_translate_toy_language(tiny_translator):
    out = tiny_translator.translate(SRC, "en", "swa")
    assert [o.text for o in out] == expected(SRC)
    assert out[0].text == "ile mtu aliona John katika ile mji"  # what expected() computes, spelled out once
    assert out[3].score is None and out[6].score is None and out[3].text == out[6].text == ""
    for o in out[:3] + out[4:6]:
        assert o.score is not None and -0.5 < o.score < 0.0
    assert tiny_translator.translate([], "en", "swa") == []
    assert tiny_translator.signature().startswith("translator:seq2seq|model:") and "|family:nllb|" in tiny_translator.signature()


def test_forced_bos_selects_the_output_language(tiny_translator, monkeypatch):
    text = "the man saw John in the city"
    generated = []
    real = tiny_translator.model.generate

    def spy(*args, **kwargs):
        seqs = real(*args, **kwargs)
        generated.append(seqs)
        return seqs

    monkeypatch.setattr(tiny_translator.model, "generate", spy)
    # the same source, two target languages: only the forced language token differs
    to_swh = tiny_translator.translate([text], "eng", "swa")[0].text
    to_eng = tiny_translator.translate([text], "eng", "eng")[0].text
    assert to_swh == dictionary_translation(text, "swh") and to_eng == text
    back = tiny_translator.translate([to_swh], "swh_Latn", "eng_Latn")[0].text
    assert back == text
    # the first generated token (after the decoder start) is the requested language token
    vocab = tiny_translator.vocab
    firsts = [int(seqs[0, 1]) for seqs in generated]
    assert firsts == [vocab["swh_Latn"], vocab["eng_Latn"], vocab["eng_Latn"]]


def test_batching_preserves_order(tiny_mt_dir, tiny_translator):
    from projner.translate.seq2seq import Seq2SeqTranslator

    # batches are formed by length, so this order is regrouped inside; the output must not be
    order = [4, 2, 6, 0, 3, 5, 1]
    src = [SRC[i] for i in order]
    one = Seq2SeqTranslator(str(tiny_mt_dir), beam=2, batch_size=1)
    three = Seq2SeqTranslator(str(tiny_mt_dir), beam=2, batch_size=3)
    many = tiny_translator.translate(src, "en", "sw")
    single = one.translate(src, "en", "sw")
    mid = three.translate(src, "en", "sw")
    assert [o.text for o in many] == [o.text for o in single] == [o.text for o in mid] == expected(src)
    for a, b, c in zip(many, single, mid):
        assert (a.score is None) == (b.score is None) == (c.score is None) == (not a.text)
        if a.score is not None:
            assert a.score == pytest.approx(b.score, abs=1e-5) and a.score == pytest.approx(c.score, abs=1e-5)


def test_scores_rank_translations(tiny_translator):
    good, one_wrong, all_wrong = tiny_translator.score(
        ["the big house"] * 3, ["ile kubwa nyumba", "ile kubwa shule", "Paris leo Obama"], "eng", "swa"
    )
    assert -0.1 < good < 0.0
    assert good > one_wrong > all_wrong
    assert all_wrong < -4.0  # three wrong words of four scored tokens, several nats each
    # translate()'s score is the forced-decoding score of its own output (language token left out)
    sents = ["the big house", "Mary visited Nairobi today", "the man saw [ John ] in the city ."]
    outs = tiny_translator.translate(sents, "eng", "swa")
    forced = tiny_translator.score(sents, [o.text for o in outs], "eng", "swa")
    assert [o.score for o in outs] == pytest.approx(forced, abs=1e-5)
    assert forced[0] == pytest.approx(good, abs=1e-5)
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
    assert [o.text for o in out] == ["ile mtu", "ile mtu aliona John . ile mke alikutana Mary , ile kubwa nyumba"]
    assert out[1].score is not None and out[1].score < 0
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
    assert mp.signature().startswith("method:markers|style:brackets|") and "|translator:(translator:seq2seq|" in mp.signature()


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
