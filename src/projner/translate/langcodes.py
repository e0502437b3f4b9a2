"""Language codes: ISO 639-1 / 639-3 (and BCP-47-ish ``en-US``, ``zh-Hant``) ↔ NLLB-200 and M2M100.

>>> to_nllb("en"), to_nllb("swa"), to_m2m100("deu")
('eng_Latn', 'swh_Latn', 'de')

A language a model family does not cover raises :data:`E.E181` naming the closest supported codes
(same region or a related language) and the parallel-file translator as the way out, e.g.
``to_nllb("pcm")``: "Nigerian Pidgin (pcm) is not supported by NLLB-200; closest supported:
eng_Latn (English), hau_Latn (Hausa), ...".
"""

from __future__ import annotations

import difflib
import re
from typing import Iterable

from projner.errors import E, ProjnerError

# --------------------------------------------------------------------------- NLLB-200 (FLORES-200)

#: NLLB-200 code → (English name, region). Regions serve the "closest supported" suggestions.
NLLB_LANGUAGES: dict[str, tuple[str, str]] = {
    "ace_Arab": ("Acehnese (Arabic script)", "Southeast Asia"),
    "ace_Latn": ("Acehnese (Latin script)", "Southeast Asia"),
    "acm_Arab": ("Mesopotamian Arabic", "Middle East"),
    "acq_Arab": ("Ta'izzi-Adeni Arabic", "Middle East"),
    "aeb_Arab": ("Tunisian Arabic", "North Africa"),
    "afr_Latn": ("Afrikaans", "Southern Africa"),
    "ajp_Arab": ("South Levantine Arabic", "Middle East"),
    "aka_Latn": ("Akan", "West Africa"),
    "amh_Ethi": ("Amharic", "East Africa"),
    "apc_Arab": ("North Levantine Arabic", "Middle East"),
    "arb_Arab": ("Modern Standard Arabic", "Middle East"),
    "arb_Latn": ("Modern Standard Arabic (Romanized)", "Middle East"),
    "ars_Arab": ("Najdi Arabic", "Middle East"),
    "ary_Arab": ("Moroccan Arabic", "North Africa"),
    "arz_Arab": ("Egyptian Arabic", "North Africa"),
    "asm_Beng": ("Assamese", "South Asia"),
    "ast_Latn": ("Asturian", "Europe"),
    "awa_Deva": ("Awadhi", "South Asia"),
    "ayr_Latn": ("Central Aymara", "Americas"),
    "azb_Arab": ("South Azerbaijani", "Middle East"),
    "azj_Latn": ("North Azerbaijani", "Caucasus"),
    "bak_Cyrl": ("Bashkir", "Central Asia"),
    "bam_Latn": ("Bambara", "West Africa"),
    "ban_Latn": ("Balinese", "Southeast Asia"),
    "bel_Cyrl": ("Belarusian", "Europe"),
    "bem_Latn": ("Bemba", "Southern Africa"),
    "ben_Beng": ("Bengali", "South Asia"),
    "bho_Deva": ("Bhojpuri", "South Asia"),
    "bjn_Arab": ("Banjar (Arabic script)", "Southeast Asia"),
    "bjn_Latn": ("Banjar (Latin script)", "Southeast Asia"),
    "bod_Tibt": ("Standard Tibetan", "South Asia"),
    "bos_Latn": ("Bosnian", "Europe"),
    "bug_Latn": ("Buginese", "Southeast Asia"),
    "bul_Cyrl": ("Bulgarian", "Europe"),
    "cat_Latn": ("Catalan", "Europe"),
    "ceb_Latn": ("Cebuano", "Southeast Asia"),
    "ces_Latn": ("Czech", "Europe"),
    "cjk_Latn": ("Chokwe", "Central Africa"),
    "ckb_Arab": ("Central Kurdish", "Middle East"),
    "crh_Latn": ("Crimean Tatar", "Europe"),
    "cym_Latn": ("Welsh", "Europe"),
    "dan_Latn": ("Danish", "Europe"),
    "deu_Latn": ("German", "Europe"),
    "dik_Latn": ("Southwestern Dinka", "East Africa"),
    "dyu_Latn": ("Dyula", "West Africa"),
    "dzo_Tibt": ("Dzongkha", "South Asia"),
    "ell_Grek": ("Greek", "Europe"),
    "eng_Latn": ("English", "Europe"),
    "epo_Latn": ("Esperanto", "Constructed"),
    "est_Latn": ("Estonian", "Europe"),
    "eus_Latn": ("Basque", "Europe"),
    "ewe_Latn": ("Ewe", "West Africa"),
    "fao_Latn": ("Faroese", "Europe"),
    "fij_Latn": ("Fijian", "Oceania"),
    "fin_Latn": ("Finnish", "Europe"),
    "fon_Latn": ("Fon", "West Africa"),
    "fra_Latn": ("French", "Europe"),
    "fur_Latn": ("Friulian", "Europe"),
    "fuv_Latn": ("Nigerian Fulfulde", "West Africa"),
    "gaz_Latn": ("West Central Oromo", "East Africa"),
    "gla_Latn": ("Scottish Gaelic", "Europe"),
    "gle_Latn": ("Irish", "Europe"),
    "glg_Latn": ("Galician", "Europe"),
    "grn_Latn": ("Guarani", "Americas"),
    "guj_Gujr": ("Gujarati", "South Asia"),
    "hat_Latn": ("Haitian Creole", "Americas"),
    "hau_Latn": ("Hausa", "West Africa"),
    "heb_Hebr": ("Hebrew", "Middle East"),
    "hin_Deva": ("Hindi", "South Asia"),
    "hne_Deva": ("Chhattisgarhi", "South Asia"),
    "hrv_Latn": ("Croatian", "Europe"),
    "hun_Latn": ("Hungarian", "Europe"),
    "hye_Armn": ("Armenian", "Caucasus"),
    "ibo_Latn": ("Igbo", "West Africa"),
    "ilo_Latn": ("Ilocano", "Southeast Asia"),
    "ind_Latn": ("Indonesian", "Southeast Asia"),
    "isl_Latn": ("Icelandic", "Europe"),
    "ita_Latn": ("Italian", "Europe"),
    "jav_Latn": ("Javanese", "Southeast Asia"),
    "jpn_Jpan": ("Japanese", "East Asia"),
    "kab_Latn": ("Kabyle", "North Africa"),
    "kac_Latn": ("Jingpho", "Southeast Asia"),
    "kam_Latn": ("Kamba", "East Africa"),
    "kan_Knda": ("Kannada", "South Asia"),
    "kas_Arab": ("Kashmiri (Arabic script)", "South Asia"),
    "kas_Deva": ("Kashmiri (Devanagari script)", "South Asia"),
    "kat_Geor": ("Georgian", "Caucasus"),
    "knc_Arab": ("Central Kanuri (Arabic script)", "West Africa"),
    "knc_Latn": ("Central Kanuri (Latin script)", "West Africa"),
    "kaz_Cyrl": ("Kazakh", "Central Asia"),
    "kbp_Latn": ("Kabiyè", "West Africa"),
    "kea_Latn": ("Kabuverdianu", "West Africa"),
    "khm_Khmr": ("Khmer", "Southeast Asia"),
    "kik_Latn": ("Kikuyu", "East Africa"),
    "kin_Latn": ("Kinyarwanda", "East Africa"),
    "kir_Cyrl": ("Kyrgyz", "Central Asia"),
    "kmb_Latn": ("Kimbundu", "Central Africa"),
    "kmr_Latn": ("Northern Kurdish", "Middle East"),
    "kon_Latn": ("Kikongo", "Central Africa"),
    "kor_Hang": ("Korean", "East Asia"),
    "lao_Laoo": ("Lao", "Southeast Asia"),
    "lij_Latn": ("Ligurian", "Europe"),
    "lim_Latn": ("Limburgish", "Europe"),
    "lin_Latn": ("Lingala", "Central Africa"),
    "lit_Latn": ("Lithuanian", "Europe"),
    "lmo_Latn": ("Lombard", "Europe"),
    "ltg_Latn": ("Latgalian", "Europe"),
    "ltz_Latn": ("Luxembourgish", "Europe"),
    "lua_Latn": ("Luba-Kasai", "Central Africa"),
    "lug_Latn": ("Ganda", "East Africa"),
    "luo_Latn": ("Luo", "East Africa"),
    "lus_Latn": ("Mizo", "South Asia"),
    "lvs_Latn": ("Standard Latvian", "Europe"),
    "mag_Deva": ("Magahi", "South Asia"),
    "mai_Deva": ("Maithili", "South Asia"),
    "mal_Mlym": ("Malayalam", "South Asia"),
    "mar_Deva": ("Marathi", "South Asia"),
    "min_Arab": ("Minangkabau (Arabic script)", "Southeast Asia"),
    "min_Latn": ("Minangkabau (Latin script)", "Southeast Asia"),
    "mkd_Cyrl": ("Macedonian", "Europe"),
    "plt_Latn": ("Plateau Malagasy", "East Africa"),
    "mlt_Latn": ("Maltese", "Europe"),
    "mni_Beng": ("Meitei (Bengali script)", "South Asia"),
    "khk_Cyrl": ("Halh Mongolian", "East Asia"),
    "mos_Latn": ("Mossi", "West Africa"),
    "mri_Latn": ("Maori", "Oceania"),
    "mya_Mymr": ("Burmese", "Southeast Asia"),
    "nld_Latn": ("Dutch", "Europe"),
    "nno_Latn": ("Norwegian Nynorsk", "Europe"),
    "nob_Latn": ("Norwegian Bokmål", "Europe"),
    "npi_Deva": ("Nepali", "South Asia"),
    "nso_Latn": ("Northern Sotho", "Southern Africa"),
    "nus_Latn": ("Nuer", "East Africa"),
    "nya_Latn": ("Nyanja", "Southern Africa"),
    "oci_Latn": ("Occitan", "Europe"),
    "ory_Orya": ("Odia", "South Asia"),
    "pag_Latn": ("Pangasinan", "Southeast Asia"),
    "pan_Guru": ("Eastern Panjabi", "South Asia"),
    "pap_Latn": ("Papiamento", "Americas"),
    "pes_Arab": ("Western Persian", "Middle East"),
    "pol_Latn": ("Polish", "Europe"),
    "por_Latn": ("Portuguese", "Europe"),
    "prs_Arab": ("Dari", "Central Asia"),
    "pbt_Arab": ("Southern Pashto", "Central Asia"),
    "quy_Latn": ("Ayacucho Quechua", "Americas"),
    "ron_Latn": ("Romanian", "Europe"),
    "run_Latn": ("Rundi", "East Africa"),
    "rus_Cyrl": ("Russian", "Europe"),
    "sag_Latn": ("Sango", "Central Africa"),
    "san_Deva": ("Sanskrit", "South Asia"),
    "sat_Olck": ("Santali", "South Asia"),
    "scn_Latn": ("Sicilian", "Europe"),
    "shn_Mymr": ("Shan", "Southeast Asia"),
    "sin_Sinh": ("Sinhala", "South Asia"),
    "slk_Latn": ("Slovak", "Europe"),
    "slv_Latn": ("Slovenian", "Europe"),
    "smo_Latn": ("Samoan", "Oceania"),
    "sna_Latn": ("Shona", "Southern Africa"),
    "snd_Arab": ("Sindhi", "South Asia"),
    "som_Latn": ("Somali", "East Africa"),
    "sot_Latn": ("Southern Sotho", "Southern Africa"),
    "spa_Latn": ("Spanish", "Europe"),
    "als_Latn": ("Tosk Albanian", "Europe"),
    "srd_Latn": ("Sardinian", "Europe"),
    "srp_Cyrl": ("Serbian", "Europe"),
    "ssw_Latn": ("Swati", "Southern Africa"),
    "sun_Latn": ("Sundanese", "Southeast Asia"),
    "swe_Latn": ("Swedish", "Europe"),
    "swh_Latn": ("Swahili", "East Africa"),
    "szl_Latn": ("Silesian", "Europe"),
    "tam_Taml": ("Tamil", "South Asia"),
    "tat_Cyrl": ("Tatar", "Europe"),
    "tel_Telu": ("Telugu", "South Asia"),
    "tgk_Cyrl": ("Tajik", "Central Asia"),
    "tgl_Latn": ("Tagalog", "Southeast Asia"),
    "tha_Thai": ("Thai", "Southeast Asia"),
    "tir_Ethi": ("Tigrinya", "East Africa"),
    "taq_Latn": ("Tamasheq (Latin script)", "West Africa"),
    "taq_Tfng": ("Tamasheq (Tifinagh script)", "West Africa"),
    "tpi_Latn": ("Tok Pisin", "Oceania"),
    "tsn_Latn": ("Tswana", "Southern Africa"),
    "tso_Latn": ("Tsonga", "Southern Africa"),
    "tuk_Latn": ("Turkmen", "Central Asia"),
    "tum_Latn": ("Tumbuka", "Southern Africa"),
    "tur_Latn": ("Turkish", "Middle East"),
    "twi_Latn": ("Twi", "West Africa"),
    "tzm_Tfng": ("Central Atlas Tamazight", "North Africa"),
    "uig_Arab": ("Uyghur", "Central Asia"),
    "ukr_Cyrl": ("Ukrainian", "Europe"),
    "umb_Latn": ("Umbundu", "Central Africa"),
    "urd_Arab": ("Urdu", "South Asia"),
    "uzn_Latn": ("Northern Uzbek", "Central Asia"),
    "vec_Latn": ("Venetian", "Europe"),
    "vie_Latn": ("Vietnamese", "Southeast Asia"),
    "war_Latn": ("Waray", "Southeast Asia"),
    "wol_Latn": ("Wolof", "West Africa"),
    "xho_Latn": ("Xhosa", "Southern Africa"),
    "ydd_Hebr": ("Eastern Yiddish", "Europe"),
    "yor_Latn": ("Yoruba", "West Africa"),
    "yue_Hant": ("Yue Chinese", "East Asia"),
    "zho_Hans": ("Chinese (Simplified)", "East Asia"),
    "zho_Hant": ("Chinese (Traditional)", "East Asia"),
    "zsm_Latn": ("Standard Malay", "Southeast Asia"),
    "zul_Latn": ("Zulu", "Southern Africa"),
}

