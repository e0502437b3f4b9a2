"""Reading results: a corpus of sentences plus a report of everything done to the input."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from projner.types import Sentence


@dataclass(frozen=True)
class ReadReport:
    """What a reader saw and changed. Every repair and normalisation is counted here."""

    path: str
    format: str
    n_sentences: int = 0
    n_tokens: int = 0
    scheme: str | None = None
    scheme_evidence: Mapping[str, int] = field(default_factory=dict)
    repairs: Mapping[str, int] = field(default_factory=dict)
    repair_examples: tuple[str, ...] = ()
    normalisation: Mapping[str, int] = field(default_factory=dict)
    skipped: Mapping[str, int] = field(default_factory=dict)
    repair_policy: str | None = None
    """The repair policy tags were decoded with (None when the file had no tags)."""

    @property
    def n_repairs(self) -> int:
        return sum(self.repairs.values())

    def to_dict(self) -> dict:
        """Everything in the report, for JSON output."""
        return {
            "path": self.path,
            "format": self.format,
            "n_sentences": self.n_sentences,
            "n_tokens": self.n_tokens,
            "scheme": self.scheme,
            "repair_policy": self.repair_policy,
            "repairs": dict(self.repairs),
            "normalisation": dict(self.normalisation),
            "skipped": dict(self.skipped),
        }

    def summary(self) -> str:
        parts = [f"{self.path}: {self.n_sentences} sentences, {self.n_tokens} tokens ({self.format}"]
        parts[0] += f", scheme {self.scheme})" if self.scheme else ")"
        if self.repairs:
            parts.append("  repairs: " + ", ".join(f"{k}={v}" for k, v in self.repairs.items()))
            parts.extend(f"    e.g. {ex}" for ex in self.repair_examples[:3])
        if self.normalisation:
            parts.append("  normalisation: " + ", ".join(f"{k}={v}" for k, v in self.normalisation.items()))
        if self.skipped:
            parts.append("  skipped: " + ", ".join(f"{k}={v}" for k, v in self.skipped.items()))
        return "\n".join(parts)


@dataclass(frozen=True)
class WriteReport:
    """What a writer wrote and every repair it made to do so (see :mod:`projner.data.tokens`)."""

    path: str
    format: str
    scheme: str
    n_sentences: int = 0
    n_tokens: int = 0
    repairs: Mapping[str, int] = field(default_factory=dict)
    repair_examples: tuple[str, ...] = ()

    def repair_lines(self) -> list[str]:
        """The counted repairs and up to three examples, one line each (none without repairs)."""
        if not self.repairs:
            return []
        return (["  write repairs: " + ", ".join(f"{k}={v}" for k, v in self.repairs.items())]
                + [f"    e.g. {ex}" for ex in self.repair_examples[:3]])



@dataclass(frozen=True)
class Corpus:
    """Sentences read from one file; ``lines[i]`` is the 1-based line where sentence i starts."""

    sentences: tuple[Sentence, ...]
    report: ReadReport
    lines: tuple[int, ...] = ()

    def __len__(self) -> int:
        return len(self.sentences)

    def __iter__(self):
        return iter(self.sentences)

    def __getitem__(self, i: int) -> Sentence:
        return self.sentences[i]

    def line_of(self, i: int) -> int | None:
        return self.lines[i] if i < len(self.lines) else None

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(sorted({s.label for sent in self.sentences for s in sent.spans}))
