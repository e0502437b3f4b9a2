"""Writers for labelled sentences: CoNLL-like columns, HF-style JSONL, pre-tokenised text.

Every sentence read is a sentence written, so outputs stay line-parallel to their inputs: an
empty sentence is an empty line in ``txt``, ``"tokens": []`` in JSONL, and the marker block
``-EMPTY-<TAB>O`` in CoNLL (see :data:`projner.data.tokens.EMPTY_MARKER`). Tokens a format
cannot hold are an error (E024) or, with ``unsafe_tokens="replace"``, a counted repair (see
:mod:`projner.data.tokens`). The IO scheme cannot tell adjacent spans of one type apart; each
such pair written as one span is counted too. Tokens of unknown tag (``Sentence.unknown``, partial
labels) are the column ``"unknown"`` in JSONL; CoNLL cannot hold them: they are written as ``O`` and
counted (``unknown_tokens_written_as_O``), or an error (E130) where no report is returned
(:func:`format_corpus`). Counts are in the :class:`WriteReport`.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from typing import Any, Iterable

from projner.data.corpus import Corpus, WriteReport
from projner.data.schemes import OUTSIDE, Scheme, encode, get_scheme, io_merges
from projner.data.textio import atomic_write
from projner.data.tokens import DOCSTART, EMPTY_MARKER, UNSAFE_POLICIES, make_safe, unsafe_reason
from projner.errors import E, ProjnerError
from projner.types import Sentence

_HINT = "clean the input, write JSONL, or pass --unsafe-tokens replace to `projner convert` (each such character becomes '_', counted)"
_RESERVED_HINT = "the token is reserved in CoNLL; write JSONL instead"


class _Writer:
    def __init__(self, fmt: str, scheme: Scheme, sep: str, unsafe_tokens: str, where, unknown: str = "count") -> None:
        if unsafe_tokens not in UNSAFE_POLICIES:
            raise ProjnerError(E.E018, detail=f"unsafe_tokens {unsafe_tokens!r}; known: {', '.join(UNSAFE_POLICIES)}")
        if fmt == "conll" and (not sep or not sep.isspace() or "\n" in sep or "\r" in sep):
            raise ProjnerError(E.E018, detail=f"CoNLL column separator {sep!r}: use a TAB or spaces")
        self.fmt, self.scheme, self.sep, self.unsafe, self.unknown = fmt, scheme, sep, unsafe_tokens, unknown
        self.where = where  # i -> (file, line) for errors and examples
        self.repairs: Counter[str] = Counter()
        self.examples: list[str] = []

    def _place(self, i: int) -> str:
        file, line = self.where(i)
        return f"{file}:{line}" if line is not None else f"{file} (sentence {i + 1})"

    def _error(self, i: int, k: int, token: str, reason: str, hint: str) -> ProjnerError:
        file, line = self.where(i)
        return ProjnerError(E.E024, file=file, line=line, token=token, sentence=i + 1, word=k + 1,
                            fmt=self.fmt, reason=reason, hint=hint)

    def _note(self, key: str, example: str) -> None:
        self.repairs[key] += 1
        if len(self.examples) < 10:
            self.examples.append(example)

    def tokens(self, i: int, sent: Sentence) -> list[str]:
        out = []
        for k, tok in enumerate(sent.tokens):
            reason = unsafe_reason(tok, self.fmt, self.sep)
            if reason is not None:
                if self.unsafe == "error":
                    raise self._error(i, k, tok, reason, _HINT)
                safe = make_safe(tok, self.fmt, self.sep)
                self._note("unsafe_token_chars_replaced", f"{self._place(i)}: word {k + 1} {tok!r} -> {safe!r}")
                tok = safe
            out.append(tok)
        if self.fmt == "conll":
            if out and out[0] == DOCSTART:
                raise self._error(i, 0, out[0], "as the first column it marks a document start and readers skip it", _RESERVED_HINT)
            if out == [EMPTY_MARKER] and not sent.spans:
                raise self._error(i, 0, out[0], "alone in a sentence and tagged O it is the CoNLL marker of an empty sentence", _RESERVED_HINT)
        return out

    def render(self, i: int, sent: Sentence) -> str:
        if self.scheme.name == "io":
            for a, b in io_merges(sent.spans):
                self._note("io_merged_adjacent_spans",
                           f"{self._place(i)}: {a.label} words {a.start + 1}-{a.end} and {b.start + 1}-{b.end} become one span")
        tags = encode(sent.spans, len(sent), self.scheme)
        toks = self.tokens(i, sent)
        if self.fmt == "conll":
            if sent.unknown:
                self._unknown_as_o(i, sent)
            if not toks:
                return f"{EMPTY_MARKER}{self.sep}{OUTSIDE}\n\n"
            return "".join(f"{tok}{self.sep}{tag}\n" for tok, tag in zip(toks, tags)) + "\n"
        if self.fmt == "jsonl":
            obj = {"tokens": toks, "ner_tags": list(tags)}
            if sent.id is not None:
                obj = {"id": sent.id, **obj}
            if sent.unknown:
                obj["unknown"] = list(sent.unknown)
            return json.dumps(obj, ensure_ascii=False) + "\n"
        if self.fmt == "txt":
            return " ".join(toks) + "\n"
        raise ProjnerError(E.E013, fmt=self.fmt, known="conll, jsonl, txt")

    def _unknown_as_o(self, i: int, sent: Sentence) -> None:
        if self.unknown == "error":
            file, line = self.where(i)
            raise ProjnerError(E.E130, file=file, line=line, sentence=i + 1, n=len(sent.unknown), fmt=self.fmt,
                               hint="write JSONL (it keeps them as the column \"unknown\") or use write_corpus_report, which writes them as O and counts them")
        self.repairs["unknown_tokens_written_as_O"] += len(sent.unknown)
        if len(self.examples) < 10:
            self.examples.append(f"{self._place(i)}: {len(sent.unknown)} unknown-tag token(s) (words "
                                 f"{', '.join(str(k + 1) for k in sent.unknown[:5])}{' …' if len(sent.unknown) > 5 else ''}) written as O")


def _where(path: str, source: Corpus | None):
    if source is None:
        return lambda i: (path, None)
    return lambda i: (source.report.path, source.line_of(i))


def write_corpus_report(
    path: str | os.PathLike,
    sentences: Iterable[Sentence],
    fmt: str | None = None,
    scheme: str = "iob2",
    sep: str = "\t",
    *,
    unsafe_tokens: str = "error",
    source: Corpus | None = None,
) -> WriteReport:
    """Write sentences atomically (nothing is left at ``path`` on an error) and report.

    ``source``: the corpus the sentences were read from (same order); errors and repair examples
    then name its file and lines instead of the output file and a sentence number.
    """
    from projner.data.formats import _check_format, detect_format

    fmt = _check_format(fmt or detect_format(path))
    if fmt == "pharaoh":
        raise ProjnerError(E.E013, fmt="pharaoh (alignments, not sentences)", known="conll, jsonl, txt")
    sch = get_scheme(scheme)
    w = _Writer(fmt, sch, sep, unsafe_tokens, _where(str(path), source))
    n = n_tokens = 0
    with atomic_write(path) as fh:
        for i, sent in enumerate(sentences):
            fh.write(w.render(i, sent))
            n += 1
            n_tokens += len(sent)
    return WriteReport(str(path), fmt, sch.name, n, n_tokens, dict(sorted(w.repairs.items())), tuple(w.examples))


def write_corpus(path: str | os.PathLike, sentences: Iterable[Sentence], *args: Any, **kwargs: Any) -> int:
    """Write sentences atomically; returns the number written (every sentence, empty ones too).

    The arguments of :func:`write_corpus_report` (``fmt``, ``scheme``, ``sep``, ``unsafe_tokens``,
    ``source``); CoNLL writes ``token<sep>tag``. Use :func:`write_corpus_report` to see the counted
    repairs (``unsafe_tokens="replace"``, adjacent same-type spans merged by ``scheme="io"``).
    """
    return write_corpus_report(path, sentences, *args, **kwargs).n_sentences


def format_corpus(sentences: Iterable[Sentence], fmt: str, scheme: str = "iob2", sep: str = "\t") -> str:
    """The whole text :func:`write_corpus` writes for these sentences (unsafe tokens raise E024; so
    that nothing is lost uncounted, unknown-tag tokens raise E130 in CoNLL)."""
    w = _Writer(fmt, get_scheme(scheme), sep, "error", lambda i: ("<sentences>", None), unknown="error")
    return "".join(w.render(i, s) for i, s in enumerate(sentences))
