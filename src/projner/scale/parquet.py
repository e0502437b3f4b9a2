"""Parquet inputs and outputs of scale-out: blocks are row groups.

Input (``.parquet``, a local path or an fsspec URL): one row per sentence, HF-datasets style —
the source has ``tokens`` and ``ner_tags`` (or ``tags``: strings, or integer ids with a label
list: ``ReadOptions.labels``, else the ``ClassLabel`` names that ``datasets`` keeps in the
schema metadata), optionally ``unknown``; the target has ``tokens``. One file may hold
both sides (one row per pair): give it as source and target, and the target's tokens are its
``tgt_tokens`` (or ``target_tokens``) column. Rows are parsed by the JSONL reader
(:mod:`projner.data.formats`), so every JSONL convention and error applies; an error names the
file and the row (1-based) as its line.

The driver reads only the footer (:func:`index_parquet`: row counts and byte ranges of the row
groups); index tasks (:func:`digest_task`) hash the bytes of the row groups, and every shard task
reads its own row groups (:func:`read_parquet_rows`).

Output (``out_format="parquet"``): each shard is a Parquet file (:func:`shard_table`) with the
columns ``row`` (global row id), ``id``, ``tokens``, ``ner_tags``, ``spans`` (start, end, label),
``unknown`` and ``alignment`` (src, tgt links).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from typing import Any, Callable, Iterable, Mapping, Sequence

from projner.errors import E, ProjnerError
from projner.scale.ranges import hash_bytes

TARGET_COLUMNS = ("tgt_tokens", "target_tokens")
SOURCE_COLUMNS = ("tokens", "ner_tags", "tags", "unknown")


def pyarrow_parquet():
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise ProjnerError(E.E020, package=str(getattr(exc, "name", None) or "pyarrow"), hint="projner[scale]") from None
    return pq


def _open(path: str):
    from projner.scale.ranges import open_binary

    return open_binary(path)


def _metadata(path: str):
    pq = pyarrow_parquet()
    with _open(path) as fh:
        try:
            return pq.ParquetFile(fh).metadata
        except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a bad footer
            raise ProjnerError(E.E266, file=str(path), detail=f"not a Parquet file ({type(exc).__name__}: {exc})") from None


def hf_label_names(schema: Any, column: str) -> tuple[str, ...] | None:
    """The ``ClassLabel`` names of ``column`` in a ``datasets`` schema's metadata (None: not there)."""
    meta = (schema.metadata or {}).get(b"huggingface")
    if not meta:
        return None
    try:
        feat = json.loads(meta)["info"]["features"][column]
        feat = feat.get("feature", feat)
        names = feat.get("names")
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return tuple(str(n) for n in names) if isinstance(names, list) else None


def columns_for(path: str, role: str, pair_file: bool) -> dict[str, Any]:
    """Which columns a role reads (from the footer's schema): ``{"tokens": NAME, "read": [...], "labels": ...}``."""
    schema = _metadata(path).schema.to_arrow_schema()
    names = set(schema.names)
    if role == "tgt" and pair_file:
        tok = next((c for c in TARGET_COLUMNS if c in names), None)
        if tok is None:
            raise ProjnerError(E.E266, file=str(path), detail=f"one file as source and target needs a target column "
                                                              f"({' or '.join(TARGET_COLUMNS)}); columns: {sorted(names)}")
        return {"role": role, "tokens": tok, "read": [tok], "labels": None}
    if "tokens" not in names:
        raise ProjnerError(E.E266, file=str(path), detail=f"no 'tokens' column; columns: {sorted(names)}")
    if role == "tgt":
        return {"role": role, "tokens": "tokens", "read": ["tokens"], "labels": None}
    read = [c for c in SOURCE_COLUMNS if c in names]
    tag_col = "ner_tags" if "ner_tags" in names else "tags" if "tags" in names else None
    return {"role": role, "tokens": "tokens", "read": read,
            "labels": list(hf_label_names(schema, tag_col) or ()) or None if tag_col else None}


def row_group_ranges(path: str) -> list[tuple[int, int, int]]:
    """(rows, first byte, end byte) of every row group, from the footer."""
    md = _metadata(path)
    out = []
    for g in range(md.num_row_groups):
        rg = md.row_group(g)
        starts, ends = [], []
        for c in range(rg.num_columns):
            col = rg.column(c)
            start = col.dictionary_page_offset if col.has_dictionary_page and col.dictionary_page_offset else col.data_page_offset
            starts.append(start)
            ends.append(start + col.total_compressed_size)
        out.append((rg.num_rows, min(starts, default=0), max(ends, default=0)))
    return out


