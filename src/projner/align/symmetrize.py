"""Symmetrisation of two directional alignments (Och & Ney 2003; Koehn et al. 2005, as in Moses).

Both inputs are in source→target orientation (``Link(src, tgt)``): ``fwd`` from the
source→target model, ``rev`` from the target→source model, already flipped.

* ``forward`` / ``reverse``: one direction alone (``reverse``, from the target→source model,
  links each source word to at most one target word; it is the best single choice for the
  heuristic on Europarl-NER, see BENCHMARKS.md);
* ``intersection``, ``union``;
* ``grow-diag``: start from the intersection, repeatedly add union links that neighbour
  (8 neighbours) an existing link and cover a word that is not yet aligned;
* ``grow-diag-final``: then add remaining links of either direction that cover an unaligned
  word (``or``);
* ``grow-diag-final-and``: the same, but only links whose source *and* target word are both
  unaligned.

Deterministic: points are visited in sorted order. Link scores: the max of the two directions.
"""

from __future__ import annotations

from typing import Literal

from projner.errors import E, ProjnerError
from projner.types import Alignment, Link

SymMethod = Literal["intersection", "union", "grow-diag", "grow-diag-final", "grow-diag-final-and", "forward", "reverse"]
SYM_METHODS: tuple[str, ...] = ("intersection", "union", "grow-diag", "grow-diag-final", "grow-diag-final-and", "forward", "reverse")
_NEIGHBOURS = ((-1, 0), (0, -1), (1, 0), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1))


def _scores(fwd: Alignment, rev: Alignment) -> dict[tuple[int, int], float | None]:
    out: dict[tuple[int, int], float | None] = {}
    for l in (*fwd.links, *rev.links):
        prev = out.get((l.src, l.tgt))
        if prev is None or (l.score is not None and l.score > prev):
            out[(l.src, l.tgt)] = l.score
    return out


def symmetrize(fwd: Alignment, rev: Alignment, method: str = "grow-diag-final-and") -> Alignment:
    if method not in SYM_METHODS:
        raise ProjnerError(E.E018, detail=f"symmetrisation {method!r}; known: {', '.join(SYM_METHODS)}")
    if method in ("forward", "reverse") and not (fwd.has_scores or rev.has_scores):
        return fwd if method == "forward" else rev  # immutable: nothing to merge
    f, r = fwd.pairs, rev.pairs
    if method == "forward":
        chosen = set(f)
    elif method == "reverse":
        chosen = set(r)
    elif method == "intersection":
        chosen = f & r
    elif method == "union":
        chosen = f | r
    else:
        chosen = _grow_diag(f, r)
        if method == "grow-diag-final":
            chosen = _final(chosen, f, r, both=False)
        elif method == "grow-diag-final-and":
            chosen = _final(chosen, f, r, both=True)
    scores = _scores(fwd, rev)
    return Alignment(tuple(Link(i, j, scores.get((i, j))) for i, j in sorted(chosen)))


def _grow_diag(f: frozenset, r: frozenset) -> set[tuple[int, int]]:
    union = f | r
    chosen = set(f & r)
    src_aligned = {i for i, _ in chosen}
    tgt_aligned = {j for _, j in chosen}
    added = True
    while added:
        added = False
        for i, j in sorted(chosen):
            for di, dj in _NEIGHBOURS:
                p = (i + di, j + dj)
                if p in union and p not in chosen and (p[0] not in src_aligned or p[1] not in tgt_aligned):
                    chosen.add(p)
                    src_aligned.add(p[0])
                    tgt_aligned.add(p[1])
                    added = True
    return chosen


def _final(chosen: set, f: frozenset, r: frozenset, *, both: bool) -> set[tuple[int, int]]:
    out = set(chosen)
    src_aligned = {i for i, _ in out}
    tgt_aligned = {j for _, j in out}
    for direction in (f, r):
        for i, j in sorted(direction):
            if (i, j) in out:
                continue
            s_free, t_free = i not in src_aligned, j not in tgt_aligned
            if (s_free and t_free) if both else (s_free or t_free):
                out.add((i, j))
                src_aligned.add(i)
                tgt_aligned.add(j)
    return out
