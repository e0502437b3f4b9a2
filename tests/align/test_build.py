"""One way to build an aligner from its name (projner.align.build), used by the CLI, the pipeline
steps, the file jobs, the studies and the scale-out shards."""

import sys

import pytest

from projner.align.build import build_aligner
from projner.align.eflomal import EflomalAligner
from projner.errors import E, ProjnerError


def test_short_and_versioned_names_build_the_same_aligner_without_touching_params():
    params = {"sym": "intersection", "prefix_len": 0}
    short = build_aligner("eflomal", params)
    full = build_aligner("projner.aligner.eflomal.v1", params)
    assert isinstance(short, EflomalAligner) and isinstance(full, EflomalAligner)
    assert short.signature() == full.signature() and "sym:intersection" in short.signature()
    assert params == {"sym": "intersection", "prefix_len": 0}
    assert len(short.align([["a", "b"]], [["a", "b"]])) == 1


def test_unknown_aligner_is_e017_naming_it():
    with pytest.raises(ProjnerError) as err:
        build_aligner("no_such_aligner_xyz", {})
    assert err.value.code is E.E017 and "no_such_aligner_xyz" in str(err.value)


def test_neural_aligner_without_torch_is_e020_with_the_pip_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now fails as if it were not installed
    with pytest.raises(ProjnerError) as err:
        build_aligner("neural", {"model": "bert-base-multilingual-cased", "device": "cpu"})
    assert err.value.code is E.E020 and "torch" in str(err.value) and "pip install" in str(err.value)


def test_the_pipeline_step_and_the_file_job_build_the_same_aligner(tmp_path):
    """align_step (pipeline) and align_files (CLI job) go through build_aligner: same links, same signature."""
    from projner.pipeline.cache import Cache, StepRunner, read_alignments
    from projner.pipeline.config import AlignerConfig
    from projner.pipeline.files import align_files
    from projner.pipeline.steps import align_step

    src = [["w1", "w2", "w3"], ["w2", "w4"], ["w3", "w1"]] * 20
    tgt = [[w + "x" for w in s] for s in src]
    (tmp_path / "s.txt").write_text("".join(" ".join(s) + "\n" for s in src), encoding="utf-8")
    (tmp_path / "t.txt").write_text("".join(" ".join(t) + "\n" for t in tgt), encoding="utf-8")
    params = {"sym": "intersection", "prefix_len": 0, "n_samplers": 1}
    entry = align_step(StepRunner(Cache(tmp_path / "cache")), AlignerConfig(name="eflomal", params=params), src, tgt)
    job = align_files(str(tmp_path / "s.txt"), str(tmp_path / "t.txt"), None, aligner="eflomal", params=params)
    assert entry.manifest["info"]["signature"] == job.signature
    assert len(read_alignments(entry.file("links.align"))) == len(job.alignments) == len(src)
