"""Low-level text I/O: strict UTF-8 line reading that names file and line, atomic writes."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator

from projner.errors import E, ProjnerError


def read_lines(path: str | os.PathLike, *, allow_empty: bool = False) -> list[str]:
    """All lines of a UTF-8 file without line endings (CRLF, LF; a leading BOM is removed).

    Raises E010 naming the line of the first undecodable byte and E009 for an empty file.
    """
    p = Path(path)
    data = p.read_bytes()
    if not data.strip() and not allow_empty:
        raise ProjnerError(E.E009, file=str(p))
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ProjnerError(E.E010, file=str(p), line=line, detail=f"byte 0x{data[exc.start]:02x} at offset {exc.start}") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [ln[:-1] if ln.endswith("\r") else ln for ln in lines]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w") -> Iterator[IO]:
    """Write to a temporary file beside ``path`` and rename it into place only on success.

    An exception (or a kill) never leaves a partial file at ``path``. The file gets the usual
    permissions of a new file (0666 minus the umask), not the temporary file's private 0600.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=str(p.parent))
    try:
        kwargs = {"encoding": "utf-8", "newline": "\n"} if "b" not in mode else {}
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
            os.fchmod(fh.fileno(), 0o666 & ~_umask())
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def save_npy(path: str | os.PathLike, arr) -> None:
    """Save one numpy array (``allow_pickle=False``) atomically: a temporary file beside ``path``,
    renamed into place, removed on any failure. No fsync: meant for cache files, which are
    recomputed when lost."""
    import numpy as np

    p = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=".", suffix=".npy.tmp", dir=str(p.parent))
    try:
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, np.ascontiguousarray(arr), allow_pickle=False)
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
