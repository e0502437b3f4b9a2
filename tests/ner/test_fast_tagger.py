"""The fast tagger (frozen cached encoder + light CRF head) on a tiny random BERT."""

import itertools
import json
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("tokenizers")
pytest.importorskip("safetensors")

from projner.errors import E, ProjnerError  # noqa: E402
from projner.ner import FastTagger, load_tagger  # noqa: E402
from projner.ner.base import strict_f1, tag_names, to_tags  # noqa: E402
from projner.ner.encoder import WordEncoder, encoder_fingerprint  # noqa: E402
from projner.ner.decoding import iob2_constraints  # noqa: E402
from projner.ner.fast_head import Crf, Head  # noqa: E402
from projner.registry import taggers  # noqa: E402
from projner.types import Sentence  # noqa: E402
from testutil import valid_iob2  # noqa: E402

LAYERS = "0,1,2"  # the tiny BERT has 2 layers; layer 0 (embeddings) keeps word identity


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory, toy_train):
    from tinymodels import build_tiny_bert

    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"), [" ".join(s.tokens) for s in toy_train])


def _tagger(model, cache, **kw):
    params = dict(layers=LAYERS, hidden=64, epochs=25, lr=3e-3, batch_size=8, patience=25, dropout=0.1,
                  progress=False, device="cpu", seed=0, threads=1, cache_dir=cache, precision="float32")
    params.update(kw)
    return FastTagger(model, **params)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("embeddings")


@pytest.fixture(scope="module")
def trained(tiny_bert, cache, toy_train, toy_test):
    return _tagger(tiny_bert, cache).fit(toy_train[:50], toy_test[:10])




def test_learns_toy_task(trained, toy_test):
    held_out = toy_test[10:]
    pred = trained.predict([s.unlabelled() for s in held_out])
    assert strict_f1(held_out, pred) >= 0.9
    assert [p.tokens for p in pred] == [g.tokens for g in held_out]
    scores = [sp.score for s in pred for sp in s.spans]
    assert scores and all(0.0 < x <= 1.0 for x in scores)
    assert trained.info["best_epoch"] >= 1 and "dev_f1" in trained.info["history"][0]


def test_roundtrip_identical(trained, toy_test, tmp_path):
    trained.save(tmp_path / "m")
    assert (tmp_path / "m" / "head.safetensors").is_file()
    assert not list((tmp_path / "m").rglob("*.bin")) and not list((tmp_path / "m").rglob("*.pkl"))
    meta = json.loads((tmp_path / "m" / "meta.json").read_text())
    assert meta["backend"] == "fast" and meta["encoder"]["fingerprint"] == trained.encoder.fingerprint
    again = load_tagger(tmp_path / "m", progress=False, threads=1, cache_dir=False)
    assert isinstance(again, FastTagger)
    a, b = trained.predict(toy_test), again.predict(toy_test)
    assert a == b
    for x, y in zip(a, b):
        assert [s.score for s in x.spans] == pytest.approx([s.score for s in y.spans], abs=1e-5)


def test_second_run_hits_the_cache(tiny_bert, tmp_path, toy_train, toy_test):
    first = _tagger(tiny_bert, tmp_path, epochs=2).fit(toy_train[:30], toy_test[:10])
    n_unique = len({s.tokens for s in toy_train[:30]} | {s.tokens for s in toy_test[:10]})
    assert first.encoder.stats["forward_passes"] > 0
    assert first.encoder.stats["cache_misses"] == n_unique  # dev sentences also in train are hits already
    second = _tagger(tiny_bert, tmp_path, epochs=2).fit(toy_train[:30], toy_test[:10])
    assert second.encoder.stats["forward_passes"] == 0 and second.encoder.stats["encoded_sentences"] == 0
    assert second.encoder.stats["cache_misses"] == 0
    assert second.encoder.stats["cache_hits"] == first.encoder.stats["cache_hits"] + n_unique
    # cached vectors are the computed ones (float16 either way)
    fresh = WordEncoder(tiny_bert, layers=[0, 1, 2], precision="float32", cache_dir=False).embed([toy_test[0].tokens])
    cached = second.encoder.embed([toy_test[0].tokens])
    assert second.encoder.stats["forward_passes"] == 0
    np.testing.assert_array_equal(fresh[0], cached[0])


