"""``projner translate`` end to end with the tiny constructed model (tiny_mt.py: a dictionary by construction)."""

from __future__ import annotations

import json

import pytest

from testutil import run_cli as run
from projner.data.formats import read_corpus

pytestmark = pytest.mark.slow




def test_translate_file(tiny_mt_dir, tmp_path, capsys):
    inp = tmp_path / "in.txt"
    inp.write_text("the big house\nMary visited Nairobi today\n\nthe man\n", encoding="utf-8")
    out, sc = tmp_path / "out.sw", tmp_path / "out.scores"
    code, _, err = run(["translate", "--model", str(tiny_mt_dir), "--src-lang", "eng", "--tgt-lang", "swa",
                        str(inp), str(out), "--beam", "2", "--batch-size", "2", "--scores", str(sc)], capsys)
    assert code == 0, err
    assert out.read_text(encoding="utf-8").split("\n") == ["ile kubwa nyumba", "Mary alitembelea Nairobi leo", "", "ile mtu", ""]
    scores = sc.read_text().split()
    assert len(scores) == 4 and scores[2] == "nan" and all(-0.5 < float(scores[i]) < 0 for i in (0, 1, 3))
    assert "translated 4 sentences" in err and "projner-translate:1|translator:seq2seq|model:" in err


def test_translate_errors_leave_no_output(tiny_mt_dir, tmp_path, capsys):
    inp = tmp_path / "in.txt"
    inp.write_text("the man\n", encoding="utf-8")
    out = tmp_path / "out.txt"
    code, _, err = run(["translate", "--model", str(tiny_mt_dir), "--src-lang", "eng", "--tgt-lang", "pcm", str(inp), str(out)], capsys)
    assert code == 2 and "E181" in err and "Nigerian Pidgin" in err
    assert not out.exists()


def test_translate_with_markers(tiny_mt_dir, tmp_path, capsys):
    conll = tmp_path / "en.conll"
    conll.write_text(
        "the\tO\nman\tO\nsaw\tO\nJohn\tB-PER\nin\tO\nBerlin\tB-LOC\n\n"
        "Mary\tB-PER\nAnna\tI-PER\nvisited\tO\nNairobi\tB-LOC\n\n",
        encoding="utf-8",
    )
    out, rep = tmp_path / "sw.conll", tmp_path / "report.json"
    code, _, err = run(["translate", "--model", str(tiny_mt_dir), "--src-lang", "en", "--tgt-lang", "sw",
                        str(conll), str(out), "--markers", "--beam", "2", "--report", str(rep)], capsys)
    assert code == 0, err
    sents = read_corpus(str(out)).sentences
    assert [[(s.span_text(x), x.label) for x in s.spans] for s in sents] == [
        [("John", "PER"), ("Berlin", "LOC")], [("Mary Anna", "PER"), ("Nairobi", "LOC")]]
    report = json.loads(rep.read_text())
    assert report["stats"]["entities"] == 4 and report["stats"]["lost_share"] == 0.0
    assert "markers: projected 4/4" in err