#: ISO 639-1 → ISO 639-3 (the individual language NLLB uses where ISO names a macrolanguage).
ISO1_TO_3: dict[str, str] = {
    "af": "afr", "ak": "aka", "am": "amh", "ar": "arb", "as": "asm", "ay": "ayr", "az": "azj", "ba": "bak",
    "be": "bel", "bg": "bul", "bm": "bam", "bn": "ben", "bo": "bod", "br": "bre", "bs": "bos", "ca": "cat",
    "cs": "ces", "cy": "cym", "da": "dan", "de": "deu", "dz": "dzo", "ee": "ewe", "el": "ell", "en": "eng",
    "eo": "epo", "es": "spa", "et": "est", "eu": "eus", "fa": "pes", "ff": "fuv", "fi": "fin", "fj": "fij",
    "fo": "fao", "fr": "fra", "fy": "fry", "ga": "gle", "gd": "gla", "gl": "glg", "gn": "grn", "gu": "guj",
    "ha": "hau", "he": "heb", "hi": "hin", "hr": "hrv", "ht": "hat", "hu": "hun", "hy": "hye", "id": "ind",
    "ig": "ibo", "is": "isl", "it": "ita", "ja": "jpn", "jv": "jav", "ka": "kat", "kg": "kon", "ki": "kik",
    "kk": "kaz", "km": "khm", "kn": "kan", "ko": "kor", "kr": "knc", "ks": "kas", "ku": "kmr", "ky": "kir",
    "lb": "ltz", "lg": "lug", "li": "lim", "ln": "lin", "lo": "lao", "lt": "lit", "lu": "lub", "lv": "lvs",
    "mg": "plt", "mi": "mri", "mk": "mkd", "ml": "mal", "mn": "khk", "mr": "mar", "ms": "zsm", "mt": "mlt",
    "my": "mya", "nb": "nob", "ne": "npi", "nl": "nld", "nn": "nno", "no": "nob", "ny": "nya", "oc": "oci",
    "om": "gaz", "or": "ory", "pa": "pan", "pl": "pol", "ps": "pbt", "pt": "por", "qu": "quy", "rn": "run",
    "ro": "ron", "ru": "rus", "rw": "kin", "sa": "san", "sc": "srd", "sd": "snd", "sg": "sag", "si": "sin",
    "sk": "slk", "sl": "slv", "sm": "smo", "sn": "sna", "so": "som", "sq": "als", "sr": "srp", "ss": "ssw",
    "st": "sot", "su": "sun", "sv": "swe", "sw": "swh", "ta": "tam", "te": "tel", "tg": "tgk", "th": "tha",
    "ti": "tir", "tk": "tuk", "tl": "tgl", "tn": "tsn", "tr": "tur", "ts": "tso", "tt": "tat", "tw": "twi",
    "ug": "uig", "uk": "ukr", "ur": "urd", "uz": "uzn", "vi": "vie", "wo": "wol", "xh": "xho", "yi": "ydd",
    "yo": "yor", "zh": "zho", "zu": "zul",
}

