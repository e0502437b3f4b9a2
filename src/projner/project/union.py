"""Model transfer where projection is silent: the union of projected spans and a transfer tagger's.

Projection is recall-bound: an entity the English labeller missed, or whose words the aligner
lost, is trained as ``O``. A multilingual tagger applied to the target side ("model
transfer") can fill such holes. :func:`union_transfer` adds each confident transfer span
(``score >= min_score``) that overlaps no projected span: projection wins every conflict, and
projection's ``O`` never vetoes a confident transfer entity. With ``unknown_score`` set,
less confident transfer spans (``unknown_score <= score < min_score``) that overlap no span
make their tokens *unknown* (:attr:`projner.types.Sentence.unknown`: partial annotation)
instead of ``O``.

A span without a score (a tagger that gives none) counts as certain (score 1), as in
candidate matching. Nothing is mutated; the counts say what changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

from projner.errors import E, ProjnerError
from projner.types import Sentence, Span


@dataclass(frozen=True)
class TransferCounts:
    """What :func:`union_transfer` did.

    ``added``: transfer spans added, per label; ``unknown_tokens``: tokens marked unknown;
    ``sentences``: sentences changed (a span added or a token marked); ``overlapping``:
    confident transfer spans left out because they overlap a projected (or a better added) span;
    ``below``: transfer spans under every threshold (ignored).
    """

    added: Mapping[str, int] = field(default_factory=dict)
    unknown_tokens: int = 0
    sentences: int = 0
    overlapping: int = 0
    below: int = 0

    @property
    def n_added(self) -> int:
        return sum(self.added.values())

    def to_dict(self) -> dict:
        return {"added": dict(sorted(self.added.items())), "n_added": self.n_added, "unknown_tokens": self.unknown_tokens,
                "sentences": self.sentences, "overlapping": self.overlapping, "below": self.below}


def check_thresholds(min_score: float, unknown_score: float | None) -> None:
    """``0 < min_score <= 1`` and, when given, ``0 < unknown_score < min_score`` (E134)."""
    for name, x in (("min_score", min_score), ("unknown_score", unknown_score)):
        if x is None and name == "unknown_score":
            continue
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not (0.0 < float(x) <= 1.0):
            raise ProjnerError(E.E134, detail=f"{name} must be a number in (0, 1], got {x!r}")
    if unknown_score is not None and not unknown_score < min_score:
        raise ProjnerError(E.E134, detail=f"unknown_score ({unknown_score}) must be below min_score ({min_score})")


def _score(span: Span) -> float:
    return 1.0 if span.score is None else float(span.score)


def union_one(projected: Sentence, transfer: Sentence, min_score: float,
              unknown_score: float | None = None) -> tuple[Sentence, dict[str, int], int, int, int]:
    """One sentence: (new sentence, spans added per label, tokens newly marked unknown,
    overlapping confident spans left out, spans below every threshold). Tokens must match."""
    spans = list(projected.spans)
    added: dict[str, int] = {}
    overlapping = below = 0
    confident = [s for s in transfer.spans if _score(s) >= min_score]
    # the most confident first (then left to right), so that of two overlapping transfer spans the better one wins
    for s in sorted(confident, key=lambda s: (-_score(s), s.start, s.end, s.label)):
        if any(s.overlaps(p) for p in spans):
            overlapping += 1
            continue
        spans.append(s)
        added[s.label] = added.get(s.label, 0) + 1
    unknown = set(projected.unknown)
    for s in transfer.spans:
        sc = _score(s)
        if sc >= min_score:
            continue
        if unknown_score is None or sc < unknown_score:
            below += 1
            continue
        if not any(s.overlaps(p) for p in spans):
            unknown.update(range(s.start, s.end))
    out = Sentence(projected.tokens, tuple(spans), projected.id, ())
    out = out.with_unknown(sorted(i for i in unknown if not any(p.start <= i < p.end for p in spans)))
    n_unknown = len(set(out.unknown) - set(projected.unknown))
    return out, added, n_unknown, overlapping, below


def union_transfer(projected: Sequence[Sentence], transfer: Sequence[Sentence], *, min_score: float,
                   unknown_score: float | None = None) -> tuple[list[Sentence], TransferCounts]:
    """Projected sentences plus the transfer tagger's confident spans where projection found
    nothing (see the module docstring), and the counts.

    ``transfer[i]`` is the transfer tagger's output on ``projected[i]``'s tokens (E132 when the
    lengths differ, E133 when the tokens do). Projected spans are never removed or changed;
    unknown tokens already marked stay marked unless an added span covers them.
    """
    check_thresholds(min_score, unknown_score)
    if len(projected) != len(transfer):
        raise ProjnerError(E.E132, n_projected=len(projected), n_transfer=len(transfer))
    out: list[Sentence] = []
    added: dict[str, int] = {}
    n_unknown = n_sent = n_overlap = n_below = 0
    for i, (p, t) in enumerate(zip(projected, transfer)):
        if tuple(p.tokens) != tuple(t.tokens):
            raise ProjnerError(E.E133, sentence=i + 1, detail=_first_difference(p.tokens, t.tokens))
        s, a, u, ov, bl = union_one(p, t, min_score, unknown_score)
        for k, v in a.items():
            added[k] = added.get(k, 0) + v
        n_unknown += u
        n_overlap += ov
        n_below += bl
        n_sent += int(bool(a) or u > 0)
        out.append(s)
    return out, TransferCounts(added, n_unknown, n_sent, n_overlap, n_below)


def _first_difference(a: Sequence[str], b: Sequence[str]) -> str:
    if len(a) != len(b):
        return f"{len(a)} projected tokens, {len(b)} transfer tokens"
    k = next(i for i, (x, y) in enumerate(zip(a, b)) if x != y)
    return f"word {k + 1}: {a[k]!r} vs {b[k]!r}"
