import json

import pytest
import yaml

from projner.cli.main import main
from testutil import run_cli
from projner.errors import ProjnerError
from projner.pipeline.experiment import build_report, load_config, parse_config

GOOD = {
    "name": "tiny",
    "labels": ["PER", "ORG", "LOC"],
    "labeller": {"backend": "crf", "params": {"max_iterations": 40}},
    "aligners": {"gold": {"name": "pharaoh", "file": "LINKS"}, "efl": {"name": "eflomal", "params": {"sym": "intersection"}}},
    "methods": {"h": {"method": "heuristic", "filter": "complete"}},
    "parallel": {"mt": {"kind": "mafand", "splits": ["train", "dev"]}},
    "models": {"crf": {"backend": "crf", "params": {"max_iterations": 40}},
               "crf+en": {"backend": "crf", "params": {"max_iterations": 40}, "add_english": True, "english_max": 20}},
    "baselines": ["transfer", "gold"],
    "grid": {"languages": ["xx"], "aligners": ["gold"], "methods": ["h", "heuristic"], "parallel": ["mt"], "models": ["crf", "crf+en"]},
}


def _err(obj):
    with pytest.raises(ProjnerError) as ei:
        parse_config(obj, "cfg.yaml")
    return str(ei.value)


def test_schema_errors_name_the_key_path():
    assert "grid.aligners[1]: unknown aligner 'foo'" in _err({**GOOD, "grid": {**GOOD["grid"], "aligners": ["gold", "foo"]}})
    assert "[E200] cfg.yaml: grid.langs: unknown key" in _err({**GOOD, "grid": {"langs": ["xx"]}})
    assert "grid.languages: required key is missing" in _err({**GOOD, "grid": {"aligners": ["gold"]}})
    assert "methods.h.filter: unknown filter 'all'" in _err({**GOOD, "methods": {"h": {"method": "heuristic", "filter": "all"}}})
    assert "methods.h.strip_determiners: expected true/false, got a string" in _err(
        {**GOOD, "methods": {"h": {"method": "heuristic", "strip_determiners": "yes"}}})
    assert "models.crf+en.english_max: expected an integer, got a string" in _err(
        {**GOOD, "models": {"crf+en": {"backend": "crf", "english_max": "5"}}})
    assert "grid[1].models[0]: unknown model 'svm'" in _err({**GOOD, "grid": [GOOD["grid"], {"languages": ["xx"], "models": ["svm"]}]})
    assert "aligners.efl.sym: unknown key" in _err({**GOOD, "aligners": {"efl": {"name": "eflomal", "sym": "x"}}})
    assert "labels: expected a list, got a string" in _err({**GOOD, "labels": "PER"})
    assert "(top): expected a mapping" in _err([1, 2])
    assert "parallel.mt.align_extra[0]: unknown parallel data 'nope'" in _err(
        {**GOOD, "parallel": {"mt": {"kind": "mafand", "align_extra": ["nope"]}}})


def test_grid_expansion():
    cfg = parse_config(GOOD)
    ids = [r.run_id for r in cfg.runs()]
    assert ids[:2] == ["xx__transfer__crf", "xx__gold__crf"]
    assert len(ids) == 2 + 2 * 2
    assert "xx__projection+english__mt__gold__h__crf+en" in ids


