import json

import pytest

from projner.data.formats import (
    ReadOptions,
    check_alignments,
    detect_format,
    read_corpus,
    read_pharaoh,
    write_corpus,
    write_pharaoh,
)
from projner.data.normalize import Normalizer
from projner.data.textio import atomic_write
from projner.errors import ProjnerError
from projner.types import Alignment, Sentence, Span
from testutil import write_file


write = write_file


def test_conll2003_style_iob1_with_docstart_bom_crlf(tmp_path):
    text = "\ufeff-DOCSTART- -X- O O\r\n\r\nEU NNP I-NP I-ORG\r\nrejects VBZ I-VP O  \r\nGerman JJ I-NP I-MISC\r\n\r\n\r\nPeter NNP I-NP I-PER\r\nBlackburn NNP I-NP I-PER\r\n"
    c = read_corpus(write(tmp_path, "eng.train", text))
    assert c.report.scheme == "iob1" and c.report.skipped == {"docstart_lines": 1}
    assert [s.tokens for s in c] == [("EU", "rejects", "German"), ("Peter", "Blackburn")]
    assert [s.key for s in c[0].spans] == [(0, 1, "ORG"), (2, 3, "MISC")]
    assert c.lines == (3, 8)


def test_tab_separated_columns_and_configurable_columns(tmp_path):
    p = write(tmp_path, "x.tsv", "B-PER\tAnna\tNNP\nO\tsleeps\tVBZ\n")
    c = read_corpus(p, options=ReadOptions(token_col=1, tag_col=0))
    assert c[0].tokens == ("Anna", "sleeps") and c[0].spans == (Span(0, 1, "PER"),)


def test_wrong_column_count_names_file_and_line(tmp_path):
    p = write(tmp_path, "bad.conll", "a O\nb O\n\nc d O\n")
    with pytest.raises(ProjnerError, match=r"E002.*bad.conll:4: .*expected 2, found 3"):
        read_corpus(p)


def test_unknown_tag_names_line(tmp_path):
    p = write(tmp_path, "bad.conll", "a O\nb PERSON\n")
    with pytest.raises(ProjnerError, match=r"E003.*bad.conll:2"):
        read_corpus(p)


def test_i_after_o_is_counted_repair(tmp_path):
    p = write(tmp_path, "x.conll", "a B-PER\nb O\n\nc O\nd I-LOC\ne I-LOC\n")
    with pytest.raises(ProjnerError, match=r"E011.*x.conll.*--scheme"):
        read_corpus(p)  # one B- opening and one I- opening: ambiguous, so ask
    c = read_corpus(p, options=ReadOptions(scheme="iob2"))
    assert c.report.scheme == "iob2"
    assert c.report.repairs == {"I_after_O:begins": 1}
    assert "x.conll:5" in c.report.repair_examples[0]
    assert c[1].spans == (Span(1, 3, "LOC"),)
    with pytest.raises(ProjnerError, match=r"E005.*x.conll:4"):
        read_corpus(p, options=ReadOptions(scheme="iob2", repair="error"))


def test_empty_and_non_utf8_files(tmp_path):
    with pytest.raises(ProjnerError, match=r"E009.*empty.conll"):
        read_corpus(write(tmp_path, "empty.conll", "\n\n"))
    with pytest.raises(ProjnerError, match=r"E010.*latin.txt:2: .*0xe9"):
        read_corpus(write(tmp_path, "latin.txt", "ok line\ncaf\xe9\n".encode("latin-1")))


