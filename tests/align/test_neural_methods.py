import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from projner.align.neural_methods import (
    argmax_align,
    cosine_sim,
    itermax_align,
    match_align,
    softmax_align,
    softmax_probs,
)

shapes = st.tuples(st.integers(1, 9), st.integers(1, 9))
matrices = shapes.flatmap(
    lambda s: arrays(np.float32, s, elements=st.floats(0, 1, width=32, allow_nan=False, allow_infinity=False))
)


@settings(max_examples=150, deadline=None)
@given(matrices)
def test_method_invariants(sim):
    before = sim.copy()
    am, im, mt = argmax_align(sim), itermax_align(sim), match_align(sim)
    assert np.array_equal(sim, before)  # inputs untouched
    # ArgMax links are mutual best choices, hence at most one per row and per column
    assert am.sum(axis=1).max(initial=0) <= 1 and am.sum(axis=0).max(initial=0) <= 1
    for i, j in zip(*np.nonzero(am)):
        assert sim[i, j] == sim[i].max() and sim[i, j] == sim[:, j].max()
    # IterMax keeps every ArgMax link and only adds links touching a row or column ArgMax left free
    assert not (am & ~im).any()
    free_r, free_c = ~am.any(axis=1), ~am.any(axis=0)
    for i, j in zip(*np.nonzero(im & ~am)):
        assert free_r[i] or free_c[j]
    # Match is 1:1 and complete on the smaller side, and at least as heavy as any ArgMax subset
    assert mt.sum(axis=1).max() <= 1 and mt.sum(axis=0).max() <= 1
    assert mt.sum() == min(sim.shape)
    assert sim[mt].sum() >= sim[am].sum() - 1e-5


def test_argmax_on_identity_is_diagonal():
    sim = np.eye(5, dtype=np.float32) * 0.5 + 0.25
    for f in (argmax_align, itermax_align, match_align):
        assert np.array_equal(f(sim), np.eye(5, dtype=bool))


def test_itermax_adds_links_for_unaligned_words():
    # source word 2 prefers target 1, which source 1 already takes: IterMax gives it a link
    sim = np.array([[0.9, 0.1, 0.1, 0.1], [0.1, 0.9, 0.2, 0.1], [0.1, 0.8, 0.3, 0.1], [0.1, 0.1, 0.1, 0.9]], dtype=np.float32)
    am = argmax_align(sim)
    im = itermax_align(sim)
    assert set(zip(*np.nonzero(am))) == {(0, 0), (1, 1), (3, 3)}
    assert (2, 1) in set(zip(*np.nonzero(im)))
    assert itermax_align(sim, max_count=1).tolist() == am.tolist()


def test_empty_matrices():
    for f in (argmax_align, itermax_align, match_align):
        assert f(np.zeros((0, 3), dtype=np.float32)).shape == (0, 3)
    links, score = softmax_align(np.zeros((2, 0)))
    assert links.shape == (2, 0) and score.shape == (2, 0)


def test_softmax_threshold():
    dot = np.array([[10.0, 0.0, 0.0], [0.0, 10.0, 9.5], [0.0, 0.0, 0.0]])
    p_st, p_ts = softmax_probs(dot)
    assert np.allclose(p_st.sum(axis=1), 1) and np.allclose(p_ts.sum(axis=0), 1)
    links, score = softmax_align(dot, threshold=0.1)
    assert links[0, 0] and links[1, 1] and links[1, 2] and not links[0, 1]
    assert np.all((score >= 0) & (score <= 1))
    # a higher threshold keeps fewer links
    assert softmax_align(dot, threshold=0.5)[0].sum() < links.sum()


def test_cosine_sim_range():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(4, 8)), rng.normal(size=(3, 8))
    s = cosine_sim(x, y)
    assert s.shape == (4, 3) and s.min() >= 0 and s.max() <= 1
    assert np.allclose(np.diag(cosine_sim(x, x)), 1.0, atol=1e-6)


@settings(max_examples=100, deadline=None)
@given(matrices)
def test_itermax_matches_simalign(sim):
    simalign = pytest.importorskip("simalign.simalign", reason="simalign not installed (pip install simalign --no-deps)")
    ref = simalign.SentenceAligner.iter_max(sim) > 0
    assert np.array_equal(itermax_align(sim), ref)
    fwd, rev = simalign.SentenceAligner.get_alignment_matrix(sim)
    assert np.array_equal(argmax_align(sim), (fwd * rev) > 0)
