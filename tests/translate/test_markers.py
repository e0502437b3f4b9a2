"""Marker projection with fake translators (no model): marking, fuzzy decoding, assignment, stats."""

from __future__ import annotations

import pytest

from projner.errors import E, ProjnerError
from projner.project.base import Outcome
from projner.translate.base import Translation, Translator
from projner.project.markers import MarkerProjector, marker_stats, project_with_markers
from projner.translate.markers import decode_markers, mark_sentence
from projner.types import Sentence, Span

LEX = {"the": "ile", "man": "mtu", "saw": "aliona", "in": "katika", "and": "na", "met": "alikutana", "today": "leo"}


class DictTranslator(Translator):
    """Word-for-word; names and markers copied. ``mangle`` rewrites the output (what MT does to markers)."""

    name = "dict"

    def __init__(self, mangle=None):
        self.mangle = mangle or (lambda s: s)
        self.calls: list[list[str]] = []

    def translate(self, sentences, src, tgt):
        self.calls.append(list(sentences))
        return [Translation(self.mangle(" ".join(LEX.get(w, w) for w in s.split())), -0.1) for s in sentences]

    def signature(self):
        return "dict"


def S(text, *spans):
    return Sentence(tuple(text.split()), tuple(Span(a, b, l) for a, b, l in spans))


def spans_text(sent):
    return [(sent.span_text(s), s.label) for s in sent.spans]


def test_mark_sentence_styles_and_escaping():
    s = S("John [ saw Mary Smith", (0, 1, "PER"), (3, 5, "PER"))
    assert mark_sentence(s) == "[ John ] ( saw [ Mary Smith ]"
    assert mark_sentence(s, "typed") == "<PER> John </PER> ( saw <PER> Mary Smith </PER>"
    assert mark_sentence(s, "numbered") == "<1> John </1> ( saw <2> Mary Smith </2>"
    with pytest.raises(ProjnerError) as ei:
        mark_sentence(s, "curly")
    assert ei.value.code is E.E185


@pytest.mark.parametrize(
    "text, tokens, segs, repair",
    [
        ("ile mtu aliona [ John ] katika", ("ile", "mtu", "aliona", "John", "katika"), ["John"], [""]),
        ("ile [John]katika", ("ile", "John", "katika"), ["John"], [""]),
        ("【Mary Anna】 alitembelea ［Nairobi］", ("Mary", "Anna", "alitembelea", "Nairobi"), ["Mary Anna", "Nairobi"], ["", ""]),
        ("[ Mary alitembelea [ Nairobi ] leo", ("Mary", "alitembelea", "Nairobi", "leo"), ["Mary alitembelea", "Nairobi"], ["close_missing", ""]),
        ("ile Obama ] alienda", ("ile", "Obama", "alienda"), ["ile Obama"], ["open_missing"]),
        ("[ ] ile [ A ] [ B ]", ("ile", "A", "B"), ["A", "B"], ["", ""]),
        ("hakuna alama hapa .", ("hakuna", "alama", "hapa", "."), [], []),
    ],
)
def test_decode_tolerates_mangled_markers(text, tokens, segs, repair):
    d = decode_markers(text)
    assert d.tokens == tokens
    assert [s.text for s in d.segments] == segs
    assert [s.repair for s in d.segments] == repair


def test_decode_typed_tags_case_and_spacing():
    d = decode_markers("< per > John </ PER> na <LOC>Kenya</LOC> <b>x</b>", "typed", {"PER", "LOC"})
    assert d.tokens[:4] == ("John", "na", "Kenya", "<")
    assert [(s.text, s.tag) for s in d.segments] == [("John", "PER"), ("Kenya", "LOC")]
    assert d.counts["variant_markers"] == 2


