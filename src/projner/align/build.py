"""Aligners by name: the one place that turns an aligner name and its parameters into an aligner.

The registry knows where each built-in aligner lives and imports its module on first use
(:data:`projner.registry.BUILTINS`); :func:`import_aligner` does that early for a short, pinned or
full name (``neural``, ``neural.v1``, ``projner.aligner.neural.v1``), so that a missing optional
dependency (E020 with the pip command) fails before large inputs are read.
"""

from __future__ import annotations

from typing import Any, Mapping

from projner.registry import aligners, create


def import_aligner(name: str) -> None:
    """Import the module that registers aligner ``name``; E020 when a dependency it needs is missing.

    Call it early to fail before reading large inputs (building the aligner would import it anyway).
    """
    if aligners.knows(name):  # an unknown name is E017 when it is built
        aligners.get(name)


def build_aligner(name: str, params: Mapping[str, Any] | None = None):
    """The registered aligner ``name`` (short or versioned) created with ``params``.

    E017 for an unknown name, E020 for a missing optional dependency; ``params`` is not mutated.
    """
    return create("aligner", name, **dict(params or {}))
