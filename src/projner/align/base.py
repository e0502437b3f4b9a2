"""The aligner interface: batches of tokenised sentence pairs in, one Alignment per pair out."""

from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable

from projner.errors import E, ProjnerError
from projner.types import Alignment


@runtime_checkable
class Aligner(Protocol):
    """Aligns whole corpora at once (never one pair at a time).

    ``align(src, tgt)`` takes two equally long sequences of token sequences and returns one
    :class:`~projner.types.Alignment` per pair, in input order. Empty sentences on either side
    give empty alignments. ``signature()`` names everything that determines the output.
    """

    def align(self, src: Sequence[Sequence[str]], tgt: Sequence[Sequence[str]]) -> list[Alignment]: ...

    def signature(self) -> str: ...


def check_parallel(src: Sequence, tgt: Sequence, src_name: str = "source", tgt_name: str = "target") -> None:
    if len(src) != len(tgt):
        raise ProjnerError(E.E001, a=src_name, na=len(src), b=tgt_name, nb=len(tgt))


def align_corpus(aligner: Aligner, src: Sequence[Sequence[str]], tgt: Sequence[Sequence[str]]) -> list[Alignment]:
    check_parallel(src, tgt)
    out = aligner.align(src, tgt)
    if len(out) != len(src):  # pragma: no cover - guards third-party aligners
        raise ProjnerError(E.E021, detail=f"aligner returned {len(out)} alignments for {len(src)} pairs")
    return out