#: ISO 639-3 macrolanguage / bibliographic / alternative codes → the code NLLB uses.
ISO3_ALIASES: dict[str, str] = {
    "swa": "swh", "ara": "arb", "fas": "pes", "per": "pes", "msa": "zsm", "may": "zsm", "lav": "lvs",
    "uzb": "uzn", "mon": "khk", "nor": "nob", "nep": "npi", "orm": "gaz", "sqi": "als", "alb": "als",
    "pus": "pbt", "que": "quy", "aze": "azj", "kur": "kmr", "ful": "fuv", "grn": "grn", "yid": "ydd",
    "mlg": "plt", "aym": "ayr", "fil": "tgl", "din": "dik", "kau": "knc", "ori": "ory", "ger": "deu",
    "fre": "fra", "dut": "nld", "gre": "ell", "chi": "zho", "cze": "ces", "slo": "slk", "rum": "ron",
    "arm": "hye", "geo": "kat", "baq": "eus", "ice": "isl", "mac": "mkd", "mao": "mri", "bur": "mya",
    "wel": "cym", "tib": "bod", "est": "est", "ekk": "est", "kon": "kon", "kng": "kon", "cmn": "zho",
    "pan": "pan", "pnb": "pan", "twi": "twi", "aka": "aka", "hbs": "srp", "lah": "pan", "kok": "kok",
}

