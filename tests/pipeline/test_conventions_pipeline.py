"""Span conventions in the pipeline: translate-train's projected data, model transfer's output,
experiment configs and the CLI (synthetic world: "katika" is xx for "in")."""

import json

import pytest

from projner.cli.main import main
from projner.data.formats import read_corpus, write_corpus
from projner.errors import E, ProjnerError
from projner.pipeline.cache import Cache, StepRunner, read_sentences
from projner.pipeline.config import AlignerConfig, LabellerConfig, ModelConfig, ParallelConfig, ProjectionConfig, TranslateTrainConfig
from projner.pipeline.experiment import parse_config
from projner.pipeline.translate_train import model_transfer_run, translate_train
from projner.types import Span

PAR = ParallelConfig(splits=("train", "dev"))
FAST = {"max_iterations": 40}
RULES = {"format": "projner-span-conventions", "source": "hand-written", "rules": {"LOC": {"include_left": ["katika"]}}}


@pytest.fixture
def rules(tmp_path):
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(RULES), encoding="utf-8")
    return path


def _cfg(world, **projection):
    return TranslateTrainConfig(lang="xx", parallel=PAR, data=str(world), labeller=LabellerConfig(params=FAST),
                                model=ModelConfig(params=FAST), aligner=AlignerConfig(name="pharaoh", file=str(world / "links.align")),
                                projection=ProjectionConfig(**projection))


def _katika_locs(sentences):
    """(LOC spans right after 'katika', those that include it)."""
    after = inside = 0
    for s in sentences:
        for sp in s.spans:
            if sp.label != "LOC":
                continue
            if sp.start > 0 and s.tokens[sp.start - 1] == "katika":
                after += 1
            if s.tokens[sp.start] == "katika":
                inside += 1
    return after, inside


def test_translate_train_trains_on_data_that_follows_the_conventions(world, rules, tmp_path):
    cache = Cache(tmp_path / "cache")
    plain = translate_train(_cfg(world), runner=StepRunner(cache))
    r = StepRunner(cache)
    res = translate_train(_cfg(world, conventions=str(rules)), runner=r)
    # label, align and project are the plain run's steps; the conventions step and what follows are new
    assert res.steps["project"] == plain.steps["project"] and res.steps["train"] != plain.steps["train"]
    assert [(e.step, e.status) for e in r.events if e.step in ("project", "conventions")] == [("project", "hit"),
                                                                                             ("conventions", "miss")]
    before = read_sentences(cache.entry_dir("project", plain.steps["project"]) / "projected.jsonl")
    after = read_sentences(cache.entry_dir("conventions", res.steps["conventions"]) / "projected.jsonl")
    n_after, n_inside = _katika_locs(before)
    assert n_after > 0 and n_inside == 0
    assert _katika_locs(after) == (0, n_after)  # every LOC after "katika" grew over it
    cv = res.info["projection"]["conventions"]
    assert cv["words"] == {"include_left": {"LOC": n_after}} and cv["source"] == "hand-written(1)"
    assert "conventions:rules.json" in res.signature and "conventions" not in plain.signature
    # the model learned the convention: it now predicts "katika" inside LOC spans
    pred = read_sentences(cache.entry_dir("evaluate", res.steps["evaluate"]) / "predictions.jsonl")
    assert _katika_locs(pred)[1] > 0
    # edited rules are new content: a new conventions step, the projection still cached
    rules.write_text(json.dumps({**RULES, "rules": {"LOC": {"include_left": ["katika", "siku"]}}}), encoding="utf-8")
    r2 = StepRunner(cache)
    again = translate_train(_cfg(world, conventions=str(rules)), runner=r2)
    assert again.steps["conventions"] != res.steps["conventions"]
    assert [e.status for e in r2.events if e.step == "project"] == ["hit"]


