"""Robustness to morphological variation (issue 8, item 1).

Inflection tables (SIGMORPHON 2020 task 0, ``lemma<TAB>form<TAB>features``) give, for a word
form seen in a sentence, its lemma and the lemma's other forms. :func:`perturb` replaces a
controlled share of the covered tokens of labelled sentences by another form of the same
lemma (labels and spans unchanged, token count unchanged). The study
``projner.study.morphology.v1`` perturbs the MasakhaNER 2.0 test sets at several rates,
measures the F1 drop of model transfer and of a projection-trained CRF, then trains a CRF on
projected data augmented the same way and measures how much of the drop it recovers.

Matching is case-insensitive (``form.lower()`` after NFC); a substituted form takes the
original token's capitalisation pattern (``UPPER`` → upper, ``Title`` → first letter upper,
otherwise lower). A token is *covered* when its form is in the table and its lemma has at
least one other (single-word) form. Multi-word forms (``ngilala phansi``) cannot replace one
token: they are skipped and counted, as are the lines of ``*.covered.tst`` files (lemma and
features, no form) and blank lines.
"""

from __future__ import annotations

import json
import math
import random
import time
import traceback
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Iterable, Mapping, Sequence

from projner.data.textio import atomic_write, read_lines
from projner.errors import E, ProjnerError
from projner.registry import studies
from projner.research.base import Study, StudyContext, read_run, write_run
from projner.types import Sentence

TABLE_SPLITS = ("trn", "dev", "gold.tst", "covered.tst")
MODELS = ("transfer", "projection", "augmented")
MODEL_LABELS = {
    "transfer": "model transfer (CRF on English)",
    "projection": "projection-trained CRF",
    "augmented": "projection-trained CRF + morph. augmentation",
}


# ----------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class InflectionEntry:
    lemma: str
    form: str
    features: str


def _key(form: str) -> str:
    return unicodedata.normalize("NFC", form).lower()


