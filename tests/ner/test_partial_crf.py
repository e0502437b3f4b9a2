"""Partial-label CRF training (issue 15 item 2): the constrained forward algorithm of
``fast_head.Crf`` and the ``pcrf`` backend (a torch CRF over hashed hand-made features)."""

import itertools
import json
import random

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from projner.errors import E, ProjnerError  # noqa: E402
from projner.ner import load_tagger  # noqa: E402
from projner.ner.base import TRAINABLE_BACKENDS, strict_f1, tag_names  # noqa: E402
from projner.ner.fast_head import Crf, allowed_tags  # noqa: E402
from projner.ner.partial_crf import PartialCrfTagger  # noqa: E402
from projner.registry import create, resolve  # noqa: E402
from projner.types import Sentence, Span  # noqa: E402
from testutil import run_cli, valid_iob2, write_file  # noqa: E402

# ----------------------------------------------------------------------------- the constrained forward algorithm


def _random_crf(tags, seed):
    g = torch.Generator().manual_seed(seed)
    crf = Crf(tags)
    with torch.no_grad():
        crf.transitions.copy_(torch.randn(len(tags), len(tags), generator=g))
        crf.start.copy_(torch.randn(len(tags), generator=g))
        crf.end.copy_(torch.randn(len(tags), generator=g))
    return crf, g


def _valid_path(tags, rng, n):
    out = []
    for _ in range(n):
        ok = [i for i, t in enumerate(tags)
              if not t.startswith("I-") or (out and tags[out[-1]][2:] == t[2:] and tags[out[-1]] != "O")]
        out.append(rng.choice(ok))
    return out


def _path_score(crf, em, path):
    start, trans, end = crf._scores()
    s = start[path[0]] + end[path[-1]] + sum(em[t, k] for t, k in enumerate(path))
    return s + sum(trans[a, b] for a, b in zip(path, path[1:]))


def test_allowed_tags_mask():
    tags = tag_names(("PER", "LOC"))  # O B-PER I-PER B-LOC I-LOC
    gold = [1, 2, 0, 0, 0]
    a = allowed_tags(gold, (2, 3), tags)
    assert a[0].tolist() == [False, True, False, False, False] and a[1].tolist() == [False, False, True, False, False]
    # an unknown word after a known one may begin an entity or be O, not continue the known span
    assert a[2].tolist() == [True, True, False, True, False]
    # an unknown word after an unknown one may have any tag
    assert a[3].all() and a[4].tolist() == [True, False, False, False, False]
    assert allowed_tags(gold, (), tags).sum() == len(gold)


def test_constrained_nll_equals_plain_nll_when_nothing_is_unknown():
    tags = tag_names(("PER", "LOC"))
    crf, g = _random_crf(tags, 0)
    rng = random.Random(0)
    lengths = [5, 3, 1, 5]
    em = torch.randn(len(lengths), 5, len(tags), generator=g)
    mask = torch.arange(5).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
    y = torch.tensor([_valid_path(tags, rng, n) + [0] * (5 - n) for n in lengths])
    allowed = torch.from_numpy(np.stack([allowed_tags(row.tolist(), (), tags) for row in y]))
    assert torch.equal(crf.nll(em, y, mask, allowed), crf.nll(em, y, mask))
    # a partial row changes its own term only
    part = allowed.clone()
    part[0, 2:] = True
    with torch.no_grad():
        per_row = [crf.nll(em[r : r + 1], y[r : r + 1], mask[r : r + 1]) for r in range(len(lengths))]
        mixed = crf.nll(em, y, mask, part) * len(lengths)
        only0 = crf.nll(em[:1], y[:1], mask[:1], part[:1])
    assert float(only0) < float(per_row[0])
    assert float(mixed) == pytest.approx(float(only0 + sum(per_row[1:])), abs=1e-4)


