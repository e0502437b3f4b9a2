"""All outputs of a command, committed together or not at all.

A command with several outputs (``projner project --out P --report R``) writes each of them to a
temporary file beside its target and renames them into place only when every one was written::

    with atomic_outputs() as tx:
        out_tmp = tx.path(out)            # reserve the outputs first: an unwritable one fails early
        with tx.open(report) as fh:       # or write through a file object
            fh.write(...)
        tx.write(out, lambda p: write_corpus(p, sentences))   # or any writer given the temp path

An exception inside the block removes every temporary file and leaves the targets as they were.
A temporary file keeps its target's extension (``.pred.conll.x1y2.tmp.conll``), so writers that
choose the format by extension write the right one. OS errors become coded errors naming the target
(E041 cannot write, E042 disk full; see :func:`projner.data.paths.os_error`).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Callable, Iterator, TypeVar

from projner.data.paths import os_error
from projner.errors import E, ProjnerError

T = TypeVar("T")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class OutputTransaction:
    """Temporary files reserved beside their targets; :meth:`commit` renames them all."""

    def __init__(self) -> None:
        self._items: list[tuple[Path, Path, str]] = []  # (target, temporary file, what)

    def path(self, target: str | os.PathLike, what: str = "the output") -> Path:
        """Reserve ``target`` and return the temporary file to write instead (same folder and extension)."""
        p = Path(target)
        for t, tmp, _ in self._items:
            if t == p:
                raise ProjnerError(E.E041, file=str(p), what=what, detail="the same file is given for two outputs")
        if p.is_dir():
            raise ProjnerError(E.E041, file=str(p), what=what, detail="it is a directory")
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=f".tmp{p.suffix}", dir=str(p.parent))
            os.close(fd)
        except OSError as exc:
            blocker = next((a for a in p.parents if a.exists() and not a.is_dir()), None)
            if blocker is not None:
                raise ProjnerError(E.E041, file=str(p), what=what, detail=f"{blocker} is a file, not a folder") from None
            raise os_error(exc, p, what=what, writing=True) from None
        self._items.append((p, Path(tmp), what))
        return Path(tmp)

    def _temp(self, target: str | os.PathLike, what: str) -> tuple[Path, str]:
        p = Path(target)
        for t, tmp, w in self._items:
            if t == p:
                return tmp, w
        return self.path(p, what), what

    @contextlib.contextmanager
    def open(self, target: str | os.PathLike, mode: str = "w", what: str = "the output") -> Iterator[IO]:
        """A file object on ``target``'s temporary file (UTF-8, ``\\n`` line ends in text mode)."""
        tmp, what = self._temp(target, what)
        kwargs = {"encoding": "utf-8", "newline": "\n"} if "b" not in mode else {}
        try:
            with open(tmp, mode, **kwargs) as fh:
                yield fh
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            raise os_error(exc, target, what=what, writing=True) from None

    def write(self, target: str | os.PathLike, writer: Callable[[Path], T], what: str = "the output") -> T:
        """Call ``writer(temporary path)`` (for example ``write_corpus``) and return its result."""
        tmp, what = self._temp(target, what)
        try:
            return writer(tmp)
        except OSError as exc:
            raise os_error(exc, target, what=what, writing=True) from None

    def commit(self) -> None:
        """Rename every temporary file onto its target; on a failure, restore the targets already replaced."""
        for target, _, what in self._items:
            if target.is_dir():
                raise ProjnerError(E.E041, file=str(target), what=what, detail="it is a directory")
        mode = 0o666 & ~_umask()
        done: list[tuple[Path, Path | None]] = []  # (target, backup of its old content or None)
        try:
            for target, tmp, what in self._items:
                backup = None
                if target.exists():
                    backup = tmp.with_name(tmp.name + ".old")
                    try:
                        os.link(target, backup)
                    except OSError:  # no hard links here: the old content cannot be restored
                        backup = None
                try:
                    os.chmod(tmp, mode)
                    os.replace(tmp, target)
                except OSError as exc:
                    if backup is not None:
                        with contextlib.suppress(OSError):
                            os.unlink(backup)
                    raise os_error(exc, target, what=what, writing=True) from None
                done.append((target, backup))
        except BaseException:
            for target, backup in reversed(done):
                with contextlib.suppress(OSError):
                    if backup is not None:
                        os.replace(backup, target)
                    else:
                        os.unlink(target)
            raise
        for _, backup in done:
            if backup is not None:
                with contextlib.suppress(OSError):
                    os.unlink(backup)
        self._items.clear()

    def abort(self) -> None:
        """Remove every temporary file; the targets are untouched."""
        for _, tmp, _ in self._items:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        self._items.clear()


@contextlib.contextmanager
def atomic_outputs() -> Iterator[OutputTransaction]:
    """An :class:`OutputTransaction` committed when the block ends normally, aborted otherwise."""
    tx = OutputTransaction()
    try:
        yield tx
        tx.commit()
    except BaseException:
        tx.abort()
        raise