#: Default script for a bare ISO code when NLLB has several (``zh`` → Simplified).
_PREFERRED_SCRIPT = {"zho": "zho_Hans", "ace": "ace_Latn", "arb": "arb_Arab", "bjn": "bjn_Latn", "kas": "kas_Arab",
                     "knc": "knc_Latn", "min": "min_Latn", "taq": "taq_Latn"}

#: Languages NLLB-200 lacks that projner users meet (MasakhaNER & co.), with the closest supported codes.
UNSUPPORTED_HINTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "pcm": ("Nigerian Pidgin", ("eng_Latn", "hau_Latn", "yor_Latn", "ibo_Latn")),
    "bbj": ("Ghomálá'", ("fra_Latn", "eng_Latn", "ewe_Latn", "fon_Latn")),
    "wes": ("Cameroonian Pidgin", ("eng_Latn", "fra_Latn")),
    "kri": ("Krio", ("eng_Latn",)),
    "fry": ("Western Frisian", ("nld_Latn", "deu_Latn", "eng_Latn")),
    "bre": ("Breton", ("fra_Latn", "cym_Latn", "gle_Latn")),
    "lub": ("Luba-Katanga", ("lua_Latn", "lin_Latn", "swh_Latn")),
    "kok": ("Konkani", ("mar_Deva", "hin_Deva")),
    "gom": ("Goan Konkani", ("mar_Deva", "hin_Deva")),
    "nds": ("Low German", ("deu_Latn", "nld_Latn")),
    "gsw": ("Swiss German", ("deu_Latn",)),
    "bar": ("Bavarian", ("deu_Latn",)),
}

