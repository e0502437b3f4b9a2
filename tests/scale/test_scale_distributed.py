"""Scale-out (issue 8.5): sharded align + project on a local Ray cluster equals the single-process path."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass

import pytest

from projner.errors import E, ProjnerError
from projner.pipeline.files import align_files, project_files
from projner.registry import aligners
from projner.scale.distributed import align_project_distributed, align_project_local
from projner.scale.synthetic import make_pair, name_pools, write_synthetic
from projner.types import Alignment, Link


@dataclass(frozen=True)
class _PrefixAligner:
    """Deterministic: links words with the same lowercased 3-letter prefix (a stand-in for eflomal)."""

    def signature(self) -> str:
        return "aligner:test-prefix"

    def align(self, src, tgt):
        out = []
        for s, t in zip(src, tgt):
            out.append(Alignment(tuple(Link(i, j) for i, a in enumerate(s) for j, b in enumerate(t) if a[:3].lower() == b[:3].lower())))
        return out


aligners.register("projner.aligner.testprefix.v1")(lambda **kw: _PrefixAligner())


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_synthetic(tmp_path_factory.mktemp("synthetic"), 23, seed=3)


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray")
    pytest.importorskip("ray.data")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


def _single_process(corpus, out):
    """The existing single-process path: project_files over the whole corpus."""
    project_files(str(corpus.src), str(corpus.tgt), str(corpus.links), str(out), method="heuristic")
    return out.read_text(encoding="utf-8")


def test_synthetic_corpus_is_deterministic_and_gold_links_project_the_gold(tmp_path, corpus):
    import random

    pools = name_pools(0)
    a = [make_pair(random.Random(5), pools) for _ in range(3)]
    b = [make_pair(random.Random(5), pools) for _ in range(3)]
    assert a == b
    again = write_synthetic(tmp_path / "again", 23, seed=3)
    assert again.src.read_bytes() == corpus.src.read_bytes() and again.links.read_bytes() == corpus.links.read_bytes()
    from projner.data.formats import read_corpus
    from projner.evaluate.spans import evaluate_spans

    pred = project_files(str(corpus.src), str(corpus.tgt), str(corpus.links), None).sentences
    gold = read_corpus(corpus.gold).sentences
    assert sum(len(s.spans) for s in gold) > 20
    assert evaluate_spans(gold, pred).f1 == 1.0


def test_local_shards_equal_single_process_with_links(tmp_path, corpus):
    want = _single_process(corpus, tmp_path / "single.jsonl")
    res = align_project_local(corpus.src, corpus.tgt, tmp_path / "out", alignments=corpus.links, shard_size=5, progress=False)
    assert res.n_shards == 5 and res.shards_computed == 5 and res.n_pairs == 23
    assert (tmp_path / "out" / "projected.jsonl").read_text(encoding="utf-8") == want
    assert (tmp_path / "out" / "alignments.pharaoh").read_text(encoding="utf-8") == corpus.links.read_text(encoding="utf-8")
    assert res.projection["n_source"] > 20 and res.projection["n_projected"] == res.projection["n_source"]
    assert json.loads((tmp_path / "out" / "scale.json").read_text())["n_pairs"] == 23


def test_local_shards_equal_single_process_with_a_deterministic_aligner(tmp_path, corpus):
    align_files(str(corpus.src), str(corpus.tgt), str(tmp_path / "single.pharaoh"), aligner="testprefix")
    project_files(str(corpus.src), str(corpus.tgt), str(tmp_path / "single.pharaoh"), str(tmp_path / "single.conll"))
    res = align_project_local(corpus.src, corpus.tgt, tmp_path / "out", aligner="testprefix", shard_size=4,
                              out_format="conll", progress=False)
    assert res.n_shards == 6
    assert (tmp_path / "out" / "alignments.pharaoh").read_text() == (tmp_path / "single.pharaoh").read_text()
    assert (tmp_path / "out" / "projected.conll").read_text() == (tmp_path / "single.conll").read_text()
    assert "aligner:test-prefix" in res.signature and "shard:4" in res.signature


def test_ray_equals_single_process_and_keeps_the_order(tmp_path, corpus, ray_cluster):
    want = _single_process(corpus, tmp_path / "single.jsonl")
    res = align_project_distributed(corpus.src, corpus.tgt, tmp_path / "ray", alignments=corpus.links, shard_size=3, progress=False)
    assert res.mode == "ray" and res.n_shards == 8 and res.shards_computed == 8 and res.cores == 2.0
    got = (tmp_path / "ray" / "projected.jsonl").read_text(encoding="utf-8")
    assert got == want
    tgt_lines = corpus.tgt.read_text(encoding="utf-8").splitlines()
    assert [" ".join(json.loads(x)["tokens"]) for x in got.splitlines()] == tgt_lines  # original order
    assert (tmp_path / "ray" / "alignments.pharaoh").read_text() == corpus.links.read_text()
    assert res.pairs_per_s > 0 and res.pairs_per_s_per_core == pytest.approx(res.pairs_per_s / 2)


def test_ray_resume_skips_finished_shards(tmp_path, corpus, ray_cluster):
    out = tmp_path / "ray"
    first = align_project_distributed(corpus.src, corpus.tgt, out, alignments=corpus.links, shard_size=5, progress=False)
    assert first.shards_computed == 5
    before = (out / "projected.jsonl").read_bytes()
    again = align_project_distributed(corpus.src, corpus.tgt, out, alignments=corpus.links, shard_size=5, progress=False)
    assert (again.shards_computed, again.shards_reused) == (0, 5)
    assert (out / "projected.jsonl").read_bytes() == before
    # a lost shard (e.g. a killed run) is recomputed, and only that one
    lost = sorted((out / "shards").glob("*.json"))[0]
    lost.unlink()
    third = align_project_distributed(corpus.src, corpus.tgt, out, alignments=corpus.links, shard_size=5, progress=False)
    assert (third.shards_computed, third.shards_reused) == (1, 4)
    assert (out / "projected.jsonl").read_bytes() == before
    # other projector parameters: other fingerprints, nothing reused
    other = align_project_distributed(corpus.src, corpus.tgt, out, alignments=corpus.links, shard_size=5, progress=False,
                                      projector_params={"min_ratio": 0.5})
    assert other.shards_reused == 0


def test_a_worker_failure_names_the_shard(tmp_path, corpus, ray_cluster):
    # the test aligner is registered in this process only: Ray workers do not know it (like a
    # cluster node without a plugin installed), so every shard fails there
    with pytest.raises(ProjnerError) as err:
        align_project_distributed(corpus.src, corpus.tgt, tmp_path / "o", aligner="testprefix", shard_size=10, progress=False)
    assert err.value.code is E.E261
    assert re.search(r"Shard \d \(pairs \d+-\d+\) failed in a Ray worker: .*testprefix", str(err.value))


def test_a_failing_shard_keeps_the_finished_ones(tmp_path, corpus, monkeypatch):
    from projner.scale import worker

    real = worker.process_pairs
    poisoned = tuple(corpus.tgt.read_text(encoding="utf-8").splitlines()[12].split())

    def flaky(src, tgt, links, spec, *first):  # first: the shard's first row (numbers Parquet rows)
        if any(t.tokens == poisoned for t in tgt):
            raise RuntimeError("worker lost")
        return real(src, tgt, links, spec, *first)

    monkeypatch.setattr(worker, "process_pairs", flaky)
    with pytest.raises(ProjnerError, match=r"\[E261\] Shard 2 \(pairs 11-15\).*worker lost"):
        align_project_local(corpus.src, corpus.tgt, tmp_path / "o", alignments=corpus.links, shard_size=5, progress=False)
    assert len(list((tmp_path / "o" / "shards").glob("*.json"))) >= 3  # the others are kept
    monkeypatch.setattr(worker, "process_pairs", real)
    res = align_project_local(corpus.src, corpus.tgt, tmp_path / "o", alignments=corpus.links, shard_size=5, progress=False)
    assert res.shards_computed < 5 and res.shards_reused + res.shards_computed == 5


def test_missing_ray_gives_the_optional_dependency_error(tmp_path, corpus, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    monkeypatch.setitem(sys.modules, "ray.data", None)
    with pytest.raises(ProjnerError) as err:
        align_project_distributed(corpus.src, corpus.tgt, tmp_path / "o", alignments=corpus.links, progress=False)
    assert err.value.code is E.E020 and "projner[scale]" in str(err.value)
    # the single-process path needs no Ray
    res = align_project_local(corpus.src, corpus.tgt, tmp_path / "o", alignments=corpus.links, progress=False)
    assert res.n_pairs == 23


def test_bad_settings_are_rejected(tmp_path, corpus):
    with pytest.raises(ProjnerError, match="shard_size must be >= 1"):
        align_project_local(corpus.src, corpus.tgt, tmp_path / "o", alignments=corpus.links, shard_size=0, progress=False)
    with pytest.raises(ProjnerError, match="not both"):
        align_project_local(corpus.src, corpus.tgt, tmp_path / "o", alignments=corpus.links, aligner="eflomal", progress=False)
    with pytest.raises(ProjnerError, match="output format"):
        align_project_local(corpus.src, corpus.tgt, tmp_path / "o", alignments=corpus.links, out_format="xml", progress=False)
    short = tmp_path / "short.txt"
    short.write_text("a b\n")
    with pytest.raises(ProjnerError) as err:
        align_project_local(corpus.src, short, tmp_path / "o", alignments=corpus.links, progress=False)
    assert err.value.code is E.E001


def test_cli_scale_local(tmp_path, corpus):
    import typer
    from typer.testing import CliRunner

    from projner.cli import scale as scale_cli

    app = typer.Typer()
    scale_cli.register(app)
    app.command("noop")(lambda: None)  # a second command keeps typer from flattening the app
    res = CliRunner().invoke(app, ["scale", "--src", str(corpus.src), "--tgt", str(corpus.tgt), "--align", str(corpus.links),
                                   "--out", str(tmp_path / "cli"), "--local", "--shard-size", "10", "-q"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "cli" / "projected.jsonl").read_text() == _single_process(corpus, tmp_path / "single.jsonl")


def test_scale_out_study_runs_reports_and_resumes(tmp_path, ray_cluster):
    from projner.pipeline.experiment import parse_config, run_experiment

    cfg = parse_config({"study": "scale_out", "sizes": [40], "shard_size": 15, "num_cpus": [2],
                        "aligners": [{"name": "pharaoh"}], "work": str(tmp_path / "work")})
    assert [r.run_id for r in cfg.runs()] == ["synthetic__N40__pharaoh__single", "synthetic__N40__pharaoh__ray2"]
    out = run_experiment(cfg, tmp_path / "res", cache=str(tmp_path / "cache"), verbose=False)
    recs = {p.stem: json.loads(p.read_text()) for p in (out / "runs").glob("*.json")}
    single, ray = recs["synthetic__N40__pharaoh__single"], recs["synthetic__N40__pharaoh__ray2"]
    assert single["status"] == ray["status"] == "ok", (single.get("error"), ray.get("error"))
    assert single["f1"] == ray["f1"] == 1.0  # gold links project the gold
    assert ray["n_shards"] == 3 and ray["cores"] == 2.0 and single["cores"] == 1.0
    assert ray["pairs_per_s_per_core"] == pytest.approx(ray["pairs_per_s"] / 2)
    assert (tmp_path / "work" / "synthetic__N40__pharaoh__single" / "projected.jsonl").read_bytes() == \
        (tmp_path / "work" / "synthetic__N40__pharaoh__ray2" / "projected.jsonl").read_bytes()
    md = (out / "scale_out.md").read_text()
    assert "| 40 | pharaoh | single process | 1 | 1 |" in md and "| 40 | pharaoh | Ray, 2 CPUs | 2 | 3 |" in md
    assert (out / "scale_out.png").stat().st_size > 0 and (out / "results.md").is_file()
    with pytest.raises(ProjnerError, match=r"num_cpus\[0\]: must be >= 1"):
        parse_config({"study": "scale_out", "num_cpus": [0]})
    stamp = (out / "runs" / "synthetic__N40__pharaoh__ray2.json").stat().st_mtime_ns
    run_experiment(cfg, tmp_path / "res", cache=str(tmp_path / "cache"), verbose=False)  # finished runs are skipped
    assert (out / "runs" / "synthetic__N40__pharaoh__ray2.json").stat().st_mtime_ns == stamp


# ----------------------------------------------------------------------------- shard keys cover code (issue 13)

_TMP_ALIGNER = '''"""A prefix aligner in a module of its own (the tests edit this file)."""
from projner.types import Alignment, Link

N = 3


class PrefixAligner:
    def signature(self):
        return "aligner:tmpcode"

    def align(self, src, tgt):
        return [Alignment(tuple(Link(i, j) for i, a in enumerate(s) for j, b in enumerate(t)
                                if a[:N].lower() == b[:N].lower())) for s, t in zip(src, tgt)]


def make(**kw):
    return PrefixAligner()
'''


def _load_tmp_aligner(path, monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("projner_test_tmpaligner", path)
    mod = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "projner_test_tmpaligner", mod)
    spec.loader.exec_module(mod)
    monkeypatch.setitem(aligners._items, "projner.aligner.tmpcode.v1", mod.make)
    return mod


def _edit(path, text):
    import os

    st = os.stat(path)
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(st.st_mtime_ns + 10**9, st.st_mtime_ns + 10**9))


def test_a_code_change_changes_the_shard_keys(tmp_path, corpus, monkeypatch):
    from projner.scale.keys import shard_code_key
    from projner.scale.spec import ScaleSpec

    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    path = tmp_path / "projner_test_tmpaligner.py"
    path.write_text(_TMP_ALIGNER, encoding="utf-8")
    _load_tmp_aligner(path, monkeypatch)
    key = shard_code_key(ScaleSpec(aligner="tmpcode"))
    assert key.components == ("projner.aligner.tmpcode.v1", "projner.projector.heuristic.v1")
    assert "module:projner_test_tmpaligner" in key.code and "module:projner.scale.shards" in key.code

    out = tmp_path / "o"

    def run():
        return align_project_local(corpus.src, corpus.tgt, out, aligner="tmpcode", shard_size=5, progress=False)

    assert run().shards_computed == 5
    before = (out / "projected.jsonl").read_bytes()
    assert (run().shards_reused, (out / "projected.jsonl").read_bytes()) == (5, before)
    # a comment and a docstring do not change what the aligner does: still reused
    _edit(path, _TMP_ALIGNER.replace('"""A prefix aligner', '"""A reworded prefix aligner').replace("N = 3", "N = 3  # chars"))
    _load_tmp_aligner(path, monkeypatch)
    assert run().shards_reused == 5
    # a change to the aligner's code: every shard is recomputed, none reused
    _edit(path, _TMP_ALIGNER.replace("N = 3", "N = 4"))
    _load_tmp_aligner(path, monkeypatch)
    res = run()
    assert (res.shards_computed, res.shards_reused) == (5, 0)


def test_an_engine_version_changes_the_shard_keys(monkeypatch):
    import projner.fingerprint as F
    from projner.scale.keys import range_key, shard_code_key
    from projner.scale.spec import ScaleSpec

    spec = ScaleSpec(aligner="eflomal")
    content = {"rows": [0, 2], "src": {"blocks": ["d1"]}, "tgt": {"blocks": ["d2"]}}
    key = range_key(shard_code_key(spec), content)
    assert key == range_key(shard_code_key(spec), dict(content))  # same content, same key
    assert key != range_key(shard_code_key(spec), {**content, "rows": [2, 4]})
    real = F.engine_version
    monkeypatch.setattr(F, "engine_version", lambda name: "99.0" if name == "eflomal" else real(name))
    assert range_key(shard_code_key(spec), content) != key


# ----------------------------------------------------------------------------- shard output = write_corpus (issue 14)


@pytest.mark.parametrize("out_format", ["conll", "jsonl"])
def test_a_shard_with_an_empty_sentence_writes_what_write_corpus_writes(tmp_path, out_format):
    from projner.data.formats import write_corpus
    from projner.scale.shards import process_pairs
    from projner.scale.spec import ScaleSpec
    from projner.types import Sentence, Span

    src = [Sentence(("John", "lives", "in", "Paris")), Sentence(()), Sentence(("Mary", "left"), (Span(0, 1, "PER"),))]
    src[0] = Sentence(src[0].tokens, (Span(0, 1, "PER"), Span(3, 4, "LOC")))
    tgt = [Sentence(("Yohana", "anaishi", "Parisi"), (), "a"), Sentence((), (), "b"), Sentence(("Mariamu", "aliondoka"), (), "c")]
    links = [Alignment((Link(0, 0), Link(1, 1), Link(3, 2))), Alignment(()), Alignment((Link(0, 0), Link(1, 1)))]
    spec = ScaleSpec(aligner="pharaoh", out_format=out_format)
    res = process_pairs(src, tgt, links, spec)
    projected = [Sentence(tgt[0].tokens, (Span(0, 1, "PER"), Span(2, 3, "LOC")), "a"), tgt[1],
                 Sentence(tgt[2].tokens, (Span(0, 1, "PER"),), "c")]
    want = tmp_path / f"want.{out_format}"
    write_corpus(want, projected, fmt=out_format)
    assert res["projected"].encode("utf-8") == want.read_bytes()
    assert res["pharaoh"] == "0-0 1-1 3-2\n\n0-0 1-1\n"


def test_sharded_output_with_an_empty_sentence_equals_the_single_process_output(tmp_path):
    src = tmp_path / "src.conll"
    src.write_text("John\tB-PER\nlives\tO\n\n-EMPTY-\tO\n\nMary\tB-PER\nleft\tO\n\n", encoding="utf-8")
    tgt = tmp_path / "tgt.txt"
    tgt.write_text("Yohana anaishi\n\nMariamu aliondoka\n", encoding="utf-8")
    links = tmp_path / "links.pharaoh"
    links.write_text("0-0 1-1\n\n0-0 1-1\n", encoding="utf-8")
    project_files(str(src), str(tgt), str(links), str(tmp_path / "single.conll"))
    res = align_project_local(src, tgt, tmp_path / "out", alignments=links, shard_size=2, out_format="conll", progress=False)
    assert res.n_pairs == 3 and res.n_shards == 2
    got = (tmp_path / "out" / "projected.conll").read_bytes()
    assert got == (tmp_path / "single.conll").read_bytes()
    assert got.count(b"-EMPTY-\tO\n\n") == 1
