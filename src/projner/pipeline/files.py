"""File-level jobs, importable and used by the CLI: align, project, evaluate, convert.

They read and check files and report what they read; the work itself is done below this layer
(:func:`projner.align.build.build_aligner`, :mod:`projner.project.build`, :mod:`projner.evaluate`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from projner.align.base import align_corpus
from projner.align.build import build_aligner
from projner.data.corpus import Corpus
from projner.data.formats import (
    ReadOptions,
    check_alignments,
    read_corpus,
    read_pharaoh,
    write_corpus,
    write_pharaoh,
)
from projner.data.labelmaps import load_label_map
from projner.data.paths import os_error, require_input
from projner.errors import E, ProjnerError
from projner.evaluate.projection import ProjectionStats, projection_stats
from projner.evaluate.spans import SpanScores, evaluate_spans
from projner.project.base import Projection
from projner.project.build import build_projector, project_corpora
from projner.signature import project_signature
from projner.types import Alignment, Sentence


def _read(path: str | Path, fmt: str | None, options: ReadOptions, what: str = "the input file") -> Corpus:
    """The corpus at ``path``; a missing file, a directory or an unreadable file is E040 naming it."""
    require_input(path, what)
    try:
        return read_corpus(path, fmt, options)
    except OSError as exc:
        raise os_error(exc, path, what=what, writing=False) from None


@dataclass(frozen=True)
class AlignResult:
    alignments: tuple[Alignment, ...]
    signature: str
    reports: tuple[str, ...]
    stats: Mapping[str, int] = field(default_factory=dict)


def align_files(
    src: str,
    tgt: str,
    out: str | None,
    *,
    aligner: str = "eflomal",
    params: Mapping[str, Any] | None = None,
    extra_src: str | None = None,
    extra_tgt: str | None = None,
    src_format: str | None = None,
    tgt_format: str | None = None,
    options: ReadOptions = ReadOptions(),
    scores: bool = False,
) -> AlignResult:
    s = _read(src, src_format, options)
    t = _read(tgt, tgt_format, options)
    if len(s) != len(t):
        raise ProjnerError(E.E001, a=src, na=len(s), b=tgt, nb=len(t))
    p = dict(params or {})
    reports = [s.report.summary(), t.report.summary()]
    if extra_src or extra_tgt:
        if not (extra_src and extra_tgt):
            raise ProjnerError(E.E018, detail="--extra-src and --extra-tgt go together")
        es = _read(extra_src, None, options)
        et = _read(extra_tgt, None, options)
        if len(es) != len(et):
            raise ProjnerError(E.E001, a=extra_src, na=len(es), b=extra_tgt, nb=len(et))
        p["extra_src"] = tuple(x.tokens for x in es)
        p["extra_tgt"] = tuple(x.tokens for x in et)
        reports += [es.report.summary(), et.report.summary()]
    model = build_aligner(aligner, p)
    als = tuple(align_corpus(model, [x.tokens for x in s], [x.tokens for x in t]))
    if out is not None:
        write_pharaoh(out, als, scores=scores)
    return AlignResult(als, model.signature(), tuple(reports), dict(getattr(model, "stats", {}) or {}))


@dataclass(frozen=True)
class ProjectResult:
    sentences: tuple[Sentence, ...]
    projections: tuple[Projection, ...]
    stats: ProjectionStats
    signature: str
    reports: tuple[str, ...]


def project_files(
    src: str,
    tgt: str,
    align: str,
    out: str | None,
    *,
    method: str = "heuristic",
    params: Mapping[str, Any] | None = None,
    src_format: str | None = None,
    tgt_format: str | None = None,
    options: ReadOptions = ReadOptions(),
    label_map: str | None = None,
    out_format: str | None = None,
) -> ProjectResult:
    s = _read(src, src_format, options)
    t = _read(tgt, tgt_format, options)
    require_input(align, "the alignment file")
    als = read_pharaoh(align)
    check_alignments(als, s.sentences, t.sentences, path=align, src_path=src, tgt_path=tgt)
    src_sents = s.sentences
    if label_map:
        src_sents, _ = load_label_map(label_map).map_sentences(src_sents)
    projector = build_projector(method, params or {})
    out_sents, projections = project_corpora(src_sents, t.sentences, als, projector)
    if out is not None:
        write_corpus(out, out_sents, fmt=out_format or ("conll" if not str(out).endswith((".jsonl", ".json")) else "jsonl"))
    stats = projection_stats(projections)
    return ProjectResult(out_sents, projections, stats, project_signature(projector.signature()), (s.report.summary(), t.report.summary()))


def evaluate_files(
    gold: str,
    pred: str,
    *,
    options: ReadOptions = ReadOptions(),
    labels: Sequence[str] | None = None,
    bootstrap: int = 0,
    label_map: str | None = None,
) -> tuple[SpanScores, tuple[str, ...]]:
    g = _read(gold, None, options)
    p = _read(pred, None, options)
    if len(g) != len(p):
        raise ProjnerError(E.E016, detail=f"{gold} has {len(g)} sentences, {pred} has {len(p)}")
    gs, ps = g.sentences, p.sentences
    if label_map:
        lm = load_label_map(label_map)
        gs, _ = lm.map_sentences(gs)
        ps, _ = lm.map_sentences(ps)
    scores = evaluate_spans(  # the signature and the JSON state each file's scheme, repair policy and repairs
        gs, ps, labels=labels, bootstrap=bootstrap, gold_name=gold, pred_name=pred,
        gold_report=g.report, pred_report=p.report, gold_lines=g.lines, pred_lines=p.lines,
        extra_signature={"map": label_map} if label_map else None,
    )
    return scores, (g.report.summary(), p.report.summary())


def convert_file(
    src: str,
    dst: str,
    *,
    from_format: str | None = None,
    to_format: str | None = None,
    to_scheme: str = "iob2",
    options: ReadOptions = ReadOptions(),
    label_map: str | None = None,
    unsafe_tokens: str = "error",
):
    """Read, map labels, write: a :class:`projner.data.convert.Converted` with the reading report
    and the writing report (counted repairs: unsafe tokens replaced, IO merges)."""
    from projner.data.convert import convert_corpus

    c = _read(src, from_format, options)
    return convert_corpus(c, dst, to_format=to_format, to_scheme=to_scheme, label_map=label_map, unsafe_tokens=unsafe_tokens)


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=False)
