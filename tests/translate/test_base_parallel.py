from __future__ import annotations

import math

import pytest

from projner.errors import E, ProjnerError
from projner.registry import translators
from projner.translate import ParallelFileTranslator, Translation, Translator, TranslatorScoreModel
from projner.translate.base import batches_by_length, split_long


def test_batches_by_length_cover_every_index_once():
    lengths = [3, 9, 1, 9, 4, 7, 2]
    batches = list(batches_by_length(lengths, 3))
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(7)) and all(len(b) <= 3 for b in batches)
    assert [lengths[i] for i in flat] == sorted(lengths, reverse=True)
    with pytest.raises(ProjnerError):
        list(batches_by_length(lengths, 0))


def test_split_long_fits_and_prefers_punctuation():
    words = "a b c . d e f g , h i j".split()
    chunks = split_long(words, [1] * len(words), 5)
    assert chunks[0] == (0, 4)  # cut after the full stop
    assert [w for a, b in chunks for w in words[a:b]] == words
    assert all(b - a <= 5 for a, b in chunks)
    assert split_long(["x", "yyyy"], [1, 9], 4) == [(0, 1), (1, 2)]  # an oversized word stays alone


class FakeScorer(Translator):
    name = "fake"

    def __init__(self):
        self.calls = 0

    def translate(self, sentences, src, tgt):
        return [Translation(s) for s in sentences]

    def score(self, src_texts, tgt_texts, src, tgt):
        self.calls += 1
        return [-0.1 if a.lower() == b.lower() else -3.0 for a, b in zip(src_texts, tgt_texts)]

    def signature(self):
        return "fake"


def test_score_model_adapter_caches_and_plugs_into_candidate_matching():
    from projner.project.scores import TranslationScorer

    fake = FakeScorer()
    m = TranslatorScoreModel(fake, "en", "de")
    m.prefetch([("Paris", "Paris"), ("Paris", "Berlin"), ("Paris", "Paris")])
    assert fake.calls == 1
    assert m.score("Paris", "Paris") == pytest.approx(math.exp(-0.1))
    assert m.score("Paris", "Berlin") == pytest.approx(math.exp(-3.0))
    assert fake.calls == 1  # cached
    m.score("Rome", "Roma")
    assert fake.calls == 2
    TranslationScorer(m)  # accepted as a TranslationModel


def test_base_score_is_a_clear_error():
    class NoScore(Translator):
        def translate(self, sentences, src, tgt):
            return []

        def signature(self):
            return "x"

    with pytest.raises(ProjnerError) as ei:
        NoScore().score(["a"], ["b"], "en", "de")
    assert ei.value.code is E.E186


@pytest.fixture
def par_files(tmp_path):
    s = tmp_path / "src.en"
    t = tmp_path / "tgt.sw"
    s.write_text("the man\nJohn saw Mary\nthe man\n  hello  \n", encoding="utf-8")
    t.write_text("mtu\nJohn aliona Mary\nmwanaume\nhabari\n", encoding="utf-8")
    return s, t


def test_parallel_lookup_and_conflicts(par_files):
    s, t = par_files
    tr = translators.create("parallel", src_file=str(s), tgt_file=str(t), src_lang="en", tgt_lang="swa")
    assert isinstance(tr, ParallelFileTranslator)
    out = tr.translate(["John saw Mary", "hello", "the man"], "eng", "sw")
    assert [o.text for o in out] == ["John aliona Mary", "habari", "mtu"]
    assert tr.conflicts == 1 and "the man" in tr
    assert tr.signature().startswith("translator:parallel|src:src.en|tgt:tgt.sw|sha:")
    with pytest.raises(ProjnerError) as ei:
        tr.translate(["the woman"], "en", "sw")
    assert ei.value.code is E.E184 and str(s) in str(ei.value) and "the woman" in str(ei.value)
    with pytest.raises(ProjnerError) as ei:
        tr.translate(["the man"], "en", "de")  # wrong target language for these files
    assert ei.value.code is E.E185
    with pytest.raises(ProjnerError) as ei:
        tr.score(["the man"], ["mtu"], "en", "sw")
    assert ei.value.code is E.E186
    with pytest.raises(ProjnerError) as ei:
        ParallelFileTranslator(s, t, on_conflict="error")
    assert ei.value.code is E.E185 and ei.value.line == 3


def test_parallel_length_mismatch(tmp_path):
    s = tmp_path / "a.txt"
    t = tmp_path / "b.txt"
    s.write_text("a\nb\n", encoding="utf-8")
    t.write_text("x\n", encoding="utf-8")
    with pytest.raises(ProjnerError) as ei:
        ParallelFileTranslator(s, t)
    assert ei.value.code is E.E001


def test_parallel_translator_with_markers(tmp_path):
    from projner.project.markers import MarkerProjector
    from projner.types import Sentence, Span

    s = tmp_path / "src.txt"
    t = tmp_path / "tgt.txt"
    s.write_text("[ John ] saw [ Paris ]\n", encoding="utf-8")
    t.write_text("[ John ] aliona [ Parigi ]\n", encoding="utf-8")
    mp = MarkerProjector(ParallelFileTranslator(s, t), "en", "sw")
    assert mp.match_translations is False  # entity strings are not on disk
    (tgt, proj), = mp.project([Sentence(("John", "saw", "Paris"), (Span(0, 1, "PER"), Span(2, 3, "LOC")))])
    assert [(tgt.span_text(x), x.label) for x in tgt.spans] == [("John", "PER"), ("Parigi", "LOC")]
    assert proj.n_projected == 2
