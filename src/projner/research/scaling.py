"""Scaling study (issue 8 item 2): projection-trained F1 against the amount of parallel text.

For each language and parallel source (``mafand``: in-domain news, ``bible``: out-of-domain,
``mixed``: both together) the study takes nested subsets of N pairs (a seeded permutation of
the source's pairs; size N = its first N, put back in corpus order) and runs the standard
translate-train pipeline on each subset alone, as if only those N pairs existed: label the
English side (labelled once per source with the cached label step, then subset), align the
subset with eflomal trained on the subset only, project, train the target CRF, evaluate
strictly on MasakhaNER 2.0 test. Every step goes through the step cache
(:mod:`projner.pipeline.cache`), so a rerun is free and an interrupted run resumes; the
``all`` point of ``mafand``/``bible`` uses exactly :func:`load_parallel`'s order and the same
step configs as the main translate-train grid, so it shares that grid's cached steps.

A size at or above a source's number of pairs collapses to ``all`` (not run twice); the
report marks it ``= all``. ``mixed`` is the union of both sources permuted together: its
composition follows the sources' sizes (each run records how many pairs of each kind).

Config (``study: scaling``; every key optional but ``languages``)::

    languages: [swa, zul]
    sizes: [1000, 2000, 5000, 10000, 20000, all]
    sources: [mafand, bible, mixed]
    seeds: [0]                       # subsample seeds ("all" does not depend on them)
    mafand_splits: [train, dev, test]
    labels: [PER, ORG, LOC]
    labeller:   {backend: crf, label_map: conll->per-org-loc, params: {}}
    aligner:    {name: eflomal, params: {sym: intersection, prefix_len: 4, copy_dictionary: true}}
    projection: {method: heuristic, params: {}, strip_determiners: true, filter: complete, keep_empty: 1.0}
    model:      {backend: crf, params: {}}
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from projner.pipeline.experiment import recording_errors
from projner.registry import studies
from projner.pipeline.study import RECORDED_ERRORS, Study, StudyContext, read_run, write_run

SOURCES = ("mafand", "bible", "mixed")
MIXED_PARTS = ("mafand", "bible")
DEFAULT_SIZES = (1000, 2000, 5000, 10000, 20000, "all")
STANDARD_ALIGNER = {"name": "eflomal", "params": {"sym": "intersection", "prefix_len": 4, "copy_dictionary": True}}
STANDARD_PROJECTION = {"method": "heuristic", "params": {}, "strip_determiners": True, "filter": "complete", "keep_empty": 1.0}


# ----------------------------------------------------------------------------- subsampling


def permutation(n: int, seed: int, key: str = "") -> list[int]:
    """A deterministic permutation of ``range(n)`` from ``seed`` and a ``key`` (source, language)."""
    order = list(range(n))
    random.Random(f"projner.scaling|{key}|{seed}").shuffle(order)
    return order


def subset_indices(n: int, size: int | str, seed: int, key: str = "") -> list[int]:
    """Indices (in corpus order) of the subset of ``size`` pairs out of ``n``.

    Subsets of one seed are nested (the first ``size`` items of one permutation); ``"all"`` or a
    size >= ``n`` gives every index in corpus order (the order of :func:`load_parallel`).
    """
    if size == "all" or int(size) >= n:
        return list(range(n))
    return sorted(permutation(n, seed, key)[: int(size)])


def effective_size(size: int | str, n: int) -> int | str:
    """``size`` itself, or ``"all"`` when it reaches the source's ``n`` pairs (the collapse)."""
    return "all" if size == "all" or int(size) >= n else int(size)


# ----------------------------------------------------------------------------- config


def _size(x, p, v):
    if x == "all":
        return "all"
    if isinstance(x, str):
        v.fail(p, f"expected a positive integer or 'all', got {x!r}")
    return v.int_(x, p, 1)


def _sizes(x, p, v):
    out = v.list_(x, p, lambda y, q: _size(y, q, v))
    seen = set()
    for i, s in enumerate(out):
        if s in seen:
            v.fail(f"{p}[{i}]", f"duplicate size {s!r}")
        seen.add(s)
    return out


def _names(choices):
    def check(x, p, v):
        out = v.list_(x, p, lambda y, q: v.str_(y, q, choices, "source"))
        for i, s in enumerate(out):
            if s in out[:i]:
                v.fail(f"{p}[{i}]", f"duplicate {s!r}")
        return out
    return check


