"""Self-training and multi-source teacher–student distillation on unlabelled target text (issue 8).

::

    teachers (saved taggers)                       unlabelled target sentences
    ├─ projection: the target model of a translate-    (MAFAND target side, Bible target side,
    │              train pipeline (``teacher:``;        or MasakhaNER train.txt without labels)
    │              default: CRF on projected MAFAND)
    └─ transfer:   that pipeline's English labeller applied as is
            │ one teacher: its Viterbi spans, Span.score = span probability
            │ several: weighted average of token marginals over a common IOB2 tag set,
            │          constrained (IOB2-valid) Viterbi, span confidence = mean averaged marginal
            ▼
    hard labels: sentences whose every predicted span has confidence ≥ threshold
                 (others dropped and counted: their words would be trained as O);
                 entity-free sentences kept at ratio ``keep_empty`` (evenly spaced)
            ▼
    student (``student.backend``: crf, pcrf, fast, transformer; ``include_projected``: plus the
    teacher's own training data) ── evaluated on MasakhaNER 2.0 test ── round k's student
    teaches round k+1 (alone or with the original teachers)

Soft labels: crfsuite cannot train on soft targets, so the soft-label student is a transformer
(:class:`~projner.ner.soft_student.SoftStudent`, first-subword, KL divergence to the teachers'
averaged token distributions, :func:`soft_targets`). It is tested on a tiny local BERT; on this
CPU-only machine the real benchmarks use CRF and fast students with hard labels.

The labelling machinery (:class:`Teacher`, :func:`teacher_label`, :func:`select_confident`,
:func:`pseudo_label_step`) lives in :mod:`projner.pipeline.self_train`, which ``projner
translate-train --self-train`` also runs.

Marginal averaging and the constrained Viterbi decoder are :mod:`projner.ner.decoding`; the
unlabelled text is read by :mod:`projner.data.unlabelled`; the report is
:mod:`projner.research.self_training_report`.

Multi-source teacher–student after Wu et al. 2020 ("Single-/Multi-Source Cross-Lingual NER via
Teacher-Student Learning on Unlabeled Data in Target Language", arXiv 2004.12440).

Every expensive step (teacher labelling, student training, evaluation) is cached through the
:class:`~projner.pipeline.cache.StepRunner` with fingerprints of its inputs and parameters, so a
rerun is free and an interrupted run resumes.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from projner.data.datasets import evenly, test_path
from projner.data.unlabelled import SOURCES, source_available, unlabelled_tokens
from projner.errors import E, ProjnerError
from projner.ner.base import TRAINABLE_BACKENDS
from projner.ner.decoding import average_marginals, common_marginals
from projner.pipeline.cache import Entry, StepRunner, read_sentences
from projner.pipeline.config import DEFAULT_LABELS, ModelConfig
from projner.pipeline.experiment import entry_schema, labeller_from, recording_errors, translate_train_config
from projner.pipeline.self_train import Teacher, pseudo_label_step, select_confident, teacher_label
from projner.pipeline.steps import evaluate_step, labeller_step, train_model
from projner.pipeline.study import RECORDED_ERRORS, Study, StudyContext, error_text, read_run, write_run
from projner.pipeline.translate_train import english_train, model_signature, model_transfer_run, translate_train
from projner.registry import studies
from projner.types import Sentence

TEACHERS = ("projection", "transfer")


# ----------------------------------------------------------------------------- teachers


def soft_targets(teachers: Sequence[Teacher], sentences: Sequence[Sentence], labels: Sequence[str]) -> list[np.ndarray]:
    """The teachers' weighted-average token distributions over the IOB2 tags of ``labels``."""
    per = [common_marginals(t.load(), sentences, labels, name=t.name) for t in teachers]
    return average_marginals(per, [t.weight for t in teachers])


# ----------------------------------------------------------------------------- unlabelled text


def study_tokens(source: str, lang: str, data: str | None, max_sentences: int | None = None) -> tuple[tuple[str, ...], ...]:
    """The unlabelled token lists of ``source`` for ``lang`` (:mod:`projner.data.unlabelled`),
    at most ``max_sentences`` of them, evenly spaced."""
    return tuple(evenly(list(unlabelled_tokens(source, lang, data)), max_sentences))


# ----------------------------------------------------------------------------- the study


def _teacher_set(x, p, v):
    s = v.str_(x, p)
    names = s.split("+")
    for n in names:
        if n not in TEACHERS:
            v.fail(p, f"unknown teacher {n!r} in {s!r}; known: {', '.join(TEACHERS)} (join several with +)")
    if len(set(names)) != len(names):
        v.fail(p, f"teacher named twice in {s!r}")
    return "+".join(names)


