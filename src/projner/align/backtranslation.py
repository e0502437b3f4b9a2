"""Refine word alignments of machine-translated pairs with a back-translation.

An MT pair (A, B) is aligned directly (A↔B with any aligner), but direct alignments of noisy
MT output miss words, mostly rare ones such as names. A back-translation C (B translated back
into A's language, or A translated into B's language) gives a second, independent path:
one leg is *monolingual* (C and the sentence in its language share names, numbers and word
stems, so matching is easy and precise) and the other leg is an ordinary alignment between a
sentence and its own translation. Composing the two legs (A→C→B) yields links the direct
alignment may lack. :func:`refine` merges both:

``fill`` (default)
    direct links, plus composed links for source words with no direct link (recall where the
    direct aligner gave up; never overrides it);
``union``
    direct ∪ composed;
``intersect``
    only direct links that the composed path confirms (precision).

Which side C is on depends on the pipeline:

* translate-train (A = English source, B = its MT output): C = MT(B → English); A↔C is
  monolingual, C↔B is aligned.
* translate-test (A = the English MT output that gets labelled, B = the original target
  sentence): C = MT(A → target language); A↔C is aligned, C↔B is monolingual.

Everything here is pure and deterministic; inputs are never mutated.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Sequence

from projner.errors import E, ProjnerError
from projner.types import Alignment, Link

MODES = ("fill", "union", "intersect")


def _fold(word: str) -> str:
    return unicodedata.normalize("NFKC", word).casefold()


def monolingual_alignment(x: Sequence[str], y: Sequence[str], *, prefix_len: int = 4) -> Alignment:
    """One-to-one links between two sentences in the same language.

    Candidate pairs are identical words (score 1.0), identical after case folding (0.9) and
    words sharing a ``prefix_len``-character prefix, both at least that long (0.6; 0 disables).
    Pairs are taken greedily, best score first, then the smallest relative distance of
    positions, then leftmost, each word at most once. Punctuation matches only itself.
    """
    if prefix_len < 0:
        raise ProjnerError(E.E018, detail=f"prefix_len must be >= 0, got {prefix_len}")
    fx = [_fold(w) for w in x]
    fy = [_fold(w) for w in y]
    nx, ny = max(len(x), 1), max(len(y), 1)
    cands = []
    for i, (wx, gx) in enumerate(zip(x, fx)):
        for j, (wy, gy) in enumerate(zip(y, fy)):
            if wx == wy:
                score = 1.0
            elif gx == gy:
                score = 0.9
            elif (prefix_len and len(gx) >= prefix_len and len(gy) >= prefix_len and gx[:prefix_len] == gy[:prefix_len]
                  and gx[0].isalnum()):
                score = 0.6
            else:
                continue
            cands.append((-score, abs(i / nx - j / ny), i, j, score))
    cands.sort()
    used_x, used_y, links = set(), set(), []
    for _, _, i, j, score in cands:
        if i in used_x or j in used_y:
            continue
        used_x.add(i)
        used_y.add(j)
        links.append(Link(i, j, score))
    return Alignment(tuple(links))


def compose(ab: Alignment, bc: Alignment) -> Alignment:
    """Links a→c for every a→b in ``ab`` and b→c in ``bc``; a score is the product of the two
    (a missing score counts as 1)."""
    by_b: dict[int, list[Link]] = {}
    for link in bc:
        by_b.setdefault(link.src, []).append(link)
    out = []
    for l1 in ab:
        for l2 in by_b.get(l1.tgt, ()):
            s1 = 1.0 if l1.score is None else l1.score
            s2 = 1.0 if l2.score is None else l2.score
            out.append(Link(l1.src, l2.tgt, s1 * s2))
    return Alignment(tuple(out))


def refine(direct: Alignment, composed: Alignment, mode: str = "fill") -> Alignment:
    """Merge a direct alignment with one composed through a back-translation (see module doc)."""
    if mode not in MODES:
        raise ProjnerError(E.E018, detail=f"back-translation mode {mode!r}; known: {', '.join(MODES)}")
    if mode == "union":
        return Alignment(direct.links + composed.links)
    if mode == "intersect":
        keep = composed.pairs
        return Alignment(tuple(link for link in direct if (link.src, link.tgt) in keep))
    covered = {link.src for link in direct}
    return Alignment(direct.links + tuple(link for link in composed if link.src not in covered))


@dataclass(frozen=True)
class RefineStats:
    pairs: int
    direct_links: int
    composed_links: int
    refined_links: int
    source_words_newly_aligned: int

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def refine_corpus(direct: Sequence[Alignment], composed: Sequence[Alignment], mode: str = "fill") -> tuple[list[Alignment], RefineStats]:
    """:func:`refine` over a corpus, with counts of what the back-translation changed."""
    if len(direct) != len(composed):
        raise ProjnerError(E.E001, a="direct alignments", na=len(direct), b="composed alignments", nb=len(composed))
    out = [refine(d, c, mode) for d, c in zip(direct, composed)]
    newly = sum(len({link.src for link in r} - {link.src for link in d}) for d, r in zip(direct, out))
    stats = RefineStats(len(out), sum(len(d) for d in direct), sum(len(c) for c in composed), sum(len(r) for r in out), newly)
    return out, stats


def compose_through_back_translation(
    src: Sequence[Sequence[str]], tgt: Sequence[Sequence[str]], back: Sequence[Sequence[str]],
    back_links: Sequence[Alignment], *, back_side: str, prefix_len: int = 4,
) -> list[Alignment]:
    """src→tgt alignments through the back-translation ``back``.

    ``back_side="source"``: ``back`` is in the source language (translate-train); ``back_links``
    align back→tgt, and src↔back is matched monolingually. ``back_side="target"``: ``back`` is in
    the target language (translate-test); ``back_links`` align src→back, back↔tgt monolingual.
    """
    n = len(src)
    for name, seq in (("target", tgt), ("back-translation", back), ("back-translation alignments", back_links)):
        if len(seq) != n:
            raise ProjnerError(E.E001, a="source sentences", na=n, b=name, nb=len(seq))
    out = []
    for s, t, b, bl in zip(src, tgt, back, back_links):
        if back_side == "source":
            out.append(compose(monolingual_alignment(s, b, prefix_len=prefix_len), bl))
        elif back_side == "target":
            out.append(compose(bl, monolingual_alignment(b, t, prefix_len=prefix_len)))
        else:
            raise ProjnerError(E.E018, detail=f"back_side must be 'source' or 'target', got {back_side!r}")
    return out
