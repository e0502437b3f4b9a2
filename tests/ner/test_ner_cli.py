import json

import pytest
import typer
from typer.testing import CliRunner

from projner.cli.ner import register
from projner.data.formats import read_corpus, write_corpus
from projner.errors import E, ProjnerError
from projner.data.schemes import encode


@pytest.fixture()
def app():
    a = typer.Typer()
    register(a)
    return a


def _write_iob1(path, sentences):
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("-DOCSTART- -X- O O\n\n")
        for s in sentences:
            for tok, tag in zip(s.tokens, encode(s.spans, len(s), "iob1")):
                fh.write(f"{tok} NN O {tag}\n")
            fh.write("\n")


def test_train_and_tag(app, tmp_path, toy_train, toy_test):
    runner = CliRunner()
    _write_iob1(tmp_path / "train.conll", toy_train)  # IOB1 in, like CoNLL-2003
    write_corpus(tmp_path / "dev.conll", toy_test)
    res = runner.invoke(app, ["train", "--train", str(tmp_path / "train.conll"), "--dev", str(tmp_path / "dev.conll"),
                              "--backend", "crf", "--out", str(tmp_path / "model"), "--max-iterations", "40", "-q"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.stdout.strip().splitlines()[-1])
    assert info["labels"] == ["LOC", "ORG", "PER"] and info["dev_f1"] > 0.9
    (tmp_path / "in.txt").write_text("Alice visited Port Harcourt yesterday .\nnothing happened today .\n", encoding="utf-8")
    res = runner.invoke(app, ["tag", str(tmp_path / "in.txt"), "--model", str(tmp_path / "model"),
                              "--out", str(tmp_path / "out.conll"), "--scores", str(tmp_path / "scores.jsonl"), "-q"])
    assert res.exit_code == 0, res.output
    out = read_corpus(tmp_path / "out.conll").sentences
    assert [sp.key for sp in out[0].spans] == [(0, 1, "PER"), (2, 4, "LOC")]
    assert out[1].spans == ()
    rows = [json.loads(x) for x in (tmp_path / "scores.jsonl").read_text().splitlines()]
    assert rows[0]["spans"][0]["label"] == "PER" and 0 < rows[0]["spans"][0]["score"] <= 1


def test_cli_errors(app, tmp_path):
    runner = CliRunner()
    (tmp_path / "empty.conll").write_text("-DOCSTART- O\n\n", encoding="utf-8")
    res = runner.invoke(app, ["train", "--train", str(tmp_path / "empty.conll"), "--out", str(tmp_path / "m"), "-q"])
    assert isinstance(res.exception, ProjnerError) and res.exception.code is E.E140
    res = runner.invoke(app, ["train", "--train", str(tmp_path / "empty.conll"), "--backend", "spacy", "--out", str(tmp_path / "m")])
    assert isinstance(res.exception, ProjnerError) and res.exception.code is E.E150
