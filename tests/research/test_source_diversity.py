"""The source-diversity study on a tiny synthetic three-language corpus with precomputed links."""

from __future__ import annotations

import json

import pytest

from projner.errors import ProjnerError
from projner.pipeline.cache import StepRunner
from projner.pipeline.experiment import parse_config, report_folder, run_experiment
from projner.registry import aligners
from projner.research.source_diversity import align_repeat, planned_runs
from projner.types import Alignment

# three sentence-parallel "languages"; z is the target, x and y the sources
CORPUS = {
    "x": [[("Anna", "B-PER"), ("visits", "O"), ("Paris", "B-LOC"), ("today", "O")],
          [("The", "O"), ("European", "B-ORG"), ("Union", "I-ORG"), ("acts", "O")],
          [("Jean", "B-PER"), ("Monnet", "I-PER"), ("spoke", "O"), ("yesterday", "O")]],
    "y": [[("Anna", "B-PER"), ("besucht", "O"), ("heute", "O"), ("Paris", "B-LOC")],
          [("Die", "O"), ("Europäische", "B-ORG"), ("Union", "I-ORG"), ("handelt", "O")],
          [("Jean", "B-PER"), ("Monnet", "I-PER"), ("sprach", "O"), ("gestern", "O")]],
    "z": [[("Anna", "B-PER"), ("visita", "O"), ("Parigi", "B-LOC"), ("oggi", "O")],
          [("L'", "O"), ("Unione", "B-ORG"), ("Europea", "I-ORG"), ("agisce", "O")],
          [("Jean", "B-PER"), ("Monnet", "I-PER"), ("parlò", "O"), ("ieri", "O")]],
}
LINKS = {
    "x-z": ["0-0 1-1 2-2 3-3", "0-0 1-2 2-1 3-3", "0-0 1-1 2-2 3-3"],  # perfect
    # y: Paris aligned to "oggi" (wrong LOC, confidence 1); Jean aligned to 1..3, Monnet unaligned
    # (wrong 3-word PER with confidence 0.5)
    "y-z": ["0-0 1-1 2-3 3-3", "0-0 1-2 2-1 3-3", "0-1 0-2 0-3"],
}


def _write(tmp_path, links=LINKS):
    for lang, sents in CORPUS.items():
        text = "\n\n".join("\n".join(f"{t}\t{g}" for t, g in s) for s in sents) + "\n"
        (tmp_path / f"{lang}.conll").write_text(text, encoding="utf-8")
    (tmp_path / "links").mkdir(exist_ok=True)
    for pair, lines in links.items():
        (tmp_path / "links" / f"{pair}.align").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _config(tmp_path, **over):
    cfg = {"study": "source_diversity", "targets": ["z"], "sources": ["x", "y", "z"], "data": str(tmp_path),
           "corpus": "{lang}.conll", "aligner": {"name": "pharaoh", "file": "links/{src}-{tgt}.align"},
           "combinations": ["all-others"], "repeats": 2,
           "combine": [{"method": "vote"}, {"method": "vote", "weighting": "uniform"}, {"method": "union"},
                       {"method": "unanimous"}]}
    cfg.update(over)
    return parse_config(cfg)


