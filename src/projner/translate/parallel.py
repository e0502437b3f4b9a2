"""Translations already on disk: a source file and a line-parallel target file.

Lookup is by the exact source line (after stripping surrounding whitespace, which MT output
files rarely preserve). A source line repeated with different translations keeps the first one
and is counted in :attr:`ParallelFileTranslator.conflicts`. A sentence that is not in the file
raises E184 naming the source file, so missing translations are never invented.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Sequence

from projner.data.textio import read_lines
from projner.errors import E, ProjnerError
from projner.registry import translators
from projner.signature import component_signature
from projner.translate.base import Translation, Translator, check_texts


class ParallelFileTranslator(Translator):
    """Looks translations up in ``src_file`` → ``tgt_file`` (one sentence per line, line-parallel).

    ``src_lang``/``tgt_lang`` (optional) are checked against the codes passed to :meth:`translate`,
    so a German file is not used for Swahili by accident. ``on_conflict``: ``"first"`` (default;
    counted) or ``"error"``.
    """

    name = "parallel"

    def __init__(
        self,
        src_file: str | Path,
        tgt_file: str | Path,
        *,
        src_lang: str | None = None,
        tgt_lang: str | None = None,
        on_conflict: str = "first",
    ):
        if on_conflict not in ("first", "error"):
            raise ProjnerError(E.E185, detail=f"on_conflict must be 'first' or 'error', got {on_conflict!r}")
        self.src_file, self.tgt_file = str(src_file), str(tgt_file)
        self.src_lang, self.tgt_lang = src_lang, tgt_lang
        src_lines = read_lines(self.src_file)
        tgt_lines = read_lines(self.tgt_file)
        if len(src_lines) != len(tgt_lines):
            raise ProjnerError(E.E001, a=self.src_file, na=len(src_lines), b=self.tgt_file, nb=len(tgt_lines))
        self.table: dict[str, str] = {}
        self.line_of: dict[str, int] = {}
        self.conflicts = 0
        for n, (s, t) in enumerate(zip(src_lines, tgt_lines), start=1):
            key = s.strip()
            if key in self.table:
                if self.table[key] != t.strip():
                    if on_conflict == "error":
                        raise ProjnerError(
                            E.E185, file=self.tgt_file, line=n,
                            detail=f"source line {key[:60]!r} (also line {self.line_of[key]}) has two different translations",
                        )
                    self.conflicts += 1
                continue
            self.table[key] = t.strip()
            self.line_of[key] = n
        h = hashlib.sha256()
        for s, t in zip(src_lines, tgt_lines):
            h.update(s.encode() + b"\t" + t.encode() + b"\n")
        self.digest = h.hexdigest()[:12]

    def _check_langs(self, src: str, tgt: str) -> None:
        from projner.translate.langcodes import iso639_3

        for want, got, side in ((self.src_lang, src, "source"), (self.tgt_lang, tgt, "target")):
            if want is not None and iso639_3(want) != iso639_3(got):
                raise ProjnerError(
                    E.E185, file=self.src_file if side == "source" else self.tgt_file,
                    detail=f"the {side} language of these translations is {want!r}, but {got!r} was requested",
                )

    def translate(self, sentences: Sequence[str], src: str, tgt: str) -> list[Translation]:
        texts = check_texts(sentences)
        self._check_langs(src, tgt)
        out = []
        for i, text in enumerate(texts):
            hit = self.table.get(text.strip())
            if hit is None:
                raise ProjnerError(
                    E.E184, file=self.src_file, text=text[:80],
                    detail=f"input sentence {i}; the file has {len(self.table)} distinct lines — translate it and add it to both files",
                )
            out.append(Translation(hit, None))
        return out

    def __contains__(self, text: str) -> bool:
        return text.strip() in self.table

    def signature(self) -> str:
        return component_signature("translator", "parallel", src=Path(self.src_file).name, tgt=Path(self.tgt_file).name,
                                   sha=self.digest)


@translators.register("projner.translator.parallel.v1")
def make_parallel_translator(src_file: str, tgt_file: str, **params) -> ParallelFileTranslator:
    return ParallelFileTranslator(src_file, tgt_file, **params)
