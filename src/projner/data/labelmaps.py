"""Label maps: pure functions from spans to spans, by name or from a file.

A map sends each source label to a target label or to ``O`` (the span is removed). A label
that the map does not mention raises E015 unless the map has a default (``*``).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

from projner.data.textio import read_lines
from projner.errors import E, ProjnerError
from projner.types import Sentence, Span

OUT = "O"


@dataclass(frozen=True)
class LabelMap:
    name: str
    table: Mapping[str, str]
    default: str | None = None  # for labels not in the table; None: unknown labels are an error

    def target(self, label: str) -> str:
        if label in self.table:
            return self.table[label]
        if self.default is not None:
            return label if self.default == "=" else self.default
        raise ProjnerError(E.E015, detail=f"label {label!r} is not covered by map {self.name!r} (known: {', '.join(sorted(self.table))})")

    def map_spans(self, spans: Iterable[Span], counts: Counter | None = None) -> tuple[Span, ...]:
        out = []
        for s in spans:
            t = self.target(s.label)
            if counts is not None:
                counts[f"{s.label}->{t}"] += 1
            if t != OUT:
                out.append(s if t == s.label else s.with_label(t))
        return tuple(out)

    def map_sentences(self, sentences: Iterable[Sentence]) -> tuple[tuple[Sentence, ...], dict[str, int]]:
        counts: Counter[str] = Counter()
        out = tuple(sent.with_spans(self.map_spans(sent.spans, counts)) for sent in sentences)
        return out, dict(sorted(counts.items()))

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(sorted({v for v in self.table.values() if v != OUT}))


_ONTONOTES_CONLL = {
    "PERSON": "PER", "PER": "PER",
    "ORG": "ORG",
    "GPE": "LOC", "LOC": "LOC", "FAC": "LOC",
    "NORP": "MISC", "EVENT": "MISC", "WORK_OF_ART": "MISC", "LAW": "MISC", "PRODUCT": "MISC", "LANGUAGE": "MISC",
    "DATE": OUT, "TIME": OUT, "PERCENT": OUT, "MONEY": OUT, "QUANTITY": OUT, "ORDINAL": OUT, "CARDINAL": OUT,
}
_ONTONOTES_MASAKHANER = {**_ONTONOTES_CONLL, "DATE": "DATE", **{k: OUT for k, v in _ONTONOTES_CONLL.items() if v == "MISC"}}

NAMED_MAPS: dict[str, LabelMap] = {
    "ontonotes->conll": LabelMap("ontonotes->conll", _ONTONOTES_CONLL),
    "ontonotes->masakhaner": LabelMap("ontonotes->masakhaner", _ONTONOTES_MASAKHANER),
    "conll->masakhaner": LabelMap("conll->masakhaner", {"PER": "PER", "ORG": "ORG", "LOC": "LOC", "MISC": OUT, "DATE": "DATE"}),
    "conll->per-org-loc": LabelMap("conll->per-org-loc", {"PER": "PER", "ORG": "ORG", "LOC": "LOC", "MISC": OUT, "DATE": OUT}),
    "masakhaner->per-org-loc": LabelMap("masakhaner->per-org-loc", {"PER": "PER", "ORG": "ORG", "LOC": "LOC", "DATE": OUT, "MISC": OUT}),
}


def load_label_map(spec: str) -> LabelMap:
    """A named map, or a file: JSON object ``{"SRC": "TGT"}`` or lines ``SRC<ws>TGT`` (``*`` sets the default)."""
    if spec in NAMED_MAPS:
        return NAMED_MAPS[spec]
    p = Path(spec)
    if not p.exists():
        raise ProjnerError(E.E014, name=spec, known=", ".join(sorted(NAMED_MAPS)))
    lines = read_lines(p)
    table: dict[str, str] = {}
    if lines and lines[0].lstrip().startswith("{"):
        try:
            obj = json.loads("\n".join(lines))
        except json.JSONDecodeError as exc:
            raise ProjnerError(E.E015, file=str(p), line=exc.lineno, detail=exc.msg) from None
        if not isinstance(obj, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in obj.items()):
            raise ProjnerError(E.E015, file=str(p), detail="expected a JSON object of label -> label strings")
        table = dict(obj)
    else:
        for i, ln in enumerate(lines, 1):
            if not ln.strip() or ln.lstrip().startswith("#"):
                continue
            parts = ln.split()
            if len(parts) != 2:
                raise ProjnerError(E.E015, file=str(p), line=i, detail=f"expected 'SOURCE TARGET', got {ln!r}")
            table[parts[0]] = parts[1]
    default = table.pop("*", None)
    return LabelMap(p.name, table, default)
