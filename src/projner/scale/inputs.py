"""Reading a scale-out run's inputs whole, in this process (the study's single-process reference)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from projner.data.formats import ReadOptions, check_alignments, read_corpus, read_pharaoh
from projner.errors import E, ProjnerError
from projner.types import Alignment, Sentence


@dataclass(frozen=True)
class Inputs:
    src: tuple[Sentence, ...]
    tgt: tuple[Sentence, ...]
    links: tuple[Alignment, ...] | None
    reports: tuple[str, ...]
    paths: tuple[str, str, str | None] | None = None  # src, tgt, links: the files read (the Ray path reads them again)


def read_inputs(src: str | os.PathLike, tgt: str | os.PathLike, *, alignments: str | os.PathLike | None = None,
                src_format: str | None = None, tgt_format: str | None = None, options: ReadOptions = ReadOptions(),
                label_map: str | None = None) -> Inputs:
    """Labelled source + target tokens (+ Pharaoh links), checked to be parallel (E001/E008 name the file)."""
    from projner.data.labelmaps import load_label_map

    for p in (src, tgt, alignments):
        if p is not None and not Path(p).is_file():
            raise ProjnerError(E.E018, detail=f"file not found: {p}")
    s = read_corpus(src, src_format, options)
    t = read_corpus(tgt, tgt_format, options)
    if len(s) != len(t):
        raise ProjnerError(E.E001, a=str(src), na=len(s), b=str(tgt), nb=len(t))
    src_sents = s.sentences
    if label_map:
        src_sents, _ = load_label_map(label_map).map_sentences(src_sents)
    links = None
    if alignments is not None:
        links = read_pharaoh(alignments)
        check_alignments(links, s.sentences, t.sentences, path=str(alignments), src_path=str(src), tgt_path=str(tgt))
    return Inputs(tuple(src_sents), tuple(x.unlabelled() for x in t.sentences), links, (s.report.summary(), t.report.summary()),
                  (str(src), str(tgt), None if alignments is None else str(alignments)))