# --------------------------------------------------------------------------- M2M100 (100 languages)

M2M100_CODES: frozenset[str] = frozenset(
    "af am ar ast az ba be bg bn br bs ca ceb cs cy da de el en es et fa ff fi fr fy ga gd gl gu ha he hi hr ht "
    "hu hy id ig ilo is it ja jv ka kk km kn ko lb lg ln lo lt lv mg mk ml mn mr ms my ne nl no ns oc or pa pl ps "
    "pt ro ru sd si sk sl so sq sr ss su sv sw ta th tl tn tr uk ur uz vi wo xh yi yo zh zu".split()
)
#: ISO 639-3 codes M2M100 writes with a non-standard or 3-letter code.
_M2M_SPECIAL = {"ast": "ast", "ceb": "ceb", "ilo": "ilo", "nso": "ns"}

_NLLB_RE = re.compile(r"^([a-z]{3})_([A-Z][a-z]{3})$")
_BCP_RE = re.compile(r"^([a-zA-Z]{2,3})(?:[-_]([A-Za-z]{4}))?(?:[-_]([A-Za-z]{2}|\d{3}))?$")
_BY_ISO3: dict[str, list[str]] = {}
for _c in NLLB_LANGUAGES:
    _BY_ISO3.setdefault(_c[:3], []).append(_c)
