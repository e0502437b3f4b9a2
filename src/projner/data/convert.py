"""Convert a labelled corpus to another format and tag scheme, with everything done reported."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Mapping

from projner.data.corpus import Corpus, WriteReport
from projner.data.labelmaps import load_label_map
from projner.data.writing import write_corpus_report


@dataclass(frozen=True)
class Converted:
    """The corpus read (with its :class:`ReadReport`), what was written, and label-map counts."""

    corpus: Corpus
    written: WriteReport
    label_map: Mapping[str, int] = field(default_factory=dict)

    @property
    def report(self):
        """The reading report (as ``convert_file`` returned the corpus before)."""
        return self.corpus.report



def convert_corpus(
    corpus: Corpus,
    dst: str | os.PathLike,
    *,
    to_format: str | None = None,
    to_scheme: str = "iob2",
    label_map: str | None = None,
    unsafe_tokens: str = "error",
) -> Converted:
    """Map labels and write ``corpus`` to ``dst``. Errors and repair examples name the corpus's file and lines."""
    sents, counts = corpus.sentences, {}
    if label_map:
        sents, counts = load_label_map(label_map).map_sentences(sents)
    written = write_corpus_report(dst, sents, to_format, to_scheme, unsafe_tokens=unsafe_tokens, source=corpus)
    return Converted(corpus, written, counts)
