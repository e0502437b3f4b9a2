"""The scaling study: nested seeded subsets, size collapse, config errors, a tiny end-to-end run."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pipeline"))

from synth import _conll, make  # noqa: E402

from projner.errors import ProjnerError  # noqa: E402
from projner.pipeline.cache import Cache, StepRunner  # noqa: E402
from projner.pipeline.experiment import parse_config, report_folder, run_experiment  # noqa: E402
from projner.data.datasets import ParallelConfig  # noqa: E402
from projner.pipeline.config import (  # noqa: E402
    AlignerConfig,
    LabellerConfig,
    ModelConfig,
    ProjectionConfig,
    TranslateTrainConfig,
)
from projner.pipeline.translate_train import translate_train  # noqa: E402
from projner.research.scaling import effective_size, permutation, subset_indices  # noqa: E402

FAST = {"max_iterations": 30}
ALIGNER = {"name": "eflomal", "params": {"sym": "intersection", "prefix_len": 4, "copy_dictionary": True}}


# ----------------------------------------------------------------------------- subsampling


def test_subsets_are_nested_deterministic_and_in_corpus_order():
    n = 500
    prev: set[int] = set()
    for size in (10, 50, 200, 499):
        idx = subset_indices(n, size, seed=3, key="mafand|swa")
        assert len(idx) == size == len(set(idx))
        assert idx == sorted(idx) and all(0 <= i < n for i in idx)
        assert prev <= set(idx)  # nested
        prev = set(idx)
    assert subset_indices(n, 50, 3, "k") == subset_indices(n, 50, 3, "k")  # deterministic
    assert subset_indices(n, 50, 3, "k") != subset_indices(n, 50, 4, "k")  # the seed matters
    assert subset_indices(n, 50, 3, "k") != subset_indices(n, 50, 3, "other")  # and the source/language key
    assert sorted(permutation(n, 0)) == list(range(n)) and permutation(n, 0) != list(range(n))


def test_sizes_collapse_to_all():
    assert subset_indices(40, "all", 0) == list(range(40))
    assert subset_indices(40, 40, 0) == list(range(40)) == subset_indices(40, 1000, 5)
    assert effective_size(1000, 40) == "all" and effective_size(40, 40) == "all"
    assert effective_size(39, 40) == 39 and effective_size("all", 40) == "all"


# ----------------------------------------------------------------------------- config


def test_config_plan_and_errors_name_key_paths():
    cfg = parse_config({"study": "scaling", "languages": ["swa"], "sizes": ["all", 100, 10],
                        "sources": ["bible", "mafand"], "seeds": [0, 1]})
    assert cfg.study == "projner.study.scaling.v1"
    assert [r.run_id for r in cfg.runs()] == [
        "swa__bible__10__s0", "swa__bible__10__s1", "swa__bible__100__s0", "swa__bible__100__s1", "swa__bible__all",
        "swa__mafand__10__s0", "swa__mafand__10__s1", "swa__mafand__100__s0", "swa__mafand__100__s1", "swa__mafand__all"]
    bad = [
        ({"sizes": [0]}, r"sizes\[0\]: must be >= 1"),
        ({"sizes": [10, "ten"]}, r"sizes\[1\]: expected a positive integer or 'all'"),
        ({"sizes": [10, 10]}, r"sizes\[1\]: duplicate size 10"),
        ({"sizes": []}, r"sizes: must not be empty"),
        ({"sources": ["mafand", "wiki"]}, r"sources\[1\]: unknown source 'wiki'"),
        ({"seeds": [-1]}, r"seeds\[0\]: must be >= 0"),
        ({"projection": {"method": "heuristic", "filter": "most"}}, r"projection.filter: unknown filter 'most'"),
        ({"aligner": {"params": {}}}, r"aligner.name: required key is missing"),
        ({"model": {"backend": "crf", "epochs": 2}}, r"model.epochs: unknown key"),
        ({"labeller": {"params": {"c1": {"x": 1}}}}, r"labeller.params.c1: parameter values must be scalars"),
        ({"grid": {}}, r"grid: unknown key"),
    ]
    for extra, msg in bad:
        with pytest.raises(ProjnerError, match=msg):
            parse_config({"study": "scaling", "languages": ["swa"], **extra})
    with pytest.raises(ProjnerError, match="languages: required key is missing"):
        parse_config({"study": "scaling"})


# ----------------------------------------------------------------------------- end to end


def _world(root: Path, n_mafand: int = 60, n_bible: int = 40, seed: int = 11) -> Path:
    """A miniature data folder for 'swa': CoNLL English, MAFAND (two splits), Bible TSVs, test set."""
    rng = random.Random(seed)
    conll = root / "conll2003_en" / "original_iob1"
    conll.mkdir(parents=True)
    (conll / "eng.train").write_text(_conll([make(rng) for _ in range(60)], "en"), encoding="utf-8")
    (conll / "eng.testa").write_text(_conll([make(rng) for _ in range(20)], "en"), encoding="utf-8")
    mt = root / "mafand_mt" / "en-swa"
    mt.mkdir(parents=True)
    par = [make(rng) for _ in range(n_mafand)]
    for split, chunk in (("train", par[: n_mafand // 2]), ("dev", par[n_mafand // 2:])):
        (mt / f"{split}.en").write_text("".join(" ".join(it.en) + "\n" for it in chunk), encoding="utf-8")
        (mt / f"{split}.swa").write_text("".join(" ".join(it.xx) + "\n" for it in chunk), encoding="utf-8")
    bible = root / "bible"
    bible.mkdir()
    verses = [make(rng) for _ in range(n_bible)]
    (bible / "English-KJV.tsv").write_text("".join(f"b.1.{k}\t{' '.join(it.en)}\n" for k, it in enumerate(verses)), encoding="utf-8")
    (bible / "Swahili-NT.tsv").write_text("".join(f"b.1.{k}\t{' '.join(it.xx)}\n" for k, it in enumerate(verses)), encoding="utf-8")
    mk = root / "masakhaner2" / "swa"
    mk.mkdir(parents=True)
    (mk / "test.txt").write_text(_conll([make(rng) for _ in range(30)], "xx"), encoding="utf-8")
    return root


def test_tiny_study_end_to_end_resume_and_report(tmp_path):
    data = _world(tmp_path / "data")
    obj = {"study": "scaling", "name": "tiny_scaling", "data": str(data), "languages": ["swa", "yy"],
           "sizes": [20, 50, "all"], "sources": ["mafand", "bible", "mixed"], "seeds": [0],
           "mafand_splits": ["train", "dev"], "labeller": {"params": FAST}, "aligner": ALIGNER,
           "model": {"backend": "crf", "params": FAST}}
    cfg = parse_config(obj)
    logs: list[str] = []
    out = run_experiment(cfg, tmp_path / "res", cache=str(tmp_path / "cache"), verbose=False, log=logs.append)
    recs = {p.stem: json.loads(p.read_text()) for p in (out / "runs").glob("*.json")}
    ok = {k: r for k, r in recs.items() if r["status"] == "ok"}
    # bible has 40 pairs: 50 collapses to all and is not run
    assert sorted(ok) == ["swa__bible__20__s0", "swa__bible__all", "swa__mafand__20__s0", "swa__mafand__50__s0",
                          "swa__mafand__all", "swa__mixed__20__s0", "swa__mixed__50__s0", "swa__mixed__all"]
    assert any("swa__bible__50__s0: 50 >= 40 pairs" in m for m in logs)
    # the language without data fails per point without losing the others
    assert {k for k, r in recs.items() if r["status"] == "error"} == {
        f"yy__{s}__{n}" for s in ("mafand", "bible", "mixed") for n in ("20__s0", "50__s0", "all")}
    assert {r["n_pairs"] for k, r in ok.items() if k.endswith("__20__s0")} == {20}
    assert ok["swa__mixed__all"]["pairs_by_kind"] == {"mafand": 60, "bible": 40}
    assert sum(ok["swa__mixed__50__s0"]["pairs_by_kind"].values()) == 50
    assert ok["swa__bible__all"]["n_pairs"] == 40 and ok["swa__mafand__all"]["label"] == "mafand all"
    for r in ok.values():
        assert 0.0 <= r["f1"] <= 1.0 and "labels:LOC,ORG,PER" in r["signature"]
        assert 0 < r["n_train"] <= r["n_pairs"] and r["projection_rate"] > 0.5
    assert ok["swa__mafand__all"]["f1"] > 0.5
    # "all" of one source is exactly the translate-train pipeline's steps (shared cache)
    res = translate_train(TranslateTrainConfig(
        lang="swa", parallel=ParallelConfig(kind="mafand", splits=("train", "dev")), data=str(data),
        labeller=LabellerConfig(params=FAST), aligner=AlignerConfig(**ALIGNER),
        projection=ProjectionConfig(method="heuristic", strip_determiners=True, filter="complete"),
        model=ModelConfig(params=FAST)), runner=StepRunner(Cache(tmp_path / "cache")))
    assert {k: res.steps[k] for k in ("label", "align", "project", "train", "evaluate")} == ok["swa__mafand__all"]["steps"]
    assert res.f1 == ok["swa__mafand__all"]["f1"]
    # a rerun skips every finished run
    logs.clear()
    run_experiment(cfg, tmp_path / "res", cache=str(tmp_path / "cache"), verbose=False, log=logs.append)
    assert sum(m.startswith("[done]") for m in logs) == 8 and not any(m.startswith("[run] swa") for m in logs)
    # the report: generic table + scaling table + learning curves
    (out / "scaling.md").unlink()
    report_folder(out)
    md = (out / "scaling.md").read_text()
    assert "## swa" in md and "| 50 | " in md and "= all" in md and "(all = 100)" in md
    assert (out / "learning_curves.png").stat().st_size > 1000
    assert "| mafand 20 | " in (out / "results.md").read_text()


@pytest.mark.parametrize("exc, recorded", [(OSError(13, "Permission denied"), True), (TypeError("a bug"), False)])
def test_unreadable_source_is_recorded_but_bugs_propagate(tmp_path, monkeypatch, exc, recorded):
    import projner.research.scaling as scaling

    def corpus(params, ctx, lang, source):
        raise exc

    monkeypatch.setattr(scaling, "_corpus", corpus)
    cfg = parse_config({"study": "scaling", "languages": ["swa"], "sizes": ["all"], "sources": ["mafand"]})
    if not recorded:  # a programming error is not turned into a run record
        with pytest.raises(TypeError, match="a bug"):
            run_experiment(cfg, tmp_path / "res", cache=str(tmp_path / "cache"), data=str(tmp_path), verbose=False)
        return
    out = run_experiment(cfg, tmp_path / "res", cache=str(tmp_path / "cache"), data=str(tmp_path), verbose=False)
    rec = json.loads((out / "runs" / "swa__mafand__all.json").read_text())
    assert rec["status"] == "error" and "Permission denied" in rec["error"]