def test_project_with_markers_clean():
    src = [S("the man saw John in Paris", (3, 4, "PER"), (5, 6, "LOC")), S("Mary Smith and Anna met today", (0, 2, "PER"), (3, 4, "PER")), S("the man")]
    tr = DictTranslator()
    res = project_with_markers(src, tr, "en", "sw")
    assert [t.tokens for t, _ in res][0] == ("ile", "mtu", "aliona", "John", "katika", "Paris")
    assert spans_text(res[0][0]) == [("John", "PER"), ("Paris", "LOC")]
    assert spans_text(res[1][0]) == [("Mary Smith", "PER"), ("Anna", "PER")]
    assert res[2][0].tokens == ("ile", "mtu") and res[2][1].entities == ()
    st = marker_stats(res)
    assert (st.entities, st.projected, st.marker_lost, st.lost_share) == (4, 4, 0, 0.0)
    # one batch for the sentences, one for the entity strings; never one at a time
    assert len(tr.calls) == 2 and len(tr.calls[0]) == 3


def test_reordered_entities_are_matched_by_similarity():
    # the "translation" swaps the two entities: labels must follow the words, not the order
    def swap(s):
        return "[ Kenya ] na [ John ]"

    res = project_with_markers([S("John and Kenya", (0, 1, "PER"), (2, 3, "LOC"))], DictTranslator(swap), "en", "sw")
    assert spans_text(res[0][0]) == [("Kenya", "LOC"), ("John", "PER")]
    assert all(e.outcome is Outcome.PROJECTED for e in res[0][1].entities)


def test_lost_and_merged_markers_are_reported():
    sents = [S("John met Mary", (0, 1, "PER"), (2, 3, "PER")), S("the man saw Anna", (3, 4, "PER"))]

    def mangle(s):
        if s.startswith("[ John"):
            return "[ John alikutana Mary ]"  # two entities merged into one pair
        return s.replace("[", "").replace("]", "")  # markers dropped

    proj = MarkerProjector(DictTranslator(mangle), "en", "sw")
    res = proj.project(sents)
    outs = [e.outcome for _, p in res for e in p.entities]
    assert outs.count(Outcome.PROJECTED) == 1 and outs.count(Outcome.MARKER_LOST) == 2
    lost = [e for e in res[1][1].entities]
    assert lost[0].outcome is Outcome.MARKER_LOST and "no marker pair" in lost[0].detail
    assert res[1][0].tokens == ("ile", "mtu", "aliona", "Anna") and res[1][0].spans == ()
    assert proj.stats.marker_lost == 2 and abs(proj.stats.lost_share - 2 / 3) < 1e-9
    assert "lost 2" in proj.stats.format()


def test_missing_close_marker_is_cut_to_entity_length():
    res = project_with_markers(
        [S("the man saw John Smith today", (3, 5, "PER"))], DictTranslator(lambda s: s.replace("]", "")), "en", "sw",
    )
    tgt, proj = res[0]
    assert spans_text(tgt) == [("John Smith", "PER")]
    assert proj.entities[0].detail.startswith("close_missing")
    assert marker_stats(res).counts["close_missing"] == 1


def test_typed_and_numbered_styles():
    src = [S("John saw Paris", (0, 1, "PER"), (2, 3, "LOC"))]
    res = project_with_markers(src, DictTranslator(lambda s: s.lower()), "en", "sw", style="typed")
    assert spans_text(res[0][0]) == [("john", "PER"), ("paris", "LOC")]
    # numbered markers identify entities even when the words change completely and order swaps
    res = project_with_markers(src, DictTranslator(lambda s: "<2> Parigi </2> aliona <1> Gianni </1>"), "en", "sw", style="numbered")
    assert spans_text(res[0][0]) == [("Parigi", "LOC"), ("Gianni", "PER")]


def test_overlapping_source_spans_and_bad_input():
    s = Sentence(("New", "York", "City"), (Span(0, 3, "LOC"), Span(0, 2, "LOC")))
    res = project_with_markers([s], DictTranslator(), "en", "sw")
    outcomes = sorted(e.outcome.value for e in res[0][1].entities)
    assert outcomes == ["overlap_lost", "projected"]
    with pytest.raises(ProjnerError) as ei:
        project_with_markers(["not a sentence"], DictTranslator(), "en", "sw")
    assert ei.value.code is E.E187


def test_empty_translation_loses_everything():
    res = project_with_markers([S("John", (0, 1, "PER"))], DictTranslator(lambda s: ""), "en", "sw")
    assert res[0][0].tokens == () and res[0][1].entities[0].outcome is Outcome.MARKER_LOST