@pytest.mark.parametrize("labels", [("X",), ("X", "Y")])  # K = 3 and 5 tags
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_constrained_log_z_matches_brute_force(labels, seed):
    tags = tag_names(labels)
    k, n = len(tags), 4
    crf, g = _random_crf(tags, seed)
    em = torch.randn(1, n, k, generator=g)
    mask = torch.ones(1, n, dtype=torch.bool)
    rng = random.Random(seed)
    gold = _valid_path(tags, rng, n)
    allowed = torch.rand(1, n, k, generator=g) < 0.5  # an arbitrary allowed set per word ...
    allowed[0, torch.arange(n), torch.tensor(gold)] = True  # ... that holds the gold tag
    allowed[0, 1] = True  # at least one word with several tags
    with torch.no_grad():
        nll_full = float(crf.nll(em, torch.tensor([gold]), mask))
        nll_part = float(crf.nll(em, torch.tensor([gold]), mask, allowed))
        scores = {p: float(_path_score(crf, em[0], p)) for p in itertools.product(range(k), repeat=n)}
    log_z = float(torch.logsumexp(torch.tensor(list(scores.values()), dtype=torch.float64), 0))
    inside = [s for p, s in scores.items() if all(allowed[0, t, p[t]] for t in range(n))]
    log_z_allowed = float(torch.logsumexp(torch.tensor(inside, dtype=torch.float64), 0))
    assert nll_full == pytest.approx(log_z - scores[tuple(gold)], abs=1e-3)
    assert nll_part == pytest.approx(log_z - log_z_allowed, abs=1e-3)


def test_partial_nll_bounded_by_every_consistent_completion():
    tags = tag_names(("PER",))
    crf, g = _random_crf(tags, 3)
    em = torch.randn(1, 5, len(tags), generator=g)
    mask = torch.ones(1, 5, dtype=torch.bool)
    gold = [1, 2, 0, 0, 0]
    unknown = (2, 3)
    allowed = torch.from_numpy(allowed_tags(gold, unknown, tags)).unsqueeze(0)
    with torch.no_grad():
        part = float(crf.nll(em, torch.tensor([gold]), mask, allowed))
        completions = [gold[:2] + list(p) + gold[4:] for p in itertools.product(range(len(tags)), repeat=2)
                       if all(allowed[0, u, c] for u, c in zip(unknown, p))]
        completions = [c for c in completions if valid_iob2([tags[k] for k in c])]
        full = [float(crf.nll(em, torch.tensor([c]), mask)) for c in completions]
    assert len(completions) == 5  # {O, B} × {O, B, I} less O then I
    assert part >= -1e-5
    assert all(part <= f + 1e-5 for f in full)
    assert part < min(full)  # it sums over several completions


# ----------------------------------------------------------------------------- the pcrf backend

NAMES = ["Smith", "Jones", "Brown", "Taylor", "Wilson", "Evans", "Thomas", "Roberts", "Walker", "Wright",
         "Green", "Hall", "Wood", "Clarke", "Hughes", "Edwards", "Turner", "Hill", "Moore", "Cooper"]
HELD_OUT = ["Baker", "Carter", "Harris", "Ward", "Lewis", "Parker"]
CITIES = ["Paris", "Lagos", "Kano", "Accra"]
VERBS = ["said", "left", "arrived", "spoke", "won"]
FILLER = ["The", "report", "was", "late", "and", "Monday", "the", "team", "Yesterday", "talks"]


