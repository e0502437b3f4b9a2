"""The work of one task, run where the task runs (a Ray worker or this process).

* :func:`scan_task`: count the records of one block of one input file (the index stage).
* :func:`shard_task`: read the shard's rows of every input file itself (:mod:`~projner.scale.ranges`),
  parse them with the readers of :mod:`projner.data.formats`, align + project
  (:func:`projner.scale.shards.process_pairs`) and write the shard's files under ``OUT/shards/``
  (:class:`~projner.scale.store.ShardStore`); only a small record travels back.

Errors name the input file and its global line (counted only when an error happens).
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Mapping

from projner.data.formats import ReadOptions, check_alignments, read_corpus, read_pharaoh
from projner.errors import E, ProjnerError
from projner.scale.ranges import KINDS, line_of_offset, read_rows, scan_block
from projner.scale.shards import cpu_time, process_pairs
from projner.scale.spec import ScaleSpec
from projner.scale.store import ShardStore, shard_ext
from projner.types import Sentence

READ_FIELDS = ("scheme", "repair", "token_col", "tag_col", "sep", "empty_token", "labels")


def options_to_json(options: ReadOptions) -> dict:
    """The JSON-able read options a worker needs (a custom normaliser cannot travel: E260)."""
    if options.normalizer.active:
        raise ProjnerError(E.E260, detail="token normalisation is not supported by scale-out readers")
    d = {k: getattr(options, k) for k in READ_FIELDS}
    d["labels"] = None if d["labels"] is None else list(d["labels"])
    return d


def options_from_json(d: Mapping[str, Any]) -> ReadOptions:
    kw = dict(d)
    kw["labels"] = None if kw.get("labels") is None else tuple(kw["labels"])
    return ReadOptions(**kw)


def node_id() -> str:
    """The Ray node this runs on ("local" outside Ray)."""
    try:
        import ray

        if ray.is_initialized():
            return ray.get_runtime_context().get_node_id()
    except Exception:  # noqa: BLE001 - no Ray, or not inside a Ray worker
        pass
    return "local"


def scan_task(path: str, start: int, end: int, kind: str, stride: int) -> dict:
    """The index stage's task: records, checkpoints and digest of one block (an error as data)."""
    try:
        b = scan_block(path, start, end, kind, stride)
    except Exception as exc:  # noqa: BLE001 - raised by the driver (E263, naming the file)
        return {"start": start, "error": f"{type(exc).__name__}: {exc}"}
    return {"start": b.start, "end": b.end, "n": b.n_records, "checkpoints": [list(c) for c in b.checkpoints],
            "digest": b.digest, "error": ""}


def _remap(exc: ProjnerError, tmp: str, path: str, begin: int) -> ProjnerError:
    """An error of the temporary chunk file, told about the real file and its global line."""
    if exc.file != tmp:
        return exc
    line = None if exc.line is None else line_of_offset(path, begin) + exc.line - 1
    return ProjnerError(exc.code, file=path, line=line, **exc.fields)


def parse_chunk(data: bytes, begin: int, path: str, fmt: str, options: ReadOptions, n: int) -> list:
    """The ``n`` sentences (or alignments, ``fmt="pharaoh"``) in ``data``, which starts at byte ``begin`` of ``path``."""
    if fmt == "txt" and not data.strip():  # only empty lines: empty sentences (the reader would call it an empty file)
        out: list = [Sentence(()) for _ in range(data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1))]
    else:
        fd, tmp = tempfile.mkstemp(prefix="projner-shard-", suffix=f".{fmt}")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            if fmt == "pharaoh":
                out = list(read_pharaoh(tmp))
            else:
                out = list(read_corpus(tmp, fmt, options).sentences)
        except ProjnerError as exc:
            raise _remap(exc, tmp, path, begin) from None
        finally:
            os.unlink(tmp)
    if len(out) != n:
        raise ProjnerError(E.E263, file=path, line=line_of_offset(path, begin),
                           detail=f"expected {n} records from here, the reader found {len(out)}")
    return out


def read_range(r: Mapping[str, Any], n: int) -> list:
    """The ``n`` records of one input file a shard covers (``r``: path, fmt, options, start, stop)."""
    stop = None if r["stop"] is None else tuple(r["stop"])
    if r["fmt"] == "parquet":
        from projner.scale.parquet import parse_rows, read_parquet_rows

        cols = r["columns"]
        rows = read_parquet_rows(r["path"], r["start"], stop, cols["read"], n)
        return parse_rows(rows, int(r.get("first", 0)), r["path"], cols.get("role", "src"), cols,
                          options_from_json(r.get("options") or {}))
    data, begin = read_rows(r["path"], tuple(r["start"]), stop, KINDS[r["fmt"]])
    return parse_chunk(data, begin, r["path"], r["fmt"], options_from_json(r.get("options") or {}), n)


def read_shard_pairs(task: Mapping[str, Any]) -> tuple[list[Sentence], list[Sentence], list | None]:
    """Source (labels mapped), target tokens and links (or None) of one shard, checked to be parallel."""
    n = int(task["n_pairs"])
    src = read_range(task["src"], n)
    if task.get("label_map"):
        from projner.data.labelmaps import load_label_map

        src, _ = load_label_map(task["label_map"]).map_sentences(src)
        src = list(src)
    tgt = [t.unlabelled() for t in read_range(task["tgt"], n)]
    links = None
    if task.get("links") is not None:
        links = read_range(task["links"], n)
        try:
            check_alignments(links, src, tgt, path=task["links"]["path"])
        except ProjnerError as exc:  # E008: the line is the pair's, counted from the shard's first pair
            raise ProjnerError(exc.code, file=exc.file, line=None if exc.line is None else int(task["first"]) + exc.line,
                               **exc.fields) from None
    return src, tgt, links


def shard_task(task: Mapping[str, Any], spec_json: str) -> dict:
    """Read, align, project and write one shard; a failure comes back as data (the driver raises E261)."""
    t0, c0 = time.perf_counter(), cpu_time()
    rec: dict[str, Any] = {"index": task["index"], "key": task["key"], "node_id": node_id(), "error": ""}
    try:
        spec = ScaleSpec.from_json(spec_json)
        src, tgt, links = read_shard_pairs(task)
        res = process_pairs(src, tgt, links, spec, int(task["first"]))
        res["seconds"] = time.perf_counter() - t0
        res["cpu_seconds"] = cpu_time() - c0
        store = ShardStore(Path(task["out_dir"]) / "shards", ext=shard_ext(spec.out_format))
        saved = store.save(task["key"], int(task["n_pairs"]), res,
                           extra={"first": int(task["first"]), "index": int(task["index"]), "node_id": rec["node_id"]})
        rec.update(saved)
    except Exception as exc:  # noqa: BLE001 - reported per shard, raised as E261 by the driver
        rec["error"] = f"{type(exc).__name__}: {exc}"
    return rec


def with_scheme(options: ReadOptions, scheme: str | None, sep: str | None) -> ReadOptions:
    """Options fixed for every chunk: the scheme and column separator found on the file's first block."""
    kw = {}
    if options.scheme == "auto" and scheme:
        kw["scheme"] = scheme
    if options.sep is None and sep is not None:
        kw["sep"] = sep
    return replace(options, **kw) if kw else options