def _weights(x, p, v):
    d = v.params(x, p)
    out = {}
    for k, w in d.items():
        if k not in TEACHERS + ("student",):
            v.fail(f"{p}.{k}", f"unknown teacher; known: {', '.join(TEACHERS + ('student',))}")
        out[k] = v.num(w, f"{p}.{k}", 0.0, None)
    return out


def _student(x, p, v):
    return v.mapping(x, p, {"backend": lambda y, q: v.str_(y, q, TRAINABLE_BACKENDS, "student backend"),
                            "params": lambda y, q: v.params(y, q)})


def _teacher_pipeline(x, p, v):
    e = entry_schema(v)
    return v.mapping(x, p, {"labeller": e["labeller"], "aligner": e["aligner"], "method": e["method"],
                            "parallel": e["parallel"], "model": e["model"]})


# the projection teacher's translate-train pipeline and the transfer teacher (its labeller); every
# part may be replaced in a config's ``teacher:`` (same entries as an experiment config's
# aligners/methods/parallel/models and labeller)
TEACHER_DEFAULTS: Mapping[str, Mapping[str, Any]] = {
    "labeller": {"backend": "crf", "label_map": "conll->per-org-loc"},
    "aligner": {"name": "eflomal", "params": {"sym": "intersection", "prefix_len": 4, "copy_dictionary": True}},
    "method": {"method": "heuristic", "strip_determiners": True, "filter": "complete"},
    "parallel": {"kind": "mafand"},
    "model": {"backend": "crf"},
}

DEFAULTS: Mapping[str, Any] = {
    "labels": list(DEFAULT_LABELS), "teachers": ["projection", "projection+transfer"], "unlabelled": ["mafand"],
    "threshold": 0.9, "keep_empty": 0.5, "rounds": 2, "combine": {}, "round_teachers": "student",
    "include_projected": False, "max_unlabelled": None, "student": {"backend": "crf", "params": {}},
    "teacher": {},
}


def _params(params: Mapping[str, Any]) -> dict:
    out = {**DEFAULTS, **dict(params)}
    out["student"] = {**DEFAULTS["student"], **dict(out["student"])}
    out["teacher"] = {**TEACHER_DEFAULTS, **dict(out["teacher"])}
    return out


def _label(teachers: str, source: str, rnd: int, include_projected: bool) -> str:
    extra = " +projected" if include_projected else ""
    return f"student r{rnd} ({teachers} → {source}{extra})"


