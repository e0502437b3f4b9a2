"""Issue 13 (item 2): silent wrong results found by probing the CLI are now coded errors naming
file and line, or counted, reported repairs."""

import json

import pytest

from testutil import run_cli as run
from projner.data.formats import EMPTY_MARKER, read_corpus
from testutil import write_file




def write(tmp_path, name, text):
    return str(write_file(tmp_path, name, text))


GOLD = "Ada\tB-PER\nsings\tO\n\nBob\tB-PER\nruns\tO\n"


def test_evaluate_compares_tokens(tmp_path, capsys):
    g = write(tmp_path, "g.conll", GOLD)
    p = write(tmp_path, "p.conll", "Ada\tB-PER\nsings\tO\n\nXXX\tB-PER\nXXX\tO\n")
    code, out, err = run(["evaluate", "--gold", g, "--pred", p, "--json"], capsys)
    assert code == 2 and out == ""
    assert "E016" in err and f"{g}:4" in err and f"{p}:4" in err and "'Bob' in gold, 'XXX' in pred" in err
    # equal after NFC is equal
    nfc = write(tmp_path, "nfc.conll", "Caf\u00e9\tB-LOC\n")
    nfd = write(tmp_path, "nfd.conll", "Cafe\u0301\tB-LOC\n")
    code, out, err = run(["evaluate", "--gold", nfc, "--pred", nfd, "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["f1"] == 1.0


def test_evaluate_json_has_repairs_and_the_signature_what_was_read(tmp_path, capsys):
    g = write(tmp_path, "g.conll", "a\tI-PER\nb\tI-PER\nc\tB-PER\n\nd\tO\n")  # IOB1
    p = write(tmp_path, "p.conll", "a\tB-PER\nb\tI-PER\nc\tB-PER\n\nd\tO\n")
    pr = write(tmp_path, "pr.conll", "a\tB-PER\nb\tI-PER\nc\tB-PER\n\nd\tI-PER\n")
    code, out, err = run(["evaluate", "--gold", g, "--pred", p, "--json"], capsys)
    assert code == 0, err
    res = json.loads(out)
    assert res["signature"].startswith("projner-eval:1|scheme:gold=iob1,pred=iob2|mode:strict|repair:begin|")
    assert res["repairs"] == {"gold": {}, "pred": {}}
    code, out, err = run(["evaluate", "--gold", p, "--pred", pr, "--json", "--scheme", "iob2", "--repair", "drop"], capsys)
    assert code == 0, err
    res = json.loads(out)
    assert res["repairs"] == {"gold": {}, "pred": {"I_after_O:dropped": 1}}
    assert "|scheme:iob2|mode:strict|repair:drop|" in res["signature"]
    assert res["inputs"]["pred"]["path"] == pr


def test_empty_sentences_keep_outputs_line_parallel(tmp_path, capsys):
    src = write(tmp_path, "e.jsonl", '{"tokens": ["Ada"], "ner_tags": ["B-PER"]}\n{"tokens": [], "ner_tags": []}\n'
                '{"tokens": ["Bob", "runs"], "ner_tags": ["B-PER", "O"]}\n')
    for name in ("e.conll", "e.txt", "back.jsonl"):
        frm = str(tmp_path / ("e.conll" if name == "back.jsonl" else "e.jsonl"))
        code, _, err = run(["convert", frm, str(tmp_path / name)], capsys)
        assert code == 0, err
        assert f"wrote 3 sentences to {tmp_path / name}" in err
        back = read_corpus(tmp_path / name, "txt" if name.endswith(".txt") else None)
        assert [s.tokens for s in back] == [("Ada",), (), ("Bob", "runs")]
    assert f"\n\n{EMPTY_MARKER}\tO\n\n" in (tmp_path / "e.conll").read_text(encoding="utf-8")
    assert [json.loads(x) for x in (tmp_path / "back.jsonl").read_text().splitlines()] == [
        json.loads(x) for x in open(src, encoding="utf-8").read().splitlines()]
    # project: an empty target sentence (an empty line) stays a sentence of the output
    s = write(tmp_path, "s.conll", f"Ada\tB-PER\n\n{EMPTY_MARKER}\tO\n\nBob\tB-PER\n")
    t = write(tmp_path, "t.txt", "Ada\n\nBob\n")
    a = write(tmp_path, "a.align", "0-0\n\n0-0\n")
    out = tmp_path / "p.conll"
    code, _, err = run(["project", "--src", s, "--tgt", t, "--align", a, "--out", str(out), "-q"], capsys)
    assert code == 0, err
    assert [(x.tokens, len(x.spans)) for x in read_corpus(out)] == [(("Ada",), 1), ((), 0), (("Bob",), 1)]


def test_convert_io_reports_merged_spans(tmp_path, capsys):
    src = write(tmp_path, "io.jsonl", '{"tokens": ["Ada", "Lovelace", "Bob"], "ner_tags": ["B-PER", "I-PER", "B-PER"]}\n')
    code, _, err = run(["convert", src, str(tmp_path / "io.conll"), "--scheme", "io"], capsys)
    assert code == 0, err
    assert "write repairs: io_merged_adjacent_spans=1" in err and f"{src}:1: PER words 1-2 and 3-3" in err


def test_convert_unsafe_tokens_error_or_counted_replacement(tmp_path, capsys):
    src = write(tmp_path, "t.jsonl", '{"tokens": ["x"], "ner_tags": ["O"]}\n{"tokens": ["New\\tYork"], "ner_tags": ["B-LOC"]}\n')
    dst = tmp_path / "t.conll"
    code, _, err = run(["convert", src, str(dst)], capsys)
    assert code == 2 and "E024" in err and f"{src}:2:" in err and "TAB" in err and not dst.exists()
    code, _, err = run(["convert", src, str(dst), "--unsafe-tokens", "replace"], capsys)
    assert code == 0, err
    assert "write repairs: unsafe_token_chars_replaced=1" in err
    assert [s.tokens for s in read_corpus(dst)] == [("x",), ("New_York",)]
    # CoNLL -> txt: a token with a space
    sp = write(tmp_path, "sp.conll", "a\tO\nb\tO\n\nNew York\tB-LOC\n")
    code, _, err = run(["convert", sp, str(tmp_path / "sp.txt")], capsys)
    assert code == 2 and "E024" in err and f"{sp}:4:" in err and "'New York'" in err
    code, _, err = run(["convert", sp, str(tmp_path / "sp.txt"), "--unsafe-tokens", "replace"], capsys)
    assert code == 0 and "unsafe_token_chars_replaced=1" in err
    assert (tmp_path / "sp.txt").read_text(encoding="utf-8") == "a b\nNew_York\n"
    code, _, err = run(["convert", sp, str(tmp_path / "sp.txt"), "--unsafe-tokens", "maybe"], capsys)
    assert code == 2 and "E018" in err


@pytest.mark.parametrize("link,what", [("0-0:nan", "score"), ("0-0:inf", "score"), ("0-0:-1", "score"), ("0-\u00b2", "bad link")])
def test_project_rejects_bad_pharaoh_with_line(tmp_path, capsys, link, what):
    s = write(tmp_path, "s.conll", "Ada\tB-PER\nsings\tO\n\nBob\tB-PER\n")
    t = write(tmp_path, "t.txt", "Ada singt\nBob\n")
    a = write(tmp_path, "a.align", f"0-0\n{link}\n")
    code, _, err = run(["project", "--src", s, "--tgt", t, "--align", a, "--out", str(tmp_path / "o.conll")], capsys)
    assert code == 2 and "E012" in err and f"{a}:2:" in err and what in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "text,code_,line",
    [
        ("a\tB-PER\nb\tO\n\nc\tO\nd\tI-LOC\ne\tI-LOC\n", "E011", 5),
        ("a\tB-PER\nb\tb-per\n", "E023", 2),
        ("a\tO\n\nb\tX-PER\n", "E003", 3),
        ("a\tB-PER\nb\x00\tO\n", "E022", 2),
    ],
)
def test_tag_and_token_errors_name_file_and_line(tmp_path, capsys, text, code_, line):
    f = write(tmp_path, "x.conll", text)
    code, _, err = run(["convert", f, str(tmp_path / "x.jsonl")], capsys)
    assert code == 2 and f"[{code_}] {f}:{line}:" in err


def test_tag_keeps_empty_sentences(tmp_path, capsys):
    train = write(tmp_path, "train.conll", "Ada\tB-PER\nsings\tO\n\nBob\tB-PER\nruns\tO\n\nParis\tB-LOC\nis\tO\nbig\tO\n")
    code, _, err = run(["train", "--train", train, "--backend", "crf", "--out", str(tmp_path / "m"),
                        "--max-iterations", "5", "-q"], capsys)
    assert code == 0, err
    inp = write(tmp_path, "in.txt", "Ada sings\n\nBob runs\n")
    out = tmp_path / "out.conll"
    code, stdout, err = run(["tag", inp, "--model", str(tmp_path / "m"), "--out", str(out), "-q"], capsys)
    assert code == 0, err
    n = json.loads(stdout.strip().splitlines()[-1])["sentences"]
    back = read_corpus(out)
    assert n == len(back) == 3 and [s.tokens for s in back] == [("Ada", "sings"), (), ("Bob", "runs")]