def _languages(x, p, v):
    out = v.list_(x, p, v.str_)
    for i, s in enumerate(out):
        if "__" in s or not s:
            v.fail(f"{p}[{i}]", f"bad language code {s!r}")
    return out


def _seeds(x, p, v):
    out = v.list_(x, p, lambda y, q: v.int_(y, q, 0))
    for i, s in enumerate(out):
        if s in out[:i]:
            v.fail(f"{p}[{i}]", f"duplicate seed {s}")
    return out


def _labeller(x, p, v):
    return v.mapping(x, p, {"backend": v.str_, "label_map": v.str_, "params": v.params,
                            "train": v.opt_str, "dev": v.opt_str})


def _aligner(x, p, v):
    return v.mapping(x, p, {"name": lambda y, q: v.str_(y, q, ("eflomal", "neural"), "aligner"),
                            "params": v.params}, required=("name",))


def _projection(x, p, v):
    from projner.pipeline.experiment import BUILTIN_METHODS

    return v.mapping(x, p, {
        "method": lambda y, q: v.str_(y, q, sorted(BUILTIN_METHODS), "projection method"),
        "params": v.params, "strip_determiners": v.bool_,
        "filter": lambda y, q: v.str_(y, q, ("none", "complete", "any"), "filter"),
        "keep_empty": lambda y, q: v.num(y, q, 0.0, 1.0)}, required=("method",))


def _model(x, p, v):
    return v.mapping(x, p, {"backend": lambda y, q: v.str_(y, q, ("crf", "transformer"), "model backend"),
                            "params": v.params}, required=("backend",))


def _splits(x, p, v):
    return v.list_(x, p, lambda y, q: v.str_(y, q, ("train", "dev", "test"), "split"))


@dataclass(frozen=True)
class Point:
    """One planned run: language, source, nominal size, subsample seed."""

    lang: str
    source: str
    size: int | str
    seed: int

    @property
    def run_id(self) -> str:
        if self.size == "all":
            return f"{self.lang}__{self.source}__all"
        return f"{self.lang}__{self.source}__{self.size}__s{self.seed}"


def _sort_key(size: int | str) -> float:
    return math.inf if size == "all" else float(size)


# ----------------------------------------------------------------------------- the study


@studies.register("projner.study.scaling.v1")
class Scaling(Study):
    keys = {
        "languages": _languages,
        "sizes": _sizes,
        "sources": _names(SOURCES),
        "seeds": _seeds,
        "mafand_splits": _splits,
        "labels": lambda x, p, v: v.list_(x, p, v.str_),
        "labeller": _labeller,
        "aligner": _aligner,
        "projection": _projection,
        "model": _model,
    }
    required = ("languages",)

    # --- planning

    @staticmethod
    def points(params: Mapping[str, Any]) -> list[Point]:
        """Every nominal point (before collapsing sizes to ``all``), in report order."""
        sizes = sorted(params.get("sizes", DEFAULT_SIZES), key=_sort_key)
        out = []
        for lang in params["languages"]:
            for src in params.get("sources", SOURCES):
                for size in sizes:
                    for seed in ([0] if size == "all" else params.get("seeds", [0])):
                        pt = Point(lang, src, size, seed if size != "all" else 0)
                        if pt not in out:
                            out.append(pt)
        return out

    def plan(self, params: Mapping[str, Any]) -> list[str]:
        """Run ids (sizes that reach a source's size collapse to ``all`` at run time, not here:
        the plan does not read the data)."""
        return [p.run_id for p in self.points(params)]

    # --- running

    def run(self, params: Mapping[str, Any], ctx: StudyContext) -> None:
        from projner.log import progress_bar

        pts = [p for p in self.points(params) if not ctx.languages or p.lang in ctx.languages]
        corpora: dict[tuple[str, str], Any] = {}
        failed: dict[tuple[str, str], Exception] = {}
        for key in dict.fromkeys((p.lang, p.source) for p in pts):
            try:
                corpora[key] = _corpus(params, ctx, *key)
            except RECORDED_ERRORS as exc:  # reported on each of its points below
                failed[key] = exc

        def n_pairs(p: Point) -> float:
            c = corpora.get((p.lang, p.source))
            return min(_sort_key(p.size), c.n) if c else 0.0

        # fewest pairs first (partial results early; a small source's "all" before big subsets)
        order = sorted(pts, key=lambda p: (n_pairs(p), _sort_key(p.size), p.seed, p.lang, SOURCES.index(p.source)))
        for pt in progress_bar(order, desc="scaling", unit="run", disable=None):
            if read_run(ctx.out, pt.run_id):
                ctx.log(f"[done] {pt.run_id}")
                continue
            t0 = time.perf_counter()
            n_ev = len(ctx.runner.events)
            record: dict[str, Any] = {"run_id": pt.run_id, "lang": pt.lang,
                                      "source": pt.source, "size": pt.size, "seed": pt.seed, "system": "projection",
                                      "label": _label(pt.source, pt.size, pt.seed, len(params.get("seeds", [0])))}
            with recording_errors(record, ctx.log):
                key = (pt.lang, pt.source)
                if key in failed:
                    raise failed[key]
                corpus = corpora[key]
                eff = effective_size(pt.size, corpus.n)
                if eff != pt.size:
                    ctx.log(f"[skip] {pt.run_id}: {pt.size} >= {corpus.n} pairs, same as {pt.lang}__{pt.source}__all")
                    continue
                ctx.log(f"[run] {pt.run_id}")
                record.update(_run_point(params, ctx, corpus, pt))
                record["status"] = "ok"
                ctx.log(f"    F1 {record['f1']:.4f}  ({record['n_pairs']} pairs, {record['n_train']} training sentences)")
            record["seconds"] = round(time.perf_counter() - t0, 2)
            record["cache"] = [ev.to_dict() for ev in ctx.runner.events[n_ev:]]
            write_run(ctx.out, record)

    # --- reporting

    def report(self, folder: Path) -> None:
        from projner.research.scaling_report import write_scaling_report

        write_scaling_report(Path(folder))


