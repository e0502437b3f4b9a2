"""Tagging schemes as declarative tables: IOB1, IOB2, BIOES, IO.

Each scheme is a table from tag prefix to a :class:`PrefixRule` saying whether the prefix
opens a span, which prefixes (of the same type) it may continue, and whether it closes the
span it is in. One generic decoder reads the table; invalid sequences follow an explicit
repair policy and every repair is returned, never silently applied:

* ``"begin"`` (default, as conlleval): an ``I-``/``E-`` that cannot continue opens a new
  span; an unterminated BIOES span ends where it stops.
* ``"drop"`` (as seqeval ``mode='strict'``): tokens that cannot continue are dropped (read as
  ``O``); unterminated BIOES spans are dropped.
* ``"error"``: raise :class:`~projner.errors.ProjnerError` (E005).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Literal, Mapping, Sequence

from projner.errors import E, ProjnerError
from projner.types import Span

RepairPolicy = Literal["begin", "drop", "error"]
REPAIR_POLICIES: tuple[str, ...] = ("begin", "drop", "error")
OUTSIDE = "O"


@dataclass(frozen=True)
class PrefixRule:
    opens: Literal["always", "when_new", "never"]
    """``always``: starts a span; ``when_new``: starts one unless it continues; ``never``: must continue."""
    continues: frozenset[str]
    """Prefixes (same type) after which this prefix continues the open span."""
    closes: bool = False
    """The span ends with this token (E-, S-)."""
    must_close: bool = False
    """Spans that contain this prefix need an explicit closing token (BIOES)."""


@dataclass(frozen=True)
class Scheme:
    name: str
    rules: Mapping[str, PrefixRule]
    description: str

    @property
    def prefixes(self) -> frozenset[str]:
        return frozenset(self.rules)


_BI = frozenset({"B", "I"})
SCHEMES: dict[str, Scheme] = {
    "iob1": Scheme(
        "iob1",
        {
            "I": PrefixRule("when_new", _BI),
            "B": PrefixRule("always", frozenset()),
        },
        "CoNLL-2003 original: I- starts a span unless it follows the same type; B- only between two adjacent spans of one type.",
    ),
    "iob2": Scheme(
        "iob2",
        {
            "B": PrefixRule("always", frozenset()),
            "I": PrefixRule("never", _BI),
        },
        "Every span starts with B-; I- continues.",
    ),
    "bioes": Scheme(
        "bioes",
        {
            "B": PrefixRule("always", frozenset(), must_close=True),
            "I": PrefixRule("never", _BI, must_close=True),
            "E": PrefixRule("never", _BI, closes=True),
            "S": PrefixRule("always", frozenset(), closes=True),
        },
        "B- begins, I- inside, E- ends a multi-word span; S- is a single-word span.",
    ),
    "io": Scheme(
        "io",
        {"I": PrefixRule("when_new", frozenset({"I"}))},
        "Only I-: adjacent spans of one type cannot be told apart.",
    ),
}
ALIASES = {"iobes": "bioes", "bilou": "bioes", "bio": "iob2", "iob": "iob2"}
_BILOU = {"L": "E", "U": "S"}


def get_scheme(name: str) -> Scheme:
    key = ALIASES.get(name.lower(), name.lower())
    if key not in SCHEMES:
        raise ProjnerError(E.E004, scheme=name, known=", ".join(sorted(SCHEMES)))
    return SCHEMES[key]


@dataclass(frozen=True)
class Repair:
    """One repaired position: ``kind`` is e.g. ``I_after_O``, ``type_change``, ``unterminated``."""

    kind: str
    index: int
    tag: str
    action: str


@dataclass(frozen=True)
class Decoded:
    spans: tuple[Span, ...]
    repairs: tuple[Repair, ...] = ()


_ALL_PREFIXES = frozenset("BIESLU")


def split_tag(tag: str, scheme: Scheme | None = None) -> tuple[str, str | None]:
    """``"B-PER"`` → ``("B", "PER")``; ``"O"`` → ``("O", None)``. Accepts ``-`` or ``_`` after the prefix.

    Unknown prefixes raise E003; a lower-case prefix or ``o`` raises E023 (never silently a new type).
    With ``scheme=None`` any prefix of a known scheme (B, I, E, S, L, U) is accepted.
    """
    if tag == OUTSIDE:
        return OUTSIDE, None
    if tag == "o":
        raise ProjnerError(E.E023, tag=tag, suggest=OUTSIDE)
    if len(tag) > 2 and tag[1] in "-_":
        prefix, label = tag[0], tag[2:]
        if prefix.islower() and prefix.upper() in _ALL_PREFIXES:
            raise ProjnerError(E.E023, tag=tag, suggest=tag.upper())
        if scheme is None:
            if prefix in _ALL_PREFIXES:
                return prefix, label
        else:
            prefix = _BILOU.get(prefix, prefix) if scheme.name == "bioes" else prefix
            if prefix in scheme.rules:
                return prefix, label
    raise ProjnerError(E.E003, tag=tag, scheme=scheme.name if scheme else "any")


def decode(tags: Sequence[str], scheme: str | Scheme = "iob2", repair: RepairPolicy = "begin") -> Decoded:
    """Tags → spans, with every repair reported. Pure: the input is not modified."""
    sch = scheme if isinstance(scheme, Scheme) else get_scheme(scheme)
    if repair not in REPAIR_POLICIES:
        raise ProjnerError(E.E018, detail=f"repair policy {repair!r}; known: {', '.join(REPAIR_POLICIES)}")
    spans: list[Span] = []
    repairs: list[Repair] = []
    # the open span: start index, label, prefix of the last token, whether it needs closing
    start = -1
    label: str | None = None
    last: str = OUTSIDE
    needs_close = False

    def close(end: int) -> None:
        nonlocal start, label, last, needs_close
        if label is not None:
            if needs_close:
                kind, act = "unterminated", "kept" if repair == "begin" else "dropped"
                if repair == "error":
                    raise ProjnerError(E.E005, detail=f"span of {label} from word {start} is not closed (index {end})")
                repairs.append(Repair(kind, end - 1, f"{last}-{label}", act))
                if repair == "begin":
                    spans.append(Span(start, end, label))
            else:
                spans.append(Span(start, end, label))
        start, label, last, needs_close = -1, None, OUTSIDE, False

    for i, tag in enumerate(tags):
        prefix, typ = split_tag(tag, sch)
        if prefix == OUTSIDE:
            close(i)
            continue
        rule = sch.rules[prefix]
        continuing = label is not None and typ == label and last in rule.continues
        if continuing:
            last = prefix
            needs_close = needs_close or rule.must_close
        elif rule.opens == "never":
            kind = "I_after_O" if label is None else "type_change" if typ != label else "invalid_after_" + last
            if repair == "error":
                raise ProjnerError(E.E005, detail=f"{tag!r} at index {i} cannot continue ({kind})")
            close(i)
            if repair == "drop":
                repairs.append(Repair(kind, i, tag, "dropped"))
                continue
            repairs.append(Repair(kind, i, tag, "begins"))
            start, label, last = i, typ, prefix
            needs_close = rule.must_close and not rule.closes
        else:
            close(i)
            start, label, last = i, typ, prefix
            needs_close = rule.must_close
        if rule.closes and label is not None:
            needs_close = False
            close(i + 1)
    close(len(tags))
    return Decoded(tuple(spans), tuple(repairs))


def encode(spans: Iterable[Span], length: int, scheme: str | Scheme = "iob2") -> tuple[str, ...]:
    """Spans → tags. Spans must not overlap (raises E018). IO merges adjacent same-type spans."""
    sch = scheme if isinstance(scheme, Scheme) else get_scheme(scheme)
    tags = [OUTSIDE] * length
    ordered = sorted(spans, key=lambda s: (s.start, s.end))
    prev: Span | None = None
    for s in ordered:
        if s.end > length:
            raise ProjnerError(E.E018, detail=f"span [{s.start}, {s.end}) exceeds sentence of {length} words")
        if prev is not None and s.start < prev.end:
            raise ProjnerError(E.E018, detail=f"overlapping spans {prev.key} and {s.key} cannot be encoded as tags")
        n = len(s)
        if sch.name == "iob2":
            seq = ["B"] + ["I"] * (n - 1)
        elif sch.name == "bioes":
            seq = ["S"] if n == 1 else ["B"] + ["I"] * (n - 2) + ["E"]
        elif sch.name == "iob1":
            adjacent = prev is not None and prev.end == s.start and prev.label == s.label
            seq = (["B"] if adjacent else ["I"]) + ["I"] * (n - 1)
        else:  # io
            seq = ["I"] * n
        for k, p in enumerate(seq):
            tags[s.start + k] = f"{p}-{s.label}"
        prev = s
    return tuple(tags)


@dataclass(frozen=True)
class Detection:
    scheme: str
    evidence: Mapping[str, int]


def detect_scheme(
    sequences: Iterable[Sequence[str]],
    *,
    where: str = "input",
    tolerance: float = 0.05,
    lines: Sequence[Sequence[int]] | None = None,
) -> Detection:
    """Guess the scheme of tag sequences from how spans begin.

    Counts span openings by ``B-`` after ``O``/another type (IOB2 style) and by ``I-`` after
    ``O``/another type (IOB1/IO style), and any ``E-``/``S-``/``L-``/``U-``. A minority style
    under ``tolerance`` of openings is treated as invalid sequences to repair; above it the
    input is ambiguous and a clear error asks for ``--scheme``. With ``lines`` (the line of each
    tag, parallel to ``sequences``) the error names file ``where`` and the line of the first
    opening in the minority style: the line that makes the input ambiguous.
    """
    ev: Counter[str] = Counter()
    first: dict[str, int] = {}
    line_seqs = iter(lines) if lines is not None else None
    for tags in sequences:
        tag_lines = next(line_seqs) if line_seqs is not None else None
        prev_p, prev_t = OUTSIDE, None
        for k, tag in enumerate(tags):
            p, t = split_tag(tag)
            if p == OUTSIDE:
                prev_p, prev_t = OUTSIDE, None
                continue
            new = prev_p == OUTSIDE or prev_t != t
            if p in "ESLU":
                key = "E/S"
            elif p == "B":
                key = "B_opens" if new else "B_between_same"
            else:
                key = "I_opens" if new else "I_continues"
            ev[key] += 1
            if key not in first and tag_lines is not None and k < len(tag_lines):
                first[key] = tag_lines[k]
            prev_p, prev_t = p, t
    evidence = dict(ev)
    if ev["E/S"]:
        return Detection("bioes", evidence)
    b, i = ev["B_opens"], ev["I_opens"]
    if b == 0 and i == 0:
        return Detection("iob2", evidence)
    if b == 0:
        return Detection("iob1", evidence)
    if i == 0 or i <= tolerance * (b + i):
        return Detection("iob2", evidence)
    if b <= tolerance * (b + i) and ev["B_between_same"] > 0:
        return Detection("iob1", evidence)
    minority = "I_opens" if i <= b else "B_opens"
    detail = f"{b} spans open with B- and {i} with I- (evidence {evidence}); pass --scheme iob1 or --scheme iob2"
    if minority in first:
        style = "I- after O or another type" if minority == "I_opens" else "B- after O or another type"
        raise ProjnerError(E.E011, file=where, line=first[minority], detail=f"the first span opened by {style} is here; {detail}")
    raise ProjnerError(E.E011, detail=f"{where}: {detail}")


def io_merges(spans: Iterable[Span]) -> tuple[tuple[Span, Span], ...]:
    """Pairs of adjacent spans of one type: the IO scheme writes each pair as one span."""
    ordered = sorted(spans, key=lambda s: (s.start, s.end))
    return tuple((a, b) for a, b in zip(ordered, ordered[1:]) if a.end == b.start and a.label == b.label)


def summarize_repairs(repairs: Iterable[Repair]) -> dict[str, int]:
    c: Counter[str] = Counter(f"{r.kind}:{r.action}" for r in repairs)
    return dict(sorted(c.items()))