def test_cache_survives_damage_and_interruption(tiny_bert, tmp_path, toy_test, monkeypatch):
    enc = WordEncoder(tiny_bert, layers=[1, 2], precision="float32", cache_dir=tmp_path)
    sents = [s.tokens for s in toy_test[:5]]
    ref = enc.embed(sents)
    damaged = enc.store.path(sents[0])
    damaged.write_bytes(damaged.read_bytes()[:40])  # a truncated file
    again = WordEncoder(tiny_bert, layers=[1, 2], precision="float32", cache_dir=tmp_path)
    out = again.embed(sents)
    assert again.store.stats["unreadable"] == 1 and again.stats["encoded_sentences"] == 1
    np.testing.assert_array_equal(out[0], ref[0])
    # a write interrupted half-way leaves neither a partial file nor a temporary one
    import projner.ner.embedcache as ec

    def broken_save(fh, arr, allow_pickle=False):
        fh.write(b"\x93NUMPY")
        raise KeyboardInterrupt

    monkeypatch.setattr(ec.np, "save", broken_save)
    new = ("a", "sentence", "never", "seen")
    with pytest.raises(KeyboardInterrupt):
        again.embed([new])
    assert not again.store.path(new).exists()
    assert not [p for p in again.store.dir.rglob("*") if p.name.endswith(".tmp")]


def test_batched_equals_unbatched(trained, toy_test):
    sents = [s.unlabelled() for s in toy_test]
    together = trained.predict(sents)
    one_by_one = [trained.predict([s])[0] for s in sents]
    assert together == one_by_one
    enc = WordEncoder(trained.encoder.path, layers=[0, 1, 2], precision="float32", cache_dir=False)
    batch = enc.embed([s.tokens for s in sents])
    single = [enc.embed([s.tokens])[0] for s in sents]
    for a, b in zip(batch, single):
        np.testing.assert_allclose(a.astype(np.float32), b.astype(np.float32), rtol=1e-2, atol=2e-3)


def test_marginals_match_the_decoded_spans(trained, toy_test):
    from projner.ner.decoding import common_marginals

    sents = [s.unlabelled() for s in toy_test[:12]] + [Sentence(())]
    tags = tag_names(tuple(trained.labels))
    marg = trained.marginals(sents)
    assert [m.shape for m in marg] == [(len(s), len(tags)) for s in sents]
    for m in marg[:-1]:  # float32 CRF arithmetic: equal to ~1e-5, tolerance 1e-4 for any CPU
        np.testing.assert_allclose(m.sum(1), 1.0, atol=1e-4)
    # a span's score (span_scores) recomputed from marginals(): its tags' product times "not continued"
    n_spans = 0
    for s, m, p in zip(sents, marg, trained.predict(sents)):
        for sp in p.spans:
            want = 1.0
            for k in range(sp.start, sp.end):
                want *= m[k, tags.index(("B-" if k == sp.start else "I-") + sp.label)]
            if sp.end < len(s):
                want *= 1.0 - m[sp.end, tags.index("I-" + sp.label)]
            assert sp.score == pytest.approx(want, abs=1e-4)
            n_spans += 1
    assert n_spans
    # chosen columns, a tag the model lacks is 0; one sentence at a time gives the same numbers
    own = ["I-" + trained.labels[0], "B-NOPE", "O"]
    picked = trained.marginals(sents[:3], tags=own)
    for full, m in zip(marg, picked):
        np.testing.assert_allclose(m[:, 0], full[:, tags.index(own[0])], atol=1e-6)
        assert not m[:, 1].any()
        np.testing.assert_allclose(m[:, 2], full[:, 0], atol=1e-6)
    for s, m in zip(sents[:4], marg):  # batch padding changes float32 sums in the last digits
        np.testing.assert_allclose(trained.marginals([s])[0], m, atol=1e-4)
    folded = common_marginals(trained, sents[:3], list(trained.labels))
    np.testing.assert_allclose(folded[0], marg[0], atol=1e-6)


