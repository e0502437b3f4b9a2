"""Planning a scale-out run without reading the corpus on the driver.

1. :func:`probe` reads the first block (<= 1 MiB) of a file: its column separator and tag scheme,
   fixed for every chunk so that all workers read it alike.
2. :func:`index_file` cuts each input into blocks on record boundaries (:func:`~projner.scale.ranges.cut_points`)
   and scans the blocks in tasks (:func:`~projner.scale.worker.scan_task`): records per block,
   a checkpoint every ``stride`` records and a digest of the block.
3. :func:`layout` turns the record counts into shards of ``shard_size`` pairs; every shard
   gets, per file, where its rows start and stop (a checkpoint and the records to skip from it)
   and a key (:func:`~projner.scale.keys.range_key`) made of the digests of the blocks holding them.

Global row ids are the records' positions in the files, so outputs concatenated in shard order
are in input order.
"""

from __future__ import annotations

import bisect
import os
import tempfile
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from projner.data.formats import ReadOptions, detect_format, read_corpus
from projner.errors import E, ProjnerError
from projner.scale.ranges import DEFAULT_BLOCK_BYTES, KINDS, cut_points, is_url, open_binary
from projner.scale.worker import options_to_json, with_scheme

PROBE_BYTES = 1 << 20
DEFAULT_STRIDE = 1024


def input_format(path: str, fmt: str | None, *, links: bool = False) -> str:
    """The format of an input: given, or from the extension (a URL's ``.txt`` is plain text)."""
    if links:
        return "pharaoh"
    if fmt is None and str(path).endswith((".parquet", ".pq")):
        return "parquet"
    got = fmt or (detect_format(path) if not is_url(path) else "jsonl" if str(path).endswith((".jsonl", ".json")) else
                  "txt" if str(path).endswith(".txt") else "conll")
    if got == "parquet":
        return got
    if got not in KINDS or got == "pharaoh":
        raise ProjnerError(E.E264, file=str(path), fmt=got, known="conll, jsonl, txt, parquet")
    return got


def probe(path: str, fmt: str, options: ReadOptions) -> ReadOptions:
    """Read options fixed for every chunk of ``path``: the column separator (CoNLL) and the tag
    scheme (CoNLL, JSONL; unless given) that the readers find on the file's first block (<= 1 MiB
    of whole records). Auto-detection therefore sees the first block, not the whole file: give
    ``options.scheme`` when a corpus' first MiB does not show its scheme."""
    if fmt in ("txt", "pharaoh", "parquet"):  # Parquet: projner.scale.parquet.parquet_options, in a task
        return options
    with open_binary(path) as fh:
        head = fh.read(PROBE_BYTES)
    sep = None
    if fmt == "conll":
        sep = "\t" if any(b"\t" in ln for ln in head.split(b"\n")[:2000]) else " "
    if options.scheme != "auto":
        return with_scheme(options, None, sep)
    if len(head) >= PROBE_BYTES:  # whole records only
        cut = head.rfind(b"\n\n") + 2 if fmt == "conll" else head.rfind(b"\n") + 1
        head = head[:cut] if cut > 1 else head
    fd, tmp = tempfile.mkstemp(prefix="projner-probe-", suffix=f".{fmt}")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(head)
        scheme = read_corpus(tmp, fmt, with_scheme(options, None, sep)).report.scheme if head.strip() else None
    except ProjnerError as exc:
        raise ProjnerError(exc.code, file=str(path), line=exc.line if exc.file == tmp else None, **exc.fields) from None
    finally:
        os.unlink(tmp)
    return with_scheme(options, scheme, sep)


