"""Partial labels from projection: words the projection may have missed become **unknown**.

Projected training data is recall-bound: every name the English labeller or the aligner missed
is trained as a certain ``O``. The rules here mark such words as unknown instead
(``Sentence.unknown``): a partial-label tagger sums over every tag for them, any other tagger
treats them as ``O``. Each rule is switchable by name (:data:`UNKNOWN_RULES`,
``ProjectionConfig.unknown``):

* ``caps``: a word outside every projected span that looks like a name by its case
  (:func:`projner.project.filters.looks_like_name`: capitalised, not sentence-initial), for
  languages that capitalise names;
* ``low-score``: a source entity whose labeller score is below ``unknown_score`` (default 0.5:
  the labeller's span score approximates the probability that the span is right, so below 0.5
  it is more likely wrong than right) is not projected as an entity; the target words aligned to
  it become unknown instead. Entities without a score (spaCy labellers) are never low-score; they
  are counted (``unscored_entities``). The pipeline leaves low-score entities out of the
  projection altogether (:func:`confident_sources`), so they are neither projected nor counted as
  failed projections (the ``complete`` filter keeps their sentences); given a projection that
  did project one, :func:`mark_unknown` removes that span and marks its words unknown;
* ``unaligned-edge``: an unaligned target word directly before or after a projected span (the
  boundary is uncertain); words without a letter or digit (punctuation) are left known;
* ``unprojected``: a source entity that failed to project (any outcome but ``projected``): the
  target words aligned to it become unknown. Such an entity still counts as a failure for the
  ``complete`` filter (its aligned words may not cover the whole name): pair this rule with
  ``filter: none``.

Words inside a projected span are never unknown. Nothing is mutated: new sentences are returned
with counts per rule (tokens and sentences each rule marked; a word two rules mark counts for
both) and in total.
"""

from __future__ import annotations

import difflib
from typing import Any, Callable, Iterable, Mapping, Sequence

from projner.errors import E, ProjnerError
from projner.project.base import Outcome, Projection
from projner.project.filters import looks_like_name
from projner.types import Alignment, Sentence, Span

DEFAULT_UNKNOWN_SCORE = 0.5


class _Ctx:
    """One sentence pair seen by the rules: target words, projected spans, alignment, verdicts."""

    def __init__(self, tgt: Sentence, src: Sentence, alignment: Alignment, projection: Projection, threshold: float | None):
        self.tgt, self.src, self.alignment, self.projection = tgt, src, alignment, projection
        # threshold None: the low-score rule is off (no entity is low-score)
        self.low = () if threshold is None else tuple(sp for sp in src.spans if is_low_score(sp, threshold))
        low_keys = {sp.key for sp in self.low}
        # spans of low-score entities a projector projected anyway are removed (their words marked)
        self.removed = tuple(e.target for e in projection.entities
                             if e.outcome is Outcome.PROJECTED and e.target is not None and e.source.key in low_keys)
        removed_keys = {sp.key for sp in self.removed}
        self.spans = tuple(sp for sp in tgt.spans if sp.key not in removed_keys)
        self.inside = frozenset(i for sp in self.spans for i in range(sp.start, sp.end))

    def outside(self, indices: Iterable[int]) -> set[int]:
        return {i for i in indices if i not in self.inside and 0 <= i < len(self.tgt)}


def _caps(c: _Ctx) -> set[int]:
    return {i for i in c.outside(range(len(c.tgt))) if looks_like_name(c.tgt.tokens, i)}


def _low_score(c: _Ctx) -> set[int]:
    words = {j for sp in c.low for j in c.alignment.targets_of(range(sp.start, sp.end))}
    words |= {j for sp in c.removed for j in range(sp.start, sp.end)}
    return c.outside(words)


def _unaligned_edge(c: _Ctx) -> set[int]:
    aligned = {link.tgt for link in c.alignment.links}
    edges = {j for sp in c.spans for j in (sp.start - 1, sp.end)}
    return {j for j in c.outside(edges) if j not in aligned and any(ch.isalnum() for ch in c.tgt.tokens[j])}


def _unprojected(c: _Ctx) -> set[int]:
    low_keys = {sp.key for sp in c.low}
    failed = [e.source for e in c.projection.entities if e.outcome is not Outcome.PROJECTED and e.source.key not in low_keys]
    return c.outside(j for sp in failed for j in c.alignment.targets_of(range(sp.start, sp.end)))


UNKNOWN_RULES: Mapping[str, Callable[[_Ctx], set[int]]] = {
    "caps": _caps,
    "low-score": _low_score,
    "unaligned-edge": _unaligned_edge,
    "unprojected": _unprojected,
}


