"""Finished shards on disk: the resume store of a scale-out run (``OUT/shards/``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from projner.data.textio import atomic_write


class ShardStore:
    """Finished shards under ``OUT/shards/``: ``KEY.pharaoh``, ``KEY.out`` and ``KEY.json`` (written last)."""

    def __init__(self, folder: Path):
        self.folder = folder

    def paths(self, key: str) -> tuple[Path, Path, Path]:
        return self.folder / f"{key}.pharaoh", self.folder / f"{key}.out", self.folder / f"{key}.json"

    def load(self, key: str, n_pairs: int) -> dict | None:
        """The stored result of a finished shard, or None (missing or incomplete: recompute it)."""
        al, out, meta = self.paths(key)
        if not (al.is_file() and out.is_file() and meta.is_file()):
            return None
        try:
            rec = json.loads(meta.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None
        if rec.get("n_pairs") != n_pairs or rec.get("pharaoh_bytes") != al.stat().st_size or rec.get("out_bytes") != out.stat().st_size:
            return None
        return rec

    def save(self, key: str, n_pairs: int, result: Mapping[str, Any]) -> dict:
        al, out, meta = self.paths(key)
        with atomic_write(al) as fh:
            fh.write(result["pharaoh"])
        with atomic_write(out) as fh:
            fh.write(result["projected"])
        rec = {"key": key, "n_pairs": n_pairs, "stats": json.loads(result["stats"]), "signature": result["signature"],
               "seconds": result["seconds"], "cpu_seconds": result["cpu_seconds"],
               "pharaoh_bytes": al.stat().st_size, "out_bytes": out.stat().st_size}
        with atomic_write(meta) as fh:
            json.dump(rec, fh, sort_keys=True)
        return rec