def test_long_sentence_is_windowed_not_truncated(trained, tiny_bert):
    words = ("Alice", "visited", "Lagos", "yesterday", ".") * 30  # 150 words > 64 positions of the tiny BERT
    enc = WordEncoder(tiny_bert, layers=[0, 1, 2], precision="float32", cache_dir=False)
    (vec,) = enc.embed([words])
    assert vec.shape == (150, enc.dim) and enc.stats["windowed_sentences"] == 1
    assert enc.window < len(words)
    (pred,) = trained.predict([Sentence(words)])
    keys = {s.key for s in pred.spans}
    assert (147, 148, "LOC") in keys  # the last repetition is tagged
    assert sum((5 * k + 2, 5 * k + 3, "LOC") in keys for k in range(30)) >= 25  # and so are the others


@pytest.mark.parametrize("crf", [True, False])
def test_decoding_is_alwaysvalid_iob2(crf):
    tags = tag_names(("LOC", "PER"))
    head = Head(8, tags, hidden=4, crf=crf)
    torch.manual_seed(0)
    em = torch.randn(16, 12, len(tags)) * 5
    em[..., [i for i, t in enumerate(tags) if t.startswith("I-")]] += 20  # emissions that want I- everywhere
    mask = torch.ones(16, 12, dtype=torch.bool)
    mask[3:, 7:] = False
    if crf:
        with torch.no_grad():
            head.crf.transitions.normal_(0, 3)
        paths = head.crf.viterbi(em, mask)
    else:
        paths = head.crf.viterbi(torch.log_softmax(em, -1), mask)
    for r, p in enumerate(paths):
        assert len(p) == int(mask[r].sum())
        assert valid_iob2([tags[k] for k in p])
    assert any(tags[k].startswith("I-") for p in paths for k in p)


def test_crf_matches_brute_force():
    tags = tag_names(("X",))  # O, B-X, I-X
    crf = Crf(tags)
    torch.manual_seed(1)
    with torch.no_grad():
        crf.transitions.normal_()
        crf.start.normal_()
        crf.end.normal_()
    em = torch.randn(2, 4, 3)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]], dtype=torch.bool)
    start_ok, trans_ok = iob2_constraints(tags)
    for r in range(2):
        n = int(mask[r].sum())
        scores = {}
        for path in itertools.product(range(3), repeat=n):
            if not start_ok[path[0]] or not all(trans_ok[a, b] for a, b in zip(path, path[1:])):
                continue
            s = crf.start[path[0]] + crf.end[path[-1]] + sum(em[r, t, k] for t, k in enumerate(path))
            s = s + sum(crf.transitions[a, b] for a, b in zip(path, path[1:]))
            scores[path] = float(s.detach())
        log_z = np.logaddexp.reduce(list(scores.values()))
        best = max(scores, key=scores.get)
        assert crf.viterbi(em[r : r + 1, :n], mask[r : r + 1, :n])[0] == list(best)
        gold = torch.tensor([best])
        nll = float(crf.nll(em[r : r + 1, :n], gold, mask[r : r + 1, :n]).detach())
        assert nll == pytest.approx(log_z - scores[best], abs=1e-4)
        marg = crf.marginals(em[r : r + 1], mask[r : r + 1])[0, :n].detach().numpy()
        brute = np.zeros((n, 3))
        for path, s in scores.items():
            for t, k in enumerate(path):
                brute[t, k] += np.exp(s - log_z)
        np.testing.assert_allclose(marg, brute, atol=1e-5)


def test_registered_and_clear_errors(tiny_bert, tmp_path, toy_train):
    assert taggers.resolve("fast") == "projner.tagger.fast.v1"
    assert taggers.get("fast") is FastTagger
    with pytest.raises(ProjnerError) as ei:
        FastTagger(tiny_bert, layers="1,3", cache_dir=False, progress=False).fit(toy_train[:5])
    assert ei.value.code is E.E153
    with pytest.raises(ProjnerError) as ei:
        FastTagger(tiny_bert, layers="1,x", cache_dir=False, progress=False)
    assert ei.value.code is E.E018
    with pytest.raises(ProjnerError) as ei:
        WordEncoder(tiny_bert, layers=[3], cache_dir=False)
    assert ei.value.code is E.E153
    with pytest.raises(ProjnerError) as ei:
        WordEncoder(tmp_path / "nothing-here", cache_dir=False)
    assert ei.value.code is E.E154 and "does not exist" in str(ei.value)


