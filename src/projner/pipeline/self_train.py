"""Self-training on unlabelled target text: a trained tagger (the *teacher*) labels sentences, the
confident ones become training data for a new tagger (the *student*).

::

    teacher(s) ──label──► unlabelled target sentences ──keep sentences whose every span scores
                                                          >= threshold (entity-free: keep_empty)──┐
    original training data (projected, + English) ─────────────────────────────────────────────┴──► student

One teacher labels with its own predictions (``Span.score``: the span's probability); several
teachers' token marginals are averaged (weights) and decoded by a constrained IOB2 Viterbi
(:mod:`projner.ner.decoding`). A sentence with a span below the threshold is dropped whole
(dropping only the span would train its words as O) and counted. Every step is cached through
the :class:`~projner.pipeline.cache.StepRunner`.

:func:`self_train_rounds` is what ``projner translate-train --self-train TEXT`` runs after the
target model is trained (:class:`~projner.pipeline.config.SelfTrainConfig`); the research study
with several teachers and unlabelled sources is :mod:`projner.research.self_training`.
Measured on MasakhaNER 2.0 (BENCHMARKS.md): one round with the fast tagger adds 2.0 points to
the six-language mean; a second round adds nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from projner.data.datasets import evenly
from projner.data.textio import atomic_write
from projner.data.unlabelled import source_label, unlabelled_with_report
from projner.errors import E, ProjnerError
from projner.ner.base import tag_names
from projner.ner.decoding import average_marginals, common_marginals, decode_marginals
from projner.pipeline.cache import Entry, StepRunner, hash_tokens, read_sentences, write_sentences
from projner.pipeline.config import ModelConfig, SelfTrainConfig
from projner.pipeline.steps import evaluate_step, train_model
from projner.project.filters import downsample_empty
from projner.types import Sentence

@dataclass(frozen=True)
class Teacher:
    """A saved tagger used as a teacher: ``ident`` fingerprints it, ``load()`` returns it."""

    name: str
    ident: str
    load: Callable[[], Any]
    weight: float = 1.0


def teacher_label(teachers: Sequence[Teacher], sentences: Sequence[Sentence], labels: Sequence[str],
                  loaded: Sequence[Any] | None = None) -> list[Sentence]:
    """Scored spans on ``sentences``: one teacher → its own predictions (``Span.score`` = span
    probability); several → weighted-average marginals decoded by :func:`decode_marginals`."""
    models = list(loaded) if loaded is not None else [t.load() for t in teachers]
    if len(teachers) == 1:
        tagger = models[0]
        wanted = [lab for lab in labels if lab in tagger.labels]
        pred = tagger.predict(list(sentences), labels=wanted)
        return [Sentence(s.tokens, p.spans, s.id) for s, p in zip(sentences, pred)]
    per = [common_marginals(m, sentences, labels, name=t.name) for t, m in zip(teachers, models)]
    avg = average_marginals(per, [t.weight for t in teachers])
    tags = tag_names(tuple(labels))
    return [s.with_spans(decode_marginals(m, tags)) for s, m in zip(sentences, avg)]


def select_confident(labelled: Sequence[Sentence], threshold: float, keep_empty: float = 1.0) -> tuple[tuple[Sentence, ...], dict[str, int]]:
    """Hard labels: keep sentences whose every span has score ≥ ``threshold``.

    A sentence with a span below the threshold is dropped whole (dropping only the span would
    train its words as O) and counted in ``dropped_low_confidence``. Entity-free sentences are
    then kept at ratio ``keep_empty`` (evenly spaced, deterministic). A span without a score
    is an error (a teacher that gives no confidences cannot be thresholded).
    """
    if not 0.0 <= threshold <= 1.0 or not 0.0 <= keep_empty <= 1.0:
        raise ProjnerError(E.E241, detail=f"threshold and keep_empty must be in [0, 1], got {threshold}, {keep_empty}")
    kept = []
    stats = {"in": len(labelled), "dropped_low_confidence": 0, "spans_below_threshold": 0, "dropped_empty": 0}
    for k, s in enumerate(labelled):
        if any(sp.score is None for sp in s.spans):
            raise ProjnerError(E.E241, detail=f"sentence {k} ({s.id}): the teacher gave a span without a score")
        low = sum(1 for sp in s.spans if sp.score < threshold)
        if low:
            stats["dropped_low_confidence"] += 1
            stats["spans_below_threshold"] += low
            continue
        kept.append(s)
    kept, stats["dropped_empty"] = downsample_empty(kept, keep_empty)
    stats["out"] = len(kept)
    stats["with_entities"] = sum(1 for s in kept if s.spans)
    stats["spans"] = sum(len(s.spans) for s in kept)
    for lab in sorted({sp.label for s in kept for sp in s.spans}):
        stats[f"spans_{lab}"] = sum(1 for s in kept for sp in s.spans if sp.label == lab)
    return tuple(kept), stats


def pseudo_label_step(runner: StepRunner, teachers: Sequence[Teacher], tokens: Sequence[Sequence[str]], *,
                      labels: Sequence[str], threshold: float, keep_empty: float) -> Entry:
    """Cached teacher labelling + confidence filtering: ``pseudo.jsonl`` and ``stats.json``."""
    params = {"weights": [t.weight for t in teachers], "labels": list(labels), "threshold": threshold,
              "keep_empty": keep_empty, "decoder": "teacher" if len(teachers) == 1 else "avg-marginals-viterbi-iob2"}
    inputs = {f"teacher{i}": t.ident for i, t in enumerate(teachers)}
    inputs["tokens"] = hash_tokens(tokens)

    def compute(out: Path):
        sents = [Sentence(tuple(t), id=f"u{i}") for i, t in enumerate(tokens)]
        labelled = teacher_label(teachers, sents, labels)
        kept, stats = select_confident(labelled, threshold, keep_empty)
        stats["teachers"] = " + ".join(f"{t.name}×{t.weight:g}" for t in teachers)
        write_sentences(out / "pseudo.jsonl", kept)
        with atomic_write(out / "stats.json") as fh:
            json.dump(stats, fh, indent=1)
        return stats

    return runner.run("self_training_label", params, inputs, compute)


def load_teacher_entry(entry: Entry):
    """The tagger saved in a ``train`` step's entry."""
    from projner.ner.io import load_tagger

    return load_tagger(entry.file("model"), progress=False)


