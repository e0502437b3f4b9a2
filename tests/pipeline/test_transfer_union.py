"""Translate-train with model transfer where projection is silent (ProjectionConfig.transfer) and
with the labeller as NER-candidate source (``params: {ner_model: labeller}``)."""

import dataclasses
import json

import pytest

from projner.data.datasets import load_parallel
from projner.errors import E, ProjnerError
from projner.pipeline.cache import Cache, StepRunner, hash_tokens, read_sentences, write_alignments, write_sentences
from projner.pipeline.config import AlignerConfig, LabellerConfig, ModelConfig, ParallelConfig, ProjectionConfig, TranslateTrainConfig
from projner.pipeline.experiment import parse_config, pipeline_config
from projner.pipeline.steps import label_align_project, project_step
from projner.types import Alignment, Sentence, Span
from projner.pipeline.translate_train import translate_train
from synth import LOC, ORG, PER

PAR = ParallelConfig(splits=("train", "dev"))
FAST = {"max_iterations": 40}
NAMES = {w for n in PER + ORG + LOC for w in n.split()}


@pytest.fixture(scope="module")
def holey_links(world, tmp_path_factory):
    """The world's gold links with every link onto a name word dropped in even pairs: projection
    finds nothing there, so only model transfer can label those names."""
    _, tgt = load_parallel(PAR, "xx", str(world))
    lines = (world / "links.align").read_text(encoding="utf-8").splitlines()
    out = []
    for k, (ln, t) in enumerate(zip(lines, tgt)):
        links = [x for x in ln.split() if k % 2 or t[int(x.split("-")[1])] not in NAMES]
        out.append(" ".join(links))
    path = tmp_path_factory.mktemp("links") / "holey.align"
    path.write_text("".join(x + "\n" for x in out), encoding="utf-8")
    return path


def _cfg(world, links, **projection):
    return TranslateTrainConfig(lang="xx", parallel=PAR, data=str(world), labeller=LabellerConfig(params=FAST),
                                model=ModelConfig(params=FAST), aligner=AlignerConfig(name="pharaoh", file=str(links)),
                                projection=ProjectionConfig(**projection))


def _stats(res):
    return res.info["projection"]


