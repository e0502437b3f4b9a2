"""Seed ensembles of fast taggers (projner.ner.ensemble) on a tiny random BERT, and the pipeline's
ensemble of cached train steps."""

import itertools
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("tokenizers")
pytest.importorskip("safetensors")

from projner.errors import E, ProjnerError  # noqa: E402
from projner.ner import EnsembleTagger, FastTagger, load_tagger  # noqa: E402
from projner.ner.base import strict_f1  # noqa: E402
from projner.ner.ensemble import assemble  # noqa: E402
from projner.registry import create, taggers  # noqa: E402

LAYERS = "0,1,2"
PARAMS = dict(layers=LAYERS, hidden=32, epochs=12, lr=3e-3, batch_size=8, patience=12, dropout=0.1, progress=False,
              device="cpu", threads=1, precision="float32")


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory, toy_train):
    from tinymodels import build_tiny_bert

    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"), [" ".join(s.tokens) for s in toy_train])


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("embeddings")


@pytest.fixture(scope="module")
def members(tiny_bert, cache, toy_train, toy_test):
    return [FastTagger(tiny_bert, seed=k, cache_dir=cache, **PARAMS).fit(toy_train[:50], toy_test[:10]) for k in range(3)]


def _path_score(em: np.ndarray, start: np.ndarray, trans: np.ndarray, end: np.ndarray, path) -> float:
    s = start[path[0]] + em[0, path[0]] + end[path[-1]]
    for t in range(1, len(path)):
        s += trans[path[t - 1], path[t]] + em[t, path[t]]
    return float(s)


def test_one_member_is_the_member(members, toy_test):
    one = EnsembleTagger.of(members[:1])
    a, b = members[0].predict(toy_test), one.predict(toy_test)
    assert a == b
    for x, y in zip(a, b):
        assert [s.score for s in x.spans] == pytest.approx([s.score for s in y.spans], abs=1e-5)
    twice = EnsembleTagger.of([members[0], members[0]])  # the mean of identical scores is the same model
    assert twice.predict(toy_test) == a


def test_learns_and_decodes_the_product_of_experts(members, toy_test):
    ens = EnsembleTagger.of(members)
    assert ens.seeds == [0, 1, 2] and ens.labels == ("LOC", "ORG", "PER")
    held_out = toy_test[10:]
    pred = ens.predict([s.unlabelled() for s in held_out])
    assert strict_f1(held_out, pred) >= 0.9
    scores = [sp.score for p in pred for sp in p.spans]
    assert scores and all(0.0 < x <= 1.0 for x in scores)
    # brute force on a short sentence: the decoded path maximises the members' mean path score
    sent = next(s for s in held_out if 3 <= len(s) <= 5)
    tags = members[0]._tags
    crf = [m.head.crf for m in members]
    masks = (crf[0].start_mask.numpy(), crf[0].trans_mask.numpy())
    start = np.mean([c.start.detach().numpy() for c in crf], 0) + masks[0]
    trans = np.mean([c.transitions.detach().numpy() for c in crf], 0) + masks[1]
    end = np.mean([c.end.detach().numpy() for c in crf], 0)
    feats = members[0]._prepared(members[0]._features([sent]))
    x, mask, _ = members[0]._pad(feats, [0])
    with torch.no_grad():
        em = np.mean([m.head.emissions(x, mask)[0].numpy() for m in members], 0)
    scores = {p: _path_score(em, start, trans, end, p) for p in itertools.product(range(len(tags)), repeat=len(sent))}
    best = max(scores, key=scores.get)
    decoded = ens.predict([sent.unlabelled()])[0]
    from projner.data.schemes import encode

    assert encode(decoded.spans, len(sent), "iob2") == tuple(tags[k] for k in best)
    marg = ens.marginals([sent])[0]
    log_z = np.logaddexp.reduce(np.array(list(scores.values())))
    brute = np.zeros_like(marg)
    for p, s in scores.items():
        for t, k in enumerate(p):
            brute[t, k] += np.exp(s - log_z)
    np.testing.assert_allclose(marg, brute, atol=1e-5)