def test_normalisation_is_counted_and_empty_token_handled(tmp_path):
    p = write(tmp_path, "x.conll", "\u200bHassan B-PER\nCafe\u0301 O\n")
    c = read_corpus(p, options=ReadOptions(normalizer=Normalizer(nfc=True, strip_zero_width=True)))
    assert c[0].tokens == ("Hassan", "Café")
    assert c.report.normalisation == {"nfc_changed": 1, "zero_width_removed": 1}
    raw = read_corpus(p)
    assert raw[0].tokens[0] == "\u200bHassan" and raw.report.normalisation == {}
    q = write(tmp_path, "y.conll", "a O\n\u200b O\nb B-PER\n")
    opts = ReadOptions(normalizer=Normalizer(strip_zero_width=True))
    with pytest.raises(ProjnerError, match=r"E007.*y.conll:2"):
        read_corpus(q, options=opts)
    c = read_corpus(q, options=ReadOptions(normalizer=Normalizer(strip_zero_width=True), empty_token="drop"))
    assert c[0].tokens == ("a", "b") and c[0].spans == (Span(1, 2, "PER"),)
    assert c.report.skipped == {"empty_token_after_normalisation": 1}


def test_jsonl_strings_ids_and_errors(tmp_path):
    p = write(tmp_path, "x.jsonl", json.dumps({"tokens": ["Ada", "wins"], "ner_tags": [1, 0]}) + "\n")
    with pytest.raises(ProjnerError, match=r"E012.*x.jsonl:1.*label list"):
        read_corpus(p)
    c = read_corpus(p, options=ReadOptions(labels=("O", "B-PER", "I-PER")))
    assert c[0].spans == (Span(0, 1, "PER"),)
    q = write(tmp_path, "y.jsonl", '{"tokens": ["a"], "ner_tags": ["O"]}\n{"tokens": ["b"], "ner_tags": ["O", "O"]}\n')
    with pytest.raises(ProjnerError, match=r"y.jsonl:2"):
        read_corpus(q)


def test_txt_format_and_masakhaner_style_txt_sniffing(tmp_path):
    t = write(tmp_path, "plain.txt", "Ada wins .\n\nBob too\n")
    assert detect_format(t) == "txt"
    c = read_corpus(t)
    assert [len(s) for s in c] == [3, 0, 2]  # the empty line stays an (empty) sentence: line alignment kept
    m = write(tmp_path, "train.txt", "Ada B-PER\nwins O\n\nBob B-PER\n")
    assert detect_format(m) == "conll"
    assert read_corpus(m)[1].spans == (Span(0, 1, "PER"),)


def test_write_round_trip_and_atomicity(tmp_path):
    sents = [Sentence(("Ada", "Lovelace", "wrote"), (Span(0, 2, "PER"),), id="s1"), Sentence(("Hi",))]
    for name in ("out.conll", "out.jsonl"):
        write_corpus(tmp_path / name, sents)
        back = read_corpus(tmp_path / name)
        assert [s.spans for s in back] == [s.spans for s in sents]
    target = tmp_path / "never.conll"
    with pytest.raises(RuntimeError):
        with atomic_write(target) as fh:
            fh.write("partial")
            raise RuntimeError("interrupted")
    assert not target.exists() and not list(tmp_path.glob(".never.conll*"))


def test_pharaoh_read_write_and_range_check(tmp_path):
    als = [Alignment.from_pairs([(0, 0), (1, 2)], [0.9, 0.25]), Alignment()]
    write_pharaoh(tmp_path / "a.align", als, scores=True)
    assert (tmp_path / "a.align").read_text() == "0-0:0.9 1-2:0.25\n\n"
    back = read_pharaoh(tmp_path / "a.align")
    assert back[0].links[1].score == 0.25 and back[1] == Alignment()
    src = [Sentence(("a", "b")), Sentence(("c",))]
    tgt = [Sentence(("x", "y")), Sentence(("z",))]
    with pytest.raises(ProjnerError, match=r"E008.*a.align:1.*1-2"):
        check_alignments(back, src, tgt, path="a.align")
    with pytest.raises(ProjnerError, match="E001"):
        check_alignments(back[:1], src, tgt)
    with pytest.raises(ProjnerError, match=r"E012.*b.align:1"):
        read_pharaoh(write(tmp_path, "b.align", "0-x\n"))


def test_atomic_write_gives_ordinary_file_permissions(tmp_path):
    import os

    old = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "shared.txt") as fh:
            fh.write("x")
    finally:
        os.umask(old)
    assert (tmp_path / "shared.txt").stat().st_mode & 0o777 == 0o644
