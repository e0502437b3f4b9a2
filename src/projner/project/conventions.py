"""Span conventions of the target annotation: which words next to a name belong to the entity.

Annotation guidelines differ at span edges, and projection copies the *source* language's
edges. MasakhaNER's Hausa annotators, for instance, include the classifier noun before a place
(``jihar Kano`` "Kano State", ``kasar Ingila`` "England", ``birnin Abidjan``), which the English
side does not have ("England"), so projected and transferred spans stop one word short; in
Igbo some words before a name stay outside. A strict span F1 counts every such span as one
false positive and one false negative.

:func:`learn_conventions` reads the edges off a few labelled target sentences (MasakhaNER's
``dev.txt``; never the scored file): for every label and word, how often the word is the first
(last) word of a multi-word span of that label against how often it stands just before (after)
such a span. A word seen at least ``min_count`` times there and inside at least ``min_ratio`` of
those times is *included* (a span of that label right after it grows over it); one outside at
least ``min_ratio`` of the time is *excluded* (a span of that label that starts or ends with it
loses it). Words are compared in NFC lower case. :func:`apply_conventions` applies the rules to
projected training data (or to a tagger's output, :class:`ConventionTagger`), at most
``max_steps`` words per edge, never into another span; nothing is mutated and the counts say
what changed. Rules are plain JSON (:meth:`SpanConventions.to_dict`), so they can be written by
hand from a guideline instead of learned.
"""

from __future__ import annotations

import json
import os
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from projner.errors import E, ProjnerError
from projner.types import Sentence, Span

FORMAT = "projner-span-conventions"
EDGES = ("include_left", "exclude_left", "include_right", "exclude_right")


def _norm(word: str) -> str:
    return unicodedata.normalize("NFC", word).lower()


@dataclass(frozen=True)
class SpanConventions:
    """Per label, the words each edge rule names (``{label: {edge: frozenset(words)}}``, edges
    in :data:`EDGES`); ``source``: where they came from (a file name, ``hand-written``)."""

    rules: Mapping[str, Mapping[str, frozenset[str]]] = field(default_factory=dict)
    source: str = ""
    max_steps: int = 2

    def words(self, label: str, edge: str) -> frozenset[str]:
        return self.rules.get(label, {}).get(edge, frozenset())

    def __len__(self) -> int:
        return sum(len(w) for r in self.rules.values() for w in r.values())

    def to_dict(self) -> dict:
        return {"format": FORMAT, "source": self.source, "max_steps": self.max_steps,
                "rules": {lab: {e: sorted(r.get(e, ())) for e in EDGES if r.get(e)} for lab, r in sorted(self.rules.items())}}

    @classmethod
    def from_dict(cls, d: Mapping, where: str = "conventions") -> "SpanConventions":
        if not isinstance(d, Mapping) or d.get("format") != FORMAT or not isinstance(d.get("rules"), Mapping):
            raise ProjnerError(E.E136, file=where, detail=f"not a {FORMAT} document (keys format, rules)")
        rules = {}
        for lab, r in d["rules"].items():
            if not isinstance(r, Mapping) or set(r) - set(EDGES):
                raise ProjnerError(E.E136, file=where, detail=f"label {lab!r}: edges must be among {', '.join(EDGES)}")
            if any(not isinstance(w, list) or not all(isinstance(x, str) and x for x in w) for w in r.values()):
                raise ProjnerError(E.E136, file=where, detail=f"label {lab!r}: each edge is a list of words")
            rules[str(lab)] = {e: frozenset(_norm(x) for x in w) for e, w in r.items()}
        steps = d.get("max_steps", 2)
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise ProjnerError(E.E136, file=where, detail=f"max_steps must be an integer >= 1, not {steps!r}")
        return cls(rules, str(d.get("source", "")), steps)

    def signature(self) -> str:
        return f"{self.source or 'rules'}({len(self)})"


def learn_conventions(gold: Iterable[Sentence], *, min_count: int = 3, min_ratio: float = 0.5, source: str = "",
                      max_steps: int = 2) -> SpanConventions:
    """Edge rules read off labelled target sentences (see the module docstring)."""
    if min_count < 1 or not 0.0 < min_ratio <= 1.0:
        raise ProjnerError(E.E136, file=source or "conventions", detail="min_count >= 1 and 0 < min_ratio <= 1")
    inside = {"left": Counter(), "right": Counter()}
    outside = {"left": Counter(), "right": Counter()}
    for s in gold:
        toks = [_norm(t) for t in s.tokens]
        for sp in s.spans:
            if len(sp) >= 2:
                inside["left"][sp.label, toks[sp.start]] += 1
                inside["right"][sp.label, toks[sp.end - 1]] += 1
            if sp.start > 0 and not any(o.start <= sp.start - 1 < o.end for o in s.spans):
                outside["left"][sp.label, toks[sp.start - 1]] += 1
            if sp.end < len(toks) and not any(o.start <= sp.end < o.end for o in s.spans):
                outside["right"][sp.label, toks[sp.end]] += 1
    rules: dict[str, dict[str, set[str]]] = {}
    for side in ("left", "right"):
        for key in set(inside[side]) | set(outside[side]):
            i, o = inside[side][key], outside[side][key]
            if i + o < min_count:
                continue
            lab, word = key
            if i >= min_count and i / (i + o) >= min_ratio:
                rules.setdefault(lab, {}).setdefault(f"include_{side}", set()).add(word)
            elif o >= min_count and o / (i + o) >= min_ratio:
                rules.setdefault(lab, {}).setdefault(f"exclude_{side}", set()).add(word)
    return SpanConventions({lab: {e: frozenset(w) for e, w in r.items()} for lab, r in rules.items()}, source, max_steps)