def digest_task(path: str, ranges: Sequence[tuple[int, int]]) -> dict:
    """The index stage's task for Parquet: the blake2b of each row group's bytes (an error as data)."""
    try:
        out = []
        with _open(path) as fh:
            for a, b in ranges:
                h = hashlib.blake2b(digest_size=16)
                hash_bytes(fh, a, b, h)
                out.append(h.hexdigest())
        return {"start": ranges[0][0] if ranges else 0, "digests": out, "error": ""}
    except Exception as exc:  # noqa: BLE001 - raised by the driver (E263, naming the file)
        return {"start": ranges[0][0] if ranges else 0, "error": f"{type(exc).__name__}: {exc}"}


def index_parquet(path: str, run: Callable[[Callable, Sequence[tuple]], Iterable[dict]], block_bytes: int):
    """(row counts, digests) per row group: the footer on the driver, the digests in tasks of about ``block_bytes``."""
    groups = row_group_ranges(path)
    calls, cur, size = [], [], 0
    for _, a, b in groups:
        cur.append((a, b))
        size += b - a
        if size >= block_bytes:
            calls.append((path, cur))
            cur, size = [], 0
    if cur:
        calls.append((path, cur))
    got = sorted(run(digest_task, calls), key=lambda r: r["start"])
    errors = [r["error"] for r in got if r.get("error")]
    if errors:
        raise ProjnerError(E.E263, file=str(path), detail=errors[0])
    digests = [d for r in got for d in r["digests"]]
    schema = hashlib.blake2b(str(_metadata(path).schema.to_arrow_schema()).encode("utf-8"), digest_size=8).hexdigest()
    return [n for n, _, _ in groups], [f"{schema}:{d}" for d in digests]


def read_parquet_rows(path: str, start: Sequence[int], stop: Sequence[int] | None, columns: Sequence[str],
                      n: int) -> list[dict]:
    """Rows ``start .. stop`` (each (row group, rows to skip in it); None: to the end) as dicts of ``columns``."""
    pq = pyarrow_parquet()
    with _open(path) as fh:
        pf = pq.ParquetFile(fh)
        last = pf.metadata.num_row_groups if stop is None else stop[0] + (1 if stop[1] > 0 else 0)
        groups = list(range(int(start[0]), last))
        table = pf.read_row_groups(groups, columns=list(columns)) if groups else None
    if table is None:
        return []
    table = table.slice(int(start[1]), n)
    if table.num_rows != n:
        raise ProjnerError(E.E263, file=str(path),
                           detail=f"expected {n} rows from row group {start[0]}, found {table.num_rows} (file changed?)")
    return table.to_pylist()


def parse_rows(rows: Sequence[Mapping[str, Any]], first: int, path: str, role: str, cols: Mapping[str, Any],
               options: Any) -> list:
    """Sentences of Parquet rows, read by the JSONL reader (errors: ``path``, line = global row, 1-based)."""
    return list(_read_rows_as_jsonl(rows, first, path, role, cols, options).sentences) if rows else []


def probe_task(path: str, cols: Mapping[str, Any], options_json: Mapping[str, Any], limit: int = 2000) -> dict:
    """The tag scheme the reader finds on the first rows (<= ``limit``) of a Parquet source (an error as data)."""
    from projner.scale.worker import options_from_json

    try:
        pq = pyarrow_parquet()
        with _open(path) as fh:
            pf = pq.ParquetFile(fh)
            rows = []
            for g in range(pf.metadata.num_row_groups):
                rows += pf.read_row_group(g, columns=list(cols["read"])).slice(0, limit - len(rows)).to_pylist()
                if len(rows) >= limit:
                    break
        if not rows:
            return {"scheme": None, "error": ""}
        corpus = _read_rows_as_jsonl(rows, 0, path, "src", cols, options_from_json(options_json))
        return {"scheme": corpus.report.scheme, "error": ""}
    except ProjnerError as exc:
        return {"scheme": None, "error": "", "exc": [exc.code.name, exc.file, exc.line, dict(exc.fields)]}
    except Exception as exc:  # noqa: BLE001 - raised by the driver (E266, naming the file)
        return {"scheme": None, "error": f"{type(exc).__name__}: {exc}"}


def parquet_options(path: str, role: str, cols: Mapping[str, Any], options: Any, run: Callable) -> Any:
    """Read options fixed for every worker: the ``ClassLabel`` names (unless labels are given) and,
    for the source, the tag scheme found on its first rows (unless given); the driver reads no rows."""
    from dataclasses import replace

    from projner.scale.worker import options_to_json, with_scheme

    if options.labels is None and cols.get("labels"):
        options = replace(options, labels=tuple(cols["labels"]))
    if role != "src" or options.scheme != "auto":
        return options
    (got,) = list(run(probe_task, [(path, dict(cols), options_to_json(options))]))
    if got.get("exc"):
        code, file, line, fields = got["exc"]
        raise ProjnerError(E[code], file=file, line=line, **fields)
    if got["error"]:
        raise ProjnerError(E.E266, file=str(path), detail=got["error"])
    return with_scheme(options, got["scheme"], None)


