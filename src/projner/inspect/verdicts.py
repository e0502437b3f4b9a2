"""Why was an entity lost or misplaced? Per-pair verdicts for the inspector.

Two kinds of verdict are computed for each sentence pair:

* a :class:`SourceVerdict` per **source** entity: the projector's outcome (``projected``,
  ``no_links``, ``length_ratio`` with its ratio, ``overlap_lost`` …), the target words aligned to
  it, and, when a separate prediction file is given, whether the projected span is in it;
* a :class:`TargetVerdict` per **target** entity when target gold is given: ``correct``,
  ``wrong_boundary``, ``wrong_type``, ``missed`` or ``spurious``. Gold and predicted spans are
  paired one-to-one (exact match first, then same boundaries, then largest overlap), so that
  ``tp = correct``, ``fp = wrong_boundary + wrong_type + spurious`` and
  ``fn = wrong_boundary + wrong_type + missed`` equal the strict counts of ``projner evaluate``.

A missed or misplaced gold entity names the source entities aligned into it (``causes``), so the
report can say "missed: *Mitgliedstaaten* ← *Member States* (length_ratio 0.50, 2 words → 1)".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Mapping, Sequence

from projner.data.formats import ReadOptions, check_alignments, read_corpus, read_pharaoh
from projner.errors import E, ProjnerError
from projner.evaluate.projection import ProjectionStats, projection_stats
from projner.evaluate.spans import SpanScores, evaluate_spans
from projner.signature import project_signature, side_value
from projner.project.base import Outcome, Projection
from projner.types import Alignment, ParallelPair, Sentence, Span

_RATIO = re.compile(r"ratio\s+([0-9]*\.?[0-9]+)")


class Category(str, Enum):
    """How a target entity fares against target gold."""

    CORRECT = "correct"
    WRONG_BOUNDARY = "wrong_boundary"
    WRONG_TYPE = "wrong_type"
    MISSED = "missed"
    SPURIOUS = "spurious"


@dataclass(frozen=True)
class SourceVerdict:
    """The fate of one source entity, with what the inspector needs to explain it."""

    source: Span
    outcome: Outcome
    target: Span | None = None
    detail: str = ""
    ratio: float | None = None  # length ratio of the best range (length_ratio verdicts)
    aligned: tuple[int, ...] = ()  # target words aligned to any word of the entity
    in_pred: bool | None = None  # projected span found in --pred (None: no --pred or not projected)
    hint: str = ""  # e.g. "2 words → 1 (compound?)"

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.PROJECTED and self.in_pred is not False

    def explain(self) -> str:
        """One human line: 'projected to 3-5', 'length_ratio: ratio 0.50, 2 words → 1 (compound?)'."""
        if self.outcome is Outcome.PROJECTED:
            assert self.target is not None
            s = f"projected to {self.target.start}-{self.target.end}"
            if self.in_pred is False:
                s += " (not in --pred)"
            return s
        parts = []
        if self.outcome is Outcome.LENGTH_RATIO and self.ratio is not None:
            parts.append(f"ratio {self.ratio:.2f}")
        elif self.detail:
            parts.append(self.detail)
        if self.hint:
            parts.append(self.hint)
        return self.outcome.value + (": " + ", ".join(parts) if parts else "")


@dataclass(frozen=True)
class TargetVerdict:
    """One gold and/or one predicted target entity and how they compare."""

    category: Category
    gold: Span | None
    pred: Span | None
    detail: str = ""
    causes: tuple[int, ...] = ()  # indices into the pair's source verdicts aligned into the gold span


@dataclass(frozen=True)
class PairReport:
    index: int
    src: Sentence
    tgt: Sentence  # tokens only
    alignment: Alignment
    sources: tuple[SourceVerdict, ...]
    pred: tuple[Span, ...]  # what is evaluated: --pred, or the projection
    gold: tuple[Span, ...] | None = None
    targets: tuple[TargetVerdict, ...] = ()
    pred_extra: tuple[Span, ...] = ()  # --pred spans that the projector did not produce

    @property
    def has_error(self) -> bool:
        return (
            any(not v.ok for v in self.sources)
            or any(t.category is not Category.CORRECT for t in self.targets)
            or bool(self.pred_extra)
        )

    @property
    def reasons(self) -> tuple[str, ...]:
        """Failure reasons and gold categories present (for filtering); 'correct'/'projected' excluded."""
        rs = {v.outcome.value for v in self.sources if v.outcome is not Outcome.PROJECTED}
        rs |= {t.category.value for t in self.targets if t.category is not Category.CORRECT}
        if any(v.in_pred is False for v in self.sources) or self.pred_extra:
            rs.add("pred_differs")
        if any(v.hint.endswith("(compound?)") for v in self.sources):
            rs.add("compound")
        return tuple(sorted(rs))

    @property
    def types(self) -> tuple[str, ...]:
        labels = {s.label for s in self.src.spans} | {s.label for s in self.pred}
        labels |= {s.label for s in self.gold or ()}
        return tuple(sorted(labels))


@dataclass(frozen=True)
class InspectReport:
    pairs: tuple[PairReport, ...]
    stats: ProjectionStats
    projector_signature: str
    scores: SpanScores | None = None
    files: Mapping[str, str] = field(default_factory=dict)
    pred_is_projection: bool = True

    def category_counts(self) -> dict[str, int]:
        out = {c.value: 0 for c in Category}
        for p in self.pairs:
            for t in p.targets:
                out[t.category.value] += 1
        return out

    def reason_counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for p in self.pairs:
            for r in p.reasons:
                out[r] = out.get(r, 0) + 1
        return dict(sorted(out.items()))

    @property
    def n_error_pairs(self) -> int:
        return sum(1 for p in self.pairs if p.has_error)


# --------------------------------------------------------------------------- verdict logic


def parse_ratio(detail: str) -> float | None:
    m = _RATIO.search(detail or "")
    return float(m.group(1)) if m else None


def _aligned(alignment: Alignment, span: Span) -> tuple[int, ...]:
    return tuple(sorted({l.tgt for l in alignment.links if span.start <= l.src < span.end}))


def source_verdicts(
    pair: ParallelPair, projection: Projection, pred: Sequence[Span] | None = None
) -> tuple[SourceVerdict, ...]:
    """One :class:`SourceVerdict` per entity of ``projection`` (same order)."""
    pred_keys = None if pred is None else {s.key for s in pred}
    out = []
    for e in projection.entities:
        aligned = _aligned(pair.alignment, e.source)
        ratio = parse_ratio(e.detail) if e.outcome is Outcome.LENGTH_RATIO else None
        hint = ""
        if e.outcome is Outcome.LENGTH_RATIO and aligned:
            width = aligned[-1] - aligned[0] + 1
            if width < len(e.source):
                hint = f"{len(e.source)} words → {width}"
                if width == 1:
                    hint += " (compound?)"
        in_pred = None
        if pred_keys is not None and e.target is not None:
            in_pred = e.target.key in pred_keys
        out.append(SourceVerdict(e.source, e.outcome, e.target, e.detail, ratio, aligned, in_pred, hint))
    return tuple(out)


def _overlap(a: Span, b: Span) -> int:
    return max(0, min(a.end, b.end) - max(a.start, b.start))


def classify_targets(gold: Sequence[Span], pred: Sequence[Span]) -> tuple[TargetVerdict, ...]:
    """Pair gold and predicted spans one-to-one and name each pairing's category.

    Candidate pairs are overlapping (gold, pred); they are taken greedily in the order exact
    match, same boundaries (wrong type), largest overlap (wrong boundary), then leftmost. Unpaired
    gold is ``missed``, unpaired prediction ``spurious``. Output is sorted by position.
    """
    cands = []
    for gi, g in enumerate(gold):
        for pi, p in enumerate(pred):
            ov = _overlap(g, p)
            if ov == 0:
                continue
            same = (g.start, g.end) == (p.start, p.end)
            rank = 0 if (same and g.label == p.label) else 1 if same else 2
            cands.append((rank, -ov, g.start, p.start, gi, pi))
    cands.sort()
    used_g: dict[int, int] = {}
    used_p: set[int] = set()
    for rank, _, _, _, gi, pi in cands:
        if gi in used_g or pi in used_p:
            continue
        used_g[gi] = pi
        used_p.add(pi)
    out: list[TargetVerdict] = []
    for gi, g in enumerate(gold):
        if gi not in used_g:
            busy = [p for p in pred if p.overlaps(g)]
            detail = f"overlapping prediction {busy[0].start}-{busy[0].end} {busy[0].label} is paired elsewhere" if busy else ""
            out.append(TargetVerdict(Category.MISSED, g, None, detail))
            continue
        p = pred[used_g[gi]]
        if p.key == g.key:
            out.append(TargetVerdict(Category.CORRECT, g, p))
        elif (p.start, p.end) == (g.start, g.end):
            out.append(TargetVerdict(Category.WRONG_TYPE, g, p, f"{p.label} instead of {g.label}"))
        else:
            detail = f"{p.start}-{p.end} instead of {g.start}-{g.end}"
            if p.label != g.label:
                detail += f", and {p.label} instead of {g.label}"
            out.append(TargetVerdict(Category.WRONG_BOUNDARY, g, p, detail))
    for pi, p in enumerate(pred):
        if pi not in used_p:
            busy = [g for g in gold if g.overlaps(p)]
            detail = f"overlaps gold {busy[0].start}-{busy[0].end} {busy[0].label} paired elsewhere" if busy else ""
            out.append(TargetVerdict(Category.SPURIOUS, None, p, detail))
    out.sort(key=lambda t: ((t.gold or t.pred).start, (t.gold or t.pred).end, t.gold is None))  # type: ignore[union-attr]
    return tuple(out)


def _with_causes(targets: Sequence[TargetVerdict], sources: Sequence[SourceVerdict]) -> tuple[TargetVerdict, ...]:
    out = []
    for t in targets:
        anchor = t.gold or t.pred
        causes: tuple[int, ...] = ()
        if t.category is not Category.CORRECT and anchor is not None:
            causes = tuple(
                k for k, v in enumerate(sources) if any(anchor.start <= j < anchor.end for j in v.aligned)
            )
        out.append(TargetVerdict(t.category, t.gold, t.pred, t.detail, causes) if causes else t)
    return tuple(out)


def pair_report(
    index: int,
    pair: ParallelPair,
    projection: Projection,
    pred: Sequence[Span] | None = None,
    gold: Sequence[Span] | None = None,
) -> PairReport:
    """Verdicts for one pair. ``pred`` (a separate prediction) defaults to the projection's spans."""
    sources = source_verdicts(pair, projection, pred)
    evaluated = tuple(sorted(pred)) if pred is not None else tuple(projection.spans)
    extra: tuple[Span, ...] = ()
    if pred is not None:
        proj_keys = {s.key for s in projection.spans}
        extra = tuple(s for s in evaluated if s.key not in proj_keys)
    targets: tuple[TargetVerdict, ...] = ()
    if gold is not None:
        targets = _with_causes(classify_targets(tuple(gold), evaluated), sources)
    return PairReport(
        index, pair.src, pair.tgt.unlabelled(), pair.alignment, sources, evaluated,
        None if gold is None else tuple(gold), targets, extra,
    )