@dataclass(frozen=True)
class InflectionTable:
    """Inflection entries with indexes form → lemmas and lemma → (form, features).

    Build with :meth:`load` (files) or directly from entries; ``skipped`` counts lines that
    were read but not indexed (``covered_no_form``, ``multiword_form``, ``blank``,
    ``duplicate``).
    """

    entries: tuple[InflectionEntry, ...]
    sources: tuple[str, ...] = ()
    skipped: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "entries", tuple(self.entries))
        object.__setattr__(self, "sources", tuple(self.sources))
        object.__setattr__(self, "skipped", MappingProxyType(dict(sorted(self.skipped.items()))))
        by_form: dict[str, list[str]] = {}
        by_lemma: dict[str, list[tuple[str, str]]] = {}
        for e in self.entries:
            k = _key(e.form)
            if e.lemma not in by_form.setdefault(k, []):
                by_form[k].append(e.lemma)
            if (e.form, e.features) not in by_lemma.setdefault(e.lemma, []):
                by_lemma[e.lemma].append((e.form, e.features))
        object.__setattr__(self, "_by_form", MappingProxyType({k: tuple(v) for k, v in by_form.items()}))
        object.__setattr__(self, "_by_lemma", MappingProxyType({k: tuple(v) for k, v in by_lemma.items()}))

    # -- loading

    @classmethod
    def load(cls, paths: Iterable[str | Path]) -> "InflectionTable":
        """Read SIGMORPHON files (CRLF tolerated). Lines need 3 tab-separated non-empty fields,
        except in ``*.covered.tst`` files (2 fields: lemma, features; counted, not indexed).
        A malformed line raises E220 naming file and line."""
        entries: list[InflectionEntry] = []
        seen: set[tuple[str, str, str]] = set()
        skipped = {"covered_no_form": 0, "multiword_form": 0, "blank": 0, "duplicate": 0}
        sources = []
        for path in paths:
            p = Path(path)
            if not p.is_file():
                raise ProjnerError(E.E222, file=str(p), detail="no such file")
            sources.append(str(p))
            covered = p.name.endswith("covered.tst")
            want = 2 if covered else 3
            for i, ln in enumerate(read_lines(p, allow_empty=True), 1):
                if not ln.strip():
                    skipped["blank"] += 1
                    continue
                fields = [f.strip() for f in ln.split("\t")]
                if len(fields) != want:
                    what = "lemma<TAB>features" if covered else "lemma<TAB>form<TAB>features"
                    raise ProjnerError(E.E220, file=str(p), line=i,
                                       detail=f"expected {want} tab-separated fields ({what}), found {len(fields)}")
                if not all(fields):
                    names = ("lemma", "features") if covered else ("lemma", "form", "features")
                    empty = [n for n, f in zip(names, fields) if not f]
                    raise ProjnerError(E.E220, file=str(p), line=i, detail=f"empty {', '.join(empty)}")
                if covered:
                    skipped["covered_no_form"] += 1
                    continue
                lemma, form, feats = (unicodedata.normalize("NFC", f) for f in fields)
                if any(c.isspace() for c in form):
                    skipped["multiword_form"] += 1
                    continue
                if (lemma, form, feats) in seen:
                    skipped["duplicate"] += 1
                    continue
                seen.add((lemma, form, feats))
                entries.append(InflectionEntry(lemma, form, feats))
        if not entries:
            raise ProjnerError(E.E222, file=", ".join(sources) or None, detail="no usable lemma/form entries")
        return cls(tuple(entries), tuple(sources), skipped)

    # -- queries

    def lemmas_of(self, form: str) -> tuple[str, ...]:
        """Lemmas having ``form`` (case-insensitive)."""
        return self._by_form.get(_key(form), ())  # type: ignore[attr-defined]

    def forms_of(self, lemma: str) -> tuple[tuple[str, str], ...]:
        """(form, features) pairs of ``lemma``, in table order."""
        return self._by_lemma.get(lemma, ())  # type: ignore[attr-defined]

    def alternatives(self, form: str) -> tuple[str, ...]:
        """Other forms (lower-cased, sorted, distinct) of the lemmas of ``form``."""
        k = _key(form)
        alts = {_key(f) for lemma in self.lemmas_of(form) for f, _ in self.forms_of(lemma)}
        alts.discard(k)
        return tuple(sorted(alts))

    def __contains__(self, form: object) -> bool:
        return isinstance(form, str) and _key(form) in self._by_form  # type: ignore[attr-defined]

    @property
    def lemmas(self) -> tuple[str, ...]:
        return tuple(self._by_lemma)  # type: ignore[attr-defined]

    @property
    def n_forms(self) -> int:
        return len(self._by_form)  # type: ignore[attr-defined]

    def fingerprint(self) -> str:
        from projner.pipeline.cache import hash_json

        return hash_json([[e.lemma, e.form, e.features] for e in self.entries])

    def stats(self) -> dict[str, Any]:
        return {"entries": len(self.entries), "lemmas": len(self.lemmas), "forms": self.n_forms,
                "skipped": dict(self.skipped), "sources": list(self.sources)}


# ----------------------------------------------------------------------------- perturbation


@dataclass(frozen=True)
class PerturbStats:
    sentences: int = 0
    tokens: int = 0
    entity_tokens: int = 0
    in_table: int = 0            # token form found in the table
    covered: int = 0             # in the table and its lemma has another form
    covered_in_entities: int = 0
    eligible: int = 0            # covered and allowed by inside_entities / only_entities
    replaced: int = 0
    replaced_in_entities: int = 0
    sentences_changed: int = 0

    def to_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def match_case(original: str, new: str) -> str:
    """``new`` with ``original``'s capitalisation pattern (UPPER, Title, otherwise lower)."""
    cased = [c for c in original if c.isalpha()]
    if len(cased) > 1 and all(c.isupper() for c in cased):
        return new.upper()
    if cased and original[:1].isupper():
        return new[:1].upper() + new[1:].lower()
    return new.lower()


