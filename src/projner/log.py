"""Logging for projner: one logger per module (``logging.getLogger(__name__)``), all under ``projner``.

Library code logs diagnostics and never prints them. The command line calls :func:`configure` once
per invocation (``projner --verbose ...`` / ``projner --quiet ...``): messages then go to stderr
as plain lines, at INFO by default, DEBUG with ``--verbose``, WARNING with ``--quiet``; and
``--quiet`` turns off the progress bars (:func:`progress_bar`, on stderr like every bar).

Without :func:`configure` (projner used as a library) the ``projner`` logger has no handler of its
own: the application's logging setup decides (Python's last resort shows warnings and errors).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

ROOT = "projner"
QUIET, NORMAL, VERBOSE = -1, 0, 1
_LEVELS = {QUIET: logging.WARNING, NORMAL: logging.INFO, VERBOSE: logging.DEBUG}
_state = {"verbosity": NORMAL}


class _StderrHandler(logging.StreamHandler):
    """Writes to ``sys.stderr`` as it is when a message comes (a redirected stderr is followed)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def configure(verbosity: int = NORMAL) -> logging.Logger:
    """Send the ``projner`` loggers to stderr: ``QUIET`` (-1) warnings and errors only and no
    progress bars, ``NORMAL`` (0) also progress messages, ``VERBOSE`` (1) also debug detail.

    Calling it again replaces the earlier setting (one handler, never two).
    """
    verbosity = max(QUIET, min(VERBOSE, int(verbosity)))
    logger = logging.getLogger(ROOT)
    for h in [h for h in logger.handlers if isinstance(h, _StderrHandler)]:
        logger.removeHandler(h)
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    logger.setLevel(_LEVELS[verbosity])
    _state.update(verbosity=verbosity)
    return logger


def verbosity() -> int:
    """The verbosity :func:`configure` set (``NORMAL`` when it was not called)."""
    return int(_state["verbosity"])


def is_quiet() -> bool:
    return verbosity() == QUIET


def progress_bar(*args: Any, **kwargs: Any):
    """A ``tqdm`` progress bar (on stderr) that ``--quiet`` turns off, whatever the caller's ``disable``."""
    from tqdm.auto import tqdm

    if is_quiet():
        kwargs["disable"] = True
    return tqdm(*args, **kwargs)
