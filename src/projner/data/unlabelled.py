"""Unlabelled target-language text (token lists), for self-training on the target language.

Sources (:data:`SOURCES`):

* ``mafand``: the target side of MAFAND-MT (all splits);
* ``bible``: the target side of the Bible (only where a Bible file exists: swa, zul);
* ``masakhaner-train``: the tokens of MasakhaNER 2.0 ``train.txt``, labels discarded (in-domain
  text: the test's own distribution, an optimistic setting).
"""

from __future__ import annotations

from projner.data.datasets import BIBLE_FILES, ParallelConfig, data_root, load_parallel
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
    if source == "masakhaner-train":
        path = data_root(data) / "masakhaner2" / lang / "train.txt"
        if not path.is_file():
            raise ProjnerError(E.E203, detail=f"MasakhaNER train for {lang}: {path} (set PROJNER_DATA or data:)")
        return tuple(s.tokens for s in nfc_tokens(read_corpus(path).sentences) if len(s))
    raise ProjnerError(E.E241, detail=f"unknown unlabelled source {source!r}; known: {', '.join(SOURCES)}")


def source_available(source: str, lang: str) -> bool:
    """Whether ``source`` has text for ``lang`` (there is a Bible for a few languages only)."""
    return source != "bible" or lang in BIBLE_FILES
