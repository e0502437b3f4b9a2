"""Issue 13: silent wrong results in reading and writing become coded errors or counted repairs."""

import json

import pytest

from projner.data.convert import convert_corpus
from projner.data.formats import ReadOptions, parse_pharaoh_line, read_corpus, read_pharaoh, write_corpus, write_corpus_report
from projner.data.normalize import Normalizer
from projner.data.schemes import decode, detect_scheme, io_merges, split_tag
from projner.data.tokens import EMPTY_MARKER, make_safe, unsafe_reason
from projner.errors import E, ProjnerError
from projner.types import Sentence, Span
from testutil import write_file




SENTS = [
    Sentence(("Ada", "sings"), (Span(0, 1, "PER"),)),
    Sentence(()),
    Sentence(("Bob",), (Span(0, 1, "PER"),)),
    Sentence(()),
]


# ---------------------------------------------------------------- empty sentences survive every format


@pytest.mark.parametrize("name", ["out.conll", "out.jsonl", "out.txt"])
def test_empty_sentences_survive_every_round_trip(tmp_path, name):
    n = write_corpus(tmp_path / name, SENTS)
    back = read_corpus(tmp_path / name, "txt" if name.endswith(".txt") else None)
    assert n == len(back) == 4  # the count printed is what the file holds
    assert [s.tokens for s in back] == [s.tokens for s in SENTS]
    if not name.endswith(".txt"):
        assert [s.spans for s in back] == [s.spans for s in SENTS]


def test_conll_empty_sentence_marker_and_its_lines(tmp_path):
    write_corpus(tmp_path / "e.conll", SENTS)
    text = (tmp_path / "e.conll").read_text(encoding="utf-8")
    assert text == f"Ada\tB-PER\nsings\tO\n\n{EMPTY_MARKER}\tO\n\nBob\tB-PER\n\n{EMPTY_MARKER}\tO\n\n"
    back = read_corpus(tmp_path / "e.conll")
    assert back.lines == (1, 4, 6, 8) and back.report.skipped == {"empty_sentences_kept": 2}
    # a file holding only empty sentences is not an "empty file"
    write_corpus(tmp_path / "only.conll", [Sentence(())])
    assert [len(s) for s in read_corpus(tmp_path / "only.conll")] == [0]


def test_marker_is_a_token_anywhere_else(tmp_path):
    p = write_file(tmp_path, "m.conll", f"{EMPTY_MARKER}\tB-PER\n\nx\tO\n{EMPTY_MARKER}\tO\n")
    c = read_corpus(p)
    assert [s.tokens for s in c] == [(EMPTY_MARKER,), ("x", EMPTY_MARKER)] and c.report.skipped == {}


def test_conll_block_whose_tokens_are_all_dropped_stays_a_sentence(tmp_path):
    p = write_file(tmp_path, "d.conll", "a\tO\n\n\u200b\tO\n\nb\tB-PER\n")
    opts = ReadOptions(normalizer=Normalizer(strip_zero_width=True), empty_token="drop")
    c = read_corpus(p, options=opts)
    assert [s.tokens for s in c] == [("a",), (), ("b",)] and c.lines == (1, 3, 5)
    assert c.report.skipped == {"empty_token_after_normalisation": 1}


def test_writer_refuses_tokens_conll_reserves(tmp_path):
    with pytest.raises(ProjnerError, match=r"E024.*-DOCSTART-.*sentence 1, word 1") as exc:
        write_corpus(tmp_path / "x.conll", [Sentence(("-DOCSTART-", "a"))])
    assert exc.value.code is E.E024 and exc.value.file == str(tmp_path / "x.conll")
    with pytest.raises(ProjnerError, match=r"E024.*empty sentence"):
        write_corpus(tmp_path / "x.conll", [Sentence(("a",)), Sentence((EMPTY_MARKER,))])
    assert not (tmp_path / "x.conll").exists()  # atomic: nothing half-written
    write_corpus(tmp_path / "ok.conll", [Sentence((EMPTY_MARKER,), (Span(0, 1, "MISC"),))])  # tagged: a real token
    assert read_corpus(tmp_path / "ok.conll")[0].tokens == (EMPTY_MARKER,)


# ---------------------------------------------------------------- tokens a format cannot hold


def test_unsafe_token_reasons_per_format():
    assert unsafe_reason("New\tYork", "conll") and unsafe_reason(" a", "conll") and unsafe_reason("a\n", "conll")
    assert unsafe_reason("New York", "conll") is None  # TAB-separated CoNLL holds inner spaces
    assert unsafe_reason("New York", "conll", sep=" ")
    assert unsafe_reason("New York", "txt") and unsafe_reason("10\u00a0000", "txt")  # str.split() splits NBSP
    assert unsafe_reason("New\tYork", "jsonl") is None and unsafe_reason("a\x00", "jsonl")
    assert make_safe("New\tYork", "conll") == "New_York" and make_safe(" a ", "conll") == "_a_"
    assert make_safe("10\u00a0000", "txt") == "10_000" and make_safe("a b", "conll") == "a b"


