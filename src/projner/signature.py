"""Signatures (as sacrebleu): every figure and every component travels with what determines it.

One builder for all of them, one form: ``key:value`` fields joined by ``|``.

* a figure: :class:`Signature` (``projner-eval:1|scheme:iob2|...|version:0.1.0``);
* a component (aligner, projector, translator, score): :func:`component_signature`
  (``aligner:eflomal-2.0.0|model:3|...``, ``method:heuristic|gap:1|...``); a component's
  signature inside another's field is bracketed by :func:`nest`
  (``method:markers|...|translator:(translator:ct2|model:...)``);
* a projection as ``projner project`` prints it: :func:`project_signature`, the one place that
  adds ``projner-project:1`` and the version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

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


PROJECT = "projner-project:1"


def component_signature(kind: str, name: object, /, **fields: object) -> str:
    """``kind:name|key:value|...``: a component's settings, fields in the order given.

    Values print as in :class:`Signature` (floats ``:g``, booleans ``yes``/``no``, sequences
    sorted and comma-joined); ``None`` is left out; ``_`` in a key prints as ``-``
    (``copy_dict`` → ``copy-dict``).
    """
    parts = [f"{kind}:{_fmt(name)}"]
    parts += [f"{k.replace('_', '-')}:{_fmt(v)}" for k, v in fields.items() if v is not None]
    return "|".join(parts)


def nest(signature: str) -> str:
    """A signature as the value of another's field: ``(translator:ct2|model:...)``."""
    return f"({signature})"


def project_signature(*parts: str) -> str:
    """``projner-project:1|PART|...|version:V``: a projection as ``projner project`` (and ``projner
    inspect``, the demo) signs it; ``parts`` are component signatures (the projector's, and the
    aligner's where the projection aligned too)."""
    return "|".join([PROJECT, *parts, f"version:{__version__}"])


def _fmt(v: object) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (list, tuple, set, frozenset)):
        return ",".join(sorted(str(x) for x in v))
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def side_value(gold: str | None, pred: str | None) -> str:
    """One signature value for both inputs: ``iob2`` when they agree, else ``gold=iob1,pred=iob2``."""
    return gold if gold == pred and gold is not None else f"gold={gold},pred={pred}"


def reading_fields(gold_report: Any = None, pred_report: Any = None) -> dict[str, str]:
    """``scheme`` and ``repair`` as the readers found and applied them, per input.

    A side read from a tagged file gives its detected (or given) scheme and the repair policy it
    was decoded with; a file without tags gives ``none``; a side given as spans, not read from a
    file (no report), gives ``spans`` and ``none``.
    """

    def scheme(rep: Any) -> str:
        return "spans" if rep is None else rep.scheme or "none"

    def repair(rep: Any) -> str:
        return "none" if rep is None else getattr(rep, "repair_policy", None) or "none"

    return {
        "scheme": side_value(scheme(gold_report), scheme(pred_report)),
        "repair": side_value(repair(gold_report), repair(pred_report)),
    }