_NAME_TO_CODE = {name.lower(): code for code, (name, _) in NLLB_LANGUAGES.items()}


def _label(code: str) -> str:
    info = NLLB_LANGUAGES.get(code)
    return f"{code} ({info[0]})" if info else code


def _parse(code: str) -> tuple[str, str | None]:
    """A user code → (ISO 639-3 as NLLB uses it, script or None). Raises E180 for nonsense."""
    if not isinstance(code, str) or not code.strip():
        raise ProjnerError(E.E180, lang_code=code, detail="expected an ISO 639-1/639-3 or NLLB code such as 'en', 'eng' or 'eng_Latn'")
    raw = code.strip()
    m = _NLLB_RE.match(raw)
    if m:
        return ISO3_ALIASES.get(m.group(1), m.group(1)), m.group(2)
    if raw.lower() in _NAME_TO_CODE:
        c = _NAME_TO_CODE[raw.lower()]
        return c[:3], c[4:]
    m = _BCP_RE.match(raw)
    if not m:
        raise ProjnerError(E.E180, lang_code=code, detail="expected an ISO 639-1/639-3 or NLLB code such as 'en', 'eng' or 'eng_Latn'")
    lang = m.group(1).lower()
    script = m.group(2).title() if m.group(2) else None
    if len(lang) == 2:
        if lang not in ISO1_TO_3:
            raise ProjnerError(E.E180, lang_code=code, detail=f"{lang!r} is not an ISO 639-1 code projner knows; try the ISO 639-3 code")
        lang = ISO1_TO_3[lang]
    return ISO3_ALIASES.get(lang, lang), script


def iso639_3(code: str) -> str:
    """The ISO 639-3 code (as NLLB uses it: individual languages, e.g. ``sw`` → ``swh``)."""
    return _parse(code)[0]


def language_name(code: str) -> str:
    """English name of a language code, or the code itself when unknown."""
    try:
        iso, script = _parse(code)
    except ProjnerError:
        return code
    cands = _BY_ISO3.get(iso)
    if cands:
        return NLLB_LANGUAGES[cands[0]][0].split(" (")[0]
    if iso in UNSUPPORTED_HINTS:
        return UNSUPPORTED_HINTS[iso][0]
    return code


def closest_supported(code: str, supported: Iterable[str] | None = None, n: int = 6) -> list[str]:
    """NLLB codes to suggest for an unsupported language: curated neighbours, else spelling neighbours."""
    pool = set(NLLB_LANGUAGES if supported is None else supported)
    try:
        iso, _ = _parse(code)
    except ProjnerError:
        iso = code.lower()
    if iso in UNSUPPORTED_HINTS:
        return [c for c in UNSUPPORTED_HINTS[iso][1] if c in pool][:n]
    same = sorted(c for c in pool if c[:3] == iso)
    if same:
        return same[:n]
    by_spelling = difflib.get_close_matches(iso, sorted({c[:3] for c in pool}), n=n, cutoff=0.6)
    return [c for s in by_spelling for c in sorted(pool) if c[:3] == s][:n]


