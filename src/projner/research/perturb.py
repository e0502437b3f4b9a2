"""Morphological perturbation of labelled sentences with an inflection table (issue 8, item 1).

:func:`perturb` replaces a controlled share of the covered tokens of labelled sentences by
another form of the same lemma (labels, spans, ids and token count unchanged);
:func:`augment_sentences` adds (or substitutes) such perturbed copies to training data.

A token is *covered* when its form is in the :class:`~projner.data.sigmorphon.InflectionTable`
(case-insensitive, after NFC) and its lemma has at least one other (single-word) form. A
substituted form takes the original token's capitalisation pattern (``UPPER`` → upper,
``Title`` → first letter upper, otherwise lower).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Sequence

from projner.data.sigmorphon import InflectionTable
from projner.errors import E, ProjnerError
from projner.types import Sentence


@dataclass(frozen=True)
class PerturbStats:
    sentences: int = 0
    tokens: int = 0
    entity_tokens: int = 0
    in_table: int = 0            # token form found in the table
    covered: int = 0             # in the table and its lemma has another form
    covered_in_entities: int = 0
    eligible: int = 0            # covered and allowed by inside_entities / only_entities
    replaced: int = 0
    replaced_in_entities: int = 0
    sentences_changed: int = 0

    def to_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def match_case(original: str, new: str) -> str:
    """``new`` with ``original``'s capitalisation pattern (UPPER, Title, otherwise lower)."""
    cased = [c for c in original if c.isalpha()]
    if len(cased) > 1 and all(c.isupper() for c in cased):
        return new.upper()
    if cased and original[:1].isupper():
        return new[:1].upper() + new[1:].lower()
    return new.lower()


def perturb(sentences: Sequence[Sentence], table: InflectionTable, rate: float, seed: int, *,
            inside_entities: bool = True, only_entities: bool = False) -> tuple[tuple[Sentence, ...], PerturbStats]:
    """Replace ``rate`` of the eligible covered tokens by another form of the same lemma.

    Selection: the eligible positions, in sentence/token order, are shuffled once with
    ``seed`` and the first ``round(rate * n)`` are replaced, so the sets are nested across
    rates (0.25 ⊂ 0.5 ⊂ 1.0 for one seed). The replacement form of a position depends only
    on ``seed`` and the position. Spans, ids and token counts are unchanged; the input is not
    mutated; unchanged sentences are returned as the same objects.
    """
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= float(rate) <= 1.0 or math.isnan(rate):
        raise ProjnerError(E.E221, detail=f"rate must be a number in [0, 1], not {rate!r}")
    if only_entities and not inside_entities:
        raise ProjnerError(E.E221, detail="only_entities=True needs inside_entities=True")
    n_tok = n_ent = n_in = 0
    covered: list[tuple[int, int, bool]] = []
    alts: dict[tuple[int, int], tuple[str, ...]] = {}
    for si, s in enumerate(sentences):
        inside = {i for sp in s.spans for i in range(sp.start, sp.end)}
        n_tok += len(s.tokens)
        n_ent += len(inside)
        for ti, tok in enumerate(s.tokens):
            if tok not in table:
                continue
            n_in += 1
            a = table.alternatives(tok)
            if a:
                covered.append((si, ti, ti in inside))
                alts[(si, ti)] = a
    eligible = [(si, ti, ent) for si, ti, ent in covered
                if (ent and inside_entities) or (not ent and not only_entities)]
    order = list(range(len(eligible)))
    random.Random(f"perturb:{seed}").shuffle(order)
    k = int(round(float(rate) * len(eligible)))
    chosen = sorted(eligible[j] for j in order[:k])
    changes: dict[int, dict[int, str]] = {}
    for si, ti, _ in chosen:
        a = alts[(si, ti)]
        new = a[random.Random(f"form:{seed}:{si}:{ti}").randrange(len(a))]
        changes.setdefault(si, {})[ti] = match_case(sentences[si].tokens[ti], new)
    out = []
    for si, s in enumerate(sentences):
        ch = changes.get(si)
        if not ch:
            out.append(s)
        else:
            out.append(Sentence(tuple(ch.get(i, t) for i, t in enumerate(s.tokens)), s.spans, s.id, s.unknown))
    stats = PerturbStats(sentences=len(sentences), tokens=n_tok, entity_tokens=n_ent, in_table=n_in,
                         covered=len(covered), covered_in_entities=sum(1 for c in covered if c[2]),
                         eligible=len(eligible), replaced=len(chosen),
                         replaced_in_entities=sum(1 for c in chosen if c[2]), sentences_changed=len(changes))
    return tuple(out), stats


def augment_sentences(sentences: Sequence[Sentence], table: InflectionTable, *, rate: float, copies: int, mode: str,
                      seed: int, inside_entities: bool = True, only_entities: bool = False,
                      summary: dict | None = None) -> tuple[Sentence, ...]:
    """Training data augmented with perturbed sentences.

    ``mode="add"``: the originals plus, for each of ``copies`` perturbations (seeds ``seed``,
    ``seed+1`` …), the sentences it changed (unchanged copies would only duplicate data).
    ``mode="replace"``: the sentences of one perturbation (same size as the input).
    ``summary`` (a dict, optional) receives counts; the input is not mutated.
    """
    if mode not in ("add", "replace"):
        raise ProjnerError(E.E221, detail=f"augmentation mode {mode!r}; known: add, replace")
    if copies < 1:
        raise ProjnerError(E.E221, detail=f"copies must be >= 1, not {copies}")
    if mode == "replace":
        out, st = perturb(sentences, table, rate, seed, inside_entities=inside_entities, only_entities=only_entities)
        if summary is not None:
            summary.update({"mode": mode, "in": len(sentences), "out": len(out), "perturb": [st.to_dict()]})
        return out
    out = list(sentences)
    stats = []
    for c in range(copies):
        pert, st = perturb(sentences, table, rate, seed + c, inside_entities=inside_entities, only_entities=only_entities)
        out += [q for q, s in zip(pert, sentences) if q is not s]
        stats.append(st.to_dict())
    if summary is not None:
        summary.update({"mode": mode, "in": len(sentences), "out": len(out), "added": len(out) - len(sentences),
                        "perturb": stats})
    return tuple(out)