@studies.register("projner.study.self_training.v1")
class SelfTraining(Study):
    """Teachers label unlabelled target text; CRF students train on the confident hard labels."""

    keys = {
        "languages": lambda x, p, v: v.list_(x, p, v.str_),
        "labels": lambda x, p, v: v.list_(x, p, v.str_),
        "teachers": lambda x, p, v: v.list_(x, p, lambda y, q: _teacher_set(y, q, v)),
        "unlabelled": lambda x, p, v: v.list_(x, p, lambda y, q: v.str_(y, q, SOURCES, "unlabelled source")),
        "threshold": lambda x, p, v: v.num(x, p, 0.0, 1.0),
        "keep_empty": lambda x, p, v: v.num(x, p, 0.0, 1.0),
        "rounds": lambda x, p, v: v.int_(x, p, 1),
        "combine": _weights,
        "round_teachers": lambda x, p, v: v.str_(x, p, ["student", "student+original"], "round_teachers"),
        "include_projected": lambda x, p, v: v.bool_(x, p),
        "max_unlabelled": lambda x, p, v: v.int_(x, p, 1, optional=True),
        "student": _student,
        "teacher": _teacher_pipeline,
    }
    required = ("languages",)

    # -------------------------------------------------------------- plan

    def _cells(self, params: Mapping[str, Any]) -> list[tuple[str, str, str, int]]:
        p = _params(params)
        cells = []
        for lang in p["languages"]:
            for src in p["unlabelled"]:
                if not source_available(src, lang):
                    continue
                for t in p["teachers"]:
                    for r in range(1, p["rounds"] + 1):
                        cells.append((lang, t, src, r))
        return cells

    def plan(self, params: Mapping[str, Any]) -> list[str]:
        p = _params(params)
        out = []
        for lang in p["languages"]:
            out += [f"{lang}__transfer", f"{lang}__projection"]
            out += [f"{lg}__{t}__{src}__r{r}" for lg, t, src, r in self._cells(p) if lg == lang]
        return out

    # -------------------------------------------------------------- run

    def run(self, params: Mapping[str, Any], ctx: StudyContext) -> None:
        p = _params(params)
        for lang in p["languages"]:
            if ctx.languages and lang not in ctx.languages:
                continue
            skipped = [s for s in p["unlabelled"] if not source_available(s, lang)]
            if skipped:
                ctx.log(f"[self-training] {lang}: no {', '.join(skipped)} text for this language; those students are not planned")
            self._run_lang(lang, p, ctx)

    def _guard(self, ctx: StudyContext, rid: str, lang: str, label: str, fn: Callable[[], dict]) -> None:
        if read_run(ctx.out, rid):
            return
        t0 = time.perf_counter()
        rec: dict[str, Any] = {"run_id": rid, "lang": lang, "label": label}
        ctx.log(f"[self-training] {rid}")
        with recording_errors(rec, ctx.log):
            rec.update(fn())
            rec["status"] = "ok"
            ctx.log(f"    F1 {rec['f1']:.4f}  P {rec['precision']:.4f}  R {rec['recall']:.4f}")
        rec["seconds"] = round(time.perf_counter() - t0, 2)
        write_run(ctx.out, rec)

    def _run_lang(self, lang: str, p: Mapping[str, Any], ctx: StudyContext) -> None:
        from projner.ner.io import load_tagger

        runner, data, labels = ctx.runner, ctx.data, tuple(p["labels"])
        tp = p["teacher"]
        labeller_cfg = labeller_from(tp["labeller"])
        tt_cfg = translate_train_config(lang, parallel=tp["parallel"], aligner=tp["aligner"], method=tp["method"],
                                        model=tp["model"], labeller=labeller_cfg, labels=labels, data=data)
        res_box: dict[str, Any] = {}

        def transfer():
            r = model_transfer_run(lang, labeller_cfg, labels=labels, data=data, runner=runner)
            return {"system": "transfer", "model": labeller_cfg.backend, "f1": r.f1, "precision": r.precision, "recall": r.recall,
                    "per_type": r.per_type, "signature": r.signature, "steps": r.steps}

        def projection():
            r = translate_train(tt_cfg, runner=runner)
            res_box["projection"] = r
            return {"system": "projection", "model": tt_cfg.model.backend, "f1": r.f1, "precision": r.precision, "recall": r.recall,
                    "per_type": r.per_type, "signature": r.signature, "steps": r.steps,
                    "info": {"n_train": r.info.get("n_train"), "align_signature": r.info.get("align_signature")}}

        self._guard(ctx, f"{lang}__transfer", lang, f"transfer (English {labeller_cfg.backend})", transfer)
        self._guard(ctx, f"{lang}__projection", lang, "projection teacher", projection)
        cells = [c for c in self._cells(p) if c[0] == lang]
        if not cells:
            return
        try:
            teachers = self._teachers(lang, p, ctx, tt_cfg, labeller_cfg, res_box)
        except RECORDED_ERRORS as exc:  # the teachers failed: every student run records the error
            err = error_text(exc)
            for _, t, src, r in cells:
                rid = f"{lang}__{t}__{src}__r{r}"
                if not read_run(ctx.out, rid):
                    write_run(ctx.out, {"run_id": rid, "lang": lang, "label": _label(t, src, r, p["include_projected"]),
                                        "status": "error", "error": f"teachers unavailable: {err}"})
            return
        tpath = test_path(None, lang, data)
        student_cfg = ModelConfig(backend=p["student"]["backend"], params=dict(p["student"]["params"]))
        weights = dict(p["combine"])
        token_cache: dict[str, tuple] = {}
        chains = [(tset, src) for tset in p["teachers"] for src in p["unlabelled"] if source_available(src, lang)]
        state: dict[tuple[str, str], Any] = {}
        for tset, src in chains:
            state[(tset, src)] = [Teacher(n, teachers[n].ident, teachers[n].load, weights.get(n, 1.0)) for n in tset.split("+")]
        # round by round over all chains: every round-1 student is ready before any round-2 one
        for rnd in range(1, p["rounds"] + 1):
            for tset, src in chains:
                current = state[(tset, src)]
                if current is None:
                    continue  # an earlier round of this chain failed: no teacher
                originals = [Teacher(n, teachers[n].ident, teachers[n].load, weights.get(n, 1.0)) for n in tset.split("+")]
                rid = f"{lang}__{tset}__{src}__r{rnd}"
                box: dict[str, Any] = {}

                def student(current=current, rnd=rnd, src=src, tset=tset, box=box):
                    if src not in token_cache:
                        token_cache[src] = study_tokens(src, lang, data, p["max_unlabelled"])
                    toks = token_cache[src]
                    pseudo = pseudo_label_step(runner, current, toks, labels=labels, threshold=p["threshold"],
                                               keep_empty=p["keep_empty"])
                    inputs = {"pseudo": pseudo.fingerprint}
                    loaders = [lambda: read_sentences(pseudo.file("pseudo.jsonl"))]
                    if p["include_projected"]:  # the projection teacher's own training data too
                        proj = teachers["projection"].extra["projected"]
                        inputs["projected"] = proj.fingerprint
                        loaders.append(lambda: read_sentences(proj.file("projected.jsonl")))
                        if tt_cfg.model.add_english:
                            key, load_en = english_train(tt_cfg.labeller, tt_cfg.data, tt_cfg.labels, tt_cfg.model.english_max)
                            inputs["english"] = key
                            loaders.append(load_en)
                    trained = train_model(runner, student_cfg, inputs, lambda: tuple(s for ld in loaders for s in ld()))
                    ms = model_signature(student_cfg)
                    sig = {"system": "self-training", "student": ms["model"], **({"params": ms["params"]} if "params" in ms else {}),
                           "teachers": tset, "unlabelled": src, "round": rnd, "threshold": p["threshold"]}
                    ev = evaluate_step(runner, trained, tpath, labels, backend=student_cfg.backend, extra_signature=sig)
                    box["trained"] = trained
                    d = json.loads(ev.file("scores.json").read_text(encoding="utf-8"))
                    stats = json.loads(pseudo.file("stats.json").read_text(encoding="utf-8"))
                    return {"system": "self-training", "teachers": tset, "unlabelled": src, "round": rnd,
                            "round_teachers": [t.name for t in current], "f1": float(d["f1"]),
                            "precision": float(d["precision"]), "recall": float(d["recall"]),
                            "per_type": d.get("per_type", {}), "signature": str(d.get("signature", "")),
                            "pseudo": stats, "n_unlabelled": len(toks),
                            "n_train": (trained.manifest.get("info") or {}).get("n_train"),
                            "steps": {"pseudo": pseudo.fingerprint, "train": trained.fingerprint, "evaluate": ev.fingerprint}}

                label = _label(tset, src, rnd, p["include_projected"])
                done = read_run(ctx.out, rid)
                if done:  # finished earlier: only the student model is needed for the next round
                    entry = self._entry(runner, "train", (done.get("steps") or {}).get("train"))
                    if entry is None:
                        student()
                        entry = box.get("trained")
                    box["trained"] = entry
                else:
                    self._guard(ctx, rid, lang, label, student)
                trained = box.get("trained")
                if trained is None:
                    state[(tset, src)] = None
                    continue
                st = Teacher(f"student r{rnd}", trained.fingerprint,
                             lambda e=trained: load_tagger(e.file("model"), progress=False), weights.get("student", 1.0))
                state[(tset, src)] = [st] + (originals if p["round_teachers"] == "student+original" else [])

    @staticmethod
    def _entry(runner: StepRunner, step: str, fp: str | None) -> Entry | None:
        if not fp:
            return None
        status, entry, _ = runner.cache.check(step, fp)
        return entry if status == "hit" else None

    def _teachers(self, lang, p, ctx, tt_cfg, labeller_cfg, res_box) -> dict[str, "_LoadedTeacher"]:
        from projner.ner.io import load_tagger

        runner = ctx.runner
        out: dict[str, _LoadedTeacher] = {}
        names = {n for t in p["teachers"] for n in t.split("+")} | ({"projection"} if p["include_projected"] else set())
        if "projection" in names:
            # the teacher of the recorded projection run, as long as its cache entries exist: a resumed
            # study (a round added later, an interruption) keeps the teacher its finished rounds
            # used, even where the code changed since (eflomal is unseeded: realigning would give
            # another teacher and other projected data)
            steps = (read_run(ctx.out, f"{lang}__projection") or {}).get("steps") or {}
            trained = self._entry(runner, "train", steps.get("train"))
            projected = self._entry(runner, "project", steps.get("project"))
            if res_box.get("projection") is not None or trained is None or projected is None:
                r = res_box.get("projection") or translate_train(tt_cfg, runner=runner)
                trained = self._entry(runner, "train", r.steps.get("train"))
                projected = self._entry(runner, "project", r.steps.get("project"))
            elif ctx.log:
                ctx.log(f"[self-training] {lang}: projection teacher from the recorded run (train {trained.fingerprint[:12]})")
            if trained is None or projected is None:
                raise ProjnerError(E.E241, detail=f"{lang}: the projection teacher's cache entries are missing after training")
            out["projection"] = _LoadedTeacher(trained.fingerprint, lambda e=trained: load_tagger(e.file("model"), progress=False),
                                               {"projected": projected})
        if "transfer" in names:
            ident, load = labeller_step(runner, labeller_cfg, ctx.data)
            out["transfer"] = _LoadedTeacher(ident, load, {})
        return out

    # -------------------------------------------------------------- report

    def report(self, folder: Path) -> None:
        from projner.research.self_training_report import write_self_training_report

        write_self_training_report(Path(folder))


@dataclass(frozen=True)
class _LoadedTeacher:
    ident: str
    load: Callable[[], Any]
    extra: Mapping[str, Any]


# re-exported from projner.pipeline.self_train, where they live (the study builds on them)
__all__ = ["SelfTraining", "Teacher", "pseudo_label_step", "select_confident", "soft_targets", "study_tokens", "teacher_label"]
