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


class _CapitalsTagger:
    """Deterministic: every capitalised word is a PER span of its own (so 'Ada Bob' is two adjacent spans)."""

    labels = ("PER",)

    @classmethod
    def load(cls, path, **overrides):
        return cls()

    def predict(self, sentences, *, labels=None):
        from projner.types import Span

        return [s.with_spans(tuple(Span(i, i + 1, "PER") for i, t in enumerate(s.tokens) if t[:1].isupper())) for s in sentences]


@pytest.fixture()
def capitals_model(tmp_path, monkeypatch):
    from projner.ner.io import write_meta
    from projner.registry import taggers

    monkeypatch.setitem(taggers._items, "projner.tagger.testcaps.v1", _CapitalsTagger)
    write_meta(tmp_path / "caps", "testcaps", ["PER"], "iob2")
    return tmp_path / "caps"


def test_tag_io_reports_the_adjacent_spans_it_merges(app, tmp_path, capitals_model):
    runner = CliRunner()
    src = tmp_path / "in.txt"
    src.write_text("nothing here .\nAda Bob met Chidi .\n", encoding="utf-8")
    res = runner.invoke(app, ["tag", str(src), "--model", str(capitals_model), "--out", str(tmp_path / "out.conll"),
                              "--out-scheme", "io", "-q"])
    assert res.exit_code == 0, res.output
    assert "write repairs: io_merged_adjacent_spans=1" in res.stderr
    assert f"{src}:2: PER words 1-1 and 2-2 become one span" in res.stderr
    assert json.loads(res.stdout.strip().splitlines()[-1]) == {"out": str(tmp_path / "out.conll"), "sentences": 2, "entities": 3}
    lines = (tmp_path / "out.conll").read_text(encoding="utf-8").split("\n\n")
    assert lines[1].splitlines()[:2] == ["Ada\tI-PER", "Bob\tI-PER"]
    # IOB2 keeps the two spans apart: nothing to report
    res = runner.invoke(app, ["tag", str(src), "--model", str(capitals_model), "--out", str(tmp_path / "out2.conll"), "-q"])
    assert res.exit_code == 0, res.output
    assert "write repairs" not in res.stderr
    assert [sp.key for sp in read_corpus(tmp_path / "out2.conll").sentences[1].spans] == [(0, 1, "PER"), (1, 2, "PER"), (3, 4, "PER")]
