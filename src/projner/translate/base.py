"""The one translator interface, shared helpers, and the adapter to candidate matching's score.

Every backend translates *batches* (never one sentence at a time) and returns
:class:`Translation` objects whose ``score`` is the length-normalised log-probability of the
output (mean log-probability per target subword token, end-of-sentence included, forced
language token excluded) when the backend can compute it. ``score()`` gives the same quantity
for given targets by forced decoding.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Sequence, TypeVar

from projner.errors import E, ProjnerError

T = TypeVar("T")


@dataclass(frozen=True)
class Translation:
    """One translation: the text, and its mean log-probability per target token (None when unknown)."""

    text: str
    score: float | None = None


class Translator(ABC):
    """Batched translation and forced-decoding scores between two languages (codes as in langcodes)."""

    name: str = "translator"

    @abstractmethod
    def translate(self, sentences: Sequence[str], src: str, tgt: str) -> list[Translation]:
        """Translate all ``sentences``; the output list is in input order."""

    def score(self, src_texts: Sequence[str], tgt_texts: Sequence[str], src: str, tgt: str) -> list[float]:
        """Mean log-probability per target token of each ``tgt_texts[i]`` given ``src_texts[i]``."""
        raise ProjnerError(E.E186, backend=self.name, what="score translations", detail="it has no model probabilities")

    @abstractmethod
    def signature(self) -> str:
        """Settings that determine the output, e.g. ``translator:seq2seq|model:...|beam:4|max-length:256``
        (built with :func:`projner.signature.component_signature`)."""


def check_texts(texts: Sequence[str], what: str = "sentences") -> list[str]:
    """A list of strings, or E185 naming the first offending item."""
    if isinstance(texts, str):
        raise ProjnerError(E.E185, detail=f"{what} must be a sequence of strings, not one string")
    out = list(texts)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise ProjnerError(E.E185, detail=f"{what}[{i}] is {type(t).__name__}, not str")
    return out


def check_pairs(src_texts: Sequence[str], tgt_texts: Sequence[str]) -> tuple[list[str], list[str]]:
    s, t = check_texts(src_texts, "src_texts"), check_texts(tgt_texts, "tgt_texts")
    if len(s) != len(t):
        raise ProjnerError(E.E001, a="src_texts", na=len(s), b="tgt_texts", nb=len(t))
    return s, t


def batches_by_length(lengths: Sequence[int], batch_size: int) -> Iterator[list[int]]:
    """Indices grouped into batches of similar length (longest first); callers restore input order."""
    if batch_size < 1:
        raise ProjnerError(E.E185, detail=f"batch_size must be >= 1, got {batch_size}")
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    for k in range(0, len(order), batch_size):
        yield order[k : k + batch_size]


def split_long(words: list[str], n_tokens: Sequence[int], limit: int) -> list[tuple[int, int]]:
    """Cut a word list into consecutive ``[start, end)`` chunks whose token counts fit ``limit``.

    Prefers cutting after sentence punctuation (``. ; : ? !``), then after commas, else where the
    limit is reached. A single word longer than the limit is its own chunk (the caller reports it).
    """
    chunks: list[tuple[int, int]] = []
    start = 0
    while start < len(words):
        total, end = 0, start
        while end < len(words) and total + n_tokens[end] <= limit:
            total += n_tokens[end]
            end += 1
        if end == start:
            end = start + 1
        elif end < len(words):
            for marks in (".;:?!", ",)"):
                cut = next((j + 1 for j in range(end - 1, start, -1) if words[j] and words[j][-1] in marks), None)
                if cut is not None and cut - start >= max(1, (end - start) // 3):
                    end = cut
                    break
        chunks.append((start, end))
        start = end
    return chunks


@dataclass
class TranslatorScoreModel:
    """Adapts a :class:`Translator` to candidate matching's ``TranslationModel`` protocol.

    ``score(source_text, candidate_text)`` is ``exp`` of the translator's length-normalised
    log-probability: the per-token geometric-mean probability, in (0, 1], so it mixes with the
    other [0, 1] scores. Scores are cached; :meth:`prefetch` computes many pairs in one batch.
    """

    translator: Translator
    src: str
    tgt: str
    cache: dict[tuple[str, str], float] = field(default_factory=dict)

    def prefetch(self, pairs: Iterable[tuple[str, str]]) -> None:
        todo = list(dict.fromkeys(p for p in pairs if p not in self.cache))
        if not todo:
            return
        logps = self.translator.score([a for a, _ in todo], [b for _, b in todo], self.src, self.tgt)
        for p, lp in zip(todo, logps, strict=True):
            self.cache[p] = math.exp(lp) if math.isfinite(lp) else 0.0

    def score(self, source_text: str, candidate_text: str) -> float:
        key = (source_text, candidate_text)
        if key not in self.cache:
            self.prefetch([key])
        return self.cache[key]


def join_pieces(owner, results, with_scores: bool) -> list["Translation"]:
    """Reassemble sentences that were translated as pieces (long inputs split at punctuation).

    ``owner[i]`` lists the piece indices of sentence ``i``; ``results[p]`` is (text, summed
    log-probability, scored tokens). The sentence score is the token-weighted mean.
    """
    out: list[Translation] = []
    for mine in owner:
        if not mine:
            out.append(Translation("", None))
            continue
        text = " ".join(results[p][0] for p in mine if results[p][0])
        tot = sum(results[p][1] for p in mine)
        cnt = sum(results[p][2] for p in mine)
        out.append(Translation(text, (tot / cnt) if (with_scores and cnt) else None))
    return out