def test_transfer_labels_the_target_side_and_fills_silent_names(world, holey_links, tmp_path):
    cache = Cache(tmp_path / "cache")
    plain = translate_train(_cfg(world, holey_links), runner=StepRunner(cache))
    r = StepRunner(cache)
    cfg = _cfg(world, holey_links, transfer=0.5)
    frozen = dataclasses.asdict(cfg)
    res = translate_train(cfg, runner=r)
    assert dataclasses.asdict(cfg) == frozen
    # the labeller ran a second time, on the target sentences (a new cached label step)
    label_events = [e for e in r.events if e.step == "label"]
    assert [e.status for e in label_events] == ["hit", "miss"]
    _, tgt = load_parallel(PAR, "xx", str(world))
    target_label = cache.entry_dir("label", label_events[1].fingerprint)
    manifest = json.loads((target_label / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["inputs"]["tokens"] == hash_tokens(tgt) and manifest["inputs"]["labeller"] == res.steps["labeller"]
    # the project step's key changed (its inputs name the target-side labels) and the rest followed
    assert res.steps["project"] != plain.steps["project"] and res.steps["train"] != plain.steps["train"]
    assert res.steps["label"] == plain.steps["label"] and res.steps["align"] == plain.steps["align"]
    st = _stats(res)["transfer"]
    assert st["n_added"] > 0 and st["sentences"] > 0 and set(st["added"]) <= {"PER", "ORG", "LOC"}
    assert "transfer" not in _stats(plain)
    assert _stats(res)["entities_kept"] == _stats(plain)["entities_kept"] + st["n_added"]
    # another threshold is another key; the target-side labels are reused from the cache
    r2 = StepRunner(cache)
    other = translate_train(_cfg(world, holey_links, transfer=0.9, transfer_unknown=0.3), runner=r2)
    assert other.steps["project"] not in (res.steps["project"], plain.steps["project"])
    assert [e.status for e in r2.events if e.step == "label"] == ["hit", "hit"]
    assert _stats(other)["transfer"]["n_added"] <= st["n_added"]


def _entry(runner, step, name, write):
    return runner.run(step, {"name": name}, {}, lambda out: write(out) or {})


def test_transfer_runs_before_the_caps_filter(tmp_path):
    """The English labeller missed "Kano" (no source entity) but the transfer tagger found it on
    the target side: with transfer, the complete-caps filter sees it labelled and keeps the pair."""
    r = StepRunner(Cache(tmp_path / "cache"))
    tgt = [("Musa", "alitembelea", "Kano", "."), ("watu", "wanapenda", "Lagos", ".")]
    src = [Sentence(("Musa", "visited", "Kano", "."), (Span(0, 1, "PER"),)), Sentence(("People", "love", "Lagos", "."))]
    labelled = _entry(r, "label", "src", lambda out: write_sentences(out / "labelled.jsonl", src))
    target = [Sentence(tgt[0], (Span(0, 1, "PER", 0.9), Span(2, 3, "LOC", 0.8))), Sentence(tgt[1], (Span(2, 3, "LOC", 0.3),))]
    transfer = _entry(r, "label", "tgt", lambda out: write_sentences(out / "labelled.jsonl", target))
    aligned = _entry(r, "align", "gold", lambda out: write_alignments(out / "links.align", [
        Alignment.from_pairs([(0, 0), (1, 1), (2, 2), (3, 3)]), Alignment.from_pairs([(0, 0), (1, 1), (2, 2), (3, 3)])]))
    plain = project_step(r, ProjectionConfig(filter="complete-caps"), labelled, tgt, aligned)
    union = project_step(r, ProjectionConfig(filter="complete-caps", transfer=0.5, transfer_unknown=0.2), labelled, tgt,
                         aligned, transfer=transfer)
    st_plain = json.loads(plain.file("stats.json").read_text(encoding="utf-8"))
    st = json.loads(union.file("stats.json").read_text(encoding="utf-8"))
    assert st_plain["filter"]["dropped_capitalised"] == 2 and st_plain["filter"]["out"] == 0
    kept = read_sentences(union.file("projected.jsonl"))
    assert [s.tokens for s in kept] == tgt  # "Kano" labelled by transfer, "Lagos" unknown (not trained as O)
    assert kept[0].spans == (Span(0, 1, "PER"), Span(2, 3, "LOC")) and kept[1].unknown == (2,)
    assert st["transfer"] == {"added": {"LOC": 1}, "n_added": 1, "unknown_tokens": 1, "sentences": 2,
                              "overlapping": 1, "below": 0}
    with pytest.raises(ProjnerError) as e:  # transfer on without the target-side labels
        project_step(r, ProjectionConfig(transfer=0.5), labelled, tgt, aligned)
    assert e.value.code is E.E207


def test_labeller_as_candidate_source_of_fusion(world, holey_links, tmp_path):
    r = StepRunner(Cache(tmp_path / "cache"))
    src, tgt = load_parallel(PAR, "xx", str(world))
    cfg = _cfg(world, holey_links, method="fusion", params={"ner_model": "labeller"})
    _, labeller, _, _, projected = label_align_project(r, cfg, src, tgt, back_side="source", src_lang="en")
    st = json.loads(projected.file("stats.json").read_text(encoding="utf-8"))
    assert f"candidates:tagger|model:labeller@{labeller[0][:16]}" in st["signature"]
    assert projected.manifest["inputs"]["ner_model"] == labeller[0]  # the labeller's fingerprint is in the key
    plain = _cfg(world, holey_links, method="fusion")
    *_, without = label_align_project(r, plain, src, tgt, back_side="source", src_lang="en")
    assert without.fingerprint != projected.fingerprint


def test_transfer_settings_are_validated(world):
    for kw in (dict(transfer=0.0), dict(transfer=1.2), dict(transfer_unknown=0.3), dict(transfer=0.5, transfer_unknown=0.5)):
        with pytest.raises(ProjnerError) as e:
            ProjectionConfig(**kw)
        assert e.value.code is E.E207
    doc = {"labels": ["PER"], "methods": {"t": {"method": "heuristic", "transfer": 0.8, "transfer_unknown": 0.4}},
           "grid": {"languages": ["xx"], "methods": ["t"]}}
    exp = parse_config(doc)
    proj = pipeline_config(exp, next(s for s in exp.runs() if s.system == "projection")).projection
    assert (proj.transfer, proj.transfer_unknown) == (0.8, 0.4)
    with pytest.raises(ProjnerError) as e:
        parse_config({**doc, "methods": {"t": {"method": "heuristic", "transfer": 0}}})
    assert e.value.code is E.E200 and "methods.t.transfer" in str(e.value)


def test_translate_train_cli_transfer_options(world, tmp_path, capsys):
    from testutil import run_cli

    d = world / "mafand_mt" / "en-xx"
    args = ["translate-train", "--lang", "xx", "--labeller", "crf", "--backend", "crf", "--src", str(d / "train.en"), "--tgt", str(d / "train.xx"),
            "--out", str(tmp_path / "model"), "--data", str(world), "--cache", str(tmp_path / "cache"), "--sym", "intersection"]
    code, out, err = run_cli(args + ["--transfer", "0.6", "--transfer-unknown", "0.3"], capsys)
    assert code == 0, err
    assert "F1 " in out and "model transfer added" in err and "words marked unknown" in err
    code, _, err = run_cli(args + ["--transfer", "0.5", "--transfer-unknown", "0.7"], capsys)
    assert code == 2 and "E207" in err and "transfer_unknown" in err


def test_config_check_knows_the_labeller_and_model_folders_as_ner_model(world, tmp_path):
    from projner.pipeline.config_check import check_experiment

    folder = tmp_path / "some-model"
    folder.mkdir()
    doc = {"labels": ["PER"], "grid": {"languages": ["xx"], "methods": ["a", "b", "c", "d"]},
           "methods": {"a": {"method": "fusion", "params": {"ner_model": "labeller"}, "transfer": 0.8},
                       "b": {"method": "ner", "params": {"ner_model": str(folder)}},
                       "c": {"method": "ner", "params": {"ner_model": "bert"}},
                       "d": {"method": "heuristic", "transfer_unknown": 0.4}}}
    problems = [p for p in check_experiment(parse_config(doc), data=str(world)) if p[0].startswith("methods.")]
    assert [p[0] for p in problems] == ["methods.c.params.ner_model", "methods.d.transfer_unknown"]
    assert "labeller" in problems[0][1]