def perturb(sentences: Sequence[Sentence], table: InflectionTable, rate: float, seed: int, *,
            inside_entities: bool = True, only_entities: bool = False) -> tuple[tuple[Sentence, ...], PerturbStats]:
    """Replace ``rate`` of the eligible covered tokens by another form of the same lemma.

    Selection: the eligible positions, in sentence/token order, are shuffled once with
    ``seed`` and the first ``round(rate * n)`` are replaced, so the sets are nested across
    rates (0.25 ⊂ 0.5 ⊂ 1.0 for one seed). The replacement form of a position depends only
    on ``seed`` and the position. Spans, ids and token counts are unchanged; the input is not
    mutated; unchanged sentences are returned as the same objects.
    """
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= float(rate) <= 1.0 or math.isnan(rate):
        raise ProjnerError(E.E221, detail=f"rate must be a number in [0, 1], not {rate!r}")
    if only_entities and not inside_entities:
        raise ProjnerError(E.E221, detail="only_entities=True needs inside_entities=True")
    n_tok = n_ent = n_in = 0
    covered: list[tuple[int, int, bool]] = []
    alts: dict[tuple[int, int], tuple[str, ...]] = {}
    for si, s in enumerate(sentences):
        inside = {i for sp in s.spans for i in range(sp.start, sp.end)}
        n_tok += len(s.tokens)
        n_ent += len(inside)
        for ti, tok in enumerate(s.tokens):
            if tok not in table:
                continue
            n_in += 1
            a = table.alternatives(tok)
            if a:
                covered.append((si, ti, ti in inside))
                alts[(si, ti)] = a
    eligible = [(si, ti, ent) for si, ti, ent in covered
                if (ent and inside_entities) or (not ent and not only_entities)]
    order = list(range(len(eligible)))
    random.Random(f"perturb:{seed}").shuffle(order)
    k = int(round(float(rate) * len(eligible)))
    chosen = sorted(eligible[j] for j in order[:k])
    changes: dict[int, dict[int, str]] = {}
    for si, ti, _ in chosen:
        a = alts[(si, ti)]
        new = a[random.Random(f"form:{seed}:{si}:{ti}").randrange(len(a))]
        changes.setdefault(si, {})[ti] = match_case(sentences[si].tokens[ti], new)
    out = []
    for si, s in enumerate(sentences):
        ch = changes.get(si)
        if not ch:
            out.append(s)
        else:
            out.append(Sentence(tuple(ch.get(i, t) for i, t in enumerate(s.tokens)), s.spans, s.id))
    stats = PerturbStats(sentences=len(sentences), tokens=n_tok, entity_tokens=n_ent, in_table=n_in,
                         covered=len(covered), covered_in_entities=sum(1 for c in covered if c[2]),
                         eligible=len(eligible), replaced=len(chosen),
                         replaced_in_entities=sum(1 for c in chosen if c[2]), sentences_changed=len(changes))
    return tuple(out), stats


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
        from projner.pipeline.translate_train import data_root

        d = data_root(data) / "sigmorphon2020"
        paths = [d / f"{lang}.{s}" for s in p["table_splits"]]
        missing = [str(x) for x in paths if not x.is_file()]
        if missing:
            raise ProjnerError(E.E203, detail=f"inflection table files missing: {', '.join(missing)} (set PROJNER_DATA or data:)")
        return InflectionTable.load(paths)

    def _run_lang(self, lang: str, p: Mapping[str, Any], ctx: StudyContext) -> None:
        from projner.data.formats import read_corpus, write_corpus
        from projner.pipeline.translate_train import nfc_tokens, test_path

        t0 = time.perf_counter()
        base = {"lang": lang, "seed": p["seed"], "inside_entities": p["inside_entities"],
                "only_entities": p["only_entities"], "study": "morphology"}
        try:
            table = self._table(lang, p, ctx.data)
            gold = nfc_tokens(read_corpus(test_path(None, lang, ctx.data)).sentences)
        except Exception as exc:  # every run of this language gets an error record
            err = str(exc) if isinstance(exc, ProjnerError) else f"{type(exc).__name__}: {exc}"
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
            except Exception as exc:
                errors[m] = str(exc) if isinstance(exc, ProjnerError) else f"{type(exc).__name__}: {exc}"
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
                    except Exception as exc:
                        rec.update(status="error", error=str(exc) if isinstance(exc, ProjnerError) else f"{type(exc).__name__}: {exc}",
                                   traceback=traceback.format_exc(limit=5))
                        ctx.log(f"{rid}: error: {rec['error']}")
                rec["seconds"] = round(time.perf_counter() - t1, 2)
                rec["cache"] = [ev.to_dict() for ev in ctx.runner.events[n_ev:]]
                write_run(ctx.out, rec)
        ctx.log(f"{lang}: done in {time.perf_counter() - t0:.0f}s")

    @staticmethod
    def standard_config(lang: str, labels: Sequence[str], data: str | None):
        """The standard translate-train configuration over MAFAND (shares cached steps with the main grid)."""
        from projner.pipeline.translate_train import (
            AlignerConfig, LabellerConfig, ModelConfig, ParallelConfig, ProjectionConfig, TranslateTrainConfig)

        return TranslateTrainConfig(
            lang=lang, parallel=ParallelConfig(kind="mafand", splits=("train", "dev", "test")),
            labeller=LabellerConfig(backend="crf", label_map="conll->per-org-loc"),
            aligner=AlignerConfig(name="eflomal", params={"sym": "intersection", "prefix_len": 4, "copy_dictionary": True}),
            projection=ProjectionConfig(method="heuristic", strip_determiners=True, filter="complete"),
            model=ModelConfig(backend="crf"), labels=tuple(labels), data=data)

    def _model(self, m: str, lang: str, p: Mapping[str, Any], ctx: StudyContext, table: InflectionTable,
               infos: Mapping[str, dict]) -> tuple[Any, dict]:
        from projner.pipeline.cache import hash_json, read_sentences
        from projner.pipeline.translate_train import labeller_step, train_step, translate_train

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
        trained = train_step(ctx.runner, cfg.model,
                             {"projected": projected.fingerprint, "morph_augment": hash_json(opts)}, lambda: data)
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
        from projner.pipeline.translate_train import evaluate_step

        sig = {"system": m, "model": "crf", "morph_rate": f"{rate:g}", "morph_seed": p["seed"]}
        ev = evaluate_step(ctx.runner, model, path, p["labels"], backend="crf", extra_signature=sig)
        d = json.loads(ev.file("scores.json").read_text(encoding="utf-8"))
        preds = read_sentences(ev.file("predictions.jsonl"))
        return ({"f1": float(d["f1"]), "precision": float(d["precision"]), "recall": float(d["recall"]),
                 "per_type": d.get("per_type", {}), "signature": str(d.get("signature", "")),
                 "n_test": int(d.get("n_sentences", 0)), "evaluate": ev.fingerprint}, preds)

    # -- report

    def report(self, folder: Path) -> None:
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


