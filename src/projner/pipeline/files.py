"""File-level jobs, importable and used by the CLI: align, project, evaluate, convert."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from projner.align.base import align_corpus
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
from projner.registry import aligners, projectors
from projner.types import Alignment, ParallelPair, Sentence


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
    model = aligners.create(aligner, **p)
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


def project_corpora(
    src: Sequence[Sentence],
    tgt: Sequence[Sentence],
    alignments: Sequence[Alignment],
    projector,
    *,
    progress: bool | None = None,
    chunk: int = 10_000,
) -> tuple[tuple[Sentence, ...], tuple[Projection, ...]]:
    """Project every pair; a progress bar appears for large corpora (``progress=None``: > 50k pairs)."""
    from tqdm.auto import tqdm

    if not (len(src) == len(tgt) == len(alignments)):
        raise ProjnerError(E.E001, a="source", na=len(src), b="target/alignments", nb=min(len(tgt), len(alignments)))
    pairs = [ParallelPair(s, t.unlabelled(), a) for s, t, a in zip(src, tgt, alignments)]
    show = len(pairs) > 50_000 if progress is None else progress
    done: list[Projection] = []
    with tqdm(total=len(pairs), desc="project", unit="pair", disable=not show) as bar:
        for k in range(0, len(pairs), chunk):
            batch = pairs[k : k + chunk]
            done.extend(projector.project(batch))
            bar.update(len(batch))
    projections = tuple(done)
    out = tuple(t.unlabelled().with_spans(p.spans) for t, p in zip(tgt, projections))
    return out, projections


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
    sig = projector.signature()
    if not sig.startswith("projner-project:"):
        sig = f"projner-project:1|{sig}|version:{_version()}"
    return ProjectResult(out_sents, projections, stats, sig, (s.report.summary(), t.report.summary()))


def projector_params(
    method: str = "heuristic",
    *,
    max_gap: int = 1,
    min_ratio: float = 0.8,
    max_ratio: float | None = None,
    keep: str = "longest",
    strip_determiners: bool = False,
    solver: str = "greedy",
    weights: str | None = None,
    threshold: float | None = None,
    max_len: int | None = None,
    ner_model: str | None = None,
    translation: str | None = None,
    unaligned_weight: float | None = None,
    ilp_max_vars: int | None = None,
) -> dict[str, Any]:
    """Projector parameters from the options of ``projner project`` (and ``projner inspect``).

    The heuristic takes the gap/ratio options; candidate matching the solver options (options left
    at ``None`` keep the projector's own defaults).
    """
    if method == "heuristic":
        return dict(max_gap=max_gap, min_ratio=min_ratio, max_ratio=max_ratio, keep=keep, strip_determiners=strip_determiners)
    optional = dict(weights=weights, threshold=threshold, max_len=max_len, ner_model=ner_model,
                    translation_scorer=translation, unaligned_weight=unaligned_weight, max_vars=ilp_max_vars)
    return {"solver": solver, "strip_determiners": strip_determiners, **{k: v for k, v in optional.items() if v is not None}}


def build_projector(method: str, params: Mapping[str, Any]):
    """``heuristic`` or any registered projector (candidate matching registers ngram/ner/fusion)."""
    if method != "heuristic":
        try:  # candidate matching registers its projectors on import
            import projner.project.matching  # noqa: F401
        except ImportError:
            pass
    else:
        import projner.project.heuristic  # noqa: F401
    return projectors.create(method, **params)


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


def _version() -> str:
    from projner import __version__

    return __version__


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=False)
