"""File-system checks for commands: input files, OS errors as coded errors, path-like model names.

An :class:`OSError` from the operating system says *what* went wrong (``strerror``) but often not
*where* (a failed ``write`` carries no file name); :func:`os_error` turns it into a
:class:`~projner.errors.ProjnerError` naming the file: E040 (cannot read), E041 (cannot write),
E042 (disk full or quota exceeded) or E043 (neither known).
"""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

from projner.errors import E, ProjnerError

_DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
# a hub model id: NAME or ORG/NAME (letters, digits, _ . -), never a path with more parts
_HUB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*(/[A-Za-z0-9][A-Za-z0-9_.\-]*)?")


def os_error(exc: OSError, path: str | os.PathLike | None = None, *, what: str | None = None,
             writing: bool | None = None) -> ProjnerError:
    """A coded error for ``exc`` naming ``path`` (default: the file the OS reported).

    ``writing``: True for an output, False for an input, None when unknown (E043, unless the disk is full).
    """
    where = path if path is not None else (exc.filename if exc.filename is not None else None)
    detail = exc.strerror or str(exc) or type(exc).__name__
    file = None if where is None else os.fsdecode(where)
    if exc.errno in _DISK_FULL:
        return ProjnerError(E.E042, file=file, what=what or "the output", detail=detail)
    if writing is True:
        return ProjnerError(E.E041, file=file, what=what or "the output", detail=detail)
    if writing is False:
        return ProjnerError(E.E040, file=file, what=what or "the input", detail=detail)
    return ProjnerError(E.E043, file=file, detail=detail)


def require_input(path: str | os.PathLike, what: str = "the input file") -> Path:
    """``path`` as a :class:`Path` when it is a readable file; E040 naming it otherwise."""
    p = Path(path)
    try:
        if p.is_dir():
            raise ProjnerError(E.E040, file=str(p), what=what, detail="it is a directory, not a file")
        if not p.exists():
            raise ProjnerError(E.E040, file=str(p), what=what, detail="no such file")
        if not os.access(p, os.R_OK):
            raise ProjnerError(E.E040, file=str(p), what=what, detail="permission denied")
    except OSError as exc:  # e.g. a path component that is a file, a name too long
        raise os_error(exc, p, what=what, writing=False) from None
    return p


def require_inputs(*items: tuple[str | os.PathLike | None, str]) -> None:
    """:func:`require_input` for every ``(path, what)`` whose path is given (optional inputs are None)."""
    for path, what in items:
        if path is not None:
            require_input(path, what)


def looks_like_path(name: str) -> bool:
    """True for a model name that is meant as a local folder rather than a hub id: absolute,
    starting with ``./``, ``../`` or ``~``, or with a path separator in a form no hub id has."""
    if not name:
        return False
    if os.path.isabs(name) or name.startswith(("~", "./", "../", "." + os.sep, ".." + os.sep)) or name in (".", ".."):
        return True
    seps = {os.sep, "/"} | ({os.altsep} if os.altsep else set())
    return any(s in name for s in seps) and not _HUB_ID.fullmatch(name)


def missing_model_folder(name: str | os.PathLike) -> str | None:
    """Why a path-like model name cannot be used (``"folder X does not exist"``), or None.

    Loaders call this before asking the hub, so ``--model /nonexistent`` is reported as a missing
    folder and not as an invalid repository id.
    """
    text = os.fspath(name)
    if not looks_like_path(text):
        return None
    p = Path(text).expanduser()
    if p.is_dir():
        return None
    shown = str(p) if text.startswith("~") else text
    if p.exists():
        return f"{shown} is a file, not a model folder"
    return f"folder {shown} does not exist"