def paired_drop_ci(gold: Sequence[Sentence], pred0: Sequence[Sentence], pred: Sequence[Sentence],
                   labels: Sequence[str], n_boot: int = 1000, seed: int = 0) -> list[float]:
    """95% percentile interval of F1(rate 0) − F1(rate) by a paired bootstrap over test sentences."""
    import numpy as np

    lab = set(labels)

    def counts(preds):
        out = np.zeros((len(gold), 3), dtype=np.int64)
        for i, (g, q) in enumerate(zip(gold, preds)):
            gk = {sp.key for sp in g.spans if sp.label in lab}
            pk = {sp.key for sp in q.spans if sp.label in lab}
            out[i] = (len(gk & pk), len(pk), len(gk))
        return out

    def f1(tot):
        den = tot[..., 1] + tot[..., 2]
        return np.where(den > 0, 2 * tot[..., 0] / np.maximum(den, 1), 0.0)

    c0, c1 = counts(pred0), counts(pred)
    if not len(gold):
        return [0.0, 0.0]
    idx = np.random.default_rng(seed).integers(0, len(gold), size=(n_boot, len(gold)))
    d = f1(c0[idx].sum(axis=1)) - f1(c1[idx].sum(axis=1))
    lo, hi = np.percentile(d, [2.5, 97.5])
    return [round(float(lo), 6), round(float(hi), 6)]


def augment_sentences(sentences: Sequence[Sentence], table: InflectionTable, *, rate: float, copies: int, mode: str,
                      seed: int, inside_entities: bool = True, only_entities: bool = False,
                      summary: dict | None = None) -> tuple[Sentence, ...]:
    """Training data augmented with perturbed sentences.

    ``mode="add"``: the originals plus, for each of ``copies`` perturbations (seeds ``seed``,
    ``seed+1`` …), the sentences it changed (unchanged copies would only duplicate data).
    ``mode="replace"``: the sentences of one perturbation (same size as the input).
    ``summary`` (a dict, optional) receives counts; the input is not mutated.
    """
    if mode not in ("add", "replace"):
        raise ProjnerError(E.E221, detail=f"augmentation mode {mode!r}; known: add, replace")
    if copies < 1:
        raise ProjnerError(E.E221, detail=f"copies must be >= 1, not {copies}")
    if mode == "replace":
        out, st = perturb(sentences, table, rate, seed, inside_entities=inside_entities, only_entities=only_entities)
        if summary is not None:
            summary.update({"mode": mode, "in": len(sentences), "out": len(out), "perturb": [st.to_dict()]})
        return out
    out = list(sentences)
    stats = []
    for c in range(copies):
        pert, st = perturb(sentences, table, rate, seed + c, inside_entities=inside_entities, only_entities=only_entities)
        out += [q for q, s in zip(pert, sentences) if q is not s]
        stats.append(st.to_dict())
    if summary is not None:
        summary.update({"mode": mode, "in": len(sentences), "out": len(out), "added": len(out) - len(sentences),
                        "perturb": stats})
    return tuple(out)