def _hint(rule: str) -> str:
    close = difflib.get_close_matches(str(rule), list(UNKNOWN_RULES), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def rule_problem(rules: Iterable[str]) -> str | None:
    """Why ``rules`` are not valid rule names (with a did-you-mean), or None when they are."""
    for r in rules:
        if r not in UNKNOWN_RULES:
            return f"unknown partial-label rule {r!r}{_hint(r)}; known: {', '.join(UNKNOWN_RULES)}"
    return None


def check_rules(rules: Iterable[str]) -> tuple[str, ...]:
    """The rule names as a tuple, in :data:`UNKNOWN_RULES` order; an unknown name raises E129."""
    rules = tuple(rules)
    for r in rules:
        if r not in UNKNOWN_RULES:
            raise ProjnerError(E.E129, rule=r, hint=_hint(r), known=", ".join(UNKNOWN_RULES))
    return tuple(r for r in UNKNOWN_RULES if r in rules)


def is_low_score(span: Span, threshold: float) -> bool:
    return span.score is not None and span.score < threshold


def confident_sources(sources: Sequence[Sentence], rules: Iterable[str],
                      unknown_score: float = DEFAULT_UNKNOWN_SCORE) -> tuple[Sentence, ...]:
    """The source sentences to project: without their low-score entities when the ``low-score``
    rule is on (the sentences unchanged otherwise)."""
    if "low-score" not in check_rules(rules):
        return tuple(sources)
    return tuple(s.with_spans(sp for sp in s.spans if not is_low_score(sp, unknown_score)) for s in sources)


def unknown_params(rules: Iterable[str], unknown_score: float = DEFAULT_UNKNOWN_SCORE) -> dict[str, Any]:
    """The marking's parameters for a cache key: empty without rules; the score only with ``low-score``."""
    rules = check_rules(rules)
    if not rules:
        return {}
    return {"unknown": list(rules), **({"unknown_score": float(unknown_score)} if "low-score" in rules else {})}


def mark_unknown(
    projected: Sequence[Sentence],
    sources: Sequence[Sentence],
    alignments: Sequence[Alignment],
    projections: Sequence[Projection],
    rules: Iterable[str],
    unknown_score: float = DEFAULT_UNKNOWN_SCORE,
) -> tuple[tuple[Sentence, ...], dict[str, Any]]:
    """Target sentences with ``unknown`` set by ``rules``, and counts.

    ``projected``: the projected target sentences; ``sources``: the labelled source sentences
    with every entity (low-score ones included) and their scores; ``alignments`` and
    ``projections``: per pair, as :func:`projner.project.build.project_corpora` used and
    returned them. Unknown tokens a sentence already has are kept. Counts: ``tokens`` and
    ``sentences`` with unknown tokens this marking added, the same per rule (``by_rule``),
    ``low_score_entities`` (entities below ``unknown_score``), ``unscored_entities`` and
    ``spans_removed`` (low-score entities a projector had projected).
    """
    rules = check_rules(rules)
    n = len(projected)
    if not (len(sources) == len(alignments) == len(projections) == n):
        raise ProjnerError(E.E001, a="projected sentences", na=n, b="sources/alignments/projections",
                           nb=min(len(sources), len(alignments), len(projections)))
    by_rule = {r: {"tokens": 0, "sentences": 0} for r in rules}
    stats: dict[str, Any] = {"rules": list(rules), "tokens": 0, "sentences": 0, "by_rule": by_rule}
    if "low-score" in rules:
        stats.update(unknown_score=float(unknown_score), low_score_entities=0, unscored_entities=0, spans_removed=0)
    out = []
    for tgt, src, al, proj in zip(projected, sources, alignments, projections):
        if not rules:
            out.append(tgt)
            continue
        c = _Ctx(tgt, src, al, proj, unknown_score if "low-score" in rules else None)
        marked: set[int] = set()
        for r in rules:
            words = UNKNOWN_RULES[r](c)
            if words:
                by_rule[r]["tokens"] += len(words)
                by_rule[r]["sentences"] += 1
                marked |= words
        if "low-score" in rules:
            stats["low_score_entities"] += len(c.low)
            stats["unscored_entities"] += sum(1 for sp in src.spans if sp.score is None)
            stats["spans_removed"] += len(c.removed)
        new = marked - set(tgt.unknown)
        if new:
            stats["tokens"] += len(new)
            stats["sentences"] += 1
        out.append(Sentence(tgt.tokens, c.spans, tgt.id, tuple(sorted(marked | set(tgt.unknown)))) if new or c.removed else tgt)
    return tuple(out), stats
