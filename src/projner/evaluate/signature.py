"""Score signatures (as sacrebleu): every figure travels with what determines it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from projner import __version__


@dataclass(frozen=True)
class Signature:
    """``projner-eval:1|scheme:iob2|mode:strict|...|version:0.1.0``; fields print in insertion order."""

    kind: str = "projner-eval:1"
    fields: Mapping[str, str] = field(default_factory=dict)

    def with_fields(self, **more: object) -> "Signature":
        merged = dict(self.fields)
        merged.update({k: _fmt(v) for k, v in more.items() if v is not None})
        return Signature(self.kind, merged)

    def __str__(self) -> str:
        parts = [self.kind] + [f"{k}:{v}" for k, v in self.fields.items() if k != "version"]
        return "|".join(parts + [f"version:{self.fields.get('version', __version__)}"])


def _fmt(v: object) -> str:
    if isinstance(v, (list, tuple, set, frozenset)):
        return ",".join(sorted(str(x) for x in v))
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)
