"""Combine the projections of one target corpus from several source languages (multi-source projection).

Each source contributes its projected target sentences (same corpus, same tokens, sentence *i*
of every source is sentence *i* of the target). A source may leave a sentence out (``None``:
it says nothing about it, e.g. a filtered pair); a present sentence with no spans is a vote for
"no entity here". Every proposed span ``(start, end, label)`` gets a **vote**: the sum, over the
sources proposing exactly that span, of ``source weight × span confidence``. The confidence is
the span's ``score`` (``weighting="confidence"``; a span without a score counts 1.0), or 1.0
for every span (``weighting="uniform"``). Use :func:`alignment_confidence` to score heuristic
projections with the share of the source entity's words aligned into the projected span.

Methods (:data:`METHODS`):

* ``vote``: keep a span whose vote reaches ``threshold`` × the total weight of the sources that
  cover the sentence (default 0.5: half of the covering sources at full confidence);
* ``union``: keep every proposed span (vote > 0);
* ``unanimous``: keep a span proposed by every covering source (confidences still rank overlaps).

Kept spans may overlap (two sources disagree on boundaries or type); overlaps are resolved
greedily and deterministically: highest vote first, then longest, then leftmost, then label.
A kept span's ``score`` is its vote share (vote / covering weight). Nothing is mutated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

from projner.errors import E, ProjnerError
from projner.project.base import Outcome, Projection
from projner.signature import component_signature
from projner.types import Alignment, Sentence, Span

METHODS = ("vote", "union", "unanimous")
WEIGHTINGS = ("confidence", "uniform")
EPS = 1e-9


@dataclass(frozen=True)
class CombineConfig:
    """How to combine: ``method`` (vote/union/unanimous), ``threshold`` (vote share, for ``vote``),
    ``weighting`` (``confidence``: span scores; ``uniform``: every span counts 1) and optional
    per-source weights (``source_weights``, default 1.0 each)."""

    method: str = "vote"
    threshold: float = 0.5
    weighting: str = "confidence"
    source_weights: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ProjnerError(E.E252, detail=f"method {self.method!r}; known: {', '.join(METHODS)}")
        if self.weighting not in WEIGHTINGS:
            raise ProjnerError(E.E252, detail=f"weighting {self.weighting!r}; known: {', '.join(WEIGHTINGS)}")
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, (int, float)) or not 0.0 <= self.threshold <= 1.0:
            raise ProjnerError(E.E252, detail=f"threshold must be a number in [0, 1], not {self.threshold!r}")
        for name, w in self.source_weights.items():
            if isinstance(w, bool) or not isinstance(w, (int, float)) or w < 0:
                raise ProjnerError(E.E252, detail=f"source weight of {name!r} must be a number >= 0, not {w!r}")
        object.__setattr__(self, "source_weights", dict(sorted(self.source_weights.items())))

    def signature(self) -> str:
        sw = ",".join(f"{k}={v:g}" for k, v in self.source_weights.items()) or "equal"
        th = f"{self.threshold:g}" if self.method == "vote" else "-"
        return component_signature("combine", self.method, threshold=th, weighting=self.weighting, source_weights=sw)

    def tag(self) -> str:
        """A short name for tables: ``vote``, ``vote@0.67``, ``vote-uniform``, ``union`` …"""
        t = self.method
        if self.method == "vote" and abs(self.threshold - 0.5) > EPS:
            t += f"@{self.threshold:g}"
        if self.weighting != "confidence":
            t += f"-{self.weighting}"
        return t


@dataclass(frozen=True)
class CombineStats:
    sentences: int
    covered: int            # sentences covered by at least one source
    uncovered: int          # sentences no source covers (left without spans)
    proposed: int           # distinct (sentence, start, end, label) proposals
    accepted: int           # spans passing the method's test
    kept: int               # spans kept after overlap resolution
    overlap_dropped: int    # accepted spans dropped because a stronger one overlapped

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _check(sources: Mapping[str, Sequence[Sentence | None]]) -> tuple[list[str], int]:
    if not isinstance(sources, Mapping) or not sources:
        raise ProjnerError(E.E252, detail="no sources given (expected a mapping of source name to projected sentences)")
    names = list(sources)
    first = names[0]
    n_first = len(sources[first])
    for name in names[1:]:
        if len(sources[name]) != n_first:
            raise ProjnerError(E.E250, source=name, n=len(sources[name]), first=first, n_first=n_first)
    for i in range(n_first):
        ref_name, ref = None, None
        for name in names:
            s = sources[name][i]
            if s is None:
                continue
            if not isinstance(s, Sentence):
                raise ProjnerError(E.E252, detail=f"sentence {i} of source {name!r} is a {type(s).__name__}, not a Sentence or None")
            if ref is None:
                ref_name, ref = name, s
            elif s.tokens != ref.tokens:
                diff = next((k for k, (a, b) in enumerate(zip(s.tokens, ref.tokens)) if a != b), min(len(s), len(ref)))
                detail = (f"{len(s)} vs {len(ref)} tokens" if len(s) != len(ref)
                          else f"token {diff}: {s.tokens[diff]!r} vs {ref.tokens[diff]!r}")
                raise ProjnerError(E.E251, index=i, source=name, first=ref_name, detail=detail)
            for sp in s.spans:
                if sp.score is not None and sp.score < 0:
                    raise ProjnerError(E.E252, detail=f"sentence {i} of source {name!r}: negative span score {sp.score}")
    return names, n_first


def combine(sources: Mapping[str, Sequence[Sentence | None]], config: CombineConfig = CombineConfig(), *,
            target: Sequence[Sentence] | None = None) -> tuple[tuple[Sentence | None, ...], CombineStats]:
    """Combined target sentences (one per index; tokens and id from ``target`` when given, else
    from the first covering source) and counts.

    ``sources`` maps a source name to its projected target sentences (``None`` = not covered).
    A sentence no source covers comes back without spans (``target`` given) or as ``None``.
    Raises E250 (different numbers of sentences) and E251 (different tokens, naming the sentence
    index and the source) for corpora that do not line up, also against ``target``.
    """
    if not isinstance(sources, Mapping) or not sources:
        raise ProjnerError(E.E252, detail="no sources given (expected a mapping of source name to projected sentences)")
    if target is not None:
        if "(target)" in sources:
            raise ProjnerError(E.E252, detail="'(target)' is reserved for the target corpus")
        names, n = _check({"(target)": list(target), **dict(sources)})
        names = [x for x in names if x != "(target)"]
    else:
        names, n = _check(sources)
    weights = {name: float(config.source_weights.get(name, 1.0)) for name in names}
    out: list[Sentence] = []
    covered = proposed = accepted = kept = dropped = 0
    for i in range(n):
        present = [(name, sources[name][i]) for name in names if sources[name][i] is not None]
        if not present:
            out.append(None if target is None else target[i].unlabelled())
            continue
        covered += 1
        total = sum(weights[name] for name, _ in present)
        votes: dict[tuple[int, int, str], float] = {}
        voters: dict[tuple[int, int, str], int] = {}
        for name, sent in present:
            seen = set()
            for sp in sent.spans:
                k = sp.key
                if k in seen:  # one source votes once per span
                    continue
                seen.add(k)
                conf = 1.0 if config.weighting == "uniform" or sp.score is None else float(sp.score)
                votes[k] = votes.get(k, 0.0) + weights[name] * conf
                voters[k] = voters.get(k, 0) + 1
        proposed += len(votes)
        if config.method == "vote":
            ok = [k for k, v in votes.items() if total > 0 and v + EPS >= config.threshold * total and v > 0]
        elif config.method == "union":
            ok = list(votes)
        else:  # unanimous
            ok = [k for k in votes if voters[k] == len(present)]
        accepted += len(ok)
        ok.sort(key=lambda k: (-votes[k], -(k[1] - k[0]), k[0], k[1], k[2]))
        taken: list[Span] = []
        for a, b, lab in ok:
            sp = Span(a, b, lab, votes[(a, b, lab)] / total if total > 0 else 0.0)
            if any(sp.overlaps(t) for t in taken):
                dropped += 1
                continue
            taken.append(sp)
        kept += len(taken)
        ref = present[0][1] if target is None else target[i]
        out.append(Sentence(ref.tokens, tuple(taken), ref.id))
    uncovered = n - covered
    stats = CombineStats(n, covered, uncovered, proposed, accepted, kept, dropped)
    return tuple(out), stats


def alignment_confidence(projection: Projection, alignment: Alignment) -> dict[Span, float]:
    """Confidence of each projected span: the share of its source entity's words that have at
    least one link into the span (1.0 = every word of the entity aligned inside it)."""
    out: dict[Span, float] = {}
    for ent in projection.entities:
        if ent.outcome is not Outcome.PROJECTED or ent.target is None:
            continue
        t = ent.target
        src_words = {l.src for l in alignment.links if ent.source.start <= l.src < ent.source.end and t.start <= l.tgt < t.end}
        share = len(src_words) / max(len(ent.source), 1)
        key = Span(t.start, t.end, t.label)
        out[key] = max(out.get(key, 0.0), share)
    return out


def with_alignment_confidence(sentences: Sequence[Sentence], projections: Sequence[Projection],
                              alignments: Sequence[Alignment]) -> tuple[Sentence, ...]:
    """Copies of ``sentences`` whose spans carry :func:`alignment_confidence` as ``score``
    (a span no projected entity explains keeps its own score)."""
    if not (len(sentences) == len(projections) == len(alignments)):
        raise ProjnerError(E.E252, detail=f"{len(sentences)} sentences, {len(projections)} projections, "
                                          f"{len(alignments)} alignments: they must line up")
    out = []
    for s, p, a in zip(sentences, projections, alignments):
        conf = alignment_confidence(p, a)
        out.append(s.with_spans(sp.with_score(conf.get(Span(sp.start, sp.end, sp.label), sp.score)) for sp in s.spans))
    return tuple(out)