def test_transfer_output_follows_the_conventions(world, rules, tmp_path):
    cache = Cache(tmp_path / "cache")
    lab = LabellerConfig(params=FAST)
    plain = model_transfer_run("xx", lab, data=str(world), runner=StepRunner(cache))
    r = StepRunner(cache)
    res = model_transfer_run("xx", lab, data=str(world), runner=r, conventions=str(rules))
    assert [e.status for e in r.events if e.step == "labeller"] == ["hit"]
    assert res.steps["evaluate"] != plain.steps["evaluate"] and "conventions:rules.json" in res.signature
    pred = read_sentences(cache.entry_dir("evaluate", res.steps["evaluate"]) / "predictions.jsonl")
    base = read_sentences(cache.entry_dir("evaluate", plain.steps["evaluate"]) / "predictions.jsonl")
    assert _katika_locs(base)[0] > 0 and _katika_locs(pred)[0] == 0 and _katika_locs(pred)[1] == _katika_locs(base)[0]
    # learned from a labelled file whose LOC spans include "katika": the same edges
    gold = read_corpus(world / "masakhaner2" / "xx" / "train.txt").sentences
    grown = [s.with_spans([Span(sp.start - 1, sp.end, sp.label) if sp.label == "LOC" and sp.start and
                           s.tokens[sp.start - 1] == "katika" else sp for sp in s.spans]) for s in gold]
    write_corpus(tmp_path / "dev.conll", grown)
    learned = model_transfer_run("xx", lab, data=str(world), runner=StepRunner(cache), conventions=str(tmp_path / "dev.conll"))
    assert learned.f1 == pytest.approx(res.f1)


def test_experiment_conventions_key(world, tmp_path):
    base = {"name": "c", "labeller": {"backend": "crf"}, "grid": {"languages": ["xx"]}}
    cfg = parse_config({**base, "conventions": "dev"})
    assert cfg.conventions == "dev"
    assert parse_config(base).conventions is None
    with pytest.raises(ProjnerError) as ei:
        parse_config({**base, "conventions": "dev", "eval_split": "dev"})
    assert ei.value.code is E.E200 and "conventions: learned from dev.txt" in str(ei.value)
    with pytest.raises(ProjnerError):
        ProjectionConfig(conventions="")


def test_experiment_applies_conventions_to_projection_and_transfer(world, rules, tmp_path):
    from projner.pipeline.experiment import run_experiment

    cfg = parse_config({"name": "c", "labeller": {"backend": "crf", "params": FAST}, "conventions": str(rules),
                        "aligners": {"gold": {"name": "pharaoh", "file": str(world / "links.align")}},
                        "parallel": {"p": {"kind": "mafand", "splits": ["train", "dev"]}},
                        "models": {"crf": {"backend": "crf", "params": FAST}}, "baselines": ["transfer"],
                        "grid": {"languages": ["xx"], "aligners": ["gold"], "parallel": ["p"], "models": ["crf"]}})
    out = run_experiment(cfg, tmp_path / "res", cache=str(tmp_path / "cache"), data=str(world), verbose=False)
    runs = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((out / "runs").glob("*.json"))]
    assert len(runs) == 2 and all("conventions:rules.json" in r["signature"] for r in runs)


