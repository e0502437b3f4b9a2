"""A content-addressed on-disk store of per-sentence word vectors (``float16`` ``.npy`` files).

Layout: ``ROOT/<namespace[:16]>/<key[:2]>/<key>.npy`` where ``namespace`` hashes everything
that determines the vectors (encoder fingerprint, layers, pooling, precision, windowing,
library versions: see :class:`~projner.ner.encoder.WordEncoder`) and ``key`` hashes the
namespace and the sentence's tokens. ``ROOT/<namespace[:16]>/info.json`` records the
namespace in plain words.

Safe under interruption: every file is written to a temporary name in its final folder and
renamed into place (``os.replace``), so a reader sees a complete file or none. A file that
cannot be read back or has the wrong shape or dtype (a damaged disk, a file edited by hand) is
counted (``unreadable``) and recomputed, never trusted. The default root is
``$PROJNER_CACHE/embeddings`` (``~/.cache/projner/embeddings``).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from projner.data.textio import atomic_write, save_npy
from projner.errors import E, ProjnerError

STORE_DTYPE = np.float16


def default_root() -> Path:
    from projner.models.prepare import cache_root

    return cache_root() / "embeddings"


class EmbeddingStore:
    """Per-sentence ``(words, dim)`` float16 arrays keyed by tokens within one namespace."""

    def __init__(self, root: str | os.PathLike, namespace: Mapping[str, Any], dim: int):
        self.namespace = hashlib.sha256(json.dumps(dict(namespace), sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()
        self.root = Path(root).expanduser()
        self.dir = self.root / self.namespace[:16]
        self.dim = int(dim)
        self.stats: Counter = Counter()
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            info = self.dir / "info.json"
            if not info.is_file():
                with atomic_write(info) as fh:
                    json.dump({"namespace": self.namespace, "dim": self.dim, **dict(namespace)}, fh, indent=1, ensure_ascii=False)
        except OSError as exc:
            raise ProjnerError(E.E155, path=str(self.root), detail=str(exc)) from None

    def key(self, tokens: Sequence[str]) -> str:
        return hashlib.sha256(json.dumps([self.namespace, list(tokens)], ensure_ascii=False).encode("utf-8")).hexdigest()

    def path(self, tokens: Sequence[str]) -> Path:
        k = self.key(tokens)
        return self.dir / k[:2] / f"{k}.npy"

    def get(self, tokens: Sequence[str]) -> np.ndarray | None:
        """The stored vectors of ``tokens`` or None (missing, or unreadable: counted, recomputed)."""
        p = self.path(tokens)
        if not p.is_file():
            return None
        try:
            arr = np.load(p, allow_pickle=False)
        except (ValueError, OSError, EOFError):
            self.stats["unreadable"] += 1
            return None
        if arr.dtype != STORE_DTYPE or arr.shape != (len(tokens), self.dim):
            self.stats["unreadable"] += 1
            return None
        return arr

    def put(self, tokens: Sequence[str], arr: np.ndarray) -> None:
        p = self.path(tokens)
        data = np.ascontiguousarray(arr, dtype=STORE_DTYPE)
        if data.shape != (len(tokens), self.dim):
            raise ValueError(f"vectors of shape {data.shape} for {len(tokens)} tokens of dim {self.dim}")
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            save_npy(p, data)
        except OSError as exc:
            raise ProjnerError(E.E155, path=str(self.root), detail=str(exc)) from None
        self.stats["written"] += 1
