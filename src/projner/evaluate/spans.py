"""Strict span-level precision, recall and F1: a predicted span counts only when its
boundaries and type equal a gold span's. Equal to seqeval ``mode='strict'`` when both sides
were decoded with the same scheme and repair policy (tested)."""

from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from projner.errors import E, ProjnerError
from projner.signature import Signature, reading_fields
from projner.types import Sentence


@dataclass(frozen=True)
class TypeScores:
    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int

    @property
    def support(self) -> int:
        return self.tp + self.fn

    @classmethod
    def from_counts(cls, tp: int, fp: int, fn: int) -> "TypeScores":
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return cls(p, r, f, tp, fp, fn)


@dataclass(frozen=True)
class SpanScores:
    micro: TypeScores
    per_type: Mapping[str, TypeScores]
    n_sentences: int
    signature: str
    ci: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    inputs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Per input read from a file (``gold``, ``pred``): its reading report, repairs included."""

    @property
    def precision(self) -> float:
        return self.micro.precision

    @property
    def recall(self) -> float:
        return self.micro.recall

    @property
    def f1(self) -> float:
        return self.micro.f1

    @property
    def macro_f1(self) -> float:
        vals = [t.f1 for t in self.per_type.values() if t.support > 0]
        return float(np.mean(vals)) if vals else 0.0

    def to_dict(self) -> dict:
        d = {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "macro_f1": self.macro_f1,
            "tp": self.micro.tp,
            "fp": self.micro.fp,
            "fn": self.micro.fn,
            "n_sentences": self.n_sentences,
            "per_type": {k: {**asdict(v), "support": v.support} for k, v in self.per_type.items()},
            "signature": self.signature,
        }
        if self.ci:
            d["ci"] = {k: list(v) for k, v in self.ci.items()}
        if self.inputs:
            d["repairs"] = {side: dict(rep.get("repairs", {})) for side, rep in self.inputs.items()}
            d["inputs"] = {side: dict(rep) for side, rep in self.inputs.items()}
        return d

    def format(self) -> str:
        lines = [f"{'type':<8} {'prec':>7} {'rec':>7} {'f1':>7} {'support':>8}"]
        for k, v in self.per_type.items():
            lines.append(f"{k:<8} {v.precision:7.4f} {v.recall:7.4f} {v.f1:7.4f} {v.support:8d}")
        m = self.micro
        lines.append(f"{'micro':<8} {m.precision:7.4f} {m.recall:7.4f} {m.f1:7.4f} {m.support:8d}")
        lines.append(f"{'macro':<8} {'':>7} {'':>7} {self.macro_f1:7.4f}")
        if "f1" in self.ci:
            lo, hi = self.ci["f1"]
            lines.append(f"F1 95% bootstrap CI: [{lo:.4f}, {hi:.4f}]")
        lines.append(self.signature)
        return "\n".join(lines)


def _at(name: str, lines: Sequence[int] | None, i: int) -> str:
    return f"{name}:{lines[i]}" if lines is not None and i < len(lines) else name


def _check_pairing(
    gold: Sequence[Sentence],
    pred: Sequence[Sentence],
    gold_name: str,
    pred_name: str,
    gold_lines: Sequence[int] | None = None,
    pred_lines: Sequence[int] | None = None,
) -> None:
    """Same sentences, same tokens (equal after NFC). The error names the first differing
    sentence and where it starts in both files (when their lines are known)."""
    if len(gold) != len(pred):
        raise ProjnerError(E.E016, detail=f"{gold_name} has {len(gold)} sentences, {pred_name} has {len(pred)}")
    for i, (g, p) in enumerate(zip(gold, pred)):
        if g.tokens == p.tokens:
            continue
        file = gold_name if gold_lines is not None else None
        line = gold_lines[i] if gold_lines is not None and i < len(gold_lines) else None
        where = f"(gold {_at(gold_name, gold_lines, i)}, pred {_at(pred_name, pred_lines, i)})"
        if len(g) != len(p):
            raise ProjnerError(
                E.E016, file=file, line=line,
                detail=f"sentence {i + 1} has {len(g)} tokens in {gold_name} and {len(p)} in {pred_name} {where}",
            )
        for k, (a, b) in enumerate(zip(g.tokens, p.tokens)):
            if a != b and unicodedata.normalize("NFC", a) != unicodedata.normalize("NFC", b):
                raise ProjnerError(
                    E.E016, file=file, line=line,
                    detail=f"sentence {i + 1} {where}, word {k + 1}: {a!r} in gold, {b!r} in pred "
                    "(tokens must be equal, after NFC)",
                )


def _counts(gold: Sequence[Sentence], pred: Sequence[Sentence], labels: frozenset[str] | None):
    """Per sentence, per type: (tp, fp, fn) as an array [n_sent, n_types, 3]."""
    types = sorted(
        labels
        if labels is not None
        else {s.label for sent in gold for s in sent.spans} | {s.label for sent in pred for s in sent.spans}
    )
    index = {t: k for k, t in enumerate(types)}
    arr = np.zeros((len(gold), len(types), 3), dtype=np.int64)
    for i, (g, p) in enumerate(zip(gold, pred)):
        gk = {s.key for s in g.spans if s.label in index}
        pk = {s.key for s in p.spans if s.label in index}
        for key in gk & pk:
            arr[i, index[key[2]], 0] += 1
        for key in pk - gk:
            arr[i, index[key[2]], 1] += 1
        for key in gk - pk:
            arr[i, index[key[2]], 2] += 1
    return types, arr


def evaluate_spans(
    gold: Sequence[Sentence],
    pred: Sequence[Sentence],
    *,
    labels: Iterable[str] | None = None,
    scheme: str | None = None,
    repair: str | None = None,
    bootstrap: int = 0,
    seed: int = 12345,
    gold_name: str = "gold",
    pred_name: str = "pred",
    extra_signature: Mapping[str, object] | None = None,
    gold_report: Any = None,
    pred_report: Any = None,
    gold_lines: Sequence[int] | None = None,
    pred_lines: Sequence[int] | None = None,
) -> SpanScores:
    """Strict span P/R/F1, micro and per type; spans of other types than ``labels`` are ignored.

    Both sides must hold the same sentences with the same tokens (equal after NFC), else E016
    names the first differing sentence (with its lines when ``gold_lines``/``pred_lines``, the
    :attr:`Corpus.lines`, are given). ``bootstrap`` > 0 adds a 95% percentile confidence
    interval from resampling sentences.

    The signature states how each side was read: pass the :class:`ReadReport` of a side read
    from a file (``gold_report``, ``pred_report``); its scheme, repair policy and repair counts
    are then stated (``scheme:iob2`` when both agree, else ``scheme:gold=iob1,pred=iob2``; a
    side without report is ``spans``). ``scheme``/``repair`` given explicitly override them.
    """
    _check_pairing(gold, pred, gold_name, pred_name, gold_lines, pred_lines)
    label_set = frozenset(labels) if labels is not None else None
    types, arr = _counts(gold, pred, label_set)
    tot = arr.sum(axis=0)
    per_type = {t: TypeScores.from_counts(*map(int, tot[k])) for k, t in enumerate(types)}
    micro = TypeScores.from_counts(*map(int, tot.sum(axis=0))) if types else TypeScores.from_counts(0, 0, 0)
    read = reading_fields(gold_report, pred_report)
    sig = Signature().with_fields(
        scheme=read["scheme"] if scheme is None else scheme, mode="strict",
        repair=read["repair"] if repair is None else repair, labels=types or ["none"],
    )
    if extra_signature:
        sig = sig.with_fields(**extra_signature)
    ci: dict[str, tuple[float, float]] = {}
    if bootstrap > 0 and len(gold) > 0:
        from projner.evaluate.bootstrap import prf_intervals  # (it reads this module's _counts)

        ci = prf_intervals(arr.sum(axis=1), bootstrap, seed)  # per-sentence [n_sent, 3] counts
        sig = sig.with_fields(bootstrap=f"{bootstrap}x{seed}")
    inputs = {side: rep.to_dict() for side, rep in (("gold", gold_report), ("pred", pred_report)) if rep is not None}
    return SpanScores(micro, per_type, len(gold), str(sig), ci, inputs)

