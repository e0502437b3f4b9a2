"""Translate-test: translate target sentences into English, label them, project the labels back.

::

    target test sentence ──Translator (tgt→en)──► English text ──tokenise, label──► English spans
             ▲                                                                    │
             └──────────── project back onto the original target words ◄── align (eflomal)

The aligner is trained over the (English translation, original target) pairs plus optional
extra parallel text (``AlignerConfig.extra``, e.g. MAFAND-MT), which matters because a test
set alone is small. Every step is cached like translate-train (translations too, keyed by
the translator's signature). The Translator interface is
``translate(sentences, src, tgt) -> list[Translation(text, score)]``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from projner.data.datasets import test_path
from projner.data.formats import read_corpus
from projner.data.tokenize import nfc_tokens, tokenize
from projner.errors import E, ProjnerError
from projner.evaluate import evaluate_spans
from projner.pipeline.cache import StepRunner, hash_file, read_sentences
from projner.pipeline.config import DEFAULT_LABELS, AlignerConfig, LabellerConfig, ProjectionConfig, RunResult
from projner.pipeline.steps import conventions_path, label_align_project, read_translations, translate_texts
from projner.types import Sentence


@dataclass(frozen=True)
class TranslateTestConfig:
    lang: str
    labeller: LabellerConfig = LabellerConfig()
    aligner: AlignerConfig = AlignerConfig()
    projection: ProjectionConfig = field(default_factory=lambda: ProjectionConfig(filter="none"))
    test: str | None = None
    labels: tuple[str, ...] = DEFAULT_LABELS
    data: str | None = None
    src_lang: str = "en"

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", tuple(self.labels))
        if self.projection.filter != "none" or self.projection.keep_empty != 1.0:
            raise ProjnerError(E.E202, detail="translate-test projects every test sentence: projection.filter must be 'none' and keep_empty 1")


def translate_test(config: TranslateTestConfig, translator, *, runner: StepRunner | None = None) -> tuple[RunResult, tuple[Sentence, ...]]:
    """Scores of translate-test on the target test set, and the predicted target sentences."""
    runner = runner or StepRunner()
    cfg = config
    tpath = test_path(cfg.test, cfg.lang, cfg.data)
    gold = read_corpus(tpath).sentences
    tgt = tuple(s.tokens for s in nfc_tokens(gold))
    texts = [" ".join(t) for t in tgt]
    tr = translate_texts(runner, translator, texts, cfg.lang, cfg.src_lang)
    english = tuple(tuple(tokenize(t)) for t in read_translations(tr))
    # pairs whose translation came back empty cannot be aligned: keep them with no English words
    keep = [i for i, e in enumerate(english) if e and tgt[i]]
    src_k = tuple(english[i] for i in keep)
    tgt_k = tuple(tgt[i] for i in keep)
    _, labeller, labelled, aligned, projected = label_align_project(runner, cfg, src_k, tgt_k, translator=translator,
                                                                    back_side="target", src_lang=cfg.src_lang)
    proj = read_sentences(projected.file("projected.jsonl"))
    if len(proj) != len(keep):
        raise ProjnerError(E.E202, detail=f"{len(proj)} projected sentences for {len(keep)} pairs")
    by_index = dict(zip(keep, proj))
    pred = tuple(Sentence(g.tokens, by_index[i].spans if i in by_index else (), g.id) for i, g in enumerate(gold))
    sig: dict[str, Any] = {"system": "translate-test"}
    stats = json.loads(projected.file("stats.json").read_text(encoding="utf-8"))
    if cfg.projection.conventions:  # the projected test spans follow the target annotation's edges
        from projner.project.conventions import apply_conventions, load_conventions

        conv_path = conventions_path(cfg.projection.conventions, cfg.lang, cfg.data)
        conv = load_conventions(conv_path)
        pred, counts = apply_conventions(pred, conv)
        pred = tuple(pred)
        stats["conventions"] = {**counts.to_dict(), "rules": len(conv), "source": conv.signature()}
        sig["conventions"] = conv_path.name
    scores = evaluate_spans(gold, pred, labels=cfg.labels, extra_signature=sig)
    info: dict[str, Any] = {"untranslated": len(gold) - len(keep), "projection": stats,
                            "translator": (tr.manifest.get("params") or {}).get("translator")}
    if aligned.step == "refine":
        info["back_translation"] = json.loads(aligned.file("stats.json").read_text(encoding="utf-8"))
    steps = {"translate": tr.fingerprint, "labeller": labeller[0], "label": labelled.fingerprint,
             "align": aligned.fingerprint, "project": projected.fingerprint, "test": hash_file(tpath)}
    d = scores.to_dict()
    res = RunResult(cfg.lang, "translate-test", scores.f1, scores.precision, scores.recall, d["per_type"],
                    scores.signature, len(gold), info, steps)
    return res, pred


