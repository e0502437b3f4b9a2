"""Model folders: ``meta.json`` (projner version, backend, labels, scheme) and dispatching loads.

A model folder holds ``meta.json`` plus backend files in safe formats (never pickle). Loading
checks that the folder was written by a compatible projner (same model format and same
``major.minor`` version) and by the expected backend, and says clearly when it was not.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

from projner import __version__
from projner.data.textio import atomic_write
from projner.errors import E, ProjnerError
from projner.registry import taggers

META = "meta.json"
FORMAT = "projner-tagger"
FORMAT_VERSION = 1
SPACY_PREFIX = "spacy:"


def _major_minor(v: str) -> tuple[str, ...]:
    return tuple(str(v).split(".")[:2])


def write_meta(path: str | os.PathLike, backend: str, labels, scheme: str, **extra: Any) -> dict:
    """Write ``meta.json`` into the folder ``path`` (created if needed); returns the dict."""
    p = Path(path)
    p.mkdir(parents=True, exist_ok=True)
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "projner_version": __version__,
        "backend": backend,
        "component": f"projner.tagger.{backend}.v1",
        "labels": list(labels),
        "scheme": scheme,
        **extra,
    }
    with atomic_write(p / META) as fh:
        json.dump(meta, fh, indent=2, ensure_ascii=False, sort_keys=False)
        fh.write("\n")
    return meta


def read_meta(path: str | os.PathLike, backend: str | None = None) -> Mapping[str, Any]:
    """Read and validate ``meta.json``: E143 not a model, E144 other version, E145 other backend."""
    p = Path(path)
    mp = p / META
    if not p.is_dir():
        raise ProjnerError(E.E143, file=str(p), detail="no such folder")
    if not mp.is_file():
        raise ProjnerError(E.E143, file=str(p), detail=f"it has no {META}")
    try:
        meta = json.loads(mp.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ProjnerError(E.E143, file=str(mp), detail=f"{META} is not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ProjnerError(E.E143, file=str(mp), detail=f"{META} does not describe a projner tagger")
    found, found_fmt = str(meta.get("projner_version", "?")), meta.get("format_version", "?")
    if found_fmt != FORMAT_VERSION or _major_minor(found) != _major_minor(__version__):
        raise ProjnerError(
            E.E144, file=str(mp), found=found, found_format=found_fmt,
            expected=__version__, expected_format=FORMAT_VERSION,
        )
    if backend is not None and meta.get("backend") != backend:
        raise ProjnerError(E.E145, file=str(mp), found=meta.get("backend"), expected=backend)
    return meta


def load_tagger(spec: str | os.PathLike, **overrides: Any):
    """Load any saved tagger by reading its ``meta.json``; ``"spacy:NAME"`` wraps an installed
    spaCy pipeline (``overrides`` go to its constructor, e.g. ``label_map``)."""
    s = str(spec)
    if s.startswith(SPACY_PREFIX):
        return taggers.create("projner.tagger.spacy.v1", pipeline=s[len(SPACY_PREFIX):], **overrides)
    meta = read_meta(s)
    backend = str(meta.get("backend"))
    known = taggers.short_names()
    if backend not in known:
        raise ProjnerError(E.E150, backend=backend, known=", ".join(known))
    cls = taggers.get(backend)
    return cls.load(s, **overrides)
