"""The study protocol shared by the research experiments (issue 8).

A study is a class registered in :data:`projner.registry.studies`::

    @studies.register("projner.study.morphology.v1")
    class Morphology(Study):
        keys = {...}                      # validators of the study's own config keys
        def plan(self, params) -> list[str]: ...           # run ids, stable order (for --dry-run)
        def run(self, params, ctx: StudyContext) -> None: ...  # writes ctx.out/runs/*.json
        def report(self, folder) -> None: ...              # optional extra tables/plots

Each run record is a JSON object with at least ``run_id``, ``lang``, ``label`` (the row of the
results table), ``status`` and, when ok, ``f1``, ``precision``, ``recall``, ``signature``; the
generic report (:func:`projner.pipeline.experiment.build_report`) turns them into
``results.md``, ``f1.png`` and ``precision_recall.png``; the study's :meth:`Study.report` adds
its own tables and plots (learning curves, drop-vs-rate lines) to the same folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from projner.data.textio import atomic_write
from projner.errors import ProjnerError

# The built-in studies (and the module of each, e.g. the scale-out study in projner.scale) are in
# projner.registry.BUILTINS: the registry imports a study's module when the study is first asked for.

# What a study records as a failed run (``status: error``) and goes on: a coded error (bad data,
# a missing file, a failed external tool) or an operating-system error. Anything else (a
# TypeError, a KeyError ...) is a bug and propagates.
RECORDED_ERRORS = (ProjnerError, OSError)


def error_text(exc: BaseException) -> str:
    """A run record's ``error``: a coded error's message, else ``Type: message``."""
    return str(exc) if isinstance(exc, ProjnerError) else f"{type(exc).__name__}: {exc}"


@dataclass(frozen=True)
class StudyConfig:
    """A validated study config: the common keys plus the study's own ``params``."""

    name: str
    study: str
    output: str | None
    data: str | None
    cache: str | None
    params: Mapping[str, Any] = field(default_factory=dict)
    source: str | None = None

    def runs(self) -> list["PlannedRun"]:
        from projner.registry import create

        return [PlannedRun(rid) for rid in create("study", self.study).plan(self.params)]


@dataclass(frozen=True)
class PlannedRun:
    run_id: str

    @property
    def lang(self) -> str:
        return self.run_id.split("__", 1)[0]


@dataclass
class StudyContext:
    """What a running study gets: results folder, step cache, data root, a logger."""

    out: Path
    runner: Any  # projner.pipeline.cache.StepRunner
    data: str | None
    log: Callable[[str], None]
    languages: tuple[str, ...] | None = None


class Study:
    """Base class; subclasses set ``keys`` (``{key: validator(value, path, v)}``) and ``required``."""

    keys: Mapping[str, Callable[[Any, str, Any], Any]] = {}
    required: tuple[str, ...] = ()

    def parse(self, obj: Mapping[str, Any], v) -> dict:
        """Validate the study's keys with the runner's validator ``v`` (errors name the key path)."""
        return v.mapping(dict(obj), "", {k: (lambda x, p, f=f: f(x, p, v)) for k, f in self.keys.items()},
                         required=self.required)

    def plan(self, params: Mapping[str, Any]) -> list[str]:
        raise NotImplementedError

    def run(self, params: Mapping[str, Any], ctx: StudyContext) -> None:
        raise NotImplementedError

    def report(self, folder: Path) -> None:
        """Extra tables/plots beyond the generic results table (default: none)."""


def write_run(out: Path, record: Mapping[str, Any]) -> Path:
    """Write one run record atomically to ``out/runs/RUN_ID.json``."""
    path = Path(out) / "runs" / f"{record['run_id']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as fh:
        json.dump(dict(record), fh, indent=1, ensure_ascii=False, default=str)
    return path


def read_run(out: Path, run_id: str) -> dict | None:
    """A finished run's record (status ok), or None: studies use it to skip finished runs."""
    path = Path(out) / "runs" / f"{run_id}.json"
    if not path.is_file():
        return None
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return rec if rec.get("status") == "ok" else None
