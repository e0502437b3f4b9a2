import re

import pytest

from projner.errors import E, ProjnerError
from projner.translate.langcodes import (
    M2M100_CODES, NLLB_LANGUAGES, closest_supported, codes_in_region, iso639_3, language_name, to_m2m100, to_nllb,
)
from projner.translate.frontend import LanguageTokens, detect_family


@pytest.mark.parametrize(
    "code, expected",
    [
        ("en", "eng_Latn"), ("eng", "eng_Latn"), ("eng_Latn", "eng_Latn"), ("en-US", "eng_Latn"), ("EN", "eng_Latn"),
        ("de", "deu_Latn"), ("ger", "deu_Latn"), ("es", "spa_Latn"), ("it", "ita_Latn"), ("fr", "fra_Latn"),
        ("swa", "swh_Latn"), ("sw", "swh_Latn"), ("swh", "swh_Latn"), ("hau", "hau_Latn"), ("ha", "hau_Latn"),
        ("ibo", "ibo_Latn"), ("yor", "yor_Latn"), ("zul", "zul_Latn"), ("kin", "kin_Latn"), ("lug", "lug_Latn"),
        ("zh", "zho_Hans"), ("zh-Hant", "zho_Hant"), ("ar", "arb_Arab"), ("English", "eng_Latn"), ("fa", "pes_Arab"),
    ],
)
def test_to_nllb(code, expected):
    assert to_nllb(code) == expected


def test_nllb_table_is_well_formed():
    assert len(NLLB_LANGUAGES) >= 200
    assert all(re.match(r"^[a-z]{3}_[A-Z][a-z]{3}$", c) for c in NLLB_LANGUAGES)
    assert len(M2M100_CODES) == 100
    assert "hau_Latn" in codes_in_region("West Africa")


def test_unsupported_language_names_alternatives():
    with pytest.raises(ProjnerError) as ei:
        to_nllb("pcm")
    err = ei.value
    assert err.code is E.E181
    msg = str(err)
    assert "Nigerian Pidgin" in msg and "NLLB-200" in msg
    assert "eng_Latn (English)" in msg and "hau_Latn (Hausa)" in msg
    assert "parallel" in msg
    assert err.fields["alternatives"][0] == "eng_Latn"


def test_unsupported_script_and_model_subset():
    with pytest.raises(ProjnerError, match="srp_Cyrl"):
        to_nllb("sr-Latn")
    with pytest.raises(ProjnerError) as ei:
        to_nllb("de", supported=["eng_Latn", "fra_Latn"])
    assert ei.value.code is E.E181


@pytest.mark.parametrize("bad", ["", "x", "qq", "english please", "12"])
def test_unknown_codes(bad):
    with pytest.raises(ProjnerError) as ei:
        to_nllb(bad)
    assert ei.value.code in (E.E180, E.E181)


def test_m2m100_codes():
    assert to_m2m100("eng") == "en"
    assert to_m2m100("swa") == "sw"
    assert to_m2m100("deu_Latn") == "de"
    assert to_m2m100("ibo") == "ig"
    assert to_m2m100("nso") == "ns"
    with pytest.raises(ProjnerError) as ei:
        to_m2m100("pcm")
    assert ei.value.code is E.E181 and "M2M100" in str(ei.value)
    with pytest.raises(ProjnerError) as ei:
        to_m2m100("kin")  # Kinyarwanda is not among M2M100's 100 languages
    assert ei.value.code is E.E181


def test_iso_and_names():
    assert iso639_3("sw") == "swh"
    assert iso639_3("yo") == "yor"
    assert language_name("yor") == "Yoruba"
    assert language_name("pcm") == "Nigerian Pidgin"
    assert closest_supported("bbj")[0] == "fra_Latn"


def test_family_detection_and_language_tokens():
    assert detect_family({"eng_Latn": 1, "hello": 2}) == "nllb"
    assert detect_family(["__en__", "__de__", "x"]) == "m2m100"
    assert detect_family([">>fra<<", ">>deu<<", "x"]) == "marian-multi"
    assert detect_family(["a", "b"]) == "fixed"
    m2m = LanguageTokens({"__en__": 0, "__sw__": 1}, "tiny-m2m")
    assert m2m.token("swa") == "__sw__"
    with pytest.raises(ProjnerError):
        m2m.token("de")
    mar = LanguageTokens({">>fra<<": 0, ">>swh<<": 1}, "opus-mt-en-mul")
    assert mar.token("fr") == ">>fra<<" and mar.token("sw") == ">>swh<<"
    with pytest.raises(ProjnerError, match="opus-mt-en-mul"):
        mar.token("de")
    assert LanguageTokens({"a": 0}, "opus-mt-en-de").token("de") is None
