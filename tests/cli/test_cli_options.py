"""Issue 14: option groups declared once (projector options of project, inspect and scale; the
reading options of project and evaluate): same names, defaults and help everywhere, and the
values given on the command line reach the command."""

from __future__ import annotations

import json

import pytest
import typer

from projner.cli.main import app
from testutil import run_cli as run
from projner.cli.options import GROUP, PROJECTOR_OPTIONS, Projector, option_group, projector_options




def _params(name):
    cmd = typer.main.get_command(app).commands[name]
    return [(p.name, tuple(p.opts), p.default, p.help) for p in cmd.params]


@pytest.fixture()
def pair(tmp_path):
    src = tmp_path / "src.conll"
    src.write_text("John\tB-PER\nlives\tO\nin\tO\nNew\tB-LOC\nYork\tI-LOC\n\n", encoding="utf-8")
    tgt = tmp_path / "tgt.txt"
    tgt.write_text("Yohana anaishi NewYork\n", encoding="utf-8")
    links = tmp_path / "links.pharaoh"
    links.write_text("0-0 1-1 3-2 4-2\n", encoding="utf-8")
    return src, tgt, links


def test_the_projector_options_are_the_same_in_project_inspect_and_scale():
    project, inspect = _params("project"), _params("inspect")
    names = [p[0] for p in project]
    assert names[4:4 + len(PROJECTOR_OPTIONS)] == list(PROJECTOR_OPTIONS)  # in place, after --out
    shared = [p for p in project if p[0] in PROJECTOR_OPTIONS]
    in_inspect = [p for p in inspect if p[0] in PROJECTOR_OPTIONS]
    assert in_inspect == shared[:len(in_inspect)] and len(in_inspect) == 9  # method .. threshold
    assert [p[0] for p in inspect].index("method") == [p[0] for p in inspect].index("page_size") + 1
    scale = {p[0]: p for p in _params("scale") if p[0] in PROJECTOR_OPTIONS}
    assert list(scale) == ["method", "max_gap", "min_ratio", "strip_determiners"]
    by_name = {p[0]: p for p in shared}
    for name, p in scale.items():
        assert p[:3] == by_name[name][:3]  # option names and defaults
    assert scale["max_gap"] == by_name["max_gap"] and scale["strip_determiners"] == by_name["strip_determiners"]
    assert scale["method"][3].startswith("Projection: ")  # scale's own wording is kept


def test_the_reading_options_are_the_same_in_project_and_evaluate():
    reading = ("scheme", "repair", "nfc", "strip_zero_width")
    project = [p for p in _params("project") if p[0] in reading]
    evaluate = [p for p in _params("evaluate") if p[0] in reading]
    assert [p[0] for p in project] == list(reading) and project == evaluate


def test_projector_options_reach_project(pair, tmp_path, capsys):
    src, tgt, links = pair
    out = tmp_path / "out.conll"
    base = ["project", "--src", str(src), "--tgt", str(tgt), "--align", str(links), "--out", str(out), "-q"]
    code, _, err = run(base, capsys)
    assert code == 0, err
    assert "projected 1/2" in err and "gap:1|ratio:>=0.8,<=none|keep:longest|strip-det:no" in err
    # "New York" -> "NewYork" is a length ratio of 0.5: kept only when --min-ratio allows it
    code, _, err = run(base + ["--min-ratio", "0.5", "--max-gap", "0", "--keep", "all"], capsys)
    assert code == 0, err
    assert "projected 2/2" in err and "gap:0|ratio:>=0.5,<=none|keep:all" in err
    code, _, err = run(base + ["--method", "ngram", "--solver", "bipartite", "--threshold", "0.3", "--strip-determiners"], capsys)
    assert code == 0, err
    assert "method:ngram|solver:bipartite" in err and "strip-det:yes" in err and "threshold:0.3" in err


def test_reading_options_reach_evaluate(tmp_path, capsys):
    gold = tmp_path / "gold.conll"
    gold.write_text("John\tI-PER\nSmith\tI-PER\n\n", encoding="utf-8")
    code, out, err = run(["evaluate", "--gold", str(gold), "--pred", str(gold), "--json", "--scheme", "io"], capsys)
    assert code == 0, err
    assert "scheme:io" in json.loads(out)["signature"]
    code, out, err = run(["evaluate", "--gold", str(gold), "--pred", str(gold), "--repair", "error", "--scheme", "iob2"], capsys)
    assert code != 0 and "I-PER" in err  # --repair error: an I- tag that starts a span is an error


def test_projector_options_reach_inspect(pair, tmp_path, capsys):
    src, tgt, links = pair
    base = ["inspect", "--src", str(src), "--tgt", str(tgt), "--align", str(links), "--format", "txt"]
    code, out, err = run(base, capsys)
    assert code == 0, err
    assert "projected 1/2" in out and "length_ratio=1" in out
    code, out, err = run(base + ["--min-ratio", "0.5"], capsys)
    assert code == 0, err
    assert "projected 2/2" in out and "ratio:>=0.5" in out


def test_projector_options_reach_scale(pair, tmp_path, capsys):
    pytest.importorskip("projner.cli.scale")
    src, tgt, links = pair
    base = ["scale", "--src", str(src), "--tgt", str(tgt), "--align", str(links), "--local", "-q"]
    code, _, err = run(base + ["--out", str(tmp_path / "a")], capsys)
    assert code == 0, err
    assert json.loads(err.splitlines()[1])["projection"]["n_projected"] == 1
    code, _, err = run(base + ["--out", str(tmp_path / "b"), "--min-ratio", "0.5"], capsys)
    assert code == 0, err
    assert json.loads(err.splitlines()[1])["projection"]["n_projected"] == 2 and "ratio:>=0.5" in err


def test_an_option_group_replaces_its_parameter_and_builds_its_value():
    seen = {}

    @option_group("pair", {"a": (int, typer.Option(1, help="A.")), "b": (str, typer.Option("x", "--bee", help="B."))},
                  lambda a, b: (a, b))
    def cmd(first: int = typer.Option(0), pair: tuple = GROUP, last: bool = typer.Option(False)) -> None:
        seen.update(first=first, pair=pair, last=last)

    import inspect

    assert list(inspect.signature(cmd).parameters) == ["first", "a", "b", "last"]
    cmd(first=3, a=5, b="y", last=True)
    assert seen == {"first": 3, "pair": (5, "y"), "last": True}
    with pytest.raises(TypeError, match="no parameter 'pair'"):
        option_group("pair", {}, dict)(lambda first=0: None)
    with pytest.raises(TypeError, match="already has the options a"):
        option_group("pair", {"a": (int, typer.Option(1))}, dict)(lambda a=0, pair=GROUP: None)


def test_projector_options_build_the_projector_parameters():
    got = {}

    @projector_options(("method", "min_ratio"))
    def cmd(projector: Projector = GROUP) -> None:
        got["p"] = projector

    cmd(method="heuristic", min_ratio=0.5)
    assert got["p"].method == "heuristic" and got["p"].params["min_ratio"] == 0.5 and got["p"].params["max_gap"] == 1
    with pytest.raises(TypeError):
        projector_options(("min_ratio",))
    with pytest.raises(TypeError):
        projector_options(("method", "no_such_option"))