def test_batched_equals_unbatched(members, toy_test):
    ens = EnsembleTagger.of(members)
    together = ens.predict(toy_test)
    for m in members:
        m.eval_batch_size = 1
    try:
        alone = ens.predict(toy_test)
    finally:
        for m in members:
            m.eval_batch_size = 256
    assert together == alone


def test_save_load_and_assemble(members, toy_test, tmp_path):
    ens = EnsembleTagger.of(members)
    ens.save(tmp_path / "ens")
    meta = json.loads((tmp_path / "ens" / "meta.json").read_text())
    assert meta["backend"] == "ensemble" and meta["members"] == ["member-0", "member-1", "member-2"]
    assert meta["seeds"] == [0, 1, 2]
    assert not list((tmp_path / "ens").rglob("*.pkl")) and not list((tmp_path / "ens").rglob("*.bin"))
    again = load_tagger(tmp_path / "ens", progress=False, threads=1, cache_dir=False)
    assert isinstance(again, EnsembleTagger)
    expected = ens.predict(toy_test)
    assert again.predict(toy_test) == expected
    for k, m in enumerate(members):  # a member folder is a fast model of its own
        m.save(tmp_path / f"single{k}")
        assert isinstance(load_tagger(tmp_path / "ens" / f"member-{k}", progress=False, cache_dir=False), FastTagger)
    assemble(tmp_path / "built", [tmp_path / f"single{k}" for k in range(3)])
    built = load_tagger(tmp_path / "built", progress=False, threads=1, cache_dir=False)
    assert built.predict(toy_test) == expected
    (tmp_path / "built" / "member-1" / "meta.json").unlink()
    with pytest.raises(ProjnerError) as ei:
        load_tagger(tmp_path / "built", progress=False, cache_dir=False)
    assert ei.value.code is E.E143


def test_members_must_fit_together(members, tiny_bert, cache, toy_train, tmp_path):
    members[0].save(tmp_path / "a")
    other = FastTagger(tiny_bert, seed=0, cache_dir=cache, **{**PARAMS, "layers": "1,2", "epochs": 1}).fit(toy_train[:20])
    other.save(tmp_path / "b")
    with pytest.raises(ProjnerError) as ei:
        assemble(tmp_path / "bad", [tmp_path / "a", tmp_path / "b"])
    assert ei.value.code is E.E158 and "layers" in str(ei.value)
    with pytest.raises(ProjnerError) as ei:
        EnsembleTagger.of([members[0], other])
    assert ei.value.code is E.E158
    fewer = [s.with_spans([sp for sp in s.spans if sp.label != "ORG"]) for s in toy_train[:20]]
    no_org = FastTagger(tiny_bert, seed=0, cache_dir=cache, **{**PARAMS, "epochs": 1}).fit(fewer)
    with pytest.raises(ProjnerError) as ei:
        EnsembleTagger.of([members[0], no_org])
    assert ei.value.code is E.E158 and "tags" in str(ei.value)


def test_registered_fit(tiny_bert, cache, toy_train, toy_test):
    assert taggers.resolve("ensemble") == "projner.tagger.ensemble.v1"
    ens = create("tagger", "ensemble", model=tiny_bert, members=2, seed=5, cache_dir=cache, **{**PARAMS, "epochs": 2})
    ens.fit(toy_train[:30], toy_test[:10])
    assert ens.seeds == [5, 6] and len(ens.info["members"]) == 2
    assert len(ens.predict(toy_test[:5])) == 5
    with pytest.raises(ProjnerError) as ei:
        EnsembleTagger(tiny_bert, members=0)
    assert ei.value.code is E.E018
    with pytest.raises(ProjnerError) as ei:
        EnsembleTagger(tiny_bert, members=2, epochs=0)  # members' parameters are checked before any training
    assert ei.value.code is E.E018