def load_conventions(path: str | os.PathLike, **learn_options) -> SpanConventions:
    """Rules from a ``.json`` rules file, or learned from a labelled corpus (CoNLL/JSONL)."""
    p = Path(path)
    if not p.is_file():
        raise ProjnerError(E.E136, file=str(p), detail="no such file")
    if p.suffix == ".json":
        try:
            d = json.loads(p.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ProjnerError(E.E136, file=str(p), detail=f"not valid JSON ({exc})") from None
        return SpanConventions.from_dict(d, str(p))
    from projner.data.formats import read_corpus
    from projner.data.tokenize import nfc_tokens

    return learn_conventions(nfc_tokens(read_corpus(p).sentences), source=p.name, **learn_options)


@dataclass(frozen=True)
class ConventionCounts:
    """What :func:`apply_conventions` changed: words added to / removed from spans per edge rule
    and label, and the sentences changed."""

    words: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    spans: int = 0
    sentences: int = 0

    def to_dict(self) -> dict:
        return {"words": {e: dict(sorted(c.items())) for e, c in sorted(self.words.items())}, "spans": self.spans,
                "sentences": self.sentences}


def _adjust(span: Span, toks: Sequence[str], taken: Sequence[bool], conv: SpanConventions, counts: dict) -> Span:
    start, end = span.start, span.end
    for _ in range(conv.max_steps):  # grow over included words, never into another span
        if start > 0 and not taken[start - 1] and toks[start - 1] in conv.words(span.label, "include_left"):
            start -= 1
            counts["include_left"][span.label] += 1
    for _ in range(conv.max_steps):
        if end < len(toks) and not taken[end] and toks[end] in conv.words(span.label, "include_right"):
            end += 1
            counts["include_right"][span.label] += 1
    for _ in range(conv.max_steps):  # drop excluded edge words, never the last word
        if end - start > 1 and toks[start] in conv.words(span.label, "exclude_left"):
            start += 1
            counts["exclude_left"][span.label] += 1
    for _ in range(conv.max_steps):
        if end - start > 1 and toks[end - 1] in conv.words(span.label, "exclude_right"):
            end -= 1
            counts["exclude_right"][span.label] += 1
    return span if (start, end) == (span.start, span.end) else Span(start, end, span.label, span.score)


def apply_conventions(sentences: Sequence[Sentence], conv: SpanConventions) -> tuple[list[Sentence], ConventionCounts]:
    """New sentences whose spans follow ``conv`` (unknown words a grown span covers become
    known), and the counts. Spans are adjusted left to right; a span grows only over words no
    other span holds (as adjusted so far)."""
    counts = {e: Counter() for e in EDGES}
    out, n_spans, n_sent = [], 0, 0
    for s in sentences:
        if not s.spans or not len(conv):
            out.append(s)
            continue
        toks = [_norm(t) for t in s.tokens]
        spans = sorted(s.spans, key=lambda x: (x.start, x.end))
        new: list[Span] = []
        for k, sp in enumerate(spans):
            taken = [False] * len(toks)
            for o in new + spans[k + 1:]:
                for i in range(o.start, o.end):
                    taken[i] = True
            new.append(_adjust(sp, toks, taken, conv, counts))
        changed = sum(1 for a, b in zip(spans, new) if a.key != b.key)
        if changed:
            n_spans += changed
            n_sent += 1
            out.append(s.with_spans(new))
        else:
            out.append(s)
    words = {e: dict(c) for e, c in counts.items() if c}
    return out, ConventionCounts(words, n_spans, n_sent)


class ConventionTagger:
    """A tagger whose predicted spans follow ``conventions`` (post-processing; everything else
    is the wrapped tagger's)."""

    def __init__(self, tagger, conventions: SpanConventions):
        self.tagger, self.conventions = tagger, conventions
        self.backend = getattr(tagger, "backend", "?")

    @property
    def labels(self) -> tuple[str, ...]:
        return self.tagger.labels

    def predict(self, sentences: Sequence[Sentence], *, labels: Iterable[str] | None = None) -> list[Sentence]:
        return apply_conventions(self.tagger.predict(sentences, labels=labels), self.conventions)[0]


__all__ = ["ConventionCounts", "ConventionTagger", "SpanConventions", "apply_conventions", "learn_conventions",
           "load_conventions"]