def _label(source: str, size: int | str, seed: int, n_seeds: int) -> str:
    base = f"{source} {size}"
    return f"{base} s{seed}" if n_seeds > 1 and size != "all" else base


# ----------------------------------------------------------------------------- pipeline glue


@dataclass(frozen=True)
class _Corpus:
    """A source's full pair list (load_parallel order; mixed: mafand then bible), its labelled
    English side per part, and the part each pair comes from."""

    source: str
    src: tuple[tuple[str, ...], ...]
    tgt: tuple[tuple[str, ...], ...]
    kinds: tuple[str, ...]
    labelled: tuple[Any, ...]  # cache Entries of the parts, in order
    offsets: tuple[int, ...]

    @property
    def n(self) -> int:
        return len(self.src)


def _configs(params: Mapping[str, Any], data: str | None):
    from projner.pipeline.config import AlignerConfig, LabellerConfig, ModelConfig, ProjectionConfig

    lab = params.get("labeller", {})
    labeller = LabellerConfig(backend=lab.get("backend", "crf"), label_map=lab.get("label_map", "conll->per-org-loc"),
                              params=dict(lab.get("params", {})), train=lab.get("train"), dev=lab.get("dev"))
    al = params.get("aligner", STANDARD_ALIGNER)
    aligner = AlignerConfig(name=al["name"], params=dict(al.get("params", {})))
    pr = {**STANDARD_PROJECTION, **params.get("projection", {})}
    projection = ProjectionConfig(method=pr["method"], params=dict(pr.get("params", {})),
                                  strip_determiners=pr["strip_determiners"], filter=pr["filter"],
                                  keep_empty=pr["keep_empty"])
    mo = params.get("model", {"backend": "crf"})
    model = ModelConfig(backend=mo["backend"], params=dict(mo.get("params", {})))
    return labeller, aligner, projection, model


def _parallel(params: Mapping[str, Any], kind: str):
    from projner.data.datasets import ParallelConfig

    if kind == "mafand":
        return ParallelConfig(kind="mafand", splits=tuple(params.get("mafand_splits", ("train", "dev", "test"))))
    return ParallelConfig(kind=kind)


def _corpus(params: Mapping[str, Any], ctx: StudyContext, lang: str, source: str) -> _Corpus:
    from projner.data.datasets import load_parallel
    from projner.pipeline.steps import label_step, labeller_step

    labeller_cfg = _configs(params, ctx.data)[0]
    labels = tuple(params.get("labels", ("PER", "ORG", "LOC")))
    labeller = labeller_step(ctx.runner, labeller_cfg, ctx.data)
    parts = MIXED_PARTS if source == "mixed" else (source,)
    src: list = []
    tgt: list = []
    kinds: list = []
    entries, offsets = [], []
    for part in parts:
        s, t = load_parallel(_parallel(params, part), lang, ctx.data)
        offsets.append(len(src))
        entries.append(label_step(ctx.runner, labeller, s, labels))
        src += s
        tgt += t
        kinds += [part] * len(s)
    return _Corpus(source, tuple(src), tuple(tgt), tuple(kinds), tuple(entries), tuple(offsets))


