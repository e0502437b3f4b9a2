"""On-disk cache of pooled sentence vectors for :class:`projner.align.neural.NeuralAligner`.

One ``.npy`` file per sentence, named by a hash of the sentence's tokens and of everything that
determines its vectors (``key_parts``: model fingerprint, layer, pooling, window, precision).
Files are written atomically (temp file + rename); an unreadable file counts as a miss
(``cache_unreadable``) and is recomputed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from pathlib import Path
from typing import Sequence

import numpy as np

from projner.data.textio import save_npy
from projner.errors import E, ProjnerError

CACHE_VERSION = 1


class EmbeddingCache:
    def __init__(self, folder: str | os.PathLike, key_parts: Sequence[object], stats: Counter):
        self.folder = folder
        self.key_parts = list(key_parts)
        self.stats = stats

    def key(self, tokens: tuple[str, ...]) -> str:
        h = hashlib.sha256()
        h.update(json.dumps([CACHE_VERSION, *self.key_parts, list(tokens)], ensure_ascii=False).encode("utf-8"))
        return h.hexdigest()

    def path(self, key: str) -> Path:
        return Path(self.folder).expanduser() / key[:2] / f"{key}.npy"

    def get(self, tokens: tuple[str, ...]) -> np.ndarray | None:
        p = self.path(self.key(tokens))
        if not p.exists():
            return None
        try:
            return np.load(p, allow_pickle=False)
        except (ValueError, OSError):
            self.stats["cache_unreadable"] += 1
            return None

    def put(self, tokens: tuple[str, ...], arr: np.ndarray) -> None:
        p = self.path(self.key(tokens))
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            save_npy(p, arr)
        except OSError as exc:
            raise ProjnerError(E.E108, path=str(self.folder), detail=str(exc)) from None
