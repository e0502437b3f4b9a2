"""The CTranslate2 backend: convert the tiny model in the test, then translate and score with it."""

from __future__ import annotations

import sys

import pytest

from projner.errors import E, ProjnerError

pytestmark = pytest.mark.slow

SRC = ["the man saw [ John ] in the city", "the big house", "", "Mary visited Nairobi today"]


def test_ct2_matches_transformers(tiny_ct2_dir, tiny_translator):
    from projner.registry import translators

    ct = translators.create("ct2", model=str(tiny_ct2_dir), beam=2, batch_size=2, threads=1)
    out = ct.translate(SRC, "eng", "swa")
    ref = tiny_translator.translate(SRC, "eng", "swa")
    assert [o.text for o in out] == [r.text for r in ref]
    assert out[0].text == "ile mtu aliona [ John ] katika ile mji" and out[2].score is None
    assert out[1].score == pytest.approx(ref[1].score, abs=0.05)
    good, bad = ct.score(["the big house"] * 2, ["ile kubwa nyumba", "Paris leo Obama shule"], "eng", "swa")
    assert good > -0.5 > -2.0 > bad
    assert out[1].score == pytest.approx(good, abs=1e-4)
    assert ct.translate(["ile mtu"], "swa", "eng")[0].text == "the man"
    assert ct.signature().startswith("ct2(") and "family=nllb" in ct.signature()
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
