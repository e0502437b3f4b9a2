"""Robustness to morphological variation (issue 8, item 1): the study.

``projner.study.morphology.v1`` perturbs the MasakhaNER 2.0 test sets at several rates with
the SIGMORPHON 2020 inflection tables (:mod:`projner.data.sigmorphon`,
:func:`projner.research.perturb.perturb`: a share of the covered tokens replaced by another
form of the same lemma, labels unchanged), measures the F1 drop of model transfer and of a
projection-trained CRF (with a paired-bootstrap interval,
:func:`projner.evaluate.bootstrap.paired_drop_ci`), then trains a CRF on projected data
augmented the same way and measures how much of the drop it recovers. The report is
:mod:`projner.research.morphology_report`.
"""

from __future__ import annotations

import json
import time
import traceback
from pathlib import Path
from typing import Any, Mapping, Sequence

from projner.data.sigmorphon import TABLE_SPLITS, InflectionTable, language_table
from projner.data.textio import atomic_write
from projner.errors import E, ProjnerError
from projner.evaluate.bootstrap import paired_drop_ci
from projner.registry import studies
from projner.pipeline.study import RECORDED_ERRORS, Study, StudyContext, error_text, read_run, write_run
from projner.research.perturb import PerturbStats, augment_sentences, perturb
from projner.types import Sentence

MODELS = ("transfer", "projection", "augmented")
MODEL_LABELS = {
    "transfer": "model transfer (CRF on English)",
    "projection": "projection-trained CRF",
    "augmented": "projection-trained CRF + morph. augmentation",
}


# ----------------------------------------------------------------------------- the study


def _rate_tag(rate: float) -> str:
    return f"r{rate:.2f}"


def _lang_col(lang: str, rate: float) -> str:
    return f"{lang}@{rate:g}"


def _augment(x, p, v):
    if x is None or x is False:
        return None
    d = v.mapping(x, p, {"rate": lambda y, q: v.num(y, q, 0.0, 1.0),
                         "copies": lambda y, q: v.int_(y, q, 1),
                         "mode": lambda y, q: v.str_(y, q, ("add", "replace"), "augmentation mode")})
    return {"rate": d.get("rate", 0.5), "copies": d.get("copies", 1), "mode": d.get("mode", "add")}


def _rates(x, p, v):
    rs = v.list_(x, p, lambda y, q: v.num(y, q, 0.0, 1.0))
    return sorted(set([0.0] + rs))


def _models(x, p, v):
    return v.list_(x, p, lambda y, q: v.str_(y, q, MODELS, "model"))


def _splits(x, p, v):
    return v.list_(x, p, v.str_)