def make_mr(n, seed, names=NAMES):
    """Capitalised word after "Mr" is PER; "in" + city is LOC; other capitalised words are O."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        toks = [rng.choice(FILLER) for _ in range(rng.randint(0, 3))]
        spans = []
        start = len(toks)
        toks += ["Mr", rng.choice(names), rng.choice(VERBS)]
        spans.append(Span(start + 1, start + 2, "PER"))
        if rng.random() < 0.5:
            toks += ["in", rng.choice(CITIES)]
            spans.append(Span(len(toks) - 1, len(toks), "LOC"))
        toks += [rng.choice(FILLER) for _ in range(rng.randint(0, 2))] + ["."]
        out.append(Sentence(tuple(toks), tuple(spans), id=f"mr{seed}-{i}"))
    return out


def _pcrf(**kw):
    params = dict(rows=2**14, epochs=6, lr=0.05, batch_size=8, progress=False, seed=0)
    params.update(kw)
    return PartialCrfTagger(**params)


@pytest.fixture(scope="module")
def mr_train():
    return make_mr(150, 1)


@pytest.fixture(scope="module")
def mr_test():
    return make_mr(60, 2, names=HELD_OUT)


@pytest.fixture(scope="module")
def trained(mr_train):
    return _pcrf().fit(mr_train, make_mr(20, 3))


def _recall(gold, pred, label="PER"):
    g = [(i, s.key) for i, x in enumerate(gold) for s in x.spans if s.label == label]
    p = {(i, s.key) for i, x in enumerate(pred) for s in x.spans}
    return sum(k in p for k in g) / len(g)


def test_pcrf_learns_toy_task(trained, mr_test):
    pred = trained.predict([s.unlabelled() for s in mr_test])
    assert strict_f1(mr_test, pred) >= 0.95
    assert [p.tokens for p in pred] == [g.tokens for g in mr_test]
    scores = [sp.score for s in pred for sp in s.spans]
    assert scores and all(0.0 < x <= 1.0 for x in scores)
    assert trained.info["best_epoch"] >= 1 and "dev_f1" in trained.info["history"][0]
    assert "unknown_tokens" not in trained.info


def test_pcrf_learns_with_half_the_o_tokens_unknown(mr_train, mr_test):
    rng = random.Random(5)
    train = []
    for s in mr_train:
        inside = {i for sp in s.spans for i in range(sp.start, sp.end)}
        outside = [i for i in range(len(s)) if i not in inside]
        train.append(s.with_unknown(rng.sample(outside, len(outside) // 2)))
    tagger = _pcrf().fit(train)
    n_unknown = sum(len(s.unknown) for s in train)
    assert tagger.info["unknown_tokens"] == n_unknown > 100 and tagger.info["unknown_as"] == "partial"
    pred = tagger.predict([s.unlabelled() for s in mr_test])
    assert strict_f1(mr_test, pred) >= 0.9
    assert all(valid_iob2(t) for t in _tags_of(pred))


def _tags_of(sents):
    from projner.ner.base import to_tags

    return [to_tags(s) for s in sents]


def test_unknown_names_are_not_learnt_as_o(mr_train, mr_test):
    """Names missing from 60% of the sentences: partial training keeps PER recall high,
    training those words as O (the old behaviour) lowers it."""
    rng = random.Random(7)
    hide = {i for i in range(len(mr_train)) if rng.random() < 0.6}
    partial, as_o = [], []
    for i, s in enumerate(mr_train):
        if i not in hide:
            partial.append(s)
            as_o.append(s)
            continue
        per = [sp for sp in s.spans if sp.label == "PER"]
        rest = s.with_spans([sp for sp in s.spans if sp.label != "PER"])
        as_o.append(rest)
        partial.append(rest.with_unknown([k for sp in per for k in range(sp.start, sp.end)]))
    test = [s.unlabelled() for s in mr_test]
    r_partial = _recall(mr_test, _pcrf().fit(partial).predict(test))
    r_as_o = _recall(mr_test, _pcrf().fit(as_o).predict(test))
    assert r_partial >= 0.9
    assert r_partial >= r_as_o + 0.3


def test_save_load_round_trip(trained, mr_test, tmp_path):
    trained.save(tmp_path / "m")
    files = sorted(p.name for p in (tmp_path / "m").iterdir())
    assert files == ["meta.json", "weights.safetensors"]
    meta = json.loads((tmp_path / "m" / "meta.json").read_text())
    assert meta["backend"] == "pcrf" and meta["hash"] == "crc32" and meta["params"]["rows"] == 2**14
    again = load_tagger(tmp_path / "m", progress=False)
    assert isinstance(again, PartialCrfTagger)
    a, b = trained.predict(mr_test), again.predict(mr_test)
    assert a == b
    assert [s.score for x in a for s in x.spans] == [s.score for x in b for s in x.spans]
    m1, m2 = trained.marginals(mr_test[:5]), again.marginals(mr_test[:5])
    assert all(np.array_equal(x, y) for x, y in zip(m1, m2))
    assert all(np.allclose(x.sum(1), 1.0, atol=1e-5) and x.shape == (len(s), 5) for x, s in zip(m1, mr_test))


def test_truncated_weights_are_a_clear_error(trained, tmp_path):
    trained.save(tmp_path / "m")
    wf = tmp_path / "m" / "weights.safetensors"
    wf.write_bytes(wf.read_bytes()[:100])
    with pytest.raises(ProjnerError) as ei:
        load_tagger(tmp_path / "m")
    assert ei.value.code is E.E157 and ei.value.file == str(wf)


def test_batched_equals_one_by_one(trained, mr_test):
    sents = mr_test[:25] + [Sentence((), ())] + [Sentence(("Mr",), ())]
    batched = trained.predict(sents)
    single = [trained.predict([s])[0] for s in sents]
    assert batched == single
    assert [s.score for x in batched for s in x.spans] == pytest.approx([s.score for x in single for s in x.spans], abs=1e-6)
    assert batched[25].spans == () and len(batched[25]) == 0


def test_registry_and_backend_lists():
    assert "pcrf" in TRAINABLE_BACKENDS
    assert resolve("tagger", "pcrf") == "projner.tagger.pcrf.v1"
    t = create("tagger", "pcrf", rows=64, progress=False)
    assert isinstance(t, PartialCrfTagger) and t.params["rows"] == 64
    with pytest.raises(ProjnerError) as ei:
        PartialCrfTagger(lr=0)
    assert ei.value.code is E.E018
    from projner.pipeline.config_check import check_params

    problems = check_params("tagger", "pcrf", {"epochs": 3, "l2": 0.1, "epoch": 2}, "models.m.params")
    assert [where for where, _ in problems] == ["models.m.params.epoch"]


def test_cli_train_backend_pcrf(mr_train, tmp_path, capsys):
    from projner.data.formats import write_corpus

    train = tmp_path / "train.conll"
    write_corpus(train, mr_train[:60], fmt="conll", scheme="iob2")
    code, out, err = run_cli(["train", "--train", str(train), "--out", str(tmp_path / "m"), "--backend", "pcrf",
                              "--epochs", "3", "--quiet"], capsys)
    assert code == 0, err
    res = json.loads(out.strip().splitlines()[-1])
    assert res["backend"] == "pcrf" and res["labels"] == ["LOC", "PER"]
    assert isinstance(load_tagger(tmp_path / "m"), PartialCrfTagger)
    test = write_file(tmp_path, "test.txt", "Mr Smith said .\n")
    code, _, err = run_cli(["tag", str(test), "--model", str(tmp_path / "m"), "--out", str(tmp_path / "o.jsonl"), "--quiet"], capsys)
    assert code == 0, err


def test_crfsuite_backend_counts_unknown_words_it_trains_as_o(caplog):
    from projner.ner.crf import CrfTagger
    from projner.types import Sentence, Span

    train = [Sentence(("Mr", "Smith", "came", "to", "Paris"), (Span(1, 2, "PER"),), unknown=(4,)),
             Sentence(("Mr", "Jones", "left"), (Span(1, 2, "PER"),))] * 3
    with caplog.at_level("WARNING", logger="projner"):
        tagger = CrfTagger(max_iterations=5, progress=False).fit(train)
    assert tagger.info["unknown_tokens"] == 3 and tagger.info["unknown_as"] == "O"
    assert any("trained as O" in r.getMessage() for r in caplog.records)
