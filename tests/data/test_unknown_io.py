"""Tokens of unknown tag (partial labels) in files: JSONL keeps them, CoNLL counts the loss."""

import json

import pytest

from projner.data.convert import convert_corpus
from projner.data.formats import ReadOptions, read_corpus
from projner.data.normalize import Normalizer
from projner.data.writing import format_corpus, write_corpus_report
from projner.errors import E, ProjnerError
from projner.types import Sentence, Span
from testutil import write_file

SENTS = (
    Sentence(("Musa", "alikwenda", "Kano", "na", "Obi"), (Span(0, 1, "PER"),), "a", (2, 4)),
    Sentence(("hakuna", "jina")),
    Sentence(("Ali", "Bala", "leo"), (Span(0, 2, "PER"),), None, (2,)),
)


def test_jsonl_round_trip_keeps_unknown_tokens(tmp_path):
    p = tmp_path / "partial.jsonl"
    rep = write_corpus_report(p, SENTS)
    assert rep.repairs == {}
    rows = [json.loads(ln) for ln in p.read_text(encoding="utf-8").splitlines()]
    assert rows[0]["unknown"] == [2, 4] and rows[0]["ner_tags"] == ["B-PER", "O", "O", "O", "O"]
    assert "unknown" not in rows[1]  # only when non-empty
    back = read_corpus(p).sentences
    assert [s.unknown for s in back] == [s.unknown for s in SENTS]
    assert [s.spans for s in back] == [s.spans for s in SENTS] and [s.tokens for s in back] == [s.tokens for s in SENTS]
    assert json.loads(format_corpus(SENTS[:1], "jsonl"))["unknown"] == [2, 4]


def test_conll_writes_unknown_tokens_as_o_and_counts_them(tmp_path):
    p = tmp_path / "partial.conll"
    rep = write_corpus_report(p, SENTS)
    assert rep.repairs == {"unknown_tokens_written_as_O": 3}
    assert any("written as O" in ex for ex in rep.repair_examples) and rep.repair_lines()
    back = read_corpus(p).sentences
    assert all(s.unknown == () for s in back) and [s.spans for s in back] == [s.spans for s in SENTS]
    with pytest.raises(ProjnerError) as ei:  # no report to count in: an error
        format_corpus(SENTS, "conll")
    assert ei.value.code is E.E130 and "Sentence 1 has 2 token(s)" in str(ei.value)
    assert format_corpus(SENTS[1:2], "conll")  # a sentence without unknown tokens is fine


def test_convert_from_jsonl_to_conll_reports_the_repair_with_the_source_line(tmp_path):
    src = tmp_path / "in.jsonl"
    write_corpus_report(src, SENTS)
    conv = convert_corpus(read_corpus(src), tmp_path / "out.conll")
    assert conv.written.repairs == {"unknown_tokens_written_as_O": 3}
    assert conv.written.repair_examples[0].startswith(f"{src}:1:")


def test_unknown_indices_follow_tokens_dropped_by_normalisation(tmp_path):
    row = {"tokens": ["Musa", "\u200b", "Kano", "leo"], "ner_tags": ["B-PER", "O", "O", "O"], "unknown": [1, 2]}
    p = write_file(tmp_path, "z.jsonl", json.dumps(row) + "\n")
    s = read_corpus(p, options=ReadOptions(normalizer=Normalizer(strip_zero_width=True), empty_token="drop")).sentences[0]
    assert s.tokens == ("Musa", "Kano", "leo") and s.unknown == (1,)


@pytest.mark.parametrize("unknown, what", [
    ('"2"', "list of token indices"),
    ("[true]", "list of token indices"),
    ("[3]", "out of range"),
    ("[0]", "tagged B-PER"),
])
def test_bad_unknown_column_names_file_and_line(tmp_path, unknown, what):
    good = '{"tokens": ["a"], "ner_tags": ["O"]}\n'
    bad = '{"tokens": ["Musa", "leo", "x"], "ner_tags": ["B-PER", "O", "O"], "unknown": ' + unknown + "}\n"
    p = write_file(tmp_path, "bad.jsonl", good + bad)
    with pytest.raises(ProjnerError) as ei:
        read_corpus(p)
    assert ei.value.code is E.E131 and ei.value.file == str(p) and ei.value.line == 2 and what in str(ei.value)
