"""Issue 16: eflomal priors end to end in scale-out, with the real eflomal on small shards."""

from __future__ import annotations

import hashlib
import json

import pytest

from projner.scale.distributed import align_project_local
from projner.scale.synthetic import write_synthetic

pytest.importorskip("eflomal")

PARAMS = {"n_samplers": 1}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_synthetic(tmp_path_factory.mktemp("synthetic"), 240, seed=11)


def _shard_records(out):
    manifest = json.loads((out / "manifest.json").read_text())
    return [json.loads((out / "shards" / f"{s['key']}.json").read_text()) for s in manifest["shards"]]


def _run(corpus, out, **kw):
    return align_project_local(corpus.src, corpus.tgt, out, aligner="eflomal", aligner_params=PARAMS, shard_size=60,
                               progress=False, **kw)


def test_scale_trains_priors_once_and_every_shard_aligns_with_them(tmp_path, corpus):
    out = tmp_path / "out"
    first = _run(corpus, out, priors_sample=150)
    assert (first.n_shards, first.shards_computed) == (4, 4)
    trained = list((out / "priors").glob("priors-*.txt"))
    assert len(trained) == 1
    sha = hashlib.sha256(trained[0].read_bytes()).hexdigest()
    recorded = json.loads((out / "scale.json").read_text())["priors"]
    assert recorded["sha256"] == sha and recorded["source"] == "trained" and recorded["sample"]["pairs"] == 150
    assert json.loads((out / "manifest.json").read_text())["priors"]["sha256"] == sha
    sigs = [r["signature"] for r in _shard_records(out)]
    assert len(sigs) == 4 and all(f"|priors:{sha[:16]}|priors-weight:16|" in s for s in sigs), sigs
    assert recorded["weight"] == 16  # the measured default (SHARD_PRIORS_WEIGHT)
    assert first.aligner_stats.get("priors_lex_used", 0) > 0  # the shards' runs found the priors' words
    stamp = trained[0].stat().st_mtime_ns
    again = _run(corpus, out, priors_sample=150)  # resume: the same sample, the same priors file, no shard recomputed
    assert (again.shards_computed, again.shards_reused) == (0, 4)
    assert trained[0].stat().st_mtime_ns == stamp and json.loads((out / "scale.json").read_text())["priors"] == recorded
    # a priors weight (projner scale --priors-weight) is part of every shard's key and signature
    heavy = align_project_local(corpus.src, corpus.tgt, out, aligner="eflomal", aligner_params={**PARAMS, "priors_weight": 4},
                                shard_size=60, progress=False, priors_sample=150)
    assert heavy.shards_computed == 4
    assert all("|priors-weight:4|" in r["signature"] for r in _shard_records(out))
    assert list((out / "priors").glob("priors-*.txt")) == trained  # the weight does not retrain the priors
    assert json.loads((out / "scale.json").read_text())["priors"]["weight"] == 4


def test_a_changed_priors_file_recomputes_every_shard(tmp_path, corpus):
    from projner.align.priors import train_priors
    from projner.data.formats import read_corpus

    src = [list(s.tokens) for s in read_corpus(corpus.src).sentences]
    tgt = [line.split() for line in corpus.tgt.read_text(encoding="utf-8").splitlines()]
    given = tmp_path / "given.priors"
    train_priors(src[:100], tgt[:100], given, **PARAMS)
    out = tmp_path / "out"
    first = _run(corpus, out, priors=str(given))
    assert first.shards_computed == 4 and first.priors["source"] == "given"
    sha = hashlib.sha256(given.read_bytes()).hexdigest()
    assert all(f"|priors:{sha[:16]}|" in r["signature"] for r in _shard_records(out))
    assert _run(corpus, out, priors=str(given)).shards_reused == 4
    train_priors(src[100:], tgt[100:], given, **PARAMS)  # the same path, other priors
    sha2 = hashlib.sha256(given.read_bytes()).hexdigest()
    assert sha2 != sha
    changed = _run(corpus, out, priors=str(given))
    assert (changed.shards_computed, changed.shards_reused) == (4, 0)
    assert changed.priors["sha256"] == sha2 and all(f"|priors:{sha2[:16]}|" in r["signature"] for r in _shard_records(out))
