"""The CTranslate2 backend: convert the tiny constructed model in the test, then translate and score with it."""

from __future__ import annotations

import sys

import pytest

from projner.errors import E, ProjnerError

pytestmark = pytest.mark.slow

SRC = ["the man saw [ John ] in the city", "the big house", "", "Mary visited Nairobi today", "Obama met Kenya ."]


def test_ct2_matches_transformers(tiny_ct2_dir, tiny_translator):
    """The same constructed model (tiny_mt.py) through both backends: the same texts, the same scores."""
    from tiny_mt import dictionary_translation

    from projner.registry import translators

    ct = translators.create("ct2", model=str(tiny_ct2_dir), beam=2, batch_size=2, threads=1)
    out = ct.translate(SRC, "eng", "swa")
    ref = tiny_translator.translate(SRC, "eng", "swa")
    assert [o.text for o in out] == [r.text for r in ref] == [dictionary_translation(s, "swh") for s in SRC]
    assert out[0].text == "ile mtu aliona [ John ] katika ile mji"
    assert out[2].score is None and ref[2].score is None
    for o, r in zip(out, ref):
        if r.score is not None:
            assert o.score == pytest.approx(r.score, abs=1e-4) and o.score < 0
    # forced-decoding scores agree on right and wrong translations alike
    tgts = ["ile kubwa nyumba", "ile kubwa shule", "Paris leo Obama shule"]
    mine = ct.score(["the big house"] * 3, tgts, "eng", "swa")
    theirs = tiny_translator.score(["the big house"] * 3, tgts, "eng", "swa")
    assert mine == pytest.approx(theirs, rel=1e-3, abs=1e-4)
    assert mine[0] > -0.1 > -1.0 > mine[1] > mine[2]
    assert out[1].score == pytest.approx(mine[0], abs=1e-4)  # translate()'s score is its own forced score
    # the target prefix (forced language token) decides the output language here too
    assert ct.translate(["ile mtu"], "swa", "eng")[0].text == "the man"
    assert ct.translate(["the man"], "eng", "eng")[0].text == "the man"
    assert ct.translate([], "eng", "swa") == []
    assert ct.signature().startswith("translator:ct2|model:") and "|family:nllb|" in ct.signature()
    with pytest.raises(ProjnerError) as ei:
        ct.translate(["the man"], "eng", "pcm")
    assert ei.value.code is E.E181


def test_ct2_long_inputs_and_bad_folder(tiny_ct2_dir, tmp_path):
    from projner.translate.ct2 import CT2Translator

    ct = CT2Translator(str(tiny_ct2_dir), beam=1, max_input_tokens=6, threads=1)
    with pytest.raises(ProjnerError) as ei:
        ct.translate(["the man saw John in the city"], "eng", "swa")
    assert ei.value.code is E.E183
    with pytest.raises(ProjnerError) as ei:
        CT2Translator(str(tmp_path))
    assert ei.value.code is E.E182 and "model.bin" in str(ei.value)


def test_ct2_missing_dependency_is_e020(monkeypatch, tmp_path):
    from projner.translate.ct2 import CT2Translator

    monkeypatch.setitem(sys.modules, "ctranslate2", None)  # import now fails
    with pytest.raises(ProjnerError) as ei:
        CT2Translator(str(tmp_path))
    assert ei.value.code is E.E020 and "ctranslate2" in str(ei.value)