def test_pipeline_ensemble_reuses_the_single_models(tiny_bert, tmp_path, toy_train, toy_test, monkeypatch):
    from projner.data.formats import write_corpus
    from projner.pipeline.cache import StepRunner
    from projner.pipeline.config import ModelConfig
    from projner.pipeline.steps import evaluate_step, train_model
    from projner.pipeline.translate_train import model_signature

    monkeypatch.setenv("PROJNER_CACHE", str(tmp_path / "cache"))
    with pytest.raises(ProjnerError) as ei:
        ModelConfig(backend="crf", ensemble=3)
    assert ei.value.code is E.E202
    with pytest.raises(ProjnerError):
        ModelConfig(backend="fast", ensemble=0)
    params = {"model": tiny_bert, "layers": LAYERS, "epochs": 2, "progress": False, "precision": "float32", "hidden": 32}
    cfg = ModelConfig(backend="fast", params=params, ensemble=3)
    assert cfg.member(0).params == params and [cfg.member(k).params["seed"] for k in (1, 2)] == [1, 2]
    assert ModelConfig(backend="fast", params={**params, "seed": 4}, ensemble=2).member(1).params["seed"] == 5
    assert model_signature(cfg)["ensemble"] == "3" and "ensemble" not in model_signature(cfg.member(0))

    train = tuple(toy_train[:30])
    runner = StepRunner.at(str(tmp_path / "steps"))
    single = train_model(runner, ModelConfig(backend="fast", params={**params, "seed": 1}), {"toy": "1"}, lambda: train)
    runner.events.clear()
    ens = train_model(runner, cfg, {"toy": "1"}, lambda: train)
    got = [(e.step, e.status) for e in runner.events]
    assert got == [("train", "miss"), ("train", "hit"), ("train", "miss"), ("ensemble", "miss")]
    assert ens.step == "ensemble" and ens.manifest["info"]["members"][1] == single.fingerprint
    write_corpus(tmp_path / "test.conll", toy_test[:10])
    ev = evaluate_step(runner, ens, tmp_path / "test.conll", ["PER", "ORG", "LOC"], backend="fast",
                       extra_signature=model_signature(cfg))
    assert "ensemble:3" in json.loads(ev.file("scores.json").read_text())["signature"]
    runner.events.clear()
    assert train_model(runner, cfg, {"toy": "1"}, lambda: train).fingerprint == ens.fingerprint
    assert {e.status for e in runner.events} == {"hit"}


def test_ensemble_as_english_labeller(tiny_bert, tmp_path, toy_train, monkeypatch):
    """Model transfer with a seed ensemble: a ``transfer_models`` entry with ``ensemble: N`` trains
    N English heads in one labeller step; a saved ensemble folder keys by every member file."""
    from projner.data.formats import write_corpus
    from projner.pipeline.cache import StepRunner
    from projner.pipeline.config import LabellerConfig
    from projner.pipeline.experiment import parse_config, transfer_labeller
    from projner.pipeline.steps import labeller_step

    monkeypatch.setenv("PROJNER_CACHE", str(tmp_path / "cache"))
    write_corpus(tmp_path / "train.conll", toy_train[:40])
    cfg = parse_config({"name": "t", "labeller": {"backend": "fast", "train": str(tmp_path / "train.conll")},
                        "models": {"x2": {"backend": "fast", "ensemble": 2, "params": {"epochs": 2}}},
                        "transfer_models": ["x2"], "grid": {"languages": ["xx"]}})
    lab = transfer_labeller(cfg, "x2")
    assert lab.backend == "ensemble" and lab.params == {"epochs": 2, "members": 2}
    lab = LabellerConfig(backend="ensemble", label_map="", train=str(tmp_path / "train.conll"),
                         params={**lab.params, "model": tiny_bert, "layers": LAYERS, "progress": False, "precision": "float32"})
    runner = StepRunner.at(str(tmp_path / "steps"))
    ident, load = labeller_step(runner, lab)
    tagger = load()
    assert isinstance(tagger, EnsembleTagger) and tagger.seeds == [0, 1]
    # the saved folder as a labeller: a member's file is part of the key
    folder = next((tmp_path / "steps" / "labeller").glob("*/model"))
    first, _ = labeller_step(runner, LabellerConfig(backend=str(folder)))
    meta = folder / "member-1" / "meta.json"
    meta.write_text(meta.read_text(encoding="utf-8").replace('"seed": 1', '"seed": 7'), encoding="utf-8")
    second, _ = labeller_step(runner, LabellerConfig(backend=str(folder)))
    assert first != second
