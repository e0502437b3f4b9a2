import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

from projner.errors import E, ProjnerError  # noqa: E402
from projner.ner import TransformerTagger, load_tagger  # noqa: E402
from projner.ner.base import strict_f1  # noqa: E402
from projner.types import Sentence, Span  # noqa: E402


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory, toy_train):
    """A randomly initialised 2-layer BERT with a WordPiece vocabulary trained on the toy data."""
    from tinymodels import build_tiny_bert

    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"), [" ".join(s.tokens) for s in toy_train])


def _tagger(model, **kw):
    params = dict(epochs=8, lr=3e-3, batch_size=8, progress=False, device="cpu", seed=0, patience=2, threads=1)
    params.update(kw)
    return TransformerTagger(model, **params)


@pytest.fixture(scope="module")
def trained(tiny_bert, toy_train, toy_test):
    return _tagger(tiny_bert).fit(toy_train, toy_test[:20])


def test_learns_toy_task(trained, toy_test):
    pred = trained.predict([s.unlabelled() for s in toy_test])
    assert strict_f1(toy_test, pred) >= 0.9
    assert [p.tokens for p in pred] == [g.tokens for g in toy_test]
    scores = [sp.score for s in pred for sp in s.spans]
    assert scores and all(0.0 < x <= 1.0 for x in scores)
    hist = trained.info["history"]
    assert "dev_f1" in hist[0] and trained.info["best_epoch"] >= 1
    # early stopping: at most `patience` epochs after the best one
    assert len(hist) <= trained.info["best_epoch"] + 2


def test_roundtrip_identical(trained, toy_test, tmp_path):
    trained.save(tmp_path / "m")
    assert (tmp_path / "m" / "model" / "model.safetensors").is_file()
    assert not list((tmp_path / "m").rglob("*.bin")) and not list((tmp_path / "m").rglob("*.pkl"))
    again = load_tagger(tmp_path / "m", progress=False, device="cpu", threads=1)
    assert isinstance(again, TransformerTagger)
    a, b = trained.predict(toy_test), again.predict(toy_test)
    assert a == b
    for x, y in zip(a, b):
        assert [s.score for s in x.spans] == pytest.approx([s.score for s in y.spans], abs=1e-6)


def test_sliding_windows_cover_long_sentences(trained, tiny_bert):
    """max_length 12 → 10 subwords per window: a 40-word sentence is cut, never truncated."""
    words = ["Alice", "visited", "Lagos", "yesterday", "."] * 8
    short = _tagger(tiny_bert, max_length=12)
    short.model, short.tokenizer, short._labels, short._tags = trained.model, trained.tokenizer, trained._labels, trained._tags
    wins = short._windows([Sentence(tuple(words))])
    assert len(wins) > 4
    covered = set()
    for w in wins:
        assert len(w.input_ids) <= 12
        covered |= set(range(w.start, w.end))
    assert covered == set(range(len(words)))
    (pred,) = short.predict([Sentence(tuple(words))])
    keys = {s.key for s in pred.spans}
    assert (35, 36, "PER") in keys and (37, 38, "LOC") in keys  # the last repetition is tagged
    assert len(pred.spans) >= 14


def test_deterministic_and_freezing(tiny_bert, toy_train):
    a = _tagger(tiny_bert, epochs=1, freeze_layers=1).fit(toy_train[:30])
    b = _tagger(tiny_bert, epochs=1, freeze_layers=1).fit(toy_train[:30])
    sa, sb = a.model.state_dict(), b.model.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    from transformers import AutoModel
    base = AutoModel.from_pretrained(tiny_bert).state_dict()
    layer0 = "bert.encoder.layer.0.attention.self.query.weight"
    layer1 = "bert.encoder.layer.1.attention.self.query.weight"
    assert torch.equal(sa[layer0], base["encoder.layer.0.attention.self.query.weight"])
    assert not torch.equal(sa[layer1], base["encoder.layer.1.attention.self.query.weight"])
    emb = "bert.embeddings.word_embeddings.weight"
    assert torch.equal(sa[emb], base["embeddings.word_embeddings.weight"])
    c = _tagger(tiny_bert, epochs=1, freeze_embeddings=True).fit(toy_train[:30]).model.state_dict()
    assert torch.equal(c[emb], base["embeddings.word_embeddings.weight"])
    assert not torch.equal(c[layer0], base["encoder.layer.0.attention.self.query.weight"])
    with pytest.raises(ProjnerError):
        _tagger(tiny_bert, freeze_layers=5).fit(toy_train[:5])


def test_bad_inputs(tiny_bert, trained, toy_train, tmp_path):
    with pytest.raises(ProjnerError) as ei:
        _tagger(tiny_bert).fit([])
    assert ei.value.code is E.E140
    with pytest.raises(ProjnerError) as ei:
        _tagger(tiny_bert).fit(toy_train, [Sentence(("in", "May"), (Span(1, 2, "DATE"),))])
    assert ei.value.code is E.E141
    with pytest.raises(ProjnerError) as ei:
        trained.predict([Sentence(("Alice",))], labels=["MISC"])
    assert ei.value.code is E.E142
    with pytest.raises(ProjnerError) as ei:
        _tagger(str(tmp_path / "no-such-model")).fit(toy_train)
    assert ei.value.code is E.E149
    trained.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "meta.json").read_text())
    (tmp_path / "m" / "meta.json").write_text(json.dumps({**meta, "format_version": 0}))
    with pytest.raises(ProjnerError) as ei:
        load_tagger(tmp_path / "m")
    assert ei.value.code is E.E144


def test_length_grouped_batches_cover_every_index_once_and_group_lengths():
    import numpy as np

    from projner.ner.transformer import _length_grouped_batches

    lengths = list(np.random.default_rng(1).integers(3, 60, size=1003))
    a = _length_grouped_batches(np.random.default_rng(7), lengths, 16, group=10)
    b = _length_grouped_batches(np.random.default_rng(7), lengths, 16, group=10)
    flat = np.concatenate(a)
    assert sorted(flat.tolist()) == list(range(1003))
    assert len(a) == (1003 + 15) // 16
    assert all((x == y).all() for x, y in zip(a, b))  # same seed, same batches
    # within a batch lengths are close: padding far below random batching
    pad = sum(max(lengths[i] for i in x) * len(x) - sum(lengths[i] for i in x) for x in a)
    rand = np.random.default_rng(7).permutation(1003)
    pad_rand = sum(max(lengths[i] for i in rand[k:k + 16]) * len(rand[k:k + 16]) - sum(lengths[i] for i in rand[k:k + 16])
                   for k in range(0, 1003, 16))
    assert pad < pad_rand / 3
