"""Alignment extraction from a similarity matrix: ArgMax, IterMax, Match (SimAlign, Jalili Sabet
et al. 2020) and the softmax-threshold extraction of AWESoME (Dou & Neubig 2021).

Every function takes an ``m x n`` matrix (rows: source units, columns: target units) and returns
a boolean ``m x n`` matrix of links. Nothing here mutates its input. Ties go to the lowest index,
as with ``numpy.argmax``, so IterMax reproduces SimAlign's links on the same matrix.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

METHODS = ("argmax", "itermax", "match", "softmax")


def cosine_sim(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """SimAlign's similarity: ``(cos(x_i, y_j) + 1) / 2`` in ``[0, 1]`` (float32)."""
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.float32)
    xn = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    yn = y / np.maximum(np.linalg.norm(y, axis=1, keepdims=True), 1e-12)
    return (xn @ yn.T + 1.0) / 2.0


def _argmax_masks(sim: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    m, n = sim.shape
    fwd = np.zeros((m, n), dtype=bool)
    fwd[np.arange(m), sim.argmax(axis=1)] = True
    rev = np.zeros((m, n), dtype=bool)
    rev[sim.argmax(axis=0), np.arange(n)] = True
    return fwd, rev


def argmax_align(sim: np.ndarray) -> np.ndarray:
    """Links that are the best target for their source *and* the best source for their target."""
    if sim.size == 0:
        return np.zeros(sim.shape, dtype=bool)
    fwd, rev = _argmax_masks(sim)
    return fwd & rev


def itermax_align(sim: np.ndarray, max_count: int = 2, alpha: float = 0.9) -> np.ndarray:
    """SimAlign's IterMax: ArgMax, then repeat ArgMax on a matrix that favours still-unaligned
    rows and columns (weight ``alpha`` when one of the two is aligned, 0 when both are), for
    ``max_count - 1`` more rounds. Keeps every ArgMax link; matrices with a side of <= 2 units
    get plain ArgMax (as in SimAlign)."""
    if sim.size == 0:
        return np.zeros(sim.shape, dtype=bool)
    sim = np.asarray(sim)
    m, n = sim.shape
    inter = argmax_align(sim)
    if min(m, n) <= 2:
        return inter
    count = 1
    while count < max_count:
        row_free = ~inter.any(axis=1)  # mask_x == 1
        col_free = ~inter.any(axis=0)  # mask_y == 1
        if not row_free.any() or not col_free.any():
            break
        mx = row_free.astype(np.float64)[:, None]
        my = col_free.astype(np.float64)[None, :]
        mask = np.clip(alpha * mx + alpha * my, 0.0, 1.0)
        either_free = row_free[:, None] | col_free[None, :]
        fwd, rev = _argmax_masks(sim * mask)
        new = fwd & rev & either_free
        if not (new & ~inter).any():
            break
        inter = inter | new
        count += 1
    return inter


def match_align(sim: np.ndarray) -> np.ndarray:
    """Maximum-weight bipartite matching (Hungarian algorithm): a 1:1 alignment of
    ``min(m, n)`` links with the largest total similarity (SimAlign's "Match")."""
    if sim.size == 0:
        return np.zeros(sim.shape, dtype=bool)
    rows, cols = linear_sum_assignment(sim, maximize=True)
    out = np.zeros(sim.shape, dtype=bool)
    out[rows, cols] = True
    return out


def softmax_probs(dot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise (source→target) and column-wise (target→source) softmax of a dot-product matrix."""
    dot = np.asarray(dot, dtype=np.float64)
    e_r = np.exp(dot - dot.max(axis=1, keepdims=True))
    p_st = e_r / e_r.sum(axis=1, keepdims=True)
    e_c = np.exp(dot - dot.max(axis=0, keepdims=True))
    p_ts = e_c / e_c.sum(axis=0, keepdims=True)
    return p_st, p_ts


def softmax_align(dot: np.ndarray, threshold: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """AWESoME's softmax extraction on raw dot products: keep ``(i, j)`` when both directional
    probabilities exceed ``threshold``. Returns (links, score = mean of the two probabilities)."""
    if dot.size == 0:
        z = np.zeros(dot.shape, dtype=bool)
        return z, z.astype(np.float64)
    p_st, p_ts = softmax_probs(dot)
    return (p_st > threshold) & (p_ts > threshold), (p_st + p_ts) / 2.0
