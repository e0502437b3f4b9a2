"""The CLI contract of issue 3, end to end on the embedded demo corpus (no shared data)."""

import json

import pytest

from testutil import run_cli as run
from projner.data.formats import read_corpus
from projner.pipeline.demo import demo_files




@pytest.fixture(scope="module")
def demo():
    return tuple(str(p) for p in demo_files())


def test_align_project_evaluate_contract(tmp_path, demo, capsys):
    en, de = demo
    al = tmp_path / "de.align"
    code, _, err = run(["align", "--src", en, "--tgt", de, "--out", str(al), "--sym", "grow-diag-final-and"], capsys)
    assert code == 0, err
    assert "sym:grow-diag-final-and" in err and len(al.read_text().splitlines()) == 400
    out = tmp_path / "de.conll"
    code, _, err = run(["project", "--src", en, "--tgt", de, "--align", str(al), "--out", str(out),
                        "--method", "heuristic", "--report", str(tmp_path / "r.json")], capsys)
    assert code == 0, err
    assert "projection rate" in err
    lines = [ln for ln in out.read_text().splitlines() if ln]
    assert all(len(ln.split("\t")) == 2 for ln in lines)
    tags = {ln.split("\t")[1] for ln in lines}
    assert tags <= {"O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-MISC", "I-MISC"}
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["stats"]["n_source"] == sum(len(s.spans) for s in read_corpus(en))
    code, stdout, err = run(["evaluate", "--gold", de, "--pred", str(out), "--json"], capsys)
    assert code == 0, err
    res = json.loads(stdout)
    assert {"precision", "recall", "f1", "per_type", "signature"} <= set(res)
    assert res["f1"] > 0.6 and res["signature"].startswith("projner-eval:1|scheme:iob2|mode:strict")


def test_convert_iob1_to_iob2_jsonl_and_back(tmp_path, capsys):
    src = tmp_path / "eng.iob1"
    src.write_text("-DOCSTART- -X- O O\n\nPeter NNP I-NP I-PER\nBlack NNP I-NP I-PER\nParis NNP I-NP B-PER\nsings VBZ I-VP O\n")
    code, _, err = run(["convert", str(src), str(tmp_path / "x.jsonl")], capsys)
    assert code == 0, err
    obj = json.loads((tmp_path / "x.jsonl").read_text())
    assert obj["ner_tags"] == ["B-PER", "I-PER", "B-PER", "O"]
    code, _, err = run(["convert", str(tmp_path / "x.jsonl"), str(tmp_path / "y.conll"), "--scheme", "bioes"], capsys)
    assert code == 0, err
    assert [ln.split("\t")[1] for ln in (tmp_path / "y.conll").read_text().split("\n") if ln] == ["B-PER", "E-PER", "S-PER", "O"]


def test_length_mismatch_is_a_clear_error_and_no_output(tmp_path, capsys):
    (tmp_path / "a.txt").write_text("a b\nc d\n")
    (tmp_path / "b.txt").write_text("x y\n")
    out = tmp_path / "o.align"
    code, _, err = run(["align", "--src", str(tmp_path / "a.txt"), "--tgt", str(tmp_path / "b.txt"), "--out", str(out)], capsys)
    assert code == 2
    assert "E001" in err and "a.txt has 2" in err and "b.txt has 1" in err
    assert not out.exists()


def test_alignment_out_of_range_names_line_and_writes_nothing(tmp_path, capsys):
    (tmp_path / "s.conll").write_text("Ada\tB-PER\nsings\tO\n\nBob\tB-PER\n")
    (tmp_path / "t.txt").write_text("Ada singt\nBob\n")
    (tmp_path / "a.align").write_text("0-0 1-1\n0-3\n")
    out = tmp_path / "p.conll"
    code, _, err = run(["project", "--src", str(tmp_path / "s.conll"), "--tgt", str(tmp_path / "t.txt"),
                        "--align", str(tmp_path / "a.align"), "--out", str(out)], capsys)
    assert code == 2 and "E008" in err and "a.align:2" in err and "0-3" in err
    assert not out.exists()


def test_evaluate_token_mismatch_and_unknown_scheme(tmp_path, capsys):
    (tmp_path / "g.conll").write_text("a\tO\nb\tB-PER\n")
    (tmp_path / "p.conll").write_text("a\tO\n")
    code, _, err = run(["evaluate", "--gold", str(tmp_path / "g.conll"), "--pred", str(tmp_path / "p.conll")], capsys)
    assert code == 2 and "E016" in err
    code, _, err = run(["evaluate", "--gold", str(tmp_path / "g.conll"), "--pred", str(tmp_path / "g.conll"), "--scheme", "xyz"], capsys)
    assert code == 2 and "E004" in err


def test_demo_runs(capsys):
    code, out, err = run(["demo", "--show", "1"], capsys)
    assert code == 0, err
    assert "projner-eval:1|" in out and "F1" in out


def test_project_with_candidate_matching(tmp_path, demo, capsys):
    en, de = demo
    al = tmp_path / "de.align"
    assert run(["align", "--src", en, "--tgt", de, "--out", str(al), "-q"], capsys)[0] == 0
    out = tmp_path / "m.conll"
    code, _, err = run(["project", "--src", en, "--tgt", de, "--align", str(al), "--out", str(out), "-q",
                        "--method", "ngram", "--solver", "ilp", "--max-len", "4", "--threshold", "0.4"], capsys)
    assert code == 0, err
    assert "method:ngram|solver:ilp" in err and "threshold:0.4" in err
    code, stdout, _ = run(["evaluate", "--gold", de, "--pred", str(out), "--json", "-q"], capsys)
    assert json.loads(stdout)["f1"] > 0.6
    code, _, err = run(["project", "--src", en, "--tgt", de, "--align", str(al), "--out", str(out), "-q",
                        "--method", "ngram", "--weights", "align=x"], capsys)
    assert code == 2 and "E120" in err
