"""Unicode normalisation of tokens, with every effect counted."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
_ZW_RE = re.compile(f"[{ZERO_WIDTH}]")


@dataclass(frozen=True)
class Normalizer:
    """``nfc``: Unicode NFC; ``strip_zero_width``: remove zero-width characters and soft hyphens."""

    nfc: bool = False
    strip_zero_width: bool = False

    @property
    def active(self) -> bool:
        return self.nfc or self.strip_zero_width

    def __call__(self, token: str, counts: Counter | None = None) -> str:
        out = token
        if self.strip_zero_width:
            stripped = _ZW_RE.sub("", out)
            if stripped != out and counts is not None:
                counts["zero_width_removed"] += 1
            out = stripped
        if self.nfc:
            composed = unicodedata.normalize("NFC", out)
            if composed != out and counts is not None:
                counts["nfc_changed"] += 1
            out = composed
        return out
