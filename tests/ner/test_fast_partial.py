"""Partial labels in the fast tagger (issue 15 item 2): unknown words are summed over by the CRF
head, carry no loss in the softmax head, and are counted in ``info``."""

import random

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("tokenizers")
pytest.importorskip("safetensors")

from projner.ner import FastTagger  # noqa: E402
from projner.ner.base import tag_names  # noqa: E402
from projner.ner.fast_head import Head, allowed_tags  # noqa: E402

LAYERS = "0,1,2"
TAGS = tag_names(("LOC", "ORG", "PER"))


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory, toy_train):
    from tinymodels import build_tiny_bert

    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"), [" ".join(s.tokens) for s in toy_train])


def _tagger(model, cache, **kw):
    params = dict(layers=LAYERS, hidden=64, epochs=20, lr=3e-3, batch_size=8, patience=20, dropout=0.1,
                  progress=False, device="cpu", seed=0, threads=1, cache_dir=cache, precision="float32")
    params.update(kw)
    return FastTagger(model, **params)


def _batch(seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 5, 12, generator=g)
    mask = torch.tensor([[True] * 5, [True] * 3 + [False] * 2])
    tags = torch.tensor([[5, 6, 0, 0, 1], [0, 1, 0, 0, 0]])
    allowed = torch.from_numpy(np.stack([allowed_tags(tags[0].tolist(), (2, 3), TAGS),
                                         allowed_tags(tags[1].tolist(), (), TAGS)]))
    return x, tags, mask, allowed


def test_softmax_head_puts_no_loss_on_unknown_words():
    torch.manual_seed(0)
    head = Head(12, TAGS, groups=1, hidden=16, dropout=0.0, crf=False).eval()
    x, tags, mask, allowed = _batch()
    known = mask.clone()
    known[0, 2:4] = False
    em = head.emissions(x, mask)
    expected = torch.nn.functional.cross_entropy(em[known], tags[known])
    with torch.no_grad():
        got = head.loss(x, tags, mask, allowed)
        other = tags.clone()
        other[0, 2:4] = 3  # what an unknown word's (unused) gold id says does not matter
        assert torch.equal(head.loss(x, other, mask, allowed), got)
        assert not torch.equal(head.loss(x, tags, mask), got)  # without the mask they are trained as O
    assert float(got) == pytest.approx(float(expected.detach()), abs=1e-6)
    only_unknown = torch.ones_like(allowed)
    loss = head.loss(x, tags, mask, only_unknown)
    loss.backward()
    assert float(loss.detach()) == 0.0


def test_crf_head_loss_partial_and_plain():
    torch.manual_seed(0)
    head = Head(12, TAGS, groups=1, hidden=16, dropout=0.0, crf=True).eval()
    x, tags, mask, allowed = _batch()
    full = torch.from_numpy(np.stack([allowed_tags(t.tolist(), (), TAGS) for t in tags]))
    with torch.no_grad():
        assert torch.equal(head.loss(x, tags, mask, full), head.loss(x, tags, mask))
        assert float(head.loss(x, tags, mask, allowed)) < float(head.loss(x, tags, mask))


def _hide_per(sents, share, seed):
    """(partial, as_o): in about ``share`` of the sentences the PER spans are dropped and their
    words marked unknown (partial) or left as O (the old behaviour)."""
    rng = random.Random(seed)
    partial, as_o = [], []
    for s in sents:
        if rng.random() >= share or not any(sp.label == "PER" for sp in s.spans):
            partial.append(s)
            as_o.append(s)
            continue
        rest = s.with_spans([sp for sp in s.spans if sp.label != "PER"])
        as_o.append(rest)
        partial.append(rest.with_unknown([k for sp in s.spans if sp.label == "PER" for k in range(sp.start, sp.end)]))
    return partial, as_o


def _per_recall(gold, pred):
    g = [(i, s.key) for i, x in enumerate(gold) for s in x.spans if s.label == "PER"]
    p = {(i, s.key) for i, x in enumerate(pred) for s in x.spans}
    return sum(k in p for k in g) / len(g)


def test_fast_tagger_trains_unknown_words_as_partial_labels(tiny_bert, tmp_path, toy_train, toy_test):
    partial, as_o = _hide_per(toy_train[:80], 0.6, seed=3)
    n_unknown = sum(len(s.unknown) for s in partial)
    assert n_unknown > 10
    test = [s.unlabelled() for s in toy_test]
    a = _tagger(tiny_bert, tmp_path).fit(partial)
    assert a.info["unknown_tokens"] == n_unknown and a.info["unknown_as"] == "partial"
    assert a.info["unknown_sentences"] == sum(1 for s in partial if s.unknown)
    b = _tagger(tiny_bert, tmp_path).fit(as_o)
    assert "unknown_tokens" not in b.info
    r_partial, r_as_o = _per_recall(toy_test, a.predict(test)), _per_recall(toy_test, b.predict(test))
    assert r_partial >= 0.8
    assert r_partial >= r_as_o + 0.2


def test_softmax_fast_tagger_reports_unknown_words_without_loss(tiny_bert, tmp_path, toy_train):
    partial, _ = _hide_per(toy_train[:30], 0.5, seed=4)
    t = _tagger(tiny_bert, tmp_path, crf=False, epochs=2).fit(partial)
    assert t.info["unknown_tokens"] == sum(len(s.unknown) for s in partial) > 0
    assert t.info["unknown_as"] == "no loss"