def test_unsafe_tokens_error_names_source_line_or_are_counted_repairs(tmp_path):
    src = write_file(tmp_path, "t.jsonl", '{"tokens": ["a"], "ner_tags": ["O"]}\n'
                '{"tokens": ["New\\tYork", "x", " y"], "ner_tags": ["B-LOC", "O", "O"]}\n')
    c = read_corpus(src)
    with pytest.raises(ProjnerError, match=r"E024.*t.jsonl:2: .*'New\\tYork'.*sentence 2, word 1.*TAB"):
        convert_corpus(c, tmp_path / "t.conll")
    assert not (tmp_path / "t.conll").exists()
    done = convert_corpus(c, tmp_path / "t.conll", unsafe_tokens="replace")
    assert done.written.repairs == {"unsafe_token_chars_replaced": 2} and done.written.n_sentences == 2
    assert "t.jsonl:2" in done.written.repair_examples[0]
    assert read_corpus(tmp_path / "t.conll")[1].tokens == ("New_York", "x", "_y")
    # CoNLL -> txt: a token with a space would become two tokens
    sp = read_corpus(write_file(tmp_path, "sp.conll", "a\tO\n\nNew York\tB-LOC\nis\tO\n"))
    with pytest.raises(ProjnerError, match=r"E024.*sp.conll:3: .*'New York'.*txt"):
        convert_corpus(sp, tmp_path / "sp.txt")
    done = convert_corpus(sp, tmp_path / "sp.txt", unsafe_tokens="replace")
    assert done.written.repairs == {"unsafe_token_chars_replaced": 1}
    assert [s.tokens for s in read_corpus(tmp_path / "sp.txt")] == [("a",), ("New_York", "is")]
    # JSONL holds them as they are
    write_corpus(tmp_path / "t2.jsonl", c.sentences)
    assert read_corpus(tmp_path / "t2.jsonl")[1].tokens == ("New\tYork", "x", " y")


def test_io_merges_are_counted(tmp_path):
    sents = [Sentence(("Ada", "Lovelace", "Bob", "x"), (Span(0, 2, "PER"), Span(2, 3, "PER")))]
    assert len(io_merges(sents[0].spans)) == 1
    rep = write_corpus_report(tmp_path / "io.conll", sents, scheme="io")
    assert rep.repairs == {"io_merged_adjacent_spans": 1} and "PER words 1-2 and 3-3" in rep.repair_examples[0]
    assert read_corpus(tmp_path / "io.conll", options=ReadOptions(scheme="io"))[0].spans == (Span(0, 3, "PER"),)
    assert write_corpus_report(tmp_path / "b.conll", sents, scheme="iob1").repairs == {}  # iob1 keeps them apart


# ---------------------------------------------------------------- control characters, tags, schemes


@pytest.mark.parametrize(
    "name,data,line",
    [
        ("n.conll", b"a\tB-PER\nb\x00c\tO\n", 2),
        ("n.txt", b"a b\nc\x01d\n", 2),
        ("n.jsonl", b'{"tokens": ["a"]}\n{"tokens": ["a\\u0000b"]}\n', 2),
        ("cr.txt", b"a b\rc d\n", 1),  # old Mac line ends are not read as one line silently
        ("nl.jsonl", b'{"tokens": ["a\\nb"]}\n', 1),
    ],
)
def test_control_characters_are_errors_with_file_and_line(tmp_path, name, data, line):
    p = write_file(tmp_path, name, data)
    with pytest.raises(ProjnerError) as exc:
        read_corpus(p)
    assert exc.value.code is E.E022 and exc.value.file == str(p) and exc.value.line == line


def test_non_string_jsonl_token_is_an_error(tmp_path):
    p = write_file(tmp_path, "x.jsonl", '{"tokens": ["a", null]}\n')
    with pytest.raises(ProjnerError, match=r"E012.*x.jsonl:1.*token 2 is null"):
        read_corpus(p)


def test_lower_case_tags_are_errors_with_line(tmp_path):
    with pytest.raises(ProjnerError, match=r"E023.*low.conll:3: .*'b-per'.*'B-PER'"):
        read_corpus(write_file(tmp_path, "low.conll", "a\tB-PER\nb\tO\nc\tb-per\n"))
    with pytest.raises(ProjnerError, match=r"E023.*o.conll:2: .*'o'"):
        read_corpus(write_file(tmp_path, "o.conll", "a\tB-PER\nb\to\n"))
    with pytest.raises(ProjnerError, match="E023"):
        decode(["b-per"], "iob2")
    assert split_tag("B-per") == ("B", "per")  # upper-case prefix: the type is the user's to name


