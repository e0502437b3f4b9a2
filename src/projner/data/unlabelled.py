"""Unlabelled target-language text (token lists), for self-training on the target language.

Sources (:data:`SOURCES`):

* ``mafand``: the target side of MAFAND-MT (all splits);
* ``bible``: the target side of the Bible (only where a Bible file exists: swa, zul);
* ``masakhaner-train``: the tokens of MasakhaNER 2.0 ``train.txt``, labels discarded (in-domain
  text: the test's own distribution, an optimistic setting);
* ``file:PATH``: the user's own text: raw, one sentence a line (tokenised as parallel text is),
  or CoNLL/JSONL (``.conll``, ``.conll02``, ``.conll03``, ``.jsonl``; labels ignored). Empty
  lines are not sentences: :func:`unlabelled_with_report` counts them.
"""

from __future__ import annotations

from pathlib import Path

from projner.data.datasets import BIBLE_FILES, ParallelConfig, data_root, load_parallel, read_tokenised
from projner.data.formats import read_corpus
from projner.data.tokenize import nfc_tokens
from projner.errors import E, ProjnerError

SOURCES = ("mafand", "bible", "masakhaner-train")
SOURCE_NOTE = {"mafand": "MAFAND-MT target side, all splits", "bible": "Bible target side (swa, zul)",
               "masakhaner-train": "in-domain unlabelled: MasakhaNER train.txt tokens, labels discarded"}

Tokens = tuple[tuple[str, ...], ...]


def unlabelled_tokens(source: str, lang: str, data: str | None = None) -> Tokens:
    """Target-language token lists of an unlabelled ``source`` (see :data:`SOURCES`) under the
    data root ``data`` (default ``$PROJNER_DATA``); MasakhaNER tokens NFC, empty sentences skipped."""
    if source in ("mafand", "bible"):
        return load_parallel(ParallelConfig(kind=source), lang, data)[1]
    if is_file_source(source):
        return unlabelled_with_report(source, lang, data)[0]
    if source == "masakhaner-train":
        path = data_root(data) / "masakhaner2" / lang / "train.txt"
        if not path.is_file():
            raise ProjnerError(E.E203, detail=f"MasakhaNER train for {lang}: {path} (set PROJNER_DATA or data:)")
        return tuple(s.tokens for s in nfc_tokens(read_corpus(path).sentences) if len(s))
    raise ProjnerError(E.E241, detail=f"unknown unlabelled source {source!r}; known: {', '.join(SOURCES)}, file:PATH")


FILE_PREFIX = "file:"


def is_file_source(source: str) -> bool:
    return source.startswith(FILE_PREFIX)


def unlabelled_with_report(source: str, lang: str, data: str | None = None) -> tuple[Tokens, dict[str, int]]:
    """:func:`unlabelled_tokens` and what was read: for a ``file:`` source the sentences (lines)
    read and the empty ones skipped; for the named sources the sentences kept."""
    if is_file_source(source):
        all_ = read_tokenised(source[len(FILE_PREFIX):], "unlabelled text")
        kept = tuple(s for s in all_ if s)
        return kept, {"sentences_read": len(all_), "empty_skipped": len(all_) - len(kept)}
    kept = unlabelled_tokens(source, lang, data)
    return kept, {"sentences_read": len(kept), "empty_skipped": 0}


def source_label(source: str) -> str:
    """A short name for signatures: the source, or ``file:NAME`` (the file's base name)."""
    return f"{FILE_PREFIX}{Path(source[len(FILE_PREFIX):]).name}" if is_file_source(source) else source


def source_available(source: str, lang: str) -> bool:
    """Whether ``source`` has text for ``lang`` (there is a Bible for a few languages only)."""
    return source != "bible" or lang in BIBLE_FILES