def test_yaml_errors(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("grid: [unclosed\n", encoding="utf-8")
    with pytest.raises(ProjnerError, match="E201"):
        load_config(p)
    with pytest.raises(ProjnerError, match="no such file"):
        load_config(tmp_path / "missing.yaml")


def test_shipped_config_is_valid():
    from pathlib import Path

    cfg = load_config(Path(__file__).parents[2] / "experiments" / "masakhaner_translate_train.yaml")
    runs = cfg.runs()
    assert {r.lang for r in runs} == {"hau", "ibo", "pcm", "swa", "yor", "zul"}
    assert {r.system for r in runs} == {"transfer", "gold", "projection", "projection+english"}


def test_cli_run_and_report(world, tmp_path, capsys):
    obj = json.loads(json.dumps(GOOD).replace("LINKS", str(world / "links.align")))
    obj["data"] = str(world)
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(yaml.safe_dump(obj), encoding="utf-8")
    out = tmp_path / "res"
    main(["experiment", "run", str(cfg), "--output", str(out), "--cache", str(tmp_path / "cache"), "-q"])
    text = capsys.readouterr().out
    assert "| system | xx | mean |" in text and "gold in-language (crf)" in text
    runs = sorted((out / "runs").glob("*.json"))
    assert len(runs) == 6
    rec = json.loads((out / "runs" / "xx__projection__mt__gold__h__crf.json").read_text())
    assert rec["status"] == "ok" and rec["f1"] > 0.9 and rec["signature"].startswith("projner-eval:1")
    assert {c["status"] for c in rec["cache"]} <= {"hit", "miss"}
    for f in ("results.md", "f1.png", "precision_recall.png"):
        assert (out / f).stat().st_size > 0
    (out / "results.md").unlink()
    (out / "f1.png").unlink()
    main(["experiment", "report", str(out)])
    assert "| system | xx | mean |" in capsys.readouterr().out and (out / "f1.png").exists()
    from projner.pipeline.report import cell_seconds, load_runs

    first = cell_seconds(load_runs(out))
    # second run: everything from the cache
    main(["experiment", "run", str(cfg), "--output", str(out), "--cache", str(tmp_path / "cache"), "-q"])
    capsys.readouterr()
    rec = json.loads((out / "runs" / "xx__projection__mt__gold__h__crf.json").read_text())
    assert {c["status"] for c in rec["cache"]} == {"hit"}
    # ... and the report still says what each cell took when it was computed (from the manifests)
    assert all(c["computed"] is not None and c["seconds"] == 0 for c in rec["cache"])
    again = cell_seconds(load_runs(out))
    assert set(again) == set(first)
    for run_id, (sec, complete) in again.items():
        assert complete and 0 < sec <= first[run_id][0] + 0.05, (run_id, sec, first[run_id])


def test_cli_config_error_exit_code(tmp_path, capsys):
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(yaml.safe_dump({**GOOD, "grid": {**GOOD["grid"], "aligners": ["gold", "foo"]}}), encoding="utf-8")
    with pytest.raises(SystemExit) as ei:
        main(["experiment", "run", str(cfg), "--dry-run"])
    assert ei.value.code == 2
    assert "grid.aligners[1]: unknown aligner 'foo'" in capsys.readouterr().err


def test_report_without_runs(tmp_path):
    with pytest.raises(ProjnerError, match="E204"):
        build_report(tmp_path)




BAD_YAML = """\
name: bad
labels: [PER, ORG, LOC]
aligners:
  efl:
    name: eflomal
    params:
      sym: intersectoin
      prefix_len: four
methods:
  h: {method: heuristic, params: {keep: longst}}
models:
  crf: {backend: crf, params: {max_iterations: many}}
grid:
  languages: [xx, swahili]
  aligners: [efl]
  methods: [h]
"""


def test_dry_run_reports_every_problem_with_file_and_line(world, tmp_path, capsys):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(BAD_YAML, encoding="utf-8")
    code, _, err = run_cli(["experiment", "run", str(cfg), "--dry-run", "--data", str(world)], capsys)
    assert code == 2 and "Traceback" not in err and "[E044]" in err and "5 problem(s)" in err
    assert f"{cfg}:7: aligners.efl.params.sym: unknown value 'intersectoin' (did you mean 'intersection'?); known: intersection" in err
    assert f"{cfg}:8: aligners.efl.params.prefix_len: expected an integer, got a string ('four')" in err
    assert f"{cfg}:10: methods.h.params.keep: unknown value 'longst' (did you mean 'longest'?); known: longest, all" in err
    assert f"{cfg}:12: models.crf.params.max_iterations: expected an integer, got a string ('many')" in err
    assert f"{cfg}:14: grid.languages[1]: unknown language 'swahili'" in err and "MasakhaNER languages" in err
    # a missing data folder (and a --langs language the grid lacks) are problems too
    code, _, err = run_cli(["experiment", "run", str(cfg), "--dry-run", "--data", str(tmp_path / "nodata"),
                              "--langs", "xx,yy"], capsys)
    assert code == 2 and f"--data: data folder {tmp_path / 'nodata'} does not exist" in err
    assert "--langs: language 'yy' is not in the config's grid" in err
    # the real run refuses the same config before running anything
    code, _, err = run_cli(["experiment", "run", str(cfg), "--data", str(world), "--output", str(tmp_path / "res")], capsys)
    assert code == 2 and "[E044]" in err and not (tmp_path / "res").exists()


def test_dry_run_of_a_valid_config_lists_the_runs(world, tmp_path, capsys):
    obj = json.loads(json.dumps(GOOD).replace("LINKS", str(world / "links.align")))
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(yaml.safe_dump(obj), encoding="utf-8")
    code, out, err = run_cli(["experiment", "run", str(cfg), "--dry-run", "--data", str(world)], capsys)
    assert code == 0, err
    assert out.startswith("tiny: 6 runs") and "xx__projection__mt__gold__h__crf" in out


def test_schema_error_names_the_line(tmp_path):
    p = tmp_path / "exp.yaml"
    p.write_text("name: x\ngrid:\n  languages: [xx]\n  aligners: [eflomal, efloma]\n", encoding="utf-8")
    with pytest.raises(ProjnerError) as ei:
        load_config(p)
    assert ei.value.line == 4
    assert f"{p}:4: grid.aligners[1]: unknown aligner 'efloma' (did you mean 'eflomal'?); known: eflomal" in str(ei.value)


def test_exit_status_counts_failed_runs(world, tmp_path, capsys):
    bad_links = tmp_path / "bad.align"
    bad_links.write_text("0-99\n" * 120, encoding="utf-8")  # out of range: every run with it fails
    obj = json.loads(json.dumps(GOOD).replace("LINKS", str(world / "links.align")))
    obj.update(data=str(world), baselines=[], aligners={"gold": obj["aligners"]["gold"], "bad": {"name": "pharaoh", "file": str(bad_links)}},
               grid={"languages": ["xx"], "aligners": ["bad"], "methods": ["h"], "parallel": ["mt"], "models": ["crf"]})
    cfg = tmp_path / "all_fail.yaml"
    cfg.write_text(yaml.safe_dump(obj), encoding="utf-8")
    base = ["--cache", str(tmp_path / "cache"), "-q"]
    code, out, err = run_cli(["experiment", "run", str(cfg), "--output", str(tmp_path / "r1"), *base], capsys)
    assert code == 1 and "[E045] 1 of 1 experiment runs failed" in err and "xx__projection__mt__bad__h__crf" in err
    assert "| projection: mt / bad / h / crf | error |" in out  # the table is still printed
    # some runs fail: exit 0 with a warning, or 1 with --strict
    obj["grid"]["aligners"] = ["gold", "bad"]
    cfg.write_text(yaml.safe_dump(obj), encoding="utf-8")
    code, _, err = run_cli(["experiment", "run", str(cfg), "--output", str(tmp_path / "r2"), *base], capsys)
    assert code == 0 and "warning: [E045] 1 of 2 experiment runs failed" in err
    code, _, err = run_cli(["experiment", "run", str(cfg), "--output", str(tmp_path / "r2"), "--strict", *base], capsys)
    assert code == 1 and "error: [E045] 1 of 2 experiment runs failed" in err


def test_recording_errors_records_data_errors_and_lets_bugs_propagate():
    from projner.errors import E, ProjnerError
    from projner.pipeline.experiment import recording_errors

    logged: list[str] = []
    rec: dict = {}
    with recording_errors(rec, logged.append):
        raise ProjnerError(E.E203, detail="no such folder")
    assert rec["status"] == "error" and rec["error"].startswith("[E203]") and "traceback" not in rec
    rec = {}
    with recording_errors(rec, logged.append):
        raise FileNotFoundError(2, "No such file", "x.conll")
    assert rec["status"] == "error" and "FileNotFoundError" in rec["error"] and "traceback" in rec
    rec = {}
    with pytest.raises(TypeError):
        with recording_errors(rec, logged.append):
            raise TypeError("a bug")
    assert rec == {} and len(logged) == 2


def test_transfer_models_add_one_transfer_run_per_model_with_that_backend():
    from projner.pipeline.experiment import transfer_labeller

    obj = {**GOOD, "labeller": {"backend": "fast", "label_map": "conll->per-org-loc", "params": {"epochs": 2}},
           "models": {**GOOD["models"], "f": {"backend": "fast", "params": {"epochs": 3}}},
           "transfer_models": ["crf", "f"]}
    cfg = parse_config(obj)
    ids = [r.run_id for r in cfg.runs()]
    assert ids[:3] == ["xx__transfer__fast", "xx__transfer__crf", "xx__transfer__f"]
    lab = transfer_labeller(cfg, "crf")
    assert (lab.backend, dict(lab.params), lab.label_map) == ("crf", {"max_iterations": 40}, "conll->per-org-loc")
    assert dict(transfer_labeller(cfg, "f").params) == {"epochs": 3}
    # the labeller's own transfer run keeps the labeller's parameters
    assert dict(transfer_labeller(cfg, "fast").params) == {"epochs": 2}
    assert "transfer_models[0]: unknown model 'svm'" in _err({**obj, "transfer_models": ["svm"]})
    assert "adds English" in _err({**obj, "transfer_models": ["crf+en"]})


def test_report_has_precision_recall_and_seconds_per_cell(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    for lang, p, r, sec in (("aa", 0.5, 0.25, 12.4), ("bb", 0.75, 0.5, 3.0)):
        rec = {"run_id": f"{lang}__gold__crf", "lang": lang, "system": "gold", "label": "gold in-language (crf)",
               "status": "ok", "f1": 2 * p * r / (p + r), "precision": p, "recall": r, "seconds": sec}
        (runs / f"{lang}__gold__crf.json").write_text(json.dumps(rec), encoding="utf-8")
    text = build_report(tmp_path).read_text(encoding="utf-8")
    assert "| gold in-language (crf) | 0.500 / 0.250 (12) | 0.750 / 0.500 (3) | 15 |" in text


def test_eval_split_scores_every_run_on_dev_and_signs_it(world, tmp_path, capsys):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(world, data)
    test = (data / "masakhaner2" / "xx" / "test.txt").read_text(encoding="utf-8").split("\n\n")
    (data / "masakhaner2" / "xx" / "dev.txt").write_text("\n\n".join(test[:12]).rstrip("\n") + "\n", encoding="utf-8")
    obj = json.loads(json.dumps(GOOD).replace("LINKS", str(data / "links.align")))
    obj["grid"] = {**obj["grid"], "methods": ["h"]}
    assert "eval_split: unknown evaluation split 'train'" in _err({**obj, "eval_split": "train"})
    res = {}
    for split in ("test", "dev"):
        cfg = tmp_path / f"{split}.yaml"
        cfg.write_text(yaml.safe_dump({**obj, "eval_split": split}), encoding="utf-8")
        main(["experiment", "run", str(cfg), "--output", str(tmp_path / split), "--cache", str(tmp_path / "cache"),
              "--data", str(data), "-q"])
        capsys.readouterr()
        res[split] = {p.stem: json.loads(p.read_text()) for p in (tmp_path / split / "runs").glob("*.json")}
    assert set(res["dev"]) == set(res["test"]) and len(res["dev"]) == 4
    for run_id, rec in res["dev"].items():
        other = res["test"][run_id]
        assert rec["status"] == other["status"] == "ok"
        assert rec["n_test"] == 12 and other["n_test"] == 40
        assert "|test:dev.txt|" in rec["signature"] and "|test:test.txt|" in other["signature"]
        # the same trained model: only the evaluation differs
        assert rec["steps"].get("train") == other["steps"].get("train")
    # a model's parameters and the English it adds are part of the signature
    assert "|params:max_iterations=40|" in res["dev"]["xx__projection__mt__gold__h__crf"]["signature"]
    assert "|english:20|" in res["dev"]["xx__projection+english__mt__gold__h__crf+en"]["signature"]
    # a dev split that is missing is reported before anything runs
    (data / "masakhaner2" / "xx" / "dev.txt").unlink()
    code, _, err = run_cli(["experiment", "run", str(tmp_path / "dev.yaml"), "--dry-run", "--data", str(data)], capsys)
    assert code == 2 and "dev.txt does not exist" in err


def test_cell_seconds_counts_shared_steps_once_and_marks_unknown_timings():
    from projner.pipeline.report import cell_seconds, detail_table

    def ev(step, fp, status, seconds, computed):
        return {"step": step, "fingerprint": fp, "status": status, "seconds": seconds, "computed": computed}

    base = {"status": "ok", "precision": 0.5, "recall": 0.5, "f1": 0.5, "lang": "xx"}
    runs = [
        {**base, "run_id": "a", "label": "A", "seconds": 1.0,
         "cache": [ev("labeller", "L", "hit", 0, 80.0), ev("train", "T1", "miss", 12.0, 12.0)]},
        {**base, "run_id": "b", "label": "B", "seconds": 0.5,  # the labeller again: counted in a only
         "cache": [ev("labeller", "L", "hit", 0, 80.0), ev("train", "T2", "hit", 0, None)]},
        {**base, "run_id": "c", "label": "C", "seconds": 7.0},  # a study run: no events, wall seconds
    ]
    got = cell_seconds(runs)
    assert got == {"a": (92.0, True), "b": (0.0, False), "c": (7.0, True)}
    table = detail_table(runs)
    assert "0.500 / 0.500 (92)" in table and "0.500 / 0.500 (≥0)" in table and "(7)" in table


def test_seed_table_averages_runs_that_differ_only_by_seed():
    from projner.pipeline.report import seed_groups, seed_table

    def run(lang, model, f1, params, system="projection"):
        sig = f"projner-eval:1|system:{system}|model:fast|" + (f"params:{params}|" if params else "") + "test:test.txt|version:0.1.0"
        return {"run_id": f"{lang}__{model}", "lang": lang, "label": model, "system": system, "parallel": "mt",
                "aligner": "efl", "method": "h", "model": model, "status": "ok", "f1": f1, "precision": f1,
                "recall": f1, "signature": sig}

    runs = []
    for lang, f in (("aa", (0.50, 0.60, 0.70)), ("bb", (0.20, 0.40, 0.30))):
        runs += [run(lang, "m5", f[0], "epochs=5"), run(lang, "m5-s1", f[1], "epochs=5,seed=1"),
                 run(lang, "m5-s2", f[2], "epochs=5,seed=2"),
                 run(lang, "m15", f[0] - 0.1, "epochs=15"),  # another setting: not in the group
                 run(lang, "m5e", f[0], "epochs=5", system="projection+english")]  # another system: neither
    groups = seed_groups(runs)
    assert [(label, {lang: sorted(v) for lang, v in cells.items()}) for label, cells in groups] == [
        ("m5", {"aa": [0, 1, 2], "bb": [0, 1, 2]})]
    table = seed_table(runs)
    # aa: mean 0.6 (0.5-0.7); bb: 0.3 (0.2-0.4); seeds' own means 0.35, 0.5, 0.5 -> mean 0.45 (0.35-0.5)
    assert "| m5 (seeds 0, 1, 2) | 0.600 (0.500–0.700) | 0.300 (0.200–0.400) | 0.450 (0.350–0.500) |" in table
    assert seed_table([r for r in runs if "seed" not in r["signature"]]) == ""
