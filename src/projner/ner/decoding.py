"""Token marginals of several taggers on one IOB2 tag set, their weighted average, and the
IOB2-constrained Viterbi path through (averaged) marginals.

::

    tagger marginals (its own tags)  ──common_marginals──▶  marginals over O, B-X, I-X … of ``labels``
    several taggers' marginals       ──average_marginals─▶  one weighted average per sentence
    marginals                        ──viterbi_iob2──────▶  the best IOB2-valid tag path
                                     ──decode_marginals──▶  its spans, scored by their mean marginal

Used by multi-source teacher–student labelling (:mod:`projner.research.self_training`), where
teachers with different label inventories vote on unlabelled text (after Wu et al. 2020,
arXiv 2004.12440). Only numpy is needed.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from projner.data.schemes import OUTSIDE, decode
from projner.errors import E, ProjnerError
from projner.ner.base import tag_names
from projner.types import Sentence, Span

EPS = 1e-12


def common_marginals(tagger, sentences: Sequence[Sentence], labels: Sequence[str], *, name: str = "teacher") -> list[np.ndarray]:
    """The tagger's token marginals folded onto the IOB2 tag set of ``labels`` (``O, B-X, I-X ...``).

    Mass on the tagger's own tags outside that set (``B-MISC`` ...) goes to ``O``; tags of the
    common set the tagger does not know get 0. Rows sum to 1 when the tagger's own do.
    """
    fn = getattr(tagger, "marginals", None)
    if not callable(fn):
        raise ProjnerError(E.E240, teacher=name, detail=f"{type(tagger).__name__} has no marginals(sentences) method")
    own = tag_names(tuple(tagger.labels))
    common = tag_names(tuple(labels))
    raw = fn(list(sentences), tags=own)
    if len(raw) != len(sentences):
        raise ProjnerError(E.E240, teacher=name, detail=f"{len(raw)} marginal arrays for {len(sentences)} sentences")
    fold = np.zeros((len(own), len(common)), dtype=np.float64)
    for i, t in enumerate(own):
        fold[i, common.index(t) if t in common else common.index(OUTSIDE)] = 1.0
    out = []
    for s, m in zip(sentences, raw):
        m = np.asarray(m, dtype=np.float64)
        if m.shape != (len(s), len(own)):
            raise ProjnerError(E.E240, teacher=name, detail=f"marginals of shape {m.shape} for {len(s)} tokens × {len(own)} tags")
        out.append(m @ fold)
    return out


def average_marginals(per_teacher: Sequence[Sequence[np.ndarray]], weights: Sequence[float]) -> list[np.ndarray]:
    """Weighted average of several teachers' marginals (weights normalised to sum 1)."""
    if not per_teacher or len(per_teacher) != len(weights):
        raise ProjnerError(E.E241, detail=f"{len(per_teacher)} teachers but {len(weights)} weights")
    w = np.asarray(weights, dtype=np.float64)
    if (w < 0).any() or w.sum() <= 0:
        raise ProjnerError(E.E241, detail=f"teacher weights must be >= 0 with a positive sum, got {list(weights)}")
    w = w / w.sum()
    n = len(per_teacher[0])
    if any(len(m) != n for m in per_teacher):
        raise ProjnerError(E.E241, detail="teachers labelled different numbers of sentences")
    out = []
    for k in range(n):
        shapes = {m[k].shape for m in per_teacher}
        if len(shapes) != 1:
            raise ProjnerError(E.E241, detail=f"sentence {k}: teachers' marginals have shapes {sorted(shapes)}")
        out.append(sum(wi * np.asarray(m[k], dtype=np.float64) for wi, m in zip(w, per_teacher)))
    return out


def iob2_constraints(tags: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(allowed start tags ``[T]``, allowed transitions ``[T, T]`` from row to column) for IOB2:
    ``I-X`` only after ``B-X`` or ``I-X``, never first."""
    n = len(tags)
    start = np.array([not t.startswith("I-") for t in tags])
    trans = np.ones((n, n), dtype=bool)
    for j, t in enumerate(tags):
        if t.startswith("I-"):
            lab = t[2:]
            for i, p in enumerate(tags):
                trans[i, j] = p in (f"B-{lab}", f"I-{lab}")
    return start, trans


def viterbi_iob2(marginals: np.ndarray, tags: Sequence[str]) -> list[str]:
    """The IOB2-valid tag sequence maximising the sum of log marginals (exact, O(n·T²))."""
    m = np.asarray(marginals, dtype=np.float64)
    n = m.shape[0]
    if n == 0:
        return []
    start, trans = iob2_constraints(tags)
    logp = np.log(np.clip(m, EPS, 1.0))
    neg = -np.inf
    score = np.where(start, logp[0], neg)
    back = np.zeros((n, len(tags)), dtype=np.int64)
    tmask = np.where(trans, 0.0, neg)
    for i in range(1, n):
        cand = score[:, None] + tmask  # prev × cur
        back[i] = cand.argmax(axis=0)
        score = cand.max(axis=0) + logp[i]
    best = [int(score.argmax())]
    for i in range(n - 1, 0, -1):
        best.append(int(back[i, best[-1]]))
    return [tags[k] for k in reversed(best)]


def decode_marginals(marginals: np.ndarray, tags: Sequence[str]) -> tuple[Span, ...]:
    """Spans of the constrained Viterbi path; score = mean marginal of the span's own tags."""
    path = viterbi_iob2(marginals, tags)
    index = {t: i for i, t in enumerate(tags)}
    spans = decode(path, "iob2", "begin").spans
    return tuple(s.with_score(float(np.mean([marginals[k, index[path[k]]] for k in range(s.start, s.end)]))) for s in spans)