@studies.register("projner.study.morphology.v1")
class MorphologyStudy(Study):
    """F1 of model transfer / projection / augmented projection on morphologically perturbed tests.

    Config keys: ``languages`` (required), ``rates`` (0.0 is always added), ``seed``,
    ``inside_entities``, ``only_entities``, ``augment`` ({rate, copies, mode: add|replace} or
    null), ``labels``, ``models`` (subset of transfer/projection/augmented), ``table_splits``
    (SIGMORPHON file suffixes under ``DATA/sigmorphon2020/LANG.``).
    """

    keys = {
        "languages": lambda x, p, v: v.list_(x, p, v.str_),
        "rates": _rates,
        "seed": lambda x, p, v: v.int_(x, p),
        "inside_entities": lambda x, p, v: v.bool_(x, p),
        "only_entities": lambda x, p, v: v.bool_(x, p),
        "augment": _augment,
        "labels": lambda x, p, v: v.list_(x, p, v.str_),
        "models": _models,
        "table_splits": _splits,
    }
    required = ("languages",)

    # -- params

    @staticmethod
    def _p(params: Mapping[str, Any]) -> dict[str, Any]:
        p = {"rates": [0.0, 0.25, 0.5, 1.0], "seed": 13, "inside_entities": True, "only_entities": False,
             "augment": {"rate": 0.5, "copies": 1, "mode": "add"}, "labels": ["PER", "ORG", "LOC"],
             "models": list(MODELS), "table_splits": list(TABLE_SPLITS)}
        p.update({k: v for k, v in params.items()})
        if "rates" in params:
            p["rates"] = sorted(set([0.0] + [float(r) for r in params["rates"]]))
        models = [m for m in MODELS if m in p["models"]]
        if p["augment"] is None:
            models = [m for m in models if m != "augmented"]
        p["models"] = models
        if p["only_entities"] and not p["inside_entities"]:
            raise ProjnerError(E.E200, path="only_entities", detail="needs inside_entities: true")
        return p

    def plan(self, params: Mapping[str, Any]) -> list[str]:
        p = self._p(params)
        return [f"{lang}__{m}__{_rate_tag(r)}" for lang in p["languages"] for r in p["rates"] for m in p["models"]]

    # -- running

    def run(self, params: Mapping[str, Any], ctx: StudyContext) -> None:
        p = self._p(params)
        for lang in p["languages"]:
            if ctx.languages and lang not in ctx.languages:
                continue
            rids = [f"{lang}__{m}__{_rate_tag(r)}" for r in p["rates"] for m in p["models"]]
            if all(read_run(ctx.out, rid) for rid in rids):
                ctx.log(f"{lang}: all {len(rids)} runs finished, skipped")
                continue
            self._run_lang(lang, p, ctx)

    def _table(self, lang: str, p: Mapping[str, Any], data: str | None) -> InflectionTable:
        from projner.data.datasets import data_root

        return language_table(data_root(data), lang, p["table_splits"])

    def _run_lang(self, lang: str, p: Mapping[str, Any], ctx: StudyContext) -> None:
        from projner.data.formats import read_corpus, write_corpus
        from projner.data.datasets import test_path
        from projner.data.tokenize import nfc_tokens

        t0 = time.perf_counter()
        base = {"lang": lang, "seed": p["seed"], "inside_entities": p["inside_entities"],
                "only_entities": p["only_entities"], "study": "morphology"}
        try:
            table = self._table(lang, p, ctx.data)
            gold = nfc_tokens(read_corpus(test_path(None, lang, ctx.data)).sentences)
        except RECORDED_ERRORS as exc:  # every run of this language gets an error record
            err = error_text(exc)
            ctx.log(f"{lang}: error: {err}")
            for r in p["rates"]:
                for m in p["models"]:
                    write_run(ctx.out, {**base, "run_id": f"{lang}__{m}__{_rate_tag(r)}", "lang": _lang_col(lang, r),
                                        "language": lang, "label": MODEL_LABELS[m], "model": m, "rate": r,
                                        "status": "error", "error": err})
            return
        ctx.log(f"{lang}: table {table.stats()['entries']} entries, {len(table.lemmas)} lemmas; test {len(gold)} sentences")
        tests: dict[float, tuple[Path, PerturbStats, tuple[int, ...]]] = {}
        pdir = ctx.out / "perturbed" / lang
        for r in p["rates"]:
            sents, st = perturb(gold, table, r, p["seed"], inside_entities=p["inside_entities"],
                                only_entities=p["only_entities"])
            path = pdir / f"test_{_rate_tag(r)}.conll"
            write_corpus(path, sents, fmt="conll")
            tests[r] = (path, st, tuple(i for i, (a, b) in enumerate(zip(gold, sents)) if a is not b))
            ctx.log(f"{lang}: rate {r:g}: replaced {st.replaced}/{st.covered} covered tokens "
                    f"({st.replaced_in_entities} inside entities) of {st.tokens}")
        with atomic_write(pdir / "coverage.json") as fh:
            json.dump({"table": table.stats(), "rates": {f"{r:g}": tests[r][1].to_dict() for r in p["rates"]}}, fh, indent=1)
        models: dict[str, Any] = {}
        infos: dict[str, dict] = {}
        errors: dict[str, str] = {}
        for m in p["models"]:
            if m == "augmented" and "projection" in errors:
                errors[m] = f"needs the projection model: {errors['projection']}"
                continue
            try:
                models[m], infos[m] = self._model(m, lang, p, ctx, table, infos)
            except RECORDED_ERRORS as exc:
                errors[m] = error_text(exc)
                infos[m] = {"traceback": traceback.format_exc(limit=5)}
                ctx.log(f"{lang}: model {m}: error: {errors[m]}")
        pred0: dict[str, tuple[Sentence, ...]] = {}
        for r in p["rates"]:
            path, st, changed = tests[r]
            for m in p["models"]:
                rid = f"{lang}__{m}__{_rate_tag(r)}"
                if read_run(ctx.out, rid):
                    continue
                rec: dict[str, Any] = {**base, "run_id": rid, "lang": _lang_col(lang, r), "language": lang,
                                       "label": MODEL_LABELS[m], "model": m, "rate": r, "test": str(path),
                                       "coverage": st.to_dict(), "table": table.stats(), "info": {}}
                t1 = time.perf_counter()
                n_ev = len(ctx.runner.events)
                if m in errors:
                    rec.update(status="error", error=errors[m], info=infos.get(m, {}))
                else:
                    try:
                        scores, preds = self._evaluate(m, models[m], path, r, p, ctx)
                        rec.update(scores)
                        if r == 0.0:
                            pred0[m] = preds
                        elif changed:
                            if m not in pred0:
                                pred0[m] = self._evaluate(m, models[m], tests[0.0][0], 0.0, p, ctx)[1]
                            rec["changed_sentences"] = changed_subset(gold, pred0[m], preds, changed, p["labels"])
                            rec["drop_ci95"] = paired_drop_ci(gold, pred0[m], preds, p["labels"], seed=p["seed"])
                        rec["info"] = {k: v for k, v in infos[m].items() if k != "entry"}
                        rec["status"] = "ok"
                        ctx.log(f"{rid}: F1 {rec['f1']:.4f}")
                    except RECORDED_ERRORS as exc:
                        rec.update(status="error", error=error_text(exc), traceback=traceback.format_exc(limit=5))
                        ctx.log(f"{rid}: error: {rec['error']}")
                rec["seconds"] = round(time.perf_counter() - t1, 2)
                rec["cache"] = [ev.to_dict() for ev in ctx.runner.events[n_ev:]]
                write_run(ctx.out, rec)
        ctx.log(f"{lang}: done in {time.perf_counter() - t0:.0f}s")

    @staticmethod
    def standard_config(lang: str, labels: Sequence[str], data: str | None):
        """The standard translate-train configuration over MAFAND (shares cached steps with the main grid)."""
        from projner.data.datasets import ParallelConfig
        from projner.pipeline.config import (
            AlignerConfig, LabellerConfig, ModelConfig, ProjectionConfig, TranslateTrainConfig)

        return TranslateTrainConfig(
            lang=lang, parallel=ParallelConfig(kind="mafand", splits=("train", "dev", "test")),
            labeller=LabellerConfig(backend="crf", label_map="conll->per-org-loc"),
            aligner=AlignerConfig(name="eflomal", params={"sym": "intersection", "prefix_len": 4, "copy_dictionary": True}),
            projection=ProjectionConfig(method="heuristic", strip_determiners=True, filter="complete"),
            model=ModelConfig(backend="crf"), labels=tuple(labels), data=data)

    def _model(self, m: str, lang: str, p: Mapping[str, Any], ctx: StudyContext, table: InflectionTable,
               infos: Mapping[str, dict]) -> tuple[Any, dict]:
        from projner.fingerprint import function_code
        from projner.pipeline.cache import hash_json, read_sentences
        from projner.pipeline.steps import labeller_step, train_model
        from projner.pipeline.translate_train import translate_train

        cfg = self.standard_config(lang, p["labels"], ctx.data)
        if m == "transfer":
            lab = labeller_step(ctx.runner, cfg.labeller, ctx.data)
            return lab, {"labeller": lab[0]}
        if m == "projection":
            ctx.log(f"{lang}: translate-train (standard config; cached steps reused)")
            res = translate_train(cfg, runner=ctx.runner)
            entry = self._entry(ctx, "train", res.steps["train"], m)
            return entry, {"steps": dict(res.steps), "f1_original_test": res.f1, "n_train": res.info.get("n_train"),
                           "projection": res.info.get("projection", {}).get("filter")}
        # augmented: the projected training sentences of the projection model, perturbed
        steps = (infos.get("projection") or {}).get("steps")
        if not steps:
            steps = dict(translate_train(cfg, runner=ctx.runner).steps)
        projected = self._entry(ctx, "project", steps["project"], m)
        aug = p["augment"]
        opts = {"rate": aug["rate"], "copies": aug["copies"], "mode": aug["mode"], "seed": p["seed"],
                "inside_entities": p["inside_entities"], "only_entities": p["only_entities"],
                "table": table.fingerprint()}
        summary: dict[str, Any] = {}
        base = read_sentences(projected.file("projected.jsonl"))
        data = augment_sentences(base, table, summary=summary, **{k: opts[k] for k in opts if k != "table"})
        from projner.data.formats import write_corpus

        # the perturbed training sentences, for inspection (add: the added copies; replace: all)
        write_corpus(ctx.out / "perturbed" / lang / "train_perturbed.conll",
                     data[len(base):] if aug["mode"] == "add" else data, fmt="conll")

        ctx.log(f"{lang}: training the augmented CRF ({aug['mode']}, rate {aug['rate']:g}, copies {aug['copies']})")
        trained = train_model(ctx.runner, cfg.model,
                              {"projected": projected.fingerprint, "morph_augment": hash_json(opts),
                               "augment_code": hash_json(function_code(augment_sentences))}, lambda: data)
        info = dict((trained.manifest.get("info") or {}))
        return trained, {"train": trained.fingerprint, "augment": {k: v for k, v in opts.items()},
                         "n_train": info.get("n_train"), "augment_stats": summary or None}

    @staticmethod
    def _entry(ctx: StudyContext, step: str, fp: str, model: str):
        status, entry, detail = ctx.runner.cache.check(step, fp)
        if status != "hit" or entry is None:
            raise ProjnerError(E.E223, model=model, detail=f"cached {step} step {fp[:12]} is {status} {detail}".strip())
        return entry

    @staticmethod
    def _evaluate(m: str, model: Any, path: Path, rate: float, p: Mapping[str, Any],
                  ctx: StudyContext) -> tuple[dict, tuple[Sentence, ...]]:
        from projner.pipeline.cache import read_sentences
        from projner.pipeline.steps import evaluate_step

        sig = {"system": m, "model": "crf", "morph_rate": f"{rate:g}", "morph_seed": p["seed"]}
        ev = evaluate_step(ctx.runner, model, path, p["labels"], backend="crf", extra_signature=sig)
        d = json.loads(ev.file("scores.json").read_text(encoding="utf-8"))
        preds = read_sentences(ev.file("predictions.jsonl"))
        return ({"f1": float(d["f1"]), "precision": float(d["precision"]), "recall": float(d["recall"]),
                 "per_type": d.get("per_type", {}), "signature": str(d.get("signature", "")),
                 "n_test": int(d.get("n_sentences", 0)), "evaluate": ev.fingerprint}, preds)

    # -- report

    def report(self, folder: Path) -> None:
        from projner.research.morphology_report import write_morphology_report

        write_morphology_report(Path(folder))


def changed_subset(gold: Sequence[Sentence], pred0: Sequence[Sentence], pred: Sequence[Sentence],
                   changed: Sequence[int], labels: Sequence[str]) -> dict[str, Any]:
    """Scores on the sentences the perturbation changed (where any effect must show), at rate 0
    and at this rate, and how many sentences' predicted spans differ from rate 0 (anywhere)."""
    from projner.evaluate import evaluate_spans

    def f1(preds):
        g = [Sentence(preds[i].tokens, gold[i].spans) for i in changed]
        return evaluate_spans(g, [preds[i] for i in changed], labels=labels).f1

    flips = sum(1 for a, b in zip(pred0, pred) if {s.key for s in a.spans} != {s.key for s in b.spans})
    return {"n": len(changed), "gold_entities": sum(1 for i in changed for sp in gold[i].spans if sp.label in labels),
            "f1_rate0": f1(pred0), "f1": f1(pred), "prediction_changed": flips}
