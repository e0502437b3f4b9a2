"""Byte ranges of line-parallel files, cut on record boundaries; read by the worker that owns them.

A *record* is what the readers of :mod:`projner.data.formats` turn into one sentence (or one
alignment): a line (``txt``, ``pharaoh``), a non-blank line (``jsonl``: blank lines are skipped),
or a block of non-blank lines between blank (whitespace-only) or ``-DOCSTART-`` lines (``conll``).
Line ends may be LF or CRLF; a final line without a line end is a record too.

The driver never reads a corpus: :func:`cut_points` seeks to every ``block_bytes`` and scans
forward to the next record boundary (a line end; for CoNLL a blank line), reading O(one record)
per cut. Workers then scan their block (:func:`scan_block`: record count, a checkpoint every
``stride`` records, a content digest) and read the rows of a shard (:func:`read_rows`) from the
nearest checkpoint. A cut at a byte inside a multi-byte UTF-8 character is safe: ``\\n`` never
occurs inside one, and cuts move forward to a line start.

Paths are local files or fsspec URLs (``file://``, ``s3://``, ``memory://``: the last one lives
in one process, i.e. for in-process runs).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import IO, Iterator

from projner.data.tokens import DOCSTART
from projner.errors import E, ProjnerError

KINDS = {"txt": "line", "pharaoh": "line", "jsonl": "nonblank", "conll": "sentence"}
DEFAULT_BLOCK_BYTES = 32 << 20  # index blocks: one scan task each


def is_url(path: str) -> bool:
    return "://" in str(path)


def open_binary(path: str) -> IO[bytes]:
    """A seekable binary file: a local path or an fsspec URL."""
    path = str(path)
    try:
        if is_url(path):
            import fsspec

            return fsspec.open(path, "rb").open()
        return open(path, "rb")
    except (OSError, ValueError, ImportError) as exc:
        raise ProjnerError(E.E018, detail=f"cannot open {path}: {type(exc).__name__}: {exc}") from None


def file_size(path: str) -> int:
    path = str(path)
    try:
        if is_url(path):
            import fsspec

            fs, p = fsspec.core.url_to_fs(path)
            return int(fs.size(p))
        return os.path.getsize(path)
    except (OSError, ValueError, ImportError) as exc:
        raise ProjnerError(E.E018, detail=f"file not found: {path} ({type(exc).__name__})") from None


def _is_separator(line: bytes) -> bool:
    """A line that ends a CoNLL sentence: blank (as ``str.strip`` sees it) or ``-DOCSTART-``."""
    text = line.decode("utf-8", errors="replace").strip()
    return not text or text.split()[0] == DOCSTART


def _is_blank(line: bytes) -> bool:
    return not line.decode("utf-8", errors="replace").strip()


def iter_record_starts(fh: IO[bytes], start: int, kind: str, end: int | None = None) -> Iterator[int]:
    """Offsets of the records that start in ``[start, end)`` (``start`` is a line start)."""
    fh.seek(start)
    pos = start
    in_sentence = False
    while end is None or pos < end:
        line = fh.readline()
        if not line:
            return
        if kind == "line":
            yield pos
        elif kind == "nonblank":
            if not _is_blank(line):
                yield pos
        else:
            if _is_separator(line):
                in_sentence = False
            elif not in_sentence:
                in_sentence = True
                yield pos
        pos += len(line)


def _next_boundary(fh: IO[bytes], pos: int, size: int, kind: str) -> int:
    """The first record boundary at or after ``pos``: a line start; for CoNLL the line after a separator."""
    if pos <= 0:
        return 0
    if pos >= size:
        return size
    fh.seek(pos - 1)
    if fh.read(1) != b"\n":
        fh.readline()  # the rest of the line we landed in
    at = fh.tell()
    if kind != "sentence":
        return min(at, size)
    while at < size:
        line = fh.readline()
        if not line:
            break
        at += len(line)
        if _is_separator(line):
            return at
    return size


def cut_points(path: str, kind: str, block_bytes: int = DEFAULT_BLOCK_BYTES) -> list[int]:
    """``[0, c1, ..., size]``: block boundaries on record boundaries, about ``block_bytes`` apart."""
    if block_bytes < 1:
        raise ProjnerError(E.E260, detail=f"block_bytes must be >= 1, got {block_bytes}")
    size = file_size(path)
    cuts = [0]
    with open_binary(path) as fh:
        target = block_bytes
        while target < size:
            c = _next_boundary(fh, max(target, cuts[-1] + 1), size, kind)
            if c >= size:
                break
            if c > cuts[-1]:
                cuts.append(c)
            target = c + block_bytes
    return cuts + [size] if size > 0 else [0, 0]


@dataclass(frozen=True)
class BlockScan:
    start: int
    end: int
    n_records: int
    checkpoints: tuple[tuple[int, int], ...]  # (local record index, byte offset), every ``stride`` records
    digest: str  # blake2b of the block's bytes


def scan_block(path: str, start: int, end: int, kind: str, stride: int) -> BlockScan:
    """Count the records of one block and note a checkpoint every ``stride`` records."""
    n, cps = 0, []
    h = hashlib.blake2b(digest_size=16)
    with open_binary(path) as fh:
        for off in iter_record_starts(fh, start, kind, end):
            if n % stride == 0:
                cps.append((n, off))
            n += 1
        hash_bytes(fh, start, end, h)
    return BlockScan(start, end, n, tuple(cps), h.hexdigest())


def hash_bytes(fh, start: int, end: int, h) -> None:
    """Feed bytes ``[start, end)`` of the open binary file ``fh`` into the hash ``h``, 1 MiB at a time."""
    fh.seek(start)
    left = end - start
    while left > 0:
        chunk = fh.read(min(left, 1 << 20))
        if not chunk:
            break
        h.update(chunk)
        left -= len(chunk)


def _locate(fh: IO[bytes], offset: int, skip: int, kind: str) -> int | None:
    """The offset of record ``skip`` counted from the record at ``offset``; None past the last record."""
    for k, off in enumerate(iter_record_starts(fh, offset, kind)):
        if k == skip:
            return off
    return None


def read_rows(path: str, start: tuple[int, int], stop: tuple[int, int] | None, kind: str) -> tuple[bytes, int]:
    """The bytes from record ``start`` to record ``stop`` (exclusive; None: the end of the file), each
    given as (checkpoint offset, records to skip from there), and the byte offset where they start."""
    with open_binary(path) as fh:
        begin = _locate(fh, start[0], start[1], kind)
        if begin is None:
            raise ProjnerError(E.E263, file=str(path), detail=f"record {start[1]} after byte {start[0]} does not exist (file changed?)")
        end = None if stop is None else _locate(fh, stop[0], stop[1], kind)
        if end is None:
            if stop is not None and stop[1] > 0:
                raise ProjnerError(E.E263, file=str(path), detail=f"record {stop[1]} after byte {stop[0]} does not exist (file changed?)")
            fh.seek(0, os.SEEK_END)
            end = fh.tell()
        fh.seek(begin)
        return fh.read(end - begin), begin


def line_of_offset(path: str, offset: int) -> int:
    """The 1-based line number of byte ``offset`` (error messages only: reads the file up to there)."""
    lines, left = 1, offset
    with open_binary(path) as fh:
        while left > 0:
            chunk = fh.read(min(left, 1 << 20))
            if not chunk:
                break
            lines += chunk.count(b"\n")
            left -= len(chunk)
    return lines
