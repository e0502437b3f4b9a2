"""Finished shards on disk (``OUT/shards/``) and the run's manifest (``OUT/manifest.json``).

A shard task writes ``KEY.pharaoh`` and ``KEY.out`` and then, last, ``KEY.json`` (its record:
rows, byte counts and sha256 of both files, statistics, node), each atomically. A shard counts as
finished only when its record exists and both files still have the recorded sizes; a file without
a record (a killed task) is recomputed. The manifest lists the shards in input order with their
files, row counts and hashes; the driver writes it, atomically, after every shard is finished.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Mapping, Sequence

from projner.data.textio import atomic_write

MANIFEST_VERSION = 1


def shard_ext(out_format: str) -> str:
    """The extension of a shard's projected file: ``out`` (text), ``parquet``."""
    return "parquet" if out_format == "parquet" else "out"


def _write_text(path: Path, text: str | bytes) -> tuple[int, str]:
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    with atomic_write(path, "wb") as fh:
        fh.write(data)
    return len(data), hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


class ShardStore:
    """Finished shards under ``OUT/shards/``: ``KEY.pharaoh``, ``KEY.out`` and ``KEY.json`` (written last)."""

    def __init__(self, folder: Path, ext: str = "out"):
        self.folder = Path(folder)
        self.ext = ext

    def paths(self, key: str) -> tuple[Path, Path, Path]:
        return self.folder / f"{key}.pharaoh", self.folder / f"{key}.{self.ext}", self.folder / f"{key}.json"

    def load(self, key: str, n_pairs: int, *, verify: bool = False) -> dict | None:
        """The record of a finished shard, or None (missing, incomplete or changed: recompute it).
        ``verify`` also checks the files' sha256 (reads them)."""
        al, out, meta = self.paths(key)
        if not (al.is_file() and out.is_file() and meta.is_file()):
            return None
        try:
            rec = json.loads(meta.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if rec.get("n_pairs") != n_pairs or rec.get("pharaoh_bytes") != al.stat().st_size or rec.get("out_bytes") != out.stat().st_size:
            return None
        if verify and (rec.get("pharaoh_sha256") != file_sha256(al) or rec.get("out_sha256") != file_sha256(out)):
            return None
        return rec

    def save(self, key: str, n_pairs: int, result: Mapping[str, Any], extra: Mapping[str, Any] | None = None) -> dict:
        al, out, meta = self.paths(key)
        al_bytes, al_sha = _write_text(al, result["pharaoh"])
        out_bytes, out_sha = _write_text(out, result["projected"])
        rec = {"key": key, "n_pairs": n_pairs, "stats": json.loads(result["stats"]), "signature": result["signature"],
               "seconds": result["seconds"], "cpu_seconds": result["cpu_seconds"],
               "pharaoh_bytes": al_bytes, "out_bytes": out_bytes, "pharaoh_sha256": al_sha, "out_sha256": out_sha,
               **dict(extra or {})}
        with atomic_write(meta) as fh:
            json.dump(rec, fh, sort_keys=True)
        return rec


def write_manifest(out_dir: Path, shards: Sequence[Mapping[str, Any]], recs: Mapping[str, Mapping[str, Any]],
                   info: Mapping[str, Any]) -> Path:
    """``OUT/manifest.json``: the shards in input order (files, rows, hashes, node), written atomically."""
    ext = shard_ext(str(info.get("format", "")))
    rows = []
    for s in shards:
        r = recs[s["key"]]
        rows.append({"index": s["index"], "key": s["key"], "first": s["first"], "n_pairs": s["n_pairs"],
                     "pharaoh": f"shards/{s['key']}.pharaoh", "pharaoh_bytes": r["pharaoh_bytes"],
                     "pharaoh_sha256": r.get("pharaoh_sha256"), "projected": f"shards/{s['key']}.{ext}",
                     "projected_bytes": r["out_bytes"], "projected_sha256": r.get("out_sha256"),
                     "node_id": r.get("node_id", "local")})
        if info.get("dataset"):
            rows[-1]["part"] = f"{info['dataset']}/part-{s['index']:05d}.parquet"
    path = Path(out_dir) / "manifest.json"
    with atomic_write(path) as fh:
        json.dump({"version": MANIFEST_VERSION, **dict(info), "shards": rows}, fh, indent=1, sort_keys=True)
    return path


def concat(target: Path, parts: Sequence[Path]) -> None:
    """``parts`` one after the other into ``target`` (atomically), 1 MiB at a time."""
    with atomic_write(target, "wb") as out:
        for p in parts:
            with open(p, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    out.write(chunk)
