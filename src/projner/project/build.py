"""Projectors by name and corpus-level projection: :func:`build_projector` (a registered projector;
the registry imports a built-in's module on first use), :func:`projector_params` (the options of ``projner
project`` / ``projner inspect`` as projector parameters) and :func:`project_corpora` (every pair
of a corpus, in chunks, with a progress bar for large corpora)."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from projner.errors import E, ProjnerError
from projner.project.base import Projection
from projner.registry import create
from projner.types import Alignment, ParallelPair, Sentence


def build_projector(method: str, params: Mapping[str, Any]):
    """``heuristic``, candidate matching (``ngram``, ``ner``, ``fusion``) or any registered projector."""
    return create("projector", method, **params)


def projector_params(
    method: str = "heuristic",
    *,
    max_gap: int = 1,
    min_ratio: float = 0.8,
    max_ratio: float | None = None,
    keep: str = "longest",
    strip_determiners: bool = False,
    solver: str = "greedy",
    weights: str | None = None,
    threshold: float | None = None,
    max_len: int | None = None,
    ner_model: str | None = None,
    translation: str | None = None,
    unaligned_weight: float | None = None,
    ilp_max_vars: int | None = None,
) -> dict[str, Any]:
    """Projector parameters from the options of ``projner project`` (and ``projner inspect``).

    The heuristic takes the gap/ratio options; candidate matching the solver options (options left
    at ``None`` keep the projector's own defaults).
    """
    if method == "heuristic":
        return dict(max_gap=max_gap, min_ratio=min_ratio, max_ratio=max_ratio, keep=keep, strip_determiners=strip_determiners)
    optional = dict(weights=weights, threshold=threshold, max_len=max_len, ner_model=ner_model,
                    translation_scorer=translation, unaligned_weight=unaligned_weight, max_vars=ilp_max_vars)
    return {"solver": solver, "strip_determiners": strip_determiners, **{k: v for k, v in optional.items() if v is not None}}


def project_corpora(
    src: Sequence[Sentence],
    tgt: Sequence[Sentence],
    alignments: Sequence[Alignment],
    projector,
    *,
    progress: bool | None = None,
    chunk: int = 10_000,
) -> tuple[tuple[Sentence, ...], tuple[Projection, ...]]:
    """Project every pair; a progress bar appears for large corpora (``progress=None``: > 50k pairs)."""
    from projner.log import progress_bar

    if not (len(src) == len(tgt) == len(alignments)):
        raise ProjnerError(E.E001, a="source", na=len(src), b="target/alignments", nb=min(len(tgt), len(alignments)))
    pairs = [ParallelPair(s, t.unlabelled(), a) for s, t, a in zip(src, tgt, alignments)]
    show = len(pairs) > 50_000 if progress is None else progress
    done: list[Projection] = []
    with progress_bar(total=len(pairs), desc="project", unit="pair", disable=not show) as bar:
        for k in range(0, len(pairs), chunk):
            batch = pairs[k : k + chunk]
            done.extend(projector.project(batch))
            bar.update(len(batch))
    projections = tuple(done)
    out = tuple(t.unlabelled().with_spans(p.spans) for t, p in zip(tgt, projections))
    return out, projections