def _unsupported(code: str, iso: str, model: str, suggestions: list[str], extra: str = "") -> ProjnerError:
    name = language_name(code)
    lang = f"{name} ({code})" if name != code else repr(code)
    parts = []
    if suggestions:
        parts.append("closest supported: " + ", ".join(_label(c) if "_" in c else c for c in suggestions))
    if extra:
        parts.append(extra)
    parts.append("or give translations on disk with the parallel-file translator (projner.translator.parallel.v1)")
    return ProjnerError(E.E181, lang=lang, model=model, suggest="; ".join(parts), lang_code=code, alternatives=tuple(suggestions))


def _model_suggestions(code: str, pool: set[str], full: set[str]) -> tuple[list[str], str]:
    """Closest codes inside ``pool``; when ``pool`` is a model's own subset, also list it."""
    near = closest_supported(code, pool)
    extra = ""
    if pool != full and len(pool) < 100:
        listed = sorted(pool)
        extra = f"this model knows {len(listed)} codes: " + ", ".join(listed[:24]) + (", ..." if len(listed) > 24 else "")
    return near, extra


def to_nllb(code: str, supported: Iterable[str] | None = None, model: str = "NLLB-200") -> str:
    """An NLLB-200 code (``eng_Latn``) for ``en``, ``eng``, ``en-US``, ``zh-Hant``, ``eng_Latn``, ``English``.

    ``supported``: the codes a particular model knows (default: the NLLB-200 table). Raises E181
    naming the closest supported codes when the language (or script) is not covered.
    """
    iso, script = _parse(code)
    pool = set(NLLB_LANGUAGES if supported is None else supported)
    cands = sorted(c for c in pool if c[:3] == iso)
    if script is not None:
        want = f"{iso}_{script}"
        if want in pool:
            return want
        if cands:
            raise _unsupported(code, iso, model, cands, extra=f"script {script} is not covered")
    elif cands:
        pref = _PREFERRED_SCRIPT.get(iso)
        return pref if pref in cands else cands[0]
    near, extra = _model_suggestions(code, pool, set(NLLB_LANGUAGES))
    raise _unsupported(code, iso, model, near, extra=extra)


def to_m2m100(code: str, supported: Iterable[str] | None = None, model: str = "M2M100") -> str:
    """An M2M100 code (``en``, ``sw``, ``ast``) for any accepted input code; E181 when not covered."""
    iso, _script = _parse(code)
    pool = set(M2M100_CODES if supported is None else supported)
    if iso in _M2M_SPECIAL and _M2M_SPECIAL[iso] in pool:
        return _M2M_SPECIAL[iso]
    inverse = {v: k for k, v in ISO1_TO_3.items()}
    inverse.update({"swh": "sw", "arb": "ar", "pes": "fa", "zsm": "ms", "lvs": "lv", "uzn": "uz", "khk": "mn",
                    "nob": "no", "npi": "ne", "als": "sq", "pbt": "ps", "azj": "az", "plt": "mg", "ydd": "yi",
                    "tgl": "tl", "fuv": "ff", "est": "et", "zho": "zh"})
    two = inverse.get(iso)
    if two and two in pool:
        return two
    if iso in pool:
        return iso
    near = [c for c in closest_supported(code) if (c2 := inverse.get(c[:3])) and c2 in pool]
    sugg = [inverse[c[:3]] for c in near]
    extra = ""
    if pool != set(M2M100_CODES) and len(pool) < 60:
        extra = f"this model knows {len(pool)} codes: " + ", ".join(sorted(pool)[:24]) + (", ..." if len(pool) > 24 else "")
    raise _unsupported(code, iso, model, sugg, extra=extra)


def nllb_codes() -> list[str]:
    return sorted(NLLB_LANGUAGES)


def codes_in_region(region: str) -> list[str]:
    return sorted(c for c, (_, r) in NLLB_LANGUAGES.items() if r.lower() == region.lower())
