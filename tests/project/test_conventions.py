"""Span conventions of the target annotation (projner.project.conventions)."""

import json

import pytest

from projner.data.formats import write_corpus
from projner.errors import E, ProjnerError
from projner.project.conventions import (
    ConventionTagger,
    SpanConventions,
    apply_conventions,
    learn_conventions,
    load_conventions,
)
from projner.types import Sentence, Span


def S(text, *spans, unknown=()):
    return Sentence(tuple(text.split()), tuple(Span(a, b, lab) for a, b, lab in spans), unknown=unknown)


# a Hausa-like annotation: the classifier noun before a place is part of the LOC span, "a" (in) is not
GOLD = [
    S("ya je jihar Kano jiya", (2, 4, "LOC")),
    S("a jihar Kaduna ne", (1, 3, "LOC")),
    S("ta dawo daga kasar Ingila", (3, 5, "LOC")),
    S("Jihar Legas tana da kyau", (0, 2, "LOC")),
    S("ya zauna a kasar Faransa", (3, 5, "LOC")),
    S("Musa ya tafi a Kano", (0, 1, "PER"), (4, 5, "LOC")),
    S("kasar Ghana da a Abuja", (0, 2, "LOC"), (4, 5, "LOC")),
    S("Musa Bala ya ce", (0, 2, "PER")),
]


def test_learns_included_and_excluded_edge_words():
    conv = learn_conventions(GOLD, min_count=2)
    assert conv.words("LOC", "include_left") == {"jihar", "kasar"}  # case-folded: "Jihar" counts as "jihar"
    assert conv.words("LOC", "exclude_left") == {"a"}
    assert conv.words("PER", "include_left") == set()  # "musa" starts a PER span once with min_count 2: no rule
    strict = learn_conventions(GOLD, min_count=4)  # jihar and kasar start 3 LOC spans each, "a" precedes 4
    assert strict.words("LOC", "include_left") == set() and strict.words("LOC", "exclude_left") == {"a"}
    with pytest.raises(ProjnerError) as ei:
        learn_conventions(GOLD, min_count=0)
    assert ei.value.code is E.E136


def test_apply_grows_trims_and_never_overlaps():
    conv = learn_conventions(GOLD, min_count=2)
    projected = [
        S("ya je jihar Kano jiya", (3, 4, "LOC")),  # projection stopped one word short: grows
        S("ya zauna a Kano", (2, 4, "LOC")),  # the preposition came along: trimmed
        S("jihar Kano", (0, 1, "ORG"), (1, 2, "LOC")),  # jihar belongs to another span: no growth
        S("a", (0, 1, "LOC")),  # never trimmed to nothing
        S("kasar jihar Kano ne", (2, 3, "LOC"), unknown=(0,)),  # two steps; the unknown word it covers becomes known
        S("jihar Kano", (1, 2, "PER")),  # rules are per label
    ]
    before = list(projected)
    out, counts = apply_conventions(projected, conv)
    assert projected == before  # nothing mutated
    assert [[(s.start, s.end, s.label) for s in x.spans] for x in out] == [
        [(2, 4, "LOC")], [(3, 4, "LOC")], [(0, 1, "ORG"), (1, 2, "LOC")], [(0, 1, "LOC")], [(0, 3, "LOC")], [(1, 2, "PER")]]
    assert out[4].unknown == ()
    assert counts.words == {"include_left": {"LOC": 3}, "exclude_left": {"LOC": 1}}
    assert counts.spans == 3 and counts.sentences == 3
    one_step = SpanConventions(conv.rules, "x", max_steps=1)
    assert apply_conventions([projected[4]], one_step)[0][0].spans[0].start == 1


def test_learned_conventions_restore_gold_edges():
    conv = learn_conventions(GOLD, min_count=2)
    cut = [s.with_spans([Span(sp.start + 1, sp.end, sp.label) if sp.label == "LOC" and len(sp) == 2 else sp
                         for sp in s.spans]) for s in GOLD]
    assert cut != GOLD
    assert apply_conventions(cut, conv)[0] == GOLD


def test_rules_files_and_learning_from_a_corpus(tmp_path):
    conv = learn_conventions(GOLD, min_count=2, source="dev.txt")
    (tmp_path / "rules.json").write_text(json.dumps(conv.to_dict()), encoding="utf-8")
    again = load_conventions(tmp_path / "rules.json")
    assert again.rules == conv.rules and again.source == "dev.txt" and len(again) == len(conv) == 4  # + PER exclude_right "ya"
    write_corpus(tmp_path / "dev.conll", GOLD)
    learned = load_conventions(tmp_path / "dev.conll", min_count=2)
    assert learned.rules == conv.rules and learned.source == "dev.conll"
    assert learned.signature() == "dev.conll(4)"
    hand = {"format": "projner-span-conventions", "rules": {"LOC": {"include_left": ["Birnin"]}}}
    (tmp_path / "hand.json").write_text(json.dumps(hand), encoding="utf-8")
    assert load_conventions(tmp_path / "hand.json").words("LOC", "include_left") == {"birnin"}
    for bad, what in (({"rules": {}}, "not a projner-span-conventions"),
                      ({**hand, "rules": {"LOC": {"grow": ["x"]}}}, "edges must be"),
                      ({**hand, "rules": {"LOC": {"include_left": "x"}}}, "list of words"),
                      ({**hand, "max_steps": 0}, "max_steps")):
        (tmp_path / "bad.json").write_text(json.dumps(bad), encoding="utf-8")
        with pytest.raises(ProjnerError) as ei:
            load_conventions(tmp_path / "bad.json")
        assert ei.value.code is E.E136 and "bad.json" in str(ei.value) and what in str(ei.value)
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    with pytest.raises(ProjnerError) as ei:
        load_conventions(tmp_path / "broken.json")
    assert "broken.json" in str(ei.value) and "not valid JSON" in str(ei.value)
    with pytest.raises(ProjnerError) as ei:
        load_conventions(tmp_path / "missing.conll")
    assert ei.value.code is E.E136 and "no such file" in str(ei.value)


def test_convention_tagger_post_processes_predictions():
    class Short:
        backend, labels = "toy", ("LOC",)

        def predict(self, sentences, *, labels=None):
            return [s.with_spans([Span(len(s) - 1, len(s), "LOC")]) for s in sentences]

    tagger = ConventionTagger(Short(), learn_conventions(GOLD, min_count=2))
    out = tagger.predict([S("ya je jihar Kano"), S("ya je Kano")])
    assert [s.spans[0].start for s in out] == [2, 2] and tagger.labels == ("LOC",)