def self_train_rounds(runner: StepRunner, cfg: SelfTrainConfig, *, teacher: Entry, model: ModelConfig,
                      train_inputs: Mapping[str, str], train_loaders: Sequence[Callable[[], Sequence[Sentence]]],
                      lang: str, labels: Sequence[str], data: str | None, test: Path,
                      signature: Mapping[str, Any]) -> tuple[Entry, Entry, list[dict]]:
    """``cfg.rounds`` rounds of self-training from the trained ``teacher``: each round's model labels
    the unlabelled text, a student of the same ``model`` config trains on the confident sentences
    plus the original training data (``train_inputs`` fingerprint ``train_loaders``) and is
    evaluated on ``test``. Returns the last student's train and evaluate entries and one record
    per round (scores, pseudo-label counts, training size, step fingerprints)."""
    tokens, read = unlabelled_with_report(cfg.unlabelled, lang, data)
    tokens = tuple(evenly(list(tokens), cfg.max_sentences))
    if not tokens:
        raise ProjnerError(E.E241, detail=f"no unlabelled sentences in {cfg.unlabelled}")
    current, records, ev = teacher, [], None
    for rnd in range(1, cfg.rounds + 1):
        t = Teacher(f"round {rnd - 1} model", current.fingerprint, lambda e=current: load_teacher_entry(e))
        pseudo = pseudo_label_step(runner, [t], tokens, labels=labels, threshold=cfg.threshold, keep_empty=cfg.keep_empty)
        inputs = {**dict(train_inputs), "pseudo": pseudo.fingerprint}
        loaders = list(train_loaders) + [lambda p=pseudo: read_sentences(p.file("pseudo.jsonl"))]
        current = train_model(runner, model, inputs, lambda ls=loaders: tuple(s for ld in ls for s in ld()))
        sig = {**dict(signature), "round": rnd, "threshold": cfg.threshold,
               "unlabelled": source_label(cfg.unlabelled)}
        ev = evaluate_step(runner, current, test, labels, backend=model.backend, extra_signature=sig)
        d = json.loads(ev.file("scores.json").read_text(encoding="utf-8"))
        stats = json.loads(pseudo.file("stats.json").read_text(encoding="utf-8"))
        records.append({"round": rnd, "f1": float(d["f1"]), "precision": float(d["precision"]), "recall": float(d["recall"]),
                        "pseudo": stats, "unlabelled": {**read, "used": len(tokens)},
                        "n_train": (current.manifest.get("info") or {}).get("n_train"),
                        "steps": {"pseudo": pseudo.fingerprint, "train": current.fingerprint, "evaluate": ev.fingerprint}})
    return current, ev, records


__all__ = ["Teacher", "load_teacher_entry", "pseudo_label_step", "select_confident", "self_train_rounds", "teacher_label"]