def test_unknown_prefix_names_its_line(tmp_path):
    with pytest.raises(ProjnerError, match=r"E003.*x.conll:2: .*'X-PER'") as exc:
        read_corpus(write_file(tmp_path, "x.conll", "a\tO\nb\tX-PER\n"))
    assert exc.value.line == 2
    with pytest.raises(ProjnerError, match="E003"):
        split_tag("X-PER")
    # a tag valid in some scheme but not the one given: its own line, not the sentence's first
    with pytest.raises(ProjnerError, match=r"E003.*e.conll:3: .*'E-PER'.*iob2"):
        read_corpus(write_file(tmp_path, "e.conll", "a\tO\nb\tB-PER\nc\tE-PER\n"), options=ReadOptions(scheme="iob2"))


def test_ambiguous_scheme_names_the_line_that_makes_it_ambiguous(tmp_path):
    p = write_file(tmp_path, "amb.conll", "a\tB-PER\nb\tO\n\nc\tO\nd\tI-LOC\ne\tI-LOC\n")
    with pytest.raises(ProjnerError, match=r"E011.*amb.conll:5: .*--scheme") as exc:
        read_corpus(p)
    assert exc.value.file == str(p) and exc.value.line == 5
    # I- the majority: the first B- opening is the odd one out
    q = write_file(tmp_path, "q.conll", "a\tI-PER\n\nb\tI-LOC\n\nc\tB-ORG\n\nd\tI-PER\n")
    with pytest.raises(ProjnerError) as exc:
        read_corpus(q)
    assert exc.value.code is E.E011 and exc.value.line == 5
    with pytest.raises(ProjnerError, match=r"E011.*x.conll: "):
        detect_scheme([["B-PER", "O"]] * 5 + [["O", "I-PER"]] * 5, where="x.conll")  # no lines known: still the file


def test_read_report_states_the_repair_policy(tmp_path):
    p = write_file(tmp_path, "x.conll", "a\tB-PER\nb\tO\n")
    assert read_corpus(p).report.repair_policy == "begin"
    assert read_corpus(p, options=ReadOptions(repair="drop")).report.repair_policy == "drop"
    assert read_corpus(write_file(tmp_path, "x.txt", "a b\n")).report.repair_policy is None
    d = read_corpus(p).report.to_dict()
    assert d["scheme"] == "iob2" and d["repairs"] == {} and d["path"] == str(p)


# ---------------------------------------------------------------- Pharaoh


@pytest.mark.parametrize("item", ["0-0:nan", "0-0:inf", "0-0:-0.5", "0-0:1e999", "0-0:\uff10.5", "0-0:1_0", "0-0:"])
def test_pharaoh_bad_scores_are_errors(tmp_path, item):
    p = write_file(tmp_path, "a.align", f"0-0\n1-1 {item}\n")
    with pytest.raises(ProjnerError, match=r"E012.*a.align:2: .*score") as exc:
        read_pharaoh(p)
    assert exc.value.line == 2


@pytest.mark.parametrize("item", ["0-\u00b2", "\u0661-0", "1p\u00b2", "0--1"])
def test_pharaoh_indices_are_ascii_digits(tmp_path, item):
    p = write_file(tmp_path, "b.align", f"{item}\n")
    with pytest.raises(ProjnerError, match=r"E012.*b.align:1: .*bad link"):
        read_pharaoh(p)


def test_pharaoh_good_scores_still_read():
    al = parse_pharaoh_line("0-0:0.9 1-2:1 2p3:.5 3-3:1e-3 4-4:0")
    assert [l.score for l in al.links] == [0.9, 1.0, 0.5, 0.001, 0.0]


def test_jsonl_writer_output_is_json_with_empty_tokens(tmp_path):
    write_corpus(tmp_path / "x.jsonl", [Sentence(()), Sentence(("a",))])
    rows = [json.loads(x) for x in (tmp_path / "x.jsonl").read_text().splitlines()]
    assert rows == [{"tokens": [], "ner_tags": []}, {"tokens": ["a"], "ner_tags": ["O"]}]


def test_format_corpus_is_what_write_corpus_writes(tmp_path):
    from projner.data.formats import format_corpus

    for fmt in ("conll", "jsonl", "txt"):
        write_corpus(tmp_path / "w", SENTS, fmt=fmt, scheme="bioes")
        assert format_corpus(SENTS, fmt, "bioes") == (tmp_path / "w").read_text(encoding="utf-8")