# ----------------------------------------------------------------------------- report


def _load_records(folder: Path) -> list[dict]:
    from projner.pipeline.experiment import load_runs

    return [rec for rec in load_runs(folder) if "rate" in rec and "model" in rec]


def _fmt(x: float | None, pct: bool = False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{100 * x:.1f}%" if pct else f"{x:.3f}"


NOISE = 0.005  # drops below this (absolute F1) are not turned into recovery ratios


def write_morphology_report(folder: Path) -> Path:
    """``morphology.md`` (F1 per rate, drops, recovery, coverage) and ``morphology_f1.png``."""
    recs = _load_records(folder)
    langs: list[str] = []
    for r in recs:
        lg = r.get("language") or str(r["lang"]).split("@")[0]
        if lg not in langs:
            langs.append(lg)
    cell: dict[tuple[str, str, float], dict] = {}
    for r in recs:
        lg = r.get("language") or str(r["lang"]).split("@")[0]
        cell[(lg, r["model"], float(r["rate"]))] = r
    parts = ["# Robustness to morphological variation", "",
             "Test tokens whose (case-insensitive) form is in the SIGMORPHON 2020 inflection table and whose",
             "lemma has another form are *covered*; a share `rate` of them is replaced by another form of",
             "the same lemma (capitalisation pattern kept, labels unchanged). Strict span F1.", ""]
    for lg in langs:
        rates = sorted({k[2] for k in cell if k[0] == lg})
        models = [m for m in MODELS if any(k[0] == lg and k[1] == m for k in cell)]
        f1 = {(m, r): (cell[(lg, m, r)].get("f1") if cell.get((lg, m, r), {}).get("status") == "ok" else None)
              for m in models for r in rates}
        parts += [f"## {lg}", ""]
        anyrec = next((cell[k] for k in cell if k[0] == lg and cell[k].get("table")), None)
        if anyrec:
            t = anyrec["table"]
            parts += [f"Table: {t.get('entries')} entries, {t.get('lemmas')} lemmas, {t.get('forms')} distinct forms; "
                      f"skipped lines {t.get('skipped')}.", ""]
        parts += ["| rate | tokens | entity tokens | in table | covered | covered in entities | replaced | replaced in entities | sentences changed |",
                  "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in rates:
            rec = next((cell[(lg, m, r)] for m in models if cell.get((lg, m, r), {}).get("coverage")), None)
            if rec:
                c = rec["coverage"]
                parts.append(f"| {r:g} | {c['tokens']} | {c['entity_tokens']} | {c['in_table']} | {c['covered']} "
                             f"({100 * c['covered'] / max(c['tokens'], 1):.2f}%) | {c['covered_in_entities']} | {c['replaced']} | "
                             f"{c['replaced_in_entities']} | {c['sentences_changed']} |")
        parts += ["", "| model | " + " | ".join(f"F1 @{r:g}" for r in rates) + " | "
                  + " | ".join(f"drop @{r:g} (abs / rel [95% CI])" for r in rates if r > 0) + " |",
                  "|---|" + "---:|" * (len(rates) + sum(1 for r in rates if r > 0))]
        for m in models:
            row = [_fmt(f1[(m, r)]) for r in rates]
            base = f1.get((m, 0.0))
            drops = []
            for r in rates:
                if r == 0:
                    continue
                if base is None or f1[(m, r)] is None:
                    drops.append("n/a")
                else:
                    d = base - f1[(m, r)]
                    ci = cell[(lg, m, r)].get("drop_ci95")
                    ci_s = f" [{ci[0]:+.4f}, {ci[1]:+.4f}]" if ci else ""
                    drops.append(f"{d:+.4f} / {_fmt(d / base if base else None, pct=True)}{ci_s}")
            parts.append(f"| {MODEL_LABELS[m]} | " + " | ".join(row) + " | " + " | ".join(drops) + " |")
        sub = [(m, r, cell[(lg, m, r)]["changed_sentences"]) for m in models for r in rates
               if r > 0 and cell.get((lg, m, r), {}).get("changed_sentences")]
        if sub:
            parts += ["", "Only the sentences the perturbation changed (the same sentences scored at rate 0 and at the rate), "
                      "and the number of test sentences whose predicted spans differ from rate 0:", "",
                      "| model | rate | changed sentences | gold entities in them | F1 there @0 | F1 there @rate | prediction changed |",
                      "|---|---:|---:|---:|---:|---:|---:|"]
            for m, r, c in sub:
                parts.append(f"| {MODEL_LABELS[m]} | {r:g} | {c['n']} | {c['gold_entities']} | {c['f1_rate0']:.3f} | "
                             f"{c['f1']:.3f} | {c['prediction_changed']} |")
        if "projection" in models and "augmented" in models:
            parts += ["", "Share of the drop recovered by augmentation: *recovered* = (F1 aug@r − F1 proj@r) / "
                      "(F1 proj@0 − F1 proj@r); *robustness* = 1 − drop_aug / drop_proj (drops vs each model's own rate 0). "
                      f"Not computed (n/a) when the projection model's drop is below {NOISE} or its 95% CI "
                      "(paired bootstrap over test sentences, 1000 resamples) includes 0.", "",
                      "| rate | drop proj | drop aug | F1 gain aug − proj | recovered | robustness |",
                      "|---:|---:|---:|---:|---:|---:|"]
            for r in rates:
                if r == 0:
                    continue
                vals = [f1.get(("projection", 0.0)), f1.get(("projection", r)), f1.get(("augmented", 0.0)), f1.get(("augmented", r))]
                if any(v is None for v in vals):
                    parts.append(f"| {r:g} | n/a | n/a | n/a | n/a | n/a |")
                    continue
                p0, pr, a0, ar = vals
                dp, da = p0 - pr, a0 - ar
                ci = cell[(lg, "projection", r)].get("drop_ci95")
                real = dp >= NOISE and (ci is None or ci[0] > 0)
                rec_s = _fmt((ar - pr) / dp, pct=True) if real else "n/a"
                rob_s = _fmt(1 - da / dp, pct=True) if real else "n/a"
                parts.append(f"| {r:g} | {dp:+.4f} | {da:+.4f} | {ar - pr:+.4f} | {rec_s} | {rob_s} |")
        aug = next((cell[k].get("info", {}).get("augment_stats") for k in cell
                    if k[0] == lg and k[1] == "augmented" and cell[k].get("info", {}).get("augment_stats")), None)
        if aug:
            parts += ["", f"Augmented training data: {aug.get('in')} projected sentences → {aug.get('out')} "
                      f"({aug.get('mode')}; perturbation stats {aug.get('perturb')})."]
        parts.append("")
    sigs = sorted({r["signature"] for r in recs if r.get("status") == "ok" and r.get("signature")})
    if sigs:
        parts += ["Signatures:", ""] + [f"* `{s}`" for s in sigs] + [""]
    errs = [r for r in recs if r.get("status") != "ok"]
    if errs:
        parts += ["Errors:", ""] + [f"* {r['run_id']}: {r.get('error')}" for r in errs] + [""]
    path = folder / "morphology.md"
    with atomic_write(path) as fh:
        fh.write("\n".join(parts))
    _plot(folder, langs, cell)
    return path


def _plot(folder: Path, langs: Sequence[str], cell: Mapping[tuple[str, str, float], dict]) -> None:
    ok = {k: v for k, v in cell.items() if v.get("status") == "ok"}
    if not ok or not langs:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(langs), figsize=(4.8 * len(langs), 4), squeeze=False)
    for ax, lg in zip(axes[0], langs):
        for m in MODELS:
            pts = sorted((k[2], v["f1"]) for k, v in ok.items() if k[0] == lg and k[1] == m)
            if pts:
                ax.plot([x for x, _ in pts], [y for _, y in pts], marker="o", label=MODEL_LABELS[m])
        ax.set_title(lg)
        ax.set_xlabel("perturbation rate (share of covered tokens replaced)")
        ax.set_ylabel("strict span F1")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(folder / "morphology_f1.png", dpi=110)
    plt.close(fig)
