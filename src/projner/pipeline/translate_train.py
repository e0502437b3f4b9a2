"""Translate-train: label English, project onto target-language text, train a target model.

::

    English side of parallel text ──label (CoNLL-trained CRF)──► English spans
    (MAFAND-MT, Bible, files, or MT output of a Translator)          │ strip leading "the"
    target side ──────────────── align (eflomal over all parallel text) ──► project
                                                                     │ filter (completeness)
                                         train target model (CRF) ◄──┘ (+ English CoNLL)
                                                   │
                                       evaluate on MasakhaNER 2.0 test (strict span F1)

Every step goes through :class:`~projner.pipeline.cache.StepRunner`: it is fingerprinted by
its parameters, its inputs' hashes, the code it runs and the components and engine versions it
uses (:mod:`projner.fingerprint`) and cached, so a second run (or a run resumed after a
kill) recomputes nothing that is finished, and English labels / the English labeller are
shared between languages and experiments. Configs are frozen dataclasses; no function mutates
its arguments. Baselines with the same target model and evaluation: :func:`model_transfer_run`
(English model applied directly) and :func:`gold_run` (trained on in-language gold).

Where things live: the configs in :mod:`projner.pipeline.config`, the cached steps in
:mod:`projner.pipeline.steps`, the datasets in :mod:`projner.data.datasets`, tokenisation in
:mod:`projner.data.tokenize` and the training-data filters in :mod:`projner.project.filters`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Sequence

from projner.data.datasets import conll_paths, data_root, evenly, load_parallel, read_labelled, require_data, test_path
from projner.data.textio import read_lines
from projner.data.tokenize import nfc_tokens, tokenize
from projner.errors import E, ProjnerError
from projner.pipeline.cache import Entry, StepRunner, hash_file, hash_json, read_sentences
from projner.pipeline.config import DEFAULT_LABELS, LabellerConfig, ModelConfig, RunResult, TranslateTrainConfig
from projner.pipeline.self_train import self_train_rounds
from projner.pipeline.steps import (
    conventions_path,
    conventions_step,
    evaluate_step,
    label_align_project,
    labeller_step,
    read_translations,
    train_model,
    translate_texts,
)


def model_signature(model: ModelConfig) -> dict[str, str]:
    """The target model's part of a score's signature: backend, the parameters given (two figures
    of one backend trained 5 and 15 epochs must not sign alike) and the English sentences added."""
    sig = {"model": model.backend}
    if model.params:
        sig["params"] = ",".join(f"{k}={model.params[k]}" for k in sorted(model.params))
    if model.ensemble > 1:
        sig["ensemble"] = str(model.ensemble)
    if model.add_english:
        sig["english"] = str(model.english_max) if model.english_max is not None else "all"
    return sig


def _result(lang: str, system: str, ev: Entry, info: Mapping[str, Any], steps: Mapping[str, str]) -> RunResult:
    d = json.loads(ev.file("scores.json").read_text(encoding="utf-8"))
    n = d.get("n_sentences", 0)
    return RunResult(lang, system, float(d["f1"]), float(d["precision"]), float(d["recall"]), d.get("per_type", {}),
                     str(d.get("signature", "")), int(n), dict(info), dict(steps))


def english_train(labeller: LabellerConfig, data: str | None, labels: Sequence[str], n: int | None) -> tuple[str, Any]:
    """The labeller's English training data (CoNLL, its label map, ``labels`` only, at most ``n``
    sentences evenly spaced) as ``(content key, loader)``: what ``add_english`` adds to a model."""
    train, _ = conll_paths(labeller.train, labeller.dev, data)
    key = hash_json({"file": hash_file(train), "map": labeller.label_map, "labels": list(labels), "n": n})

    def load():
        sents = read_labelled(train, labeller.label_map)
        sents = [s.with_spans([sp for sp in s.spans if sp.label in labels]) for s in sents]
        return evenly(sents, n)

    return key, load


# ----------------------------------------------------------------------------- pipelines


def translate_train(config: TranslateTrainConfig, *, runner: StepRunner | None = None, translator=None) -> RunResult:
    """Run (or resume from the cache) the translate-train pipeline for one language."""
    runner = runner or StepRunner()
    cfg = config
    tpath = test_path(cfg.test, cfg.lang, cfg.data)
    if cfg.parallel.kind == "translate":
        src, tgt = _translated_parallel(runner, cfg, translator)
    else:
        src, tgt = load_parallel(cfg.parallel, cfg.lang, cfg.data)
    if not src:
        raise ProjnerError(E.E202, detail=f"no parallel sentences for {cfg.lang} ({cfg.parallel.kind})")
    extra, labeller, labelled, aligned, projected = label_align_project(runner, cfg, src, tgt, translator=translator,
                                                                        back_side="source", src_lang="en")
    chain_projected = projected
    conv_sig, conv_path = {}, None
    if cfg.projection.conventions:  # the target annotation's span edges
        conv_path = conventions_path(cfg.projection.conventions, cfg.lang, cfg.data)
        projected = conventions_step(runner, projected, conv_path)
        conv_sig = {"conventions": conv_path.name}
    inputs = {"projected": projected.fingerprint}
    loaders = [lambda: read_sentences(projected.file("projected.jsonl"))]
    if cfg.model.add_english:
        key, load_en = english_train(cfg.labeller, cfg.data, cfg.labels, cfg.model.english_max)
        inputs["english"] = key
        loaders.append(load_en)
    trained = train_model(runner, cfg.model, inputs, lambda: tuple(s for ld in loaders for s in ld()))
    sig = {"system": "projection+english" if cfg.model.add_english else "projection", **model_signature(cfg.model), **conv_sig}
    scored = _following(trained, conv_path, backend=cfg.model.backend) if conv_sig and cfg.self_train is None else trained
    ev = evaluate_step(runner, scored, tpath, cfg.labels, backend=cfg.model.backend, extra_signature=sig)
    stats = json.loads(projected.file("stats.json").read_text(encoding="utf-8"))
    info = {"n_parallel": len(src), "n_extra": sum(len(e[0]) for e in extra), "projection": stats,
            "align_signature": (aligned.manifest.get("info") or {}).get("signature"),
            "n_train": (trained.manifest.get("info") or {}).get("n_train")}
    steps = {"labeller": labeller[0], "label": labelled.fingerprint, "align": aligned.fingerprint,
             "project": chain_projected.fingerprint, "train": trained.fingerprint, "evaluate": ev.fingerprint}
    if conv_sig:
        steps["conventions"] = projected.fingerprint
    if cfg.self_train is not None:  # the model just trained teaches; the last student is the result
        d = json.loads(ev.file("scores.json").read_text(encoding="utf-8"))
        info["teacher"] = {"f1": float(d["f1"]), "precision": float(d["precision"]), "recall": float(d["recall"]),
                           "n_train": info["n_train"], "signature": str(d.get("signature", ""))}
        steps.update(teacher_train=trained.fingerprint, teacher_evaluate=ev.fingerprint)
        sig = {**sig, "system": sig["system"] + "+self-training"}
        trained, ev, rounds = self_train_rounds(runner, cfg.self_train, teacher=trained, model=cfg.model, train_inputs=inputs,
                                                train_loaders=loaders, lang=cfg.lang, labels=cfg.labels, data=cfg.data,
                                                test=tpath, signature=sig)
        info["self_training"] = rounds
        info["n_train"] = rounds[-1]["n_train"]
        steps.update(train=trained.fingerprint, evaluate=ev.fingerprint)
    if aligned.step == "refine":
        info["back_translation"] = json.loads(aligned.file("stats.json").read_text(encoding="utf-8"))
    return _result(cfg.lang, sig["system"], ev, info, steps)


def _following(model: Entry | tuple[str, Any], path: Path, *, backend: str = "fast") -> tuple[str, Any]:
    """``model`` (a train entry or a labeller's (fingerprint, loader)) as a (key, loader) whose
    predictions follow the span conventions of ``path`` (:class:`ConventionTagger`); the key
    covers the model, the rules' content and the conventions code."""
    from projner.fingerprint import module_hash
    from projner.ner.io import load_tagger
    from projner.project import conventions as conv_module

    if isinstance(model, Entry):
        ident = model.fingerprint
        load = lambda: load_tagger(model.file("model"), **({"progress": False} if backend == "crf" else {}))  # noqa: E731
    else:
        ident, load = model
    key = hash_json({"model": ident, "conventions": hash_file(path), "code": module_hash(conv_module)})
    return key, lambda: conv_module.ConventionTagger(load(), conv_module.load_conventions(path))


def model_transfer_run(lang: str, labeller: LabellerConfig = LabellerConfig(), *, labels: Sequence[str] = DEFAULT_LABELS,
                       test: str | None = None, data: str | None = None, runner: StepRunner | None = None,
                       conventions: str | None = None) -> RunResult:
    """Baseline: the English model applied directly to the target test set. ``conventions``
    (as :attr:`ProjectionConfig.conventions`): its predicted spans then follow the target
    annotation's span edges (:class:`~projner.project.conventions.ConventionTagger`), as the
    projected training data of a projection run with the same setting does."""
    runner = runner or StepRunner()
    lab = labeller_step(runner, labeller, data)
    model, sig = lab, {"system": "transfer"}
    if conventions:
        path = conventions_path(conventions, lang, data)
        model = _following(lab, path)
        sig["conventions"] = path.name
    ev = evaluate_step(runner, model, test_path(test, lang, data), labels, extra_signature=sig)
    return _result(lang, "transfer", ev, {}, {"labeller": lab[0], "evaluate": ev.fingerprint})


def gold_run(lang: str, model: ModelConfig = ModelConfig(), *, labels: Sequence[str] = DEFAULT_LABELS,
             test: str | None = None, train: str | None = None, data: str | None = None,
             runner: StepRunner | None = None) -> RunResult:
    """Upper bound: the target model trained on in-language gold (MasakhaNER ``train.txt``)."""
    runner = runner or StepRunner()
    tr = require_data(Path(train) if train else data_root(data) / "masakhaner2" / lang / "train.txt", f"{lang} gold training data")

    def load():
        from projner.data.formats import read_corpus

        sents = nfc_tokens(read_corpus(tr).sentences)
        return tuple(s.with_spans([sp for sp in s.spans if sp.label in labels]) for s in sents)

    trained = train_model(runner, model, {"gold": hash_file(tr), "labels": hash_json(list(labels))}, load)
    ev = evaluate_step(runner, trained, test_path(test, lang, data), labels, backend=model.backend,
                       extra_signature={"system": "gold", **model_signature(model)})
    return _result(lang, "gold", ev, {"n_train": (trained.manifest.get("info") or {}).get("n_train")},
                   {"train": trained.fingerprint, "evaluate": ev.fingerprint})


def _translated_parallel(runner: StepRunner, cfg: TranslateTrainConfig, translator):
    if not cfg.parallel.src:
        raise ProjnerError(E.E202, detail="parallel kind 'translate' needs src (English text, one sentence a line)")
    texts = [ln.strip() for ln in read_lines(require_data(Path(cfg.parallel.src), "English text")) if ln.strip()]
    if cfg.parallel.max_pairs is not None:
        texts = texts[: cfg.parallel.max_pairs]
    tr = translate_texts(runner, translator, texts, "en", cfg.lang)
    outs = read_translations(tr)
    pairs = [(tuple(tokenize(s)), tuple(tokenize(t))) for s, t in zip(texts, outs)]
    pairs = [(s, t) for s, t in pairs if s and t]
    return tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)
