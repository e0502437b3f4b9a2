"""EasyProject-style marker-based projection (Chen et al., 2023): mark, translate, decode, assign.

Marking and decoding markers in text is the translation side (:mod:`projner.translate.markers`:
styles, what decoding tolerates). Here the decoded marker pairs become a projection: bracket
pairs are assigned to source entities by a one-to-one matching (Hungarian) maximising
character-trigram similarity between the bracketed text and the entity — its source text and,
by default, its separate translation (as EasyProject does) — plus a small bonus for keeping the
source order. Every entity that gets no marker pair is reported as :data:`Outcome.MARKER_LOST`;
:func:`marker_stats` gives the share lost.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from projner.errors import E, ProjnerError
from projner.project.base import EntityProjection, Outcome, Projection
from projner.project.scores import ngram_dice
from projner.signature import component_signature, nest
from projner.translate.base import Translator
from projner.translate.markers import STYLES, Segment, decode_markers, mark_sentence, marked_entities, simple_tokenize
from projner.translate.parallel import ParallelFileTranslator
from projner.types import Sentence, Span

ORDER_WEIGHT = 0.3


# ----------------------------------------------------------------------------- assignment


def _similarity(a: str, b: str) -> float:
    if not a or not b:
        return 0.0
    return ngram_dice(a, b)


def assign_segments(
    entities: Sequence[Span],
    entity_texts: Sequence[Sequence[str]],
    segments: Sequence[Segment],
    style: str = "brackets",
    min_similarity: float = 0.0,
) -> dict[int, int]:
    """One-to-one entity → segment assignment (indices), see module docs."""
    from scipy.optimize import linear_sum_assignment

    n_e, n_s = len(entities), len(segments)
    if n_e == 0 or n_s == 0:
        return {}
    sim = np.zeros((n_e, n_s))
    allowed = np.ones((n_e, n_s), dtype=bool)
    for i, e in enumerate(entities):
        for j, seg in enumerate(segments):
            if style == "typed" and seg.tag is not None and seg.tag != e.label.upper():
                allowed[i, j] = False
            if style == "numbered" and seg.tag is not None and seg.tag != str(i + 1):
                allowed[i, j] = False
            sim[i, j] = max((_similarity(t, seg.text) for t in entity_texts[i]), default=0.0)
    pe = np.arange(n_e)[:, None] / max(n_e - 1, 1)
    ps = np.arange(n_s)[None, :] / max(n_s - 1, 1)
    order = 1.0 - np.abs(pe - ps)
    if n_e == 1 or n_s == 1:
        order = np.ones((n_e, n_s))
    gain = sim + ORDER_WEIGHT * order
    gain = np.where(allowed, gain, -1e6)
    rows, cols = linear_sum_assignment(gain, maximize=True)
    out = {}
    for i, j in zip(rows, cols):
        if allowed[i, j] and sim[i, j] >= min_similarity:
            out[int(i)] = int(j)
    return out


def _trim(seg: Segment, want: int) -> tuple[int, int]:
    """A repaired segment cut to ``want`` tokens on the side whose marker was missing."""
    n = seg.end - seg.start
    want = max(1, min(want, n))
    if seg.repair == "close_missing":
        return seg.start, seg.start + want
    if seg.repair == "open_missing":
        return seg.end - want, seg.end
    return seg.start, seg.end


# ----------------------------------------------------------------------------- the projector


@dataclass
class MarkerStats:
    sentences: int = 0
    entities: int = 0
    projected: int = 0
    marker_lost: int = 0
    overlap_lost: int = 0
    counts: Counter = field(default_factory=Counter)

    @property
    def lost_share(self) -> float:
        return self.marker_lost / self.entities if self.entities else 0.0

    def to_dict(self) -> dict:
        return {
            "sentences": self.sentences, "entities": self.entities, "projected": self.projected,
            "marker_lost": self.marker_lost, "overlap_lost": self.overlap_lost,
            "lost_share": round(self.lost_share, 6), **{k: int(v) for k, v in sorted(self.counts.items())},
        }

    def format(self) -> str:
        extra = ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items()) if v)
        return (f"markers: projected {self.projected}/{self.entities} entities, lost {self.marker_lost} "
                f"({100 * self.lost_share:.1f}%) in {self.sentences} sentences" + (f"; {extra}" if extra else ""))


def marker_stats(results: Sequence[tuple[Sentence, Projection]]) -> MarkerStats:
    """Entity counts and the share of entities whose markers were lost, from projection results."""
    st = MarkerStats(sentences=len(results))
    for _, proj in results:
        for ent in proj.entities:
            st.entities += 1
            if ent.outcome is Outcome.PROJECTED:
                st.projected += 1
                if ent.detail:
                    st.counts[ent.detail.split(":")[0]] += 1
            elif ent.outcome is Outcome.MARKER_LOST:
                st.marker_lost += 1
            elif ent.outcome is Outcome.OVERLAP_LOST:
                st.overlap_lost += 1
    return st


@dataclass
class MarkerProjector:
    """Marker-based projection with a :class:`Translator` (see module docs).

    ``match_translations``: translate each entity on its own (one batch) and use it in the
    fuzzy matching; None = yes unless the translator is a parallel-file one (entity strings are
    not on disk). ``min_similarity``: a bracket pair is only given to an entity whose similarity
    reaches this (default 0: order alone may decide, as when counts agree).
    """

    translator: Translator
    src: str
    tgt: str
    style: str = "brackets"
    match_translations: bool | None = None
    min_similarity: float = 0.0
    tokenize: Callable[[str], list[tuple[str, int, int]]] = simple_tokenize
    stats: MarkerStats = field(default_factory=MarkerStats)

    def __post_init__(self) -> None:
        if self.style not in STYLES:
            raise ProjnerError(E.E185, detail=f"marker style must be one of {STYLES}, got {self.style!r}")
        if not (0.0 <= self.min_similarity <= 1.0):
            raise ProjnerError(E.E185, detail=f"min_similarity must be in [0, 1], got {self.min_similarity!r}")
        if self.match_translations is None:
            self.match_translations = not isinstance(self.translator, ParallelFileTranslator)

    def signature(self) -> str:
        return component_signature("method", "markers", style=self.style, match_translations=self.match_translations,
                                   min_similarity=self.min_similarity, translator=nest(self.translator.signature()))

    def project(self, sentences: Sequence[Sentence]) -> list[tuple[Sentence, Projection]]:
        counts: Counter = Counter()
        sents = list(sentences)
        for i, s in enumerate(sents):
            if not isinstance(s, Sentence):
                raise ProjnerError(E.E187, detail=f"item {i} is {type(s).__name__}, not a Sentence")
        marked = [mark_sentence(s, self.style, counts) for s in sents]
        translations = self.translator.translate(marked, self.src, self.tgt)
        if len(translations) != len(sents):
            raise ProjnerError(E.E187, detail=f"the translator returned {len(translations)} translations for {len(sents)} sentences")
        ent_tr: dict[str, str] = {}
        if self.match_translations:
            surface = sorted({s.span_text(e) for s in sents for e in marked_entities(s)[0]})
            if surface:
                ent_tr = {a: t.text for a, t in zip(surface, self.translator.translate(surface, self.src, self.tgt))}
        out = []
        for sent, tr in zip(sents, translations):
            out.append(self._one(sent, tr.text, ent_tr, counts))
        st = marker_stats(out)
        st.counts.update(counts)
        self.stats = st
        return out

    def _one(self, sent: Sentence, translation: str, ent_tr: dict[str, str], counts: Counter) -> tuple[Sentence, Projection]:
        ents, dropped = marked_entities(sent)
        tags = None
        if self.style == "typed":
            tags = {e.label.upper() for e in ents}
        elif self.style == "numbered":
            tags = {str(k) for k in range(1, len(ents) + 1)}
        dec = decode_markers(translation, self.style, tags, self.tokenize)
        counts.update(dec.counts)
        if not translation.strip():
            counts["empty_translations"] += 1
        texts = [[sent.span_text(e)] + ([ent_tr[sent.span_text(e)]] if sent.span_text(e) in ent_tr else []) for e in ents]
        assign = assign_segments(ents, texts, dec.segments, self.style, self.min_similarity)
        counts["extra_segments"] += len(dec.segments) - len(assign)
        verdicts: dict[int, EntityProjection] = {}
        spans: list[Span] = []
        for i, e in enumerate(ents):
            j = assign.get(i)
            if j is None:
                why = "no marker pair in the translation" if not dec.segments else "the marker pairs went to other entities"
                verdicts[id(e)] = EntityProjection(e, None, Outcome.MARKER_LOST, why)
                continue
            seg = dec.segments[j]
            want = len(self.tokenize(texts[i][1])) if len(texts[i]) > 1 else len(e)
            a, b = _trim(seg, want)
            tspan = Span(a, b, e.label)
            if any(tspan.overlaps(o) for o in spans):
                verdicts[id(e)] = EntityProjection(e, None, Outcome.OVERLAP_LOST, "its marked words overlap another entity's")
                continue
            detail = f"{seg.repair}: span length taken from the entity" if seg.repair else ""
            verdicts[id(e)] = EntityProjection(e, tspan, Outcome.PROJECTED, detail)
            spans.append(tspan)
        for e in dropped:
            verdicts[id(e)] = EntityProjection(e, None, Outcome.OVERLAP_LOST, "overlaps a longer source entity; only one can be marked")
        target = Sentence(dec.tokens, tuple(spans), sent.id)
        entities = tuple(verdicts[id(e)] for e in sent.spans)
        return target, Projection(tuple(sorted(spans, key=lambda s: (s.start, s.end))), entities)


def project_with_markers(
    sentences: Sequence[Sentence], translator: Translator, src: str, tgt: str, **options
) -> list[tuple[Sentence, Projection]]:
    """Translate labelled source sentences with markers; return (target sentence, projection) pairs.

    ``options``: ``style``, ``match_translations``, ``min_similarity``, ``tokenize`` (see
    :class:`MarkerProjector`). Use :func:`marker_stats` on the result for the share of entities lost.
    """
    return MarkerProjector(translator, src, tgt, **options).project(sentences)