def _read_rows_as_jsonl(rows: Sequence[Mapping[str, Any]], first: int, path: str, role: str, cols: Mapping[str, Any],
                        options: Any):
    from projner.data.formats import read_corpus

    lines = []
    for r in rows:
        obj = {"tokens": r.get(cols["tokens"])}
        if role == "src":
            for c in ("ner_tags", "tags", "unknown"):
                if r.get(c) is not None:
                    obj[c] = r[c]
        lines.append(json.dumps(obj, ensure_ascii=False, default=str))
    fd, tmp = tempfile.mkstemp(prefix="projner-parquet-", suffix=".jsonl")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
        return read_corpus(tmp, "jsonl", options)
    except ProjnerError as exc:
        if exc.file != tmp:
            raise
        raise ProjnerError(exc.code, file=str(path), line=None if exc.line is None else first + exc.line, **exc.fields) from None
    finally:
        os.unlink(tmp)


def shard_table_bytes(first: int, sentences: Sequence[Any], alignments: Sequence[Any], scheme: str) -> bytes:
    """One shard as Parquet bytes: row, id, tokens, ner_tags, spans, unknown, alignment."""
    import pyarrow as pa

    from projner.data.schemes import encode, get_scheme

    pq = pyarrow_parquet()
    sch = get_scheme(scheme)
    span_t = pa.struct([("start", pa.int32()), ("end", pa.int32()), ("label", pa.string())])
    link_t = pa.struct([("src", pa.int32()), ("tgt", pa.int32())])
    schema = pa.schema([("row", pa.int64()), ("id", pa.string()), ("tokens", pa.list_(pa.string())),
                        ("ner_tags", pa.list_(pa.string())), ("spans", pa.list_(span_t)),
                        ("unknown", pa.list_(pa.int32())), ("alignment", pa.list_(link_t))])
    table = pa.table({
        "row": list(range(first, first + len(sentences))),
        "id": [s.id for s in sentences],
        "tokens": [list(s.tokens) for s in sentences],
        "ner_tags": [list(encode(s.spans, len(s), sch)) for s in sentences],
        "spans": [[{"start": sp.start, "end": sp.end, "label": sp.label} for sp in s.spans] for s in sentences],
        "unknown": [list(s.unknown) for s in sentences],
        "alignment": [[{"src": ln.src, "tgt": ln.tgt} for ln in a.links] for a in alignments],
    }, schema=schema)
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def concat_parquet(target: Any, parts: Sequence[Any]) -> None:
    """The shard files one after the other into one Parquet file (atomically), a row group at a time."""
    from projner.data.textio import atomic_write

    pq = pyarrow_parquet()
    with atomic_write(target, "wb") as out:
        writer = None
        try:
            for p in parts:
                pf = pq.ParquetFile(str(p))
                if writer is None:
                    writer = pq.ParquetWriter(out, pf.schema_arrow)
                for g in range(pf.metadata.num_row_groups):
                    writer.write_table(pf.read_row_group(g))
        finally:
            if writer is not None:
                writer.close()


def read_projected(path: Any) -> tuple[list, list]:
    """(sentences, alignments) of a Parquet output (a shard, ``projected.parquet`` or a dataset folder), by row."""
    import pyarrow.dataset as ds

    from projner.types import Alignment, Link, Sentence, Span

    rows = sorted(ds.dataset(str(path), format="parquet").to_table().to_pylist(), key=lambda r: r["row"])
    sents = [Sentence(tuple(r["tokens"]), tuple(Span(s["start"], s["end"], s["label"]) for s in r["spans"]), r["id"],
                      tuple(r["unknown"])) for r in rows]
    return sents, [Alignment(tuple(Link(x["src"], x["tgt"]) for x in r["alignment"])) for r in rows]


def part_name(index: int) -> str:
    return f"part-{index:05d}.parquet"


def publish_dataset(folder: Any, parts: Sequence[Any]) -> Any:
    """``folder`` as a Parquet dataset of exactly ``parts`` (in order: ``part-00000.parquet``, ...):
    hard links to the shard files (copies where links fail); part files of an earlier run are removed."""
    import shutil
    from pathlib import Path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    want = {part_name(i): Path(p) for i, p in enumerate(parts)}
    for old in folder.glob("part-*.parquet"):
        if old.name not in want or not os.path.samefile(old, want[old.name]):
            old.unlink()
    for name, src in want.items():
        dst = folder / name
        if dst.exists():
            continue
        try:
            os.link(src, dst)
        except OSError:
            shutil.copyfile(src, dst)
    return folder