def _check_tokens(what: str, path: str, other: Sequence[Sentence], tgt: Sequence[Sentence]) -> None:
    if len(other) != len(tgt):
        raise ProjnerError(E.E160, file=path, what=what, detail=f"{len(other)} sentences, the target has {len(tgt)}")
    for i, (o, t) in enumerate(zip(other, tgt), 1):
        if o.tokens != t.tokens:
            raise ProjnerError(
                E.E160, file=path, what=what,
                detail=f"sentence {i} has tokens {' '.join(o.tokens[:8])!r}…, the target {' '.join(t.tokens[:8])!r}…",
            )


def build_report(
    src: Sequence[Sentence],
    tgt: Sequence[Sentence],
    alignments: Sequence[Alignment],
    projector,
    *,
    pred: Sequence[Sentence] | None = None,
    gold: Sequence[Sentence] | None = None,
    gold_scheme: str | None = None,
    pred_scheme: str = "iob2",
    repair: str = "begin",
    files: Mapping[str, str] | None = None,
    extra_signature: Mapping[str, object] | None = None,
) -> InspectReport:
    """Run ``projector`` on the pairs and collect verdicts; score against ``gold`` when given.

    The scores equal ``projner evaluate --gold GOLD --pred PRED`` where PRED is ``pred`` or, without
    it, the projection as ``projner project`` writes it (IOB2).
    """
    check_alignments(alignments, src, tgt)
    pairs = [ParallelPair(s, t.unlabelled(), a) for s, t, a in zip(src, tgt, alignments)]
    projections = projector.project(pairs)
    if pred is not None:
        _check_tokens("--pred", (files or {}).get("pred", "<pred>"), pred, tgt)
    if gold is not None:
        _check_tokens("--gold", (files or {}).get("gold", "<gold>"), gold, tgt)
    reports = []
    for i, (pair, proj) in enumerate(zip(pairs, projections)):
        reports.append(
            pair_report(
                i, pair, proj,
                None if pred is None else pred[i].spans,
                None if gold is None else gold[i].spans,
            )
        )
    scores = None
    if gold is not None:
        evaluated = [t.unlabelled().with_spans(r.pred) for t, r in zip(tgt, reports)]
        # as `projner evaluate --gold GOLD --pred PRED` signs it (both files read with one repair policy)
        scheme = side_value(gold_scheme or "none", pred_scheme)
        scores = evaluate_spans(gold, evaluated, scheme=scheme, repair=repair, extra_signature=extra_signature)
    sig = project_signature(projector.signature())  # as `projner project` prints it
    return InspectReport(tuple(reports), projection_stats(projections), sig, scores, dict(files or {}), pred is None)


