"""Alignment precision, recall and AER against gold sure/possible links (Och & Ney 2003).

Gold files are Pharaoh lines where ``i-j`` is a sure link and ``ipj`` a possible one
(sure links are possible too).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from projner.data.textio import read_lines
from projner.errors import E, ProjnerError
from projner.types import Alignment

_INDEX = re.compile(r"[0-9]+", re.ASCII)


@dataclass(frozen=True)
class GoldAlignment:
    sure: frozenset[tuple[int, int]]
    possible: frozenset[tuple[int, int]]  # includes sure


def parse_gold_line(line: str, *, path: str = "<string>", lineno: int | None = None) -> GoldAlignment:
    sure, possible = set(), set()
    for item in line.split():
        sep = "p" if "p" in item else "-"
        a, _, b = item.partition(sep)
        if not (_INDEX.fullmatch(a) and _INDEX.fullmatch(b)):  # ASCII digits only (str.isdigit takes '²')
            raise ProjnerError(E.E012, file=path, line=lineno, detail=f"bad gold link {item!r}")
        link = (int(a), int(b))
        possible.add(link)
        if sep == "-":
            sure.add(link)
    return GoldAlignment(frozenset(sure), frozenset(possible))


def read_gold_alignments(path: str) -> tuple[GoldAlignment, ...]:
    return tuple(parse_gold_line(ln, path=path, lineno=i) for i, ln in enumerate(read_lines(path, allow_empty=True), 1))


@dataclass(frozen=True)
class AlignmentScores:
    precision: float
    recall: float
    aer: float
    f1: float
    n_pred: int
    n_sure: int

    def to_dict(self) -> dict:
        return dict(precision=self.precision, recall=self.recall, aer=self.aer, f1=self.f1, n_pred=self.n_pred, n_sure=self.n_sure)


def alignment_scores(pred: Sequence[Alignment], gold: Sequence[GoldAlignment]) -> AlignmentScores:
    if len(pred) != len(gold):
        raise ProjnerError(E.E001, a="predicted alignments", na=len(pred), b="gold alignments", nb=len(gold))
    a_s = a_p = n_a = n_s = 0
    for al, g in zip(pred, gold):
        pairs = al.pairs
        a_s += len(pairs & g.sure)
        a_p += len(pairs & g.possible)
        n_a += len(pairs)
        n_s += len(g.sure)
    precision = a_p / n_a if n_a else 0.0
    recall = a_s / n_s if n_s else 0.0
    aer = 1.0 - (a_s + a_p) / (n_a + n_s) if n_a + n_s else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return AlignmentScores(precision, recall, aer, f1, n_a, n_s)
