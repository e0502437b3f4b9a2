"""Validators of experiment configs: each returns the cleaned value or raises E200 naming the
key path (``grid.aligners[1]: unknown aligner 'foo'``); :mod:`projner.pipeline.experiment`
builds its schema from them."""

from __future__ import annotations

import re
from typing import Any, Callable, Mapping, Sequence

from projner.errors import E, ProjnerError
from projner.pipeline.config_check import did_you_mean

def _fail(path: str, detail: str, file: str | None = None):
    raise ProjnerError(E.E200, file=file, path=path or "(top)", detail=detail)


def _tname(x: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", int: "an integer", float: "a number",
            bool: "true/false", type(None): "null"}.get(type(x), type(x).__name__)


class _V:
    """Tiny validators; each returns the cleaned value or raises E200 with the key path."""

    def __init__(self, file: str | None):
        self.file = file

    def fail(self, path: str, detail: str):
        _fail(path, detail, self.file)

    def str_(self, v, path, choices: Sequence[str] | None = None, what: str = "value"):
        if not isinstance(v, str):
            self.fail(path, f"expected a string, got {_tname(v)}")
        if choices is not None and v not in choices:
            self.fail(path, f"unknown {what} {v!r}{did_you_mean(v, choices)}; known: {', '.join(choices)}")
        return v

    def opt_str(self, v, path):
        return None if v is None else self.str_(v, path)

    def bool_(self, v, path):
        if not isinstance(v, bool):
            self.fail(path, f"expected true/false, got {_tname(v)}")
        return v

    def int_(self, v, path, minimum: int | None = None, optional: bool = False):
        if v is None and optional:
            return None
        if isinstance(v, bool) or not isinstance(v, int):
            self.fail(path, f"expected an integer, got {_tname(v)}")
        if minimum is not None and v < minimum:
            self.fail(path, f"must be >= {minimum}, got {v}")
        return v

    def num(self, v, path, lo: float | None = None, hi: float | None = None):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            self.fail(path, f"expected a number, got {_tname(v)}")
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            self.fail(path, f"must be in [{lo}, {hi}], got {v}")
        return float(v)

    def mapping(self, v, path, keys: Mapping[str, Callable[[Any, str], Any]], required: Sequence[str] = ()):
        if not isinstance(v, dict):
            self.fail(path, f"expected a mapping, got {_tname(v)}")
        out = {}
        for k in v:
            if not isinstance(k, str) or k not in keys:
                self.fail(_join(path, str(k)), f"unknown key; allowed here: {', '.join(keys)}")
        for k in required:
            if k not in v:
                self.fail(_join(path, k), "required key is missing")
        for k, check in keys.items():
            if k in v:
                out[k] = check(v[k], _join(path, k))
        return out

    def params(self, v, path):
        if v is None:
            return {}
        if not isinstance(v, dict) or not all(isinstance(k, str) for k in v):
            self.fail(path, f"expected a mapping of parameter names to values, got {_tname(v)}")
        for k, x in v.items():
            if not isinstance(x, (str, int, float, bool, type(None), list)):
                self.fail(_join(path, k), f"parameter values must be scalars or lists, got {_tname(x)}")
        return dict(v)

    def list_(self, v, path, item: Callable[[Any, str], Any], nonempty: bool = True):
        if not isinstance(v, list):
            self.fail(path, f"expected a list, got {_tname(v)}")
        if nonempty and not v:
            self.fail(path, "must not be empty")
        return [item(x, f"{path}[{i}]") for i, x in enumerate(v)]

    def named(self, v, path, entry: Callable[[Any, str], Any]):
        if v is None:
            return {}
        if not isinstance(v, dict):
            self.fail(path, f"expected a mapping of names to definitions, got {_tname(v)}")
        out = {}
        for k, x in v.items():
            if not isinstance(k, str) or not re.fullmatch(r"[A-Za-z0-9_.+\-]+", k):
                self.fail(_join(path, str(k)), "names use letters, digits and _ . + - only")
            out[k] = entry(x, _join(path, k))
        return out


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