def inspect_files(
    src: str | Path,
    tgt: str | Path,
    align: str | Path,
    *,
    pred: str | Path | None = None,
    gold: str | Path | None = None,
    method: str = "heuristic",
    params: Mapping[str, Any] | None = None,
    options: ReadOptions = ReadOptions(),
    label_map: str | None = None,
) -> InspectReport:
    """Read the files as ``projner project`` does, project, and collect verdicts."""
    from projner.data.labelmaps import load_label_map
    from projner.project.build import build_projector, projector_params

    def read(path) -> Any:
        if not Path(path).exists():
            raise ProjnerError(E.E018, detail=f"file not found: {path}")
        return read_corpus(path, None, options)

    s, t = read(src), read(tgt)
    als = read_pharaoh(align)
    check_alignments(als, s.sentences, t.sentences, path=str(align), src_path=str(src), tgt_path=str(tgt))
    src_sents = s.sentences
    lm = load_label_map(label_map) if label_map else None
    if lm is not None:
        src_sents, _ = lm.map_sentences(src_sents)
    projector = build_projector(method, dict(params if params is not None else projector_params(method)))
    files = {"src": str(src), "tgt": str(tgt), "align": str(align)}
    p_sents = g_sents = None
    pred_scheme, gold_scheme = "iob2", None
    if pred is not None:
        pc = read(pred)
        p_sents, pred_scheme = pc.sentences, pc.report.scheme or "none"
        if lm is not None:
            p_sents, _ = lm.map_sentences(p_sents)
        files["pred"] = str(pred)
    if gold is not None:
        gc = t if Path(gold).resolve() == Path(tgt).resolve() else read(gold)  # labelled --tgt is often the gold
        g_sents, gold_scheme = gc.sentences, gc.report.scheme or "none"
        if lm is not None:
            g_sents, _ = lm.map_sentences(g_sents)
        files["gold"] = str(gold)
    return build_report(
        src_sents, t.sentences, als, projector, pred=p_sents, gold=g_sents,
        gold_scheme=gold_scheme, pred_scheme=pred_scheme, repair=options.repair, files=files,
        extra_signature={"map": label_map} if label_map else None,
    )
