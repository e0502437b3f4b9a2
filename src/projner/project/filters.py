"""Training-data filters for projected sentences: leading determiners stripped from English
entities, the completeness filters and entity-free down-sampling (``ProjectionConfig.filter``).

:data:`DETERMINERS` is the one list of English determiners every projector strips.
"""

from __future__ import annotations

import re

from typing import Sequence

from projner.data.datasets import evenly
from projner.types import Sentence, Span

DETERMINERS = frozenset({"the", "a", "an"})
FILTERS = ("none", "complete", "complete-caps", "any")


def strip_leading_determiners(sentences: Sequence[Sentence]) -> tuple[tuple[Sentence, ...], int]:
    """Multi-word spans starting with the/a/an lose that word; returns new sentences and a count."""
    out, n = [], 0
    for s in sentences:
        spans = []
        for sp in s.spans:
            if len(sp) > 1 and s.tokens[sp.start].lower() in DETERMINERS:
                spans.append(Span(sp.start + 1, sp.end, sp.label, sp.score))
                n += 1
            else:
                spans.append(sp)
        out.append(s.with_spans(spans))
    return tuple(out), n


_PREFIXED_NAME = re.compile(r"^[a-z]{1,6}[A-Z][a-z]")


def looks_like_name(tokens: Sequence[str], i: int) -> bool:
    """Whether word ``i`` looks like a name by its case: capitalised (an upper-case letter then a
    lower-case one), not the first word and not right after sentence punctuation or a
    quote/bracket; or, anywhere, a lower-case prefix of 1–6 letters glued to a capitalised word
    (``uMandela``, ``eThekwini``: Zulu/Xhosa class prefixes; the capital is not a sentence's). The one definition the ``complete-caps`` filter and the ``caps`` rule of
    :mod:`projner.project.partial` share."""
    t = tokens[i]
    if _PREFIXED_NAME.match(t):  # uMandela, eThekwini: a class prefix glued to a name (Bantu languages)
        return True
    return i > 0 and len(t) >= 2 and t[0].isupper() and t[1].islower() and tokens[i - 1] not in SENTENCE_STARTERS


def stray_capitalised(sentence: Sentence) -> bool:
    """Whether a word outside every span :func:`looks_like_name`; a word of unknown tag
    (``Sentence.unknown``, partial labels) is not trained as O and does not count."""
    known_o = set(range(len(sentence))) - {i for sp in sentence.spans for i in range(sp.start, sp.end)} - set(sentence.unknown)
    return any(looks_like_name(sentence.tokens, i) for i in sorted(known_o))


SENTENCE_STARTERS = frozenset({".", "!", "?", ":", ";", '"', "“", "‘", "'", "(", "[", "«", "-", "–", "—", "…"})


def filter_projected(sentences: Sequence[Sentence], n_source: Sequence[int], n_projected: Sequence[int],
                     how: str, keep_empty: float = 1.0) -> tuple[tuple[Sentence, ...], dict[str, int]]:
    """Training sentences after the completeness filter and entity-free down-sampling."""
    kept, stats = [], {"in": len(sentences), "dropped_incomplete": 0, "dropped_no_entity": 0, "dropped_empty": 0}
    if how == "complete-caps":
        stats["dropped_capitalised"] = 0
    for s, ns, npj in zip(sentences, n_source, n_projected):
        if how in ("complete", "complete-caps") and npj < ns:
            stats["dropped_incomplete"] += 1
            continue
        if how == "complete-caps" and stray_capitalised(s):
            stats["dropped_capitalised"] += 1
            continue
        if how == "any" and not s.spans:
            stats["dropped_no_entity"] += 1
            continue
        kept.append(s)
    kept, stats["dropped_empty"] = downsample_empty(kept, keep_empty)
    stats["out"] = len(kept)
    return tuple(kept), stats


def downsample_empty(sentences: Sequence[Sentence], keep_empty: float) -> tuple[list[Sentence], int]:
    """Keep every sentence with entities and a ``keep_empty`` share of the entity-free ones
    (evenly spaced, deterministic); returns the sentences and how many were dropped."""
    if keep_empty >= 1.0:
        return list(sentences), 0
    empty = [i for i, s in enumerate(sentences) if not s.spans]
    keep_ids = set(evenly(empty, int(round(keep_empty * len(empty)))))
    return [s for i, s in enumerate(sentences) if s.spans or i in keep_ids], len(empty) - len(keep_ids)
