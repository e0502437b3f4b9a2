"""Experiment runner: a validated YAML config → a grid of cached pipeline runs → a results folder.

A config names building blocks and crosses them (every key is optional unless marked)::

    name: masakhaner_translate_train
    output: results/masakhaner           # results folder (CLI --output overrides)
    data: null                           # default $PROJNER_DATA or ../shared/data
    cache: null                          # default $PROJNER_CACHE or ~/.cache/projner
    labels: [PER, ORG, LOC]              # evaluated types (others → O on both sides)
    labeller: {backend: crf, label_map: conll->per-org-loc, params: {}}
    aligners:  {NAME: {name: eflomal, params: {sym: intersection, prefix_len: 4}}}
    methods:   {NAME: {method: heuristic, params: {}, strip_determiners: true, filter: complete, keep_empty: 1.0,
                          unknown: [caps, low-score, unaligned-edge, unprojected], unknown_score: 0.5,
                          transfer: null, transfer_unknown: null}}   # model transfer where projection is silent
    parallel:  {NAME: {kind: mafand, splits: [train], align_extra: [OTHER_PARALLEL_NAME]}}
    models:    {NAME: {backend: crf, params: {}, add_english: false, english_max: null, ensemble: 1}}
    baselines: [transfer, gold]          # per language (gold per model backend)
    transfer_models: [NAME]              # also model transfer with these models (trained on English)
    conventions: dev                     # target span edges (projner.project.conventions) learned from
                                         # masakhaner2/LANG/dev.txt (or a file): projected data and
                                         # transfer predictions follow them (not with eval_split: dev)
    eval_split: test                     # MasakhaNER split scored: test, or dev to choose settings
    grid:                                # a mapping or a list of mappings (required)
      languages: [hau, ibo]              # (required)
      aligners: [NAME]  methods: [NAME]  parallel: [NAME]  models: [NAME]

Names not defined in the config resolve to built-ins: aligners ``eflomal``/``neural`` (registry
defaults), methods ``heuristic``/``ngram``/``fusion``/``ner``, parallel ``mafand``/``bible``,
models ``crf``/``transformer``. A wrong key or type fails before anything runs, naming its path
(``grid.aligners[1]: unknown aligner 'foo'``).

The results folder gets ``runs/*.json`` (one per run: scores, signature, step fingerprints,
projection statistics, timings), ``results.md`` (one table, systems × languages + mean),
``f1.png`` and ``precision_recall.png``; :func:`build_report` rebuilds the last three from the
JSONs alone (``projner experiment report DIR``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
import traceback
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

from projner.data.datasets import test_path
from projner.data.textio import atomic_write, read_lines
from projner.errors import E, ProjnerError
from projner.ner.base import TRAINABLE_BACKENDS
from projner.pipeline.cache import StepRunner
from projner.pipeline.study import RECORDED_ERRORS, error_text
from projner.pipeline.config_check import did_you_mean
from projner.pipeline.schema import _V
from projner.pipeline.report import build_report, load_runs, markdown_table, report_folder, run_status  # noqa: F401  (re-exported)
from projner.pipeline.config import (
    DEFAULT_LABELS,
    AlignerConfig,
    LabellerConfig,
    ModelConfig,
    ParallelConfig,
    ProjectionConfig,
    RunResult,
    TranslateTrainConfig,
    with_changes,
)
from projner.pipeline.translate_train import gold_run, model_transfer_run, translate_train
from projner.project.filters import FILTERS
from projner.project.partial import UNKNOWN_RULES

BUILTIN_ALIGNERS = {"eflomal": {"name": "eflomal", "params": {}}, "neural": {"name": "neural", "params": {}}}
BUILTIN_METHODS = {m: {"method": m} for m in ("heuristic", "ngram", "fusion", "ner")}
BUILTIN_PARALLEL = {"mafand": {"kind": "mafand"}, "bible": {"kind": "bible"}}
BUILTIN_MODELS = {b: {"backend": b} for b in ("crf", "pcrf", "fast", "transformer")}
BASELINES = ("transfer", "gold")
EVAL_SPLITS = ("test", "dev")


# ----------------------------------------------------------------------------- schema: see projner.pipeline.schema


@dataclass(frozen=True)
class ExperimentConfig:
    name: str
    output: str | None
    data: str | None
    cache: str | None
    labels: tuple[str, ...]
    labeller: Mapping[str, Any]
    aligners: Mapping[str, Mapping[str, Any]]
    methods: Mapping[str, Mapping[str, Any]]
    parallel: Mapping[str, Mapping[str, Any]]
    models: Mapping[str, Mapping[str, Any]]
    baselines: tuple[str, ...]
    grid: tuple[Mapping[str, Any], ...]
    source: str | None = None
    transfer_models: tuple[str, ...] = ()
    eval_split: str = "test"  # MasakhaNER split every run is scored on (dev: choose settings without the test set)
    conventions: str | None = None  # span edges of the target annotation for projection and transfer runs (dev or a file)

    def runs(self) -> list["RunSpec"]:
        """Every run of the grid, baselines first, duplicates removed, in a stable order."""
        out: list[RunSpec] = []
        seen = set()
        langs = []
        for g in self.grid:
            for lang in g["languages"]:
                if lang not in langs:
                    langs.append(lang)
        backends = []
        for g in self.grid:
            for m in g.get("models", ["crf"]):
                b = self.models[m]["backend"]
                if b not in backends:
                    backends.append(b)
        for lang in langs:
            if "transfer" in self.baselines:
                lab = self.labeller.get("backend", "crf")
                # a saved model folder is named by its last path component in run ids and tables
                out.append(RunSpec(lang, "transfer", "-", "-", "-", Path(lab).name if "/" in lab else lab))
                for name in self.transfer_models:  # the same backend trained on English, applied to LANG
                    out.append(RunSpec(lang, "transfer", "-", "-", "-", name))
            if "gold" in self.baselines:
                for b in backends:
                    out.append(RunSpec(lang, "gold", "-", "-", "-", b))
        for g in self.grid:
            for lang in g["languages"]:
                for par in g.get("parallel", ["mafand"]):
                    for al in g.get("aligners", ["eflomal"]):
                        for me in g.get("methods", ["heuristic"]):
                            for mo in g.get("models", ["crf"]):
                                system = "projection+english" if self.models[mo].get("add_english") else "projection"
                                out.append(RunSpec(lang, system, par, al, me, mo))
        uniq = []
        for r in out:
            if r.run_id not in seen:
                seen.add(r.run_id)
                uniq.append(r)
        return uniq


@dataclass(frozen=True)
class RunSpec:
    lang: str
    system: str
    parallel: str
    aligner: str
    method: str
    model: str

    @property
    def run_id(self) -> str:
        parts = [self.lang, self.system, self.parallel, self.aligner, self.method, self.model]
        return "__".join(re.sub(r"[^A-Za-z0-9_.+\-]", "_", p) for p in parts if p != "-")

    @property
    def label(self) -> str:
        if self.system == "transfer":
            return f"model transfer ({self.model} on English)"
        if self.system == "gold":
            return f"gold in-language ({self.model})"
        return f"{self.system}: {self.parallel} / {self.aligner} / {self.method} / {self.model}"


STUDY_COMMON = ("name", "study", "output", "data", "cache")


def entry_schema(v) -> dict[str, Callable[[Any, str], Any]]:
    """The validators of one ``aligners`` / ``methods`` / ``parallel`` / ``models`` entry and of
    ``labeller`` (each ``(value, key path) -> value``), shared by experiment configs and studies
    that name a translate-train pipeline."""
    from projner.registry import aligners as aligner_registry

    known_aligners = sorted(set(aligner_registry.short_names()) | set(BUILTIN_ALIGNERS) | {"pharaoh"})
    aligner = lambda x, p: v.mapping(x, p, {  # noqa: E731
        "name": lambda y, q: y if aligner_registry.knows(y) else v.str_(y, q, known_aligners, "aligner"),  # eflomal.v1 too
        "params": v.params, "file": v.opt_str,
        "extra": lambda y, q: v.list_(y, q, v.str_, nonempty=False)}, required=("name",))

    def transfer_score(y, q):  # a model-transfer threshold: null (off) or in (0, 1]
        x = None if y is None else v.num(y, q, 0.0, 1.0)
        return x if x is None or x > 0 else v.fail(q, "must be above 0 (null: off)")

    method = lambda x, p: v.mapping(x, p, {  # noqa: E731
        "method": lambda y, q: v.str_(y, q, sorted(BUILTIN_METHODS), "projection method"),
        "params": v.params, "strip_determiners": v.bool_,
        "filter": lambda y, q: v.str_(y, q, FILTERS, "filter"),
        "keep_empty": lambda y, q: v.num(y, q, 0.0, 1.0),
        "unknown": lambda y, q: v.list_(y, q, lambda z, r: v.str_(z, r, tuple(UNKNOWN_RULES), "partial-label rule"), nonempty=False),
        "unknown_score": lambda y, q: v.num(y, q, 0.0, 1.0),
        "transfer": transfer_score, "transfer_unknown": transfer_score}, required=("method",))
    parallel = lambda x, p: v.mapping(x, p, {  # noqa: E731
        "kind": lambda y, q: v.str_(y, q, ("mafand", "bible", "files"), "parallel kind"),
        "splits": lambda y, q: v.list_(y, q, lambda z, r: v.str_(z, r, ("train", "dev", "test"), "split")),
        "src": v.opt_str, "tgt": v.opt_str,
        "max_pairs": lambda y, q: v.int_(y, q, 1, optional=True),
        "align_extra": lambda y, q: v.list_(y, q, v.str_, nonempty=False)}, required=("kind",))
    model = lambda x, p: v.mapping(x, p, {  # noqa: E731
        "backend": lambda y, q: v.str_(y, q, TRAINABLE_BACKENDS, "model backend"),
        "params": v.params, "add_english": v.bool_,
        "english_max": lambda y, q: v.int_(y, q, 1, optional=True),
        "ensemble": lambda y, q: v.int_(y, q, 1, optional=True)}, required=("backend",))
    labeller = lambda x, p: v.mapping(x, p, {  # noqa: E731
        "backend": v.str_, "label_map": v.str_, "params": v.params, "train": v.opt_str, "dev": v.opt_str})
    return {"aligner": aligner, "method": method, "parallel": parallel, "model": model, "labeller": labeller}


def parse_config(obj: Any, file: str | None = None):
    """Validate a loaded YAML document; every error names the key path (E200).

    A config with ``study: NAME`` (other than ``translate-train``) is a research study
    (:mod:`projner.research`): its own keys are validated by the registered study and a
    :class:`~projner.pipeline.study.StudyConfig` is returned.
    """
    v = _V(file)
    if isinstance(obj, dict) and obj.get("study", "translate-train") != "translate-train":
        return _parse_study(obj, v, file)
    if isinstance(obj, dict) and "study" in obj:
        obj = {k: x for k, x in obj.items() if k != "study"}
    entries = entry_schema(v)
    aligner, method, parallel, model, labeller = (entries[k] for k in ("aligner", "method", "parallel", "model", "labeller"))
    names = lambda x, p: v.list_(x, p, v.str_)  # noqa: E731
    grid_one = lambda x, p: v.mapping(x, p, {  # noqa: E731
        "languages": names, "aligners": names, "methods": names, "parallel": names, "models": names},
        required=("languages",))

    def grid(x, p):
        if isinstance(x, list):
            return v.list_(x, p, grid_one)
        return [grid_one(x, p)]

    top = v.mapping(obj, "", {
        "name": v.str_, "output": v.opt_str, "data": v.opt_str, "cache": v.opt_str,
        "labels": lambda x, p: v.list_(x, p, v.str_),
        "labeller": labeller,
        "aligners": lambda x, p: v.named(x, p, aligner),
        "methods": lambda x, p: v.named(x, p, method),
        "parallel": lambda x, p: v.named(x, p, parallel),
        "models": lambda x, p: v.named(x, p, model),
        "baselines": lambda x, p: v.list_(x, p, lambda y, q: v.str_(y, q, BASELINES, "baseline"), nonempty=False),
        "transfer_models": lambda x, p: v.list_(x, p, v.str_, nonempty=False),
        "eval_split": lambda x, p: v.str_(x, p, EVAL_SPLITS, "evaluation split"),
        "conventions": v.str_,
        "grid": grid,
    }, required=("grid",))
    al = {**BUILTIN_ALIGNERS, **top.get("aligners", {})}
    me = {**BUILTIN_METHODS, **top.get("methods", {})}
    pa = {**BUILTIN_PARALLEL, **top.get("parallel", {})}
    mo = {**BUILTIN_MODELS, **top.get("models", {})}
    # cross references
    for name, p in pa.items():
        for i, ex in enumerate(p.get("align_extra", [])):
            if ex not in pa:
                v.fail(f"parallel.{name}.align_extra[{i}]", f"unknown parallel data {ex!r}{did_you_mean(ex, list(pa))}; known: {', '.join(pa)}")
    for name, a in al.items():
        for i, ex in enumerate(a.get("extra", [])):
            if ex not in pa:
                v.fail(f"aligners.{name}.extra[{i}]", f"unknown parallel data {ex!r}{did_you_mean(ex, list(pa))}; known: {', '.join(pa)}")
    for i, n in enumerate(top.get("transfer_models", [])):
        if n not in mo:
            v.fail(f"transfer_models[{i}]", f"unknown model {n!r}{did_you_mean(n, list(mo))}; known: {', '.join(mo)}")
        elif mo[n].get("add_english"):
            v.fail(f"transfer_models[{i}]", f"model {n!r} adds English to projected data; transfer trains on English alone")
    if top.get("conventions") == "dev" and top.get("eval_split") == "dev":
        v.fail("conventions", "learned from dev.txt, the split every run is scored on: score on test, or learn them from another file")
    gs = top["grid"]
    for gi, g in enumerate(gs):
        gp = "grid" if len(gs) == 1 and not isinstance(obj.get("grid"), list) else f"grid[{gi}]"
        for key, table, what in (("aligners", al, "aligner"), ("methods", me, "method"),
                                 ("parallel", pa, "parallel data"), ("models", mo, "model")):
            for i, n in enumerate(g.get(key, [])):
                if n not in table:
                    v.fail(f"{gp}.{key}[{i}]", f"unknown {what} {n!r}{did_you_mean(n, list(table))}; known: {', '.join(table)}")
    return ExperimentConfig(
        name=top.get("name", Path(file).stem if file else "experiment"), output=top.get("output"),
        data=top.get("data"), cache=top.get("cache"), labels=tuple(top.get("labels", DEFAULT_LABELS)),
        labeller=top.get("labeller", {}), aligners=al, methods=me, parallel=pa, models=mo,
        baselines=tuple(top.get("baselines", BASELINES)), grid=tuple(gs), source=file,
        transfer_models=tuple(top.get("transfer_models", ())), eval_split=top.get("eval_split", "test"),
        conventions=top.get("conventions"),
    )


def _parse_study(obj: dict, v: "_V", file: str | None):
    from projner.registry import create, studies
    from projner.pipeline.study import StudyConfig

    name = obj["study"]  # a short name, or a pinned one (morphology.v1)
    if not studies.knows(name):
        v.str_(name, "study", sorted(["translate-train"] + studies.short_names()), "study")
    study = create("study", name)
    common = {k: obj[k] for k in STUDY_COMMON if k in obj}
    for k in ("name", "output", "data", "cache"):
        if k in common:
            v.opt_str(common[k], k) if k != "name" else v.str_(common[k], k)
    rest = {k: x for k, x in obj.items() if k not in STUDY_COMMON}
    unknown = [k for k in rest if k not in study.keys]
    if unknown:
        v.fail(str(unknown[0]), f"unknown key; allowed here: {', '.join(list(STUDY_COMMON) + list(study.keys))}")
    params = study.parse(rest, v)
    return StudyConfig(name=common.get("name", Path(file).stem if file else name), study=studies.resolve(name),
                       output=common.get("output"), data=common.get("data"), cache=common.get("cache"),
                       params=params, source=file)


def load_config(path: str | os.PathLike):
    import yaml

    p = Path(path)
    if not p.is_file():
        raise ProjnerError(E.E201, file=str(p), detail="no such file")
    text = "\n".join(read_lines(p))
    try:
        obj = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ProjnerError(E.E201, file=str(p), line=(mark.line + 1) if mark else None,
                           detail=str(getattr(exc, "problem", exc))) from None
    try:
        return parse_config(obj, str(p))
    except ProjnerError as exc:  # name the line of the key path (E200 "grid.aligners[1]: ...")
        from projner.pipeline.config_check import with_line

        raise with_line(exc, text) from None


# ----------------------------------------------------------------------------- building configs


def _parallel_cfg(d: Mapping[str, Any]) -> ParallelConfig:
    kw = {k: d[k] for k in ("kind", "src", "tgt", "max_pairs") if k in d}
    if "splits" in d:
        kw["splits"] = tuple(d["splits"])
    return ParallelConfig(**kw)


def pipeline_config(cfg: ExperimentConfig, spec: RunSpec, data: str | None = None) -> TranslateTrainConfig:
    """The :class:`TranslateTrainConfig` of one grid run."""
    return translate_train_config(
        spec.lang, parallel=cfg.parallel[spec.parallel], aligner=cfg.aligners[spec.aligner], method=cfg.methods[spec.method],
        model=cfg.models[spec.model], labeller=labeller_config(cfg), labels=cfg.labels,
        data=data if data is not None else cfg.data, parallels=cfg.parallel)


def translate_train_config(lang: str, *, parallel: Mapping[str, Any], aligner: Mapping[str, Any], method: Mapping[str, Any],
                           model: Mapping[str, Any], labeller: LabellerConfig, labels: Sequence[str],
                           data: str | None = None, parallels: Mapping[str, Mapping[str, Any]] = BUILTIN_PARALLEL) -> TranslateTrainConfig:
    """A :class:`TranslateTrainConfig` from validated config entries (:func:`entry_schema`);
    ``parallels`` resolves the names in ``align_extra`` / ``extra``."""
    pa, al, me, mo = parallel, aligner, method, model
    extra_names = list(pa.get("align_extra", [])) + list(al.get("extra", []))
    extra = tuple(_parallel_cfg(parallels[n]) for n in extra_names)
    params = dict(al.get("params", {}))
    aligner_cfg = AlignerConfig(name=al["name"], params=params, file=al.get("file"), extra=extra)
    projection = ProjectionConfig(method=me["method"], params=dict(me.get("params", {})),
                                  strip_determiners=me.get("strip_determiners", True),
                                  filter=me.get("filter", "none"), keep_empty=me.get("keep_empty", 1.0),
                                  unknown=tuple(me.get("unknown", ())), unknown_score=me.get("unknown_score", 0.5),
                                  transfer=me.get("transfer"), transfer_unknown=me.get("transfer_unknown"))
    model_cfg = ModelConfig(backend=mo["backend"], params=dict(mo.get("params", {})),
                            add_english=mo.get("add_english", False), english_max=mo.get("english_max"),
                            ensemble=mo.get("ensemble") or 1)
    return TranslateTrainConfig(lang=lang, parallel=_parallel_cfg(pa), labeller=labeller, aligner=aligner_cfg,
                                projection=projection, model=model_cfg, labels=tuple(labels), data=data)


def transfer_labeller(cfg: ExperimentConfig, model: str) -> LabellerConfig:
    """The English model a transfer run applies: a ``transfer_models`` entry (that backend and its
    params trained on the labeller's English data) or, otherwise, the labeller itself."""
    lab = labeller_config(cfg)
    if model in cfg.transfer_models:
        mo = cfg.models[model]
        if (mo.get("ensemble") or 1) > 1:  # a seed ensemble of English models (projner.ner.ensemble)
            return LabellerConfig(backend="ensemble", label_map=lab.label_map, train=lab.train, dev=lab.dev,
                                  params={**dict(mo.get("params", {})), "members": mo["ensemble"]})
        return LabellerConfig(backend=mo["backend"], label_map=lab.label_map, params=dict(mo.get("params", {})),
                              train=lab.train, dev=lab.dev)
    return lab


def labeller_config(cfg: ExperimentConfig) -> LabellerConfig:
    return labeller_from(cfg.labeller)


def labeller_from(lab: Mapping[str, Any]) -> LabellerConfig:
    """A :class:`LabellerConfig` from a validated ``labeller`` entry (defaults: crf, conll->per-org-loc)."""
    return LabellerConfig(backend=lab.get("backend", "crf"), label_map=lab.get("label_map", "conll->per-org-loc"),
                          params=dict(lab.get("params", {})), train=lab.get("train"), dev=lab.get("dev"))


# ----------------------------------------------------------------------------- running


@contextlib.contextmanager
def recording_errors(record: dict, log: Callable[[str], None]) -> Iterator[None]:
    """Turn a data or system failure inside the block (:data:`RECORDED_ERRORS`: a coded error, an
    OSError) into ``status: error`` fields of ``record`` and log it: one failing run must not lose
    the others. Anything else (TypeError, KeyError ...) is a bug and propagates."""
    try:
        yield
    except RECORDED_ERRORS as exc:
        record.update(status="error", error=error_text(exc))
        if not isinstance(exc, ProjnerError):
            record["traceback"] = traceback.format_exc(limit=5)
        log(f"    error: {error_text(exc)}")


def run_one(cfg: ExperimentConfig, spec: RunSpec, runner: StepRunner, data: str | None = None) -> RunResult:
    d = data if data is not None else cfg.data
    test = str(test_path(None, spec.lang, d, cfg.eval_split))
    if spec.system == "transfer":
        return model_transfer_run(spec.lang, transfer_labeller(cfg, spec.model), labels=cfg.labels, test=test, data=d,
                                  runner=runner, conventions=cfg.conventions)
    if spec.system == "gold":
        mo = next((m for m in cfg.models.values() if m["backend"] == spec.model and not m.get("add_english")),
                  {"backend": spec.model})
        return gold_run(spec.lang, ModelConfig(backend=mo["backend"], params=dict(mo.get("params", {}))),
                        labels=cfg.labels, test=test, data=d, runner=runner)
    tt = pipeline_config(cfg, spec, d)
    if cfg.conventions:
        tt = with_changes(tt, projection=replace(tt.projection, conventions=cfg.conventions))
    return translate_train(with_changes(tt, test=test), runner=runner)


def run_experiment(cfg: ExperimentConfig, output: str | os.PathLike | None = None, *, cache: str | None = None,
                   data: str | None = None, languages: Sequence[str] | None = None, verbose: bool = True,
                   log: Callable[[str], None] | None = None) -> Path:
    """Run every grid cell (cached, resumable), write ``runs/*.json`` and the report; returns the folder."""
    out = Path(output or cfg.output or f"results/{cfg.name}")
    (out / "runs").mkdir(parents=True, exist_ok=True)
    runner = StepRunner.at(cache if cache is not None else cfg.cache, verbose=verbose)
    runner.cache.clean_tmp()
    if not isinstance(cfg, ExperimentConfig):
        return _run_study(cfg, out, runner, data, languages, log)
    specs = [s for s in cfg.runs() if languages is None or s.lang in languages]
    say = log or (lambda m: None)
    # projection runs first (the interesting ones), baselines after; the report keeps specs' order
    for k, spec in enumerate(sorted(specs, key=lambda s: s.system in BASELINES), 1):
        n_ev = len(runner.events)
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        say(f"[{k}/{len(specs)}] {spec.run_id}")
        record: dict[str, Any] = {"run_id": spec.run_id, "experiment": cfg.name, "lang": spec.lang, "system": spec.system,
                                  "parallel": spec.parallel, "aligner": spec.aligner, "method": spec.method,
                                  "model": spec.model, "label": spec.label}
        with recording_errors(record, say):
            res = run_one(cfg, spec, runner, data)
            record.update(status="ok", f1=res.f1, precision=res.precision, recall=res.recall, per_type=res.per_type,
                          signature=res.signature, n_test=res.n_test, info=res.info, steps=res.steps)
            say(f"    F1 {res.f1:.4f}  P {res.precision:.4f}  R {res.recall:.4f}")
        record["seconds"] = round(time.perf_counter() - t0, 2)
        record["cpu_seconds"] = round(time.process_time() - cpu0, 2)
        record["cache"] = [ev.to_dict() for ev in runner.events[n_ev:]]
        with atomic_write(out / "runs" / f"{spec.run_id}.json") as fh:
            json.dump(record, fh, indent=1, ensure_ascii=False, default=str)
    with atomic_write(out / "experiment.json") as fh:
        json.dump({"name": cfg.name, "config": cfg.source, "cache_root": str(runner.cache.root),
                   "cache_summary": runner.summary(), "order": [s.run_id for s in specs]}, fh, indent=1)
    build_report(out)
    return out


def _run_study(cfg, out: Path, runner: StepRunner, data: str | None, languages: Sequence[str] | None,
               log: Callable[[str], None] | None) -> Path:
    from projner.registry import create
    from projner.pipeline.study import StudyContext

    study = create("study", cfg.study)
    ctx = StudyContext(out=out, runner=runner, data=data if data is not None else cfg.data,
                       log=log or (lambda m: None), languages=tuple(languages) if languages else None)
    t0 = time.perf_counter()
    study.run(cfg.params, ctx)
    with atomic_write(out / "experiment.json") as fh:
        json.dump({"name": cfg.name, "study": cfg.study, "config": cfg.source, "cache_root": str(runner.cache.root),
                   "cache_summary": runner.summary(), "order": [r.run_id for r in cfg.runs()],
                   "seconds": round(time.perf_counter() - t0, 2)}, fh, indent=1)
    report_folder(out)
    return out