@dataclass(frozen=True)
class FileIndex:
    path: str
    fmt: str
    options: dict
    block_first: tuple[int, ...]  # global row of each block's first record
    digests: tuple[str, ...]
    checkpoints: tuple[tuple[int, int], ...]  # (global row, byte offset; Parquet: row group), increasing
    n_records: int
    columns: dict | None = None  # Parquet: the columns a worker reads (projner.scale.parquet.columns_for)

    def locate(self, row: int) -> tuple[int, int]:
        """(byte offset of the nearest checkpoint at or before ``row``, records to skip from there)."""
        k = bisect.bisect_right(self.checkpoints, (row, float("inf"))) - 1
        r, off = self.checkpoints[k]
        return off, row - r

    def blocks(self, first: int, last: int) -> list[str]:
        """Digests of the blocks that hold rows ``first .. last-1``."""
        a = bisect.bisect_right(self.block_first, first) - 1
        b = bisect.bisect_right(self.block_first, max(first, last - 1)) - 1
        return list(self.digests[max(a, 0): b + 1])


def index_file(path: str, fmt: str, options: ReadOptions, run: Callable[[Callable, Sequence[tuple]], Iterable[dict]],
               *, block_bytes: int = DEFAULT_BLOCK_BYTES, stride: int = DEFAULT_STRIDE,
               columns: dict | None = None) -> FileIndex:
    """Count and checkpoint the records of ``path``: the driver cuts, tasks (``run``) scan.
    Parquet: the driver reads the footer, tasks digest the row groups; ``columns`` the ones read."""
    from projner.scale.worker import scan_task

    if fmt == "parquet":
        return _index_parquet(path, options, run, block_bytes, columns)
    kind = KINDS[fmt]
    cuts = cut_points(path, kind, block_bytes)
    calls = [(path, a, b, kind, stride) for a, b in zip(cuts, cuts[1:])]
    scans = sorted(run(scan_task, calls), key=lambda r: r["start"])
    errors = [s["error"] for s in scans if s.get("error")]
    if errors:
        raise ProjnerError(E.E263, file=path, detail=errors[0])
    first, cps, digests, n = [], [], [], 0
    for s in scans:
        first.append(n)
        digests.append(s["digest"])
        cps += [(n + r, off) for r, off in s["checkpoints"]]
        n += s["n"]
    if not cps:
        cps = [(0, 0)]
    return FileIndex(path, fmt, options_to_json(options), tuple(first), tuple(digests), tuple(cps), n)


def _index_parquet(path: str, options: ReadOptions, run, block_bytes: int, columns: dict | None) -> FileIndex:
    """A Parquet file's index: one block and one checkpoint (global row, row group) per row group."""
    from projner.scale.parquet import index_parquet

    rows, digests = index_parquet(path, run, block_bytes)
    first, n = [], 0
    for r in rows:
        first.append(n)
        n += r
    cps = tuple((a, g) for g, a in enumerate(first)) or ((0, 0),)
    return FileIndex(path, "parquet", options_to_json(options), tuple(first), tuple(digests), cps, n, dict(columns or {}))


def file_range(ix: FileIndex, first: int, last: int) -> dict:
    out = {"path": ix.path, "fmt": ix.fmt, "options": ix.options, "start": list(ix.locate(first)),
           "stop": None if last >= ix.n_records else list(ix.locate(last))}
    if ix.columns is not None:
        out.update(columns=ix.columns, first=first)
    return out


def layout(files: Mapping[str, FileIndex], n: int, shard_size: int | None, code_key: Any,
           extra_key: Mapping[str, Any], out_dir: str, label_map: str | None) -> Iterator[dict]:
    """The shard tasks (JSON-able dicts) in input order; ``files`` maps src/tgt/links to their index."""
    from projner.scale.keys import range_key

    size = n if not shard_size else shard_size
    for k, first in enumerate(range(0, max(n, 1), max(size, 1))):
        last = min(first + size, n)
        task: dict[str, Any] = {"index": k, "first": first, "n_pairs": last - first, "out_dir": str(out_dir),
                                "label_map": label_map, "links": None}
        content: dict[str, Any] = {"rows": [first, last], "label_map": label_map, **dict(extra_key)}
        for role, ix in files.items():
            task[role] = file_range(ix, first, last)
            content[role] = {"fmt": ix.fmt, "options": ix.options, "columns": ix.columns, "blocks": ix.blocks(first, last),
                             "first_row_in_first_block": first - ix.block_first[bisect.bisect_right(ix.block_first, first) - 1]
                             if ix.block_first else 0}
        task["key"] = range_key(code_key, content)
        yield task
