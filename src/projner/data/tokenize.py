"""Tokenisation of raw text (MAFAND-MT, the Bible, MT output) and NFC token normalisation."""

from __future__ import annotations

import re
import unicodedata
from typing import Sequence

from projner.types import Sentence

_TOKEN = re.compile(r"\w+(?:[-'’]\w+)*|[^\w\s]", re.UNICODE)


def tokenize(line: str) -> list[str]:
    """NFC, then Unicode words (with inner hyphens/apostrophes) and single punctuation marks."""
    return _TOKEN.findall(unicodedata.normalize("NFC", line))


def nfc_tokens(sentences: Sequence[Sentence]) -> tuple[Sentence, ...]:
    """The same sentences with NFC-normalised tokens (MasakhaNER Yoruba is not NFC; MAFAND is)."""
    out = []
    for s in sentences:
        toks = tuple(unicodedata.normalize("NFC", t) or t for t in s.tokens)
        out.append(s if toks == s.tokens else Sentence(toks, s.spans, s.id, s.unknown))
    return tuple(out)