def test_encoder_pointer_checked_at_load(trained, tiny_bert, tmp_path, toy_test):
    trained.save(tmp_path / "m")
    moved = tmp_path / "moved-encoder"
    shutil.copytree(tiny_bert, moved)  # same content elsewhere: same fingerprint
    assert encoder_fingerprint(moved) == encoder_fingerprint(tiny_bert)
    again = FastTagger.load(tmp_path / "m", encoder=moved, progress=False, cache_dir=False)
    assert again.predict(toy_test[:5]) == trained.predict(toy_test[:5])
    with pytest.raises(ProjnerError) as ei:
        FastTagger.load(tmp_path / "m", encoder=tmp_path / "gone", progress=False, cache_dir=False)
    assert ei.value.code is E.E151
    cfg = json.loads((moved / "config.json").read_text())
    cfg["layer_norm_eps"] = 1e-5
    (moved / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ProjnerError) as ei:
        FastTagger.load(tmp_path / "m", encoder=moved, progress=False, cache_dir=False)
    assert ei.value.code is E.E152
    (tmp_path / "m" / "head.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ProjnerError) as ei:
        FastTagger.load(tmp_path / "m", progress=False, cache_dir=False)
    assert ei.value.code is E.E156


def test_gold_paths_are_valid_for_the_constraints(toy_train):
    tags = tag_names(("LOC", "ORG", "PER"))
    start_ok, trans_ok = iob2_constraints(tags)
    index = {t: i for i, t in enumerate(tags)}
    for s in toy_train:
        seq = [index[t] for t in to_tags(s)]
        assert start_ok[seq[0]] and all(trans_ok[a, b] for a, b in zip(seq, seq[1:]))


def test_cli_train_and_tag(tiny_bert, tmp_path, toy_train, toy_test, monkeypatch):
    import typer
    from typer.testing import CliRunner

    from projner.cli.ner import register
    from projner.data.formats import read_corpus, write_corpus

    monkeypatch.setenv("PROJNER_CACHE", str(tmp_path / "cache"))
    app = typer.Typer()
    register(app)
    write_corpus(tmp_path / "train.conll", toy_train[:50])
    write_corpus(tmp_path / "dev.conll", toy_test[:10])
    runner = CliRunner()
    res = runner.invoke(app, ["train", "--train", str(tmp_path / "train.conll"), "--dev", str(tmp_path / "dev.conll"),
                              "--backend", "fast", "--model", tiny_bert, "--layers", LAYERS, "--epochs", "20",
                              "--lr", "0.003", "--batch-size", "8", "--threads", "1", "--out", str(tmp_path / "model"), "-q"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.stdout.strip().splitlines()[-1])
    assert info["backend"] == "fast" and info["labels"] == ["LOC", "ORG", "PER"] and info["dev_f1"] > 0.8
    assert list((tmp_path / "cache" / "embeddings").rglob("*.npy"))  # the default cache lives under $PROJNER_CACHE
    write_corpus(tmp_path / "in.conll", [s.unlabelled() for s in toy_test[10:]])
    res = runner.invoke(app, ["tag", str(tmp_path / "in.conll"), "--model", str(tmp_path / "model"),
                              "--out", str(tmp_path / "out.conll"), "-q"])
    assert res.exit_code == 0, res.output
    out = read_corpus(tmp_path / "out.conll").sentences
    assert strict_f1(toy_test[10:], out) >= 0.8


def test_translate_train_accepts_fast_labeller(tiny_bert, tmp_path, toy_train, toy_test, monkeypatch):
    from projner.data.formats import write_corpus
    from projner.pipeline.cache import StepRunner
    from projner.pipeline.config import LabellerConfig
    from projner.pipeline.steps import labeller_step

    monkeypatch.setenv("PROJNER_CACHE", str(tmp_path / "cache"))
    write_corpus(tmp_path / "train.conll", toy_train[:40])
    cfg = LabellerConfig(backend="fast", label_map="", train=str(tmp_path / "train.conll"),
                         params={"model": tiny_bert, "layers": LAYERS, "epochs": 2, "progress": False, "precision": "float32"})
    ident, load = labeller_step(StepRunner.at(str(tmp_path / "steps")), cfg)
    tagger = load()
    assert isinstance(tagger, FastTagger) and tagger.labels == ("LOC", "ORG", "PER")