def _labelled_subset(runner, corpus: _Corpus, idx: Sequence[int], src_sub) -> Any:
    """A cache entry holding the labelled English sentences of the subset (cut from the parts'
    labels: the labeller tags each sentence on its own, so this equals labelling the subset)."""
    from projner.pipeline.cache import hash_json, hash_tokens, read_sentences, write_sentences

    def compute(out: Path):
        labelled = [s for e in corpus.labelled for s in read_sentences(e.file("labelled.jsonl"))]
        sub = [labelled[i] for i in idx]
        if [tuple(s.tokens) for s in sub] != [tuple(t) for t in src_sub]:
            raise RuntimeError("labelled sentences do not match the subset's English side")
        write_sentences(out / "labelled.jsonl", sub)
        return {"n": len(sub), "entities": sum(len(s.spans) for s in sub)}

    inputs = {"parts": hash_json([e.fingerprint for e in corpus.labelled]), "indices": hash_json(list(idx)),
              "tokens": hash_tokens(src_sub)}
    return runner.run("label-subset", {}, inputs, compute)


def _run_point(params: Mapping[str, Any], ctx: StudyContext, corpus: _Corpus, pt: Point) -> dict:
    from projner.pipeline.cache import read_sentences
    from projner.data.datasets import test_path
    from projner.pipeline.steps import align_step, evaluate_step, project_step, train_model
    from projner.pipeline.translate_train import model_signature

    _, aligner, projection, model = _configs(params, ctx.data)
    labels = tuple(params.get("labels", ("PER", "ORG", "LOC")))
    runner = ctx.runner
    idx = subset_indices(corpus.n, pt.size, pt.seed, f"{corpus.source}|{pt.lang}")
    src = tuple(corpus.src[i] for i in idx)
    tgt = tuple(corpus.tgt[i] for i in idx)
    if len(corpus.labelled) == 1 and len(idx) == corpus.n:
        labelled = corpus.labelled[0]  # exactly the main grid's label step
    else:
        labelled = _labelled_subset(runner, corpus, idx, src)
    aligned = align_step(runner, aligner, src, tgt)
    projected = project_step(runner, projection, labelled, tgt, aligned)
    trained = train_model(runner, model, {"projected": projected.fingerprint},
                          lambda: tuple(read_sentences(projected.file("projected.jsonl"))))
    sig = {"system": "projection", **model_signature(model)}  # as translate_train signs it: one shared step
    ev = evaluate_step(runner, trained, test_path(None, pt.lang, ctx.data), labels, backend=model.backend,
                       extra_signature=sig)
    scores = json.loads(ev.file("scores.json").read_text(encoding="utf-8"))
    stats = json.loads(projected.file("stats.json").read_text(encoding="utf-8"))
    n_train = int(stats.get("filter", {}).get("out", 0))
    kinds = {k: 0 for k in (MIXED_PARTS if corpus.source == "mixed" else (corpus.source,))}
    for i in idx:
        kinds[corpus.kinds[i]] += 1
    return {
        "f1": float(scores["f1"]), "precision": float(scores["precision"]), "recall": float(scores["recall"]),
        "per_type": scores.get("per_type", {}), "signature": str(scores.get("signature", "")),
        "n_test": int(scores.get("n_sentences", 0)),
        "n_pairs": len(idx), "n_source_pairs": corpus.n, "pairs_by_kind": kinds,
        "projection_rate": stats.get("projection", {}).get("projection_rate"),
        "n_train": n_train,
        "entities_per_sentence": (stats.get("entities_kept", 0) / n_train) if n_train else 0.0,
        "align_signature": (aligned.manifest.get("info") or {}).get("signature"),
        "info": {"n_parallel": len(idx), "projection": stats, "n_train": n_train},
        "steps": {"label": labelled.fingerprint, "align": aligned.fingerprint, "project": projected.fingerprint,
                  "train": trained.fingerprint, "evaluate": ev.fingerprint},
    }