def test_cli_learns_rules_and_projects_with_them(world, tmp_path, capsys):
    gold = read_corpus(world / "masakhaner2" / "xx" / "train.txt").sentences
    grown = [s.with_spans([Span(sp.start - 1, sp.end, sp.label) if sp.label == "LOC" and sp.start and
                           s.tokens[sp.start - 1] == "katika" else sp for sp in s.spans]) for s in gold]
    write_corpus(tmp_path / "gold.conll", grown)
    main(["conventions", str(tmp_path / "gold.conll"), "--out", str(tmp_path / "rules.json")])
    rules = json.loads((tmp_path / "rules.json").read_text(encoding="utf-8"))
    assert "katika" in rules["rules"]["LOC"]["include_left"]
    main(["conventions", str(tmp_path / "gold.conll"), "--min-count", "1000"])
    assert json.loads(capsys.readouterr().out)["rules"] == {}
    with pytest.raises(SystemExit) as ei:
        main(["conventions", str(tmp_path / "missing.conll")])
    assert ei.value.code != 0 and "missing.conll" in capsys.readouterr().err
    # `projner project --conventions`: the projected LOC grows over "katika", the report counts it
    from projner.types import Sentence

    write_corpus(tmp_path / "src.conll", [Sentence(("John", "lives", "in", "Paris", "."), (Span(0, 1, "PER"), Span(3, 4, "LOC")))])
    (tmp_path / "tgt.txt").write_text("John anaishi katika Paris .\n", encoding="utf-8")
    (tmp_path / "links.align").write_text("0-0 1-1 2-2 3-3 4-4\n", encoding="utf-8")
    main(["project", "--src", str(tmp_path / "src.conll"), "--tgt", str(tmp_path / "tgt.txt"), "--align",
          str(tmp_path / "links.align"), "--out", str(tmp_path / "out.conll"), "--conventions", str(tmp_path / "rules.json"),
          "--report", str(tmp_path / "report.json")])
    out = read_corpus(tmp_path / "out.conll").sentences
    assert [(sp.start, sp.end, sp.label) for sp in out[0].spans] == [(0, 1, "PER"), (2, 4, "LOC")]
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["conventions"]["words"] == {"include_left": {"LOC": 1}}


def test_translate_train_cli_saves_the_rules_with_the_model(world, rules, tmp_path, capsys):
    d = world / "mafand_mt" / "en-xx"
    out = tmp_path / "model"
    main(["translate-train", "--lang", "xx", "--labeller", "crf", "--backend", "crf", "--no-transfer", "--src",
          str(d / "train.en"), "--tgt", str(d / "train.xx"), "--out", str(out), "--data", str(world), "--cache",
          str(tmp_path / "cache"), "--sym", "intersection", "--conventions", str(rules)])
    captured = capsys.readouterr()
    assert "conventions:rules.json" in captured.out and "span conventions hand-written(1)" in captured.err
    saved = json.loads((out / "conventions.json").read_text(encoding="utf-8"))
    assert saved["rules"] == {"LOC": {"include_left": ["katika"]}}
    # `projner tag --conventions` applies them to the saved model's output
    test = world / "masakhaner2" / "xx" / "test.txt"
    main(["tag", str(test), "--model", str(out), "--out", str(tmp_path / "plain.jsonl"), "-q"])
    main(["tag", str(test), "--model", str(out), "--out", str(tmp_path / "conv.jsonl"), "--conventions",
          str(out / "conventions.json"), "-q"])
    plain, conv = read_corpus(tmp_path / "plain.jsonl").sentences, read_corpus(tmp_path / "conv.jsonl").sentences
    assert _katika_locs(conv)[0] == 0 and _katika_locs(conv)[1] == _katika_locs(plain)[0] + _katika_locs(plain)[1]


def test_translate_test_cli_follows_the_conventions(world, rules, tmp_path, capsys):
    from synth import LEX

    test = world / "masakhaner2" / "xx" / "test.txt"
    back = {v: k for k, v in LEX.items()}
    sents = read_corpus(str(test)).sentences
    en = tmp_path / "test.en"
    en.write_text("".join(" ".join(back.get(w.lower(), w) for w in s.tokens) + "\n" for s in sents), encoding="utf-8")
    base = ["translate-test", str(test), "--lang", "xx", "--translations", str(en), "--data", str(world),
            "--cache", str(tmp_path / "cache"), "--sym", "intersection", "--labeller", "crf"]
    main(base + ["--out", str(tmp_path / "plain.conll")])
    plain_out = capsys.readouterr().out
    main(base + ["--out", str(tmp_path / "conv.conll"), "--conventions", str(rules)])
    captured = capsys.readouterr()
    assert "conventions:rules.json" in captured.out and "conventions" not in plain_out
    assert "span conventions hand-written(1)" in captured.err
    plain, conv = read_corpus(tmp_path / "plain.conll").sentences, read_corpus(tmp_path / "conv.conll").sentences
    assert _katika_locs(plain)[0] > 0 and _katika_locs(conv) == (0, _katika_locs(plain)[0] + _katika_locs(plain)[1])
