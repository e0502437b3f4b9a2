"""The study dispatch of the experiment runner, with a toy study registered here."""

from __future__ import annotations

import json

import pytest

from projner.errors import ProjnerError
from projner.pipeline.experiment import parse_config, report_folder, run_experiment
from projner.registry import studies
from projner.pipeline.study import Study, StudyConfig, read_run, write_run


def _langs(x, p, v):
    return v.list_(x, p, v.str_)


@studies.register("projner.study.toytest.v1")
class ToyStudy(Study):
    keys = {"languages": _langs, "rate": lambda x, p, v: v.num(x, p, 0.0, 1.0)}
    required = ("languages",)
    reported: list = []

    def plan(self, params):
        return [f"{lang}__toy" for lang in params["languages"]]

    def run(self, params, ctx):
        for rid in self.plan(params):
            lang = rid.split("__")[0]
            if ctx.languages and lang not in ctx.languages:
                continue
            if read_run(ctx.out, rid):
                continue
            f1 = params.get("rate", 0.5)
            write_run(ctx.out, {"run_id": rid, "lang": lang, "label": "toy", "status": "ok", "f1": f1,
                                "precision": f1, "recall": f1, "signature": "toy:1"})

    def report(self, folder):
        (folder / "toy.md").write_text("extra\n", encoding="utf-8")


def test_study_config_is_validated_by_the_study():
    cfg = parse_config({"study": "toytest", "languages": ["swa"], "rate": 0.25})
    assert isinstance(cfg, StudyConfig)
    assert cfg.study == "projner.study.toytest.v1"
    assert [r.run_id for r in cfg.runs()] == ["swa__toy"]
    with pytest.raises(ProjnerError, match=r"rate: must be in \[0.0, 1.0\]"):
        parse_config({"study": "toytest", "languages": ["swa"], "rate": 2})
    with pytest.raises(ProjnerError, match="bogus: unknown key"):
        parse_config({"study": "toytest", "languages": ["swa"], "bogus": 1})
    with pytest.raises(ProjnerError, match="languages: required key is missing"):
        parse_config({"study": "toytest"})
    with pytest.raises(ProjnerError, match="unknown study 'nosuch'"):
        parse_config({"study": "nosuch"})


def test_translate_train_study_key_is_accepted():
    cfg = parse_config({"study": "translate-train", "grid": {"languages": ["swa"]}})
    assert cfg.runs()


def test_study_runs_report_and_rebuild(tmp_path):
    cfg = parse_config({"study": "toytest", "languages": ["swa", "zul"], "rate": 0.5})
    out = run_experiment(cfg, tmp_path / "res", cache=str(tmp_path / "cache"), verbose=False)
    assert sorted(p.name for p in (out / "runs").iterdir()) == ["swa__toy.json", "zul__toy.json"]
    meta = json.loads((out / "experiment.json").read_text())
    assert meta["study"] == "projner.study.toytest.v1"
    assert "| toy | 0.500 | 0.500 | 0.500 |" in (out / "results.md").read_text()
    assert (out / "toy.md").is_file() and (out / "f1.png").is_file()
    (out / "toy.md").unlink()
    report_folder(out)
    assert (out / "toy.md").is_file()