def test_study_scores_single_sources_and_combinations(tmp_path):
    _write(tmp_path)
    cfg = _config(tmp_path)
    assert [r.run_id for r in cfg.runs()] == [
        "z__from-x", "z__from-y", "z__vote-x+y", "z__vote-uniform-x+y", "z__union-x+y", "z__unanimous-x+y"]
    out = run_experiment(cfg, tmp_path / "res", cache=str(tmp_path / "cache"), verbose=False)
    rec = {p.stem: json.loads(p.read_text()) for p in (out / "runs").glob("*.json")}
    assert all(r["status"] == "ok" for r in rec.values()), rec
    f1 = {k: r["f1"] for k, r in rec.items()}
    # hand-computed over the 4 gold entities of z
    assert f1["z__from-x"] == pytest.approx(1.0)
    assert f1["z__from-y"] == pytest.approx(0.5)           # tp 2, fp 2, fn 2
    assert f1["z__vote-x+y"] == pytest.approx(8 / 9)       # the 0.5-confidence PER is outvoted; wrong LOC kept
    assert f1["z__vote-uniform-x+y"] == pytest.approx(2 / 3)  # tie → longest wrong PER wins
    assert f1["z__union-x+y"] == pytest.approx(8 / 9)
    assert rec["z__unanimous-x+y"]["precision"] == pytest.approx(1.0) and rec["z__unanimous-x+y"]["recall"] == pytest.approx(0.5)
    y = rec["z__from-y"]
    assert y["f1_runs"] == [pytest.approx(0.5)] * 2 and y["f1_sd"] == 0.0 and y["projection_rate"] == pytest.approx(1.0)
    assert y["f1_core"] == pytest.approx(0.5) and y["lang"] == "z" and y["label"] == "from y"
    assert rec["z__vote-x+y"]["label"] == "vote(all others)" and rec["z__vote-x+y"]["sources"] == ["x", "y"]
    assert rec["z__vote-x+y"]["combine_signature"].startswith("combine:vote|threshold:0.5|weighting:confidence")
    md = (out / "source_diversity.md").read_text()
    assert "| z | 1.000 ± 0.000 | 0.500 ± 0.000 |\n" in md
    assert "| z | vote(all others) (x+y) | 0.889 ± 0.000 |" in md and "| x 1.000 | -0.111 |" in md
    assert (out / "source_diversity.png").is_file() and (out / "results.md").is_file()
    # resume: finished runs are skipped (records untouched), the report rebuilds
    stamp = {p.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*.json")}
    run_experiment(cfg, out, cache=str(tmp_path / "cache"), verbose=False)
    assert {p.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*.json")} == stamp
    (out / "source_diversity.md").unlink()
    report_folder(out)
    assert (out / "source_diversity.md").is_file()


def test_a_failing_source_is_recorded_and_others_survive(tmp_path):
    _write(tmp_path, {"x-z": LINKS["x-z"], "y-z": LINKS["y-z"][:2]})  # y-z lacks a line
    out = run_experiment(_config(tmp_path, combine={"method": "vote"}), tmp_path / "res",
                         cache=str(tmp_path / "cache"), verbose=False)
    rec = {p.stem: json.loads(p.read_text()) for p in (out / "runs").glob("*.json")}
    assert rec["z__from-x"]["status"] == "ok"
    assert rec["z__from-y"]["status"] == "error" and rec["z__vote-x+y"]["status"] == "error"
    assert "Errors:" in (out / "source_diversity.md").read_text()


def test_config_errors_name_the_key(tmp_path):
    with pytest.raises(ProjnerError, match=r"combinations\[0\].*'fr' is not one of the sources"):
        _config(tmp_path, combinations=[["x", "fr"]])
    with pytest.raises(ProjnerError, match=r"aligner.file.*needs a file pattern"):
        _config(tmp_path, aligner={"name": "pharaoh"})
    with pytest.raises(ProjnerError, match=r"combine.*threshold"):
        _config(tmp_path, combine={"method": "vote", "threshold": 2})
    with pytest.raises(ProjnerError, match=r"combine.*method 'best'"):
        _config(tmp_path, combine={"method": "best"})
    with pytest.raises(ProjnerError, match=r"sources.*no other source"):
        _config(tmp_path, targets=["z"], sources=["z"])


def test_plan_expands_keywords_and_skips_combinations_holding_the_target():
    params = {"targets": ["de", "es"], "sources": ["en", "de", "es", "it"],
              "combinations": ["all-others", "pairs-of-others", ["en", "de"]], "combine": [{"method": "union"}]}
    ids = [p.run_id for p in planned_runs(params)]
    assert ids[:4] == ["de__from-en", "de__from-es", "de__from-it", "de__union-en+es+it"]
    assert "de__union-en+es" in ids and "de__union-en+de" not in ids and "es__union-en+de" in ids
    assert len(ids) == len(set(ids))


calls: list[int] = []


@aligners.register("projner.aligner.testcounting.v1")
class _Counting:
    def __init__(self, shift: int = 0):
        self.shift = shift

    def signature(self):
        return "aligner:testcounting"

    def align(self, src, tgt):
        calls.append(1)
        return [Alignment.from_pairs([(i, i) for i in range(min(len(s), len(t)))]) for s, t in zip(src, tgt)]


def test_each_repeat_is_its_own_cached_alignment_run(tmp_path):
    runner = StepRunner.at(tmp_path / "cache")
    src, tgt = [("a", "b")], [("c", "d")]
    calls.clear()
    for r in (0, 1, 0, 1):
        als, sig = align_repeat(runner, {"name": "testcounting", "params": {}}, src, tgt, r)
        assert sig == "aligner:testcounting" and len(als[0]) == 2
    assert len(calls) == 2
    assert [e.status for e in runner.events] == ["miss", "miss", "hit", "hit"]


@pytest.mark.parametrize("exc, recorded", [(OSError(5, "Input/output error"), True), (TypeError("a bug"), False)])
def test_failing_source_is_recorded_but_bugs_propagate(tmp_path, monkeypatch, exc, recorded):
    import projner.research.source_diversity as sd

    _write(tmp_path)
    real = sd._project

    def project(ctx, params, corpora, src, tgt, repeat):
        if src == "y":
            raise exc
        return real(ctx, params, corpora, src, tgt, repeat)

    monkeypatch.setattr(sd, "_project", project)
    cfg = _config(tmp_path, combine=[{"method": "vote"}])
    if not recorded:  # a programming error is not turned into a run record
        with pytest.raises(TypeError, match="a bug"):
            run_experiment(cfg, tmp_path / "res", cache=str(tmp_path / "cache"), verbose=False)
        return
    out = run_experiment(cfg, tmp_path / "res", cache=str(tmp_path / "cache"), verbose=False)
    rec = {p.stem: json.loads(p.read_text()) for p in (out / "runs").glob("*.json")}
    assert rec["z__from-x"]["status"] == "ok"
    for rid in ("z__from-y", "z__vote-x+y"):
        assert rec[rid]["status"] == "error" and "OSError: [Errno 5] Input/output error" in rec[rid]["error"]
