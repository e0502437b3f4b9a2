"""Model-transfer baseline: train on English CoNLL-2003, tag MasakhaNER 2.0 test sets directly.

English labels are mapped with ``conll->masakhaner`` (PER/ORG/LOC kept, MISC dropped); the
source model never predicts DATE, so its PER/ORG/LOC/DATE figure counts every gold DATE as a
miss. :func:`in_language` trains on a language's own training split: the supervised upper
bound the projection methods are measured against.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from projner.data.datasets import data_root
from projner.data.formats import read_corpus
from projner.data.labelmaps import load_label_map
from projner.evaluate.spans import evaluate_spans
from projner.registry import create
from projner.types import Sentence

MASAKHANER_LANGS = ("hau", "ibo", "pcm", "swa", "yor", "zul")
LABELS_ALL = ("PER", "ORG", "LOC", "DATE")
LABELS_POL = ("PER", "ORG", "LOC")


def conll_split(split: str, data: str | os.PathLike | None = None, label_map: str | None = None) -> tuple[Sentence, ...]:
    """CoNLL-2003 English ``train`` / ``testa`` / ``testb`` as published (IOB1), optionally mapped."""
    sents = read_corpus(data_root(data) / "conll2003_en" / "original_iob1" / f"eng.{split}").sentences
    if label_map:
        sents, _ = load_label_map(label_map).map_sentences(sents)
    return sents


def masakhaner_split(lang: str, split: str, data: str | os.PathLike | None = None) -> tuple[Sentence, ...]:
    return read_corpus(data_root(data) / "masakhaner2" / lang / f"{split}.txt").sentences


@dataclass(frozen=True)
class TransferResult:
    lang: str
    n_sentences: int
    f1_all: float  # strict F1 on PER/ORG/LOC/DATE
    f1_pol: float  # strict F1 on PER/ORG/LOC
    scores: Mapping[str, Any] = field(default_factory=dict)


def score_language(lang: str, gold: Sequence[Sentence], pred: Sequence[Sentence]) -> TransferResult:
    s_all = evaluate_spans(gold, pred, labels=LABELS_ALL)
    s_pol = evaluate_spans(gold, pred, labels=LABELS_POL)
    return TransferResult(lang, len(gold), s_all.f1, s_pol.f1, {"all": s_all.to_dict(), "pol": s_pol.to_dict()})


def train_source_tagger(backend: str = "crf", *, data=None, label_map: str = "conll->masakhaner", **params):
    """A tagger trained on English CoNLL-2003 ``eng.train`` (dev ``eng.testa``), labels mapped."""
    tagger = create("tagger", backend, **params)
    return tagger.fit(conll_split("train", data, label_map), conll_split("testa", data, label_map))


def model_transfer(tagger=None, *, langs: Sequence[str] = MASAKHANER_LANGS, data=None, split: str = "test",
                   backend: str = "crf", **params) -> dict[str, TransferResult]:
    """Apply an English tagger (trained here when ``tagger`` is None) to each language's split."""
    if tagger is None:
        tagger = train_source_tagger(backend, data=data, **params)
    out = {}
    for lang in langs:
        gold = masakhaner_split(lang, split, data)
        pred = tagger.predict([g.unlabelled() for g in gold])
        out[lang] = score_language(lang, gold, pred)
    return out


def in_language(lang: str, *, data=None, backend: str = "crf", split: str = "test", **params) -> tuple[Any, TransferResult]:
    """Supervised upper bound: train on ``lang``'s train split (dev for the dev split), score on ``split``."""
    tagger = create("tagger", backend, **params).fit(masakhaner_split(lang, "train", data), masakhaner_split(lang, "dev", data))
    gold = masakhaner_split(lang, split, data)
    return tagger, score_language(lang, gold, tagger.predict([g.unlabelled() for g in gold]))
