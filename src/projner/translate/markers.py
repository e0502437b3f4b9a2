"""EasyProject-style markers (Chen et al., 2023), the translation side: mark, then decode markers.

Each source entity is wrapped in markers, the marked sentence is translated, and the markers
are found again in the translation; the words between them form the projected entity (the
projection itself — assigning marker pairs to entities, :class:`~projner.project.markers.MarkerProjector`,
:func:`~projner.project.markers.marker_stats` — is in :mod:`projner.project.markers`).
Styles:

``brackets`` (default, EasyProject)  ``[ John Smith ]``; which entity a bracket pair belongs to is
                                       decided by fuzzy matching (:mod:`projner.project.markers`).
``typed``                              ``<PER> John Smith </PER>``; the tag must match the entity type.
``numbered``                           ``<1> John Smith </1>``; the number identifies the entity.

Decoding tolerates what MT does to markers: spacing (``[ X ]`` → ``[X]``), other bracket glyphs
(``【X】``, ``［X］``, ``〔X〕``, ``⟦X⟧``), tag case and spacing (``< per >``), a missing closing
marker (the span runs to the next marker, cut to the entity's expected length), a missing opening
marker (likewise, backwards), merged or duplicated markers (one bracket pair can go to one entity
only; spare pairs are counted as ``extra``), empty pairs (dropped, counted), and markers glued
between two words (``[John]katika``: the marker separates them; counted).

Source tokens that contain marker characters are escaped first (``[`` → ``(``, ``<`` → ``‹``) so
they cannot be confused with markers (counted as ``escaped``).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from projner.errors import E, ProjnerError
from projner.types import Sentence, Span

STYLES = ("brackets", "typed", "numbered")
_OPEN_GLYPHS = "[［【〔⟦〚"
_CLOSE_GLYPHS = "]］】〕⟧〛"
_BRACKET_RE = re.compile(f"[{re.escape(_OPEN_GLYPHS + _CLOSE_GLYPHS)}]")
_TAG_RE = re.compile(r"<\s*(/?)\s*([A-Za-z0-9_\-]{1,20})\s*>")
_TOKEN_RE = re.compile(r"\w+(?:['’\-]\w+)*|[^\w\s]", re.UNICODE)
_ESCAPES = {"[": "(", "]": ")", "［": "(", "］": ")", "【": "(", "】": ")", "〔": "(", "〕": ")", "⟦": "(", "⟧": ")",
            "〚": "(", "〛": ")", "<": "‹", ">": "›"}


def simple_tokenize(text: str) -> list[tuple[str, int, int]]:
    """Words and punctuation with character offsets (``l'Union`` and ``Jean-Pierre`` stay one word)."""
    return [(m.group(0), m.start(), m.end()) for m in _TOKEN_RE.finditer(text)]


# ----------------------------------------------------------------------------- marking


def _escape(token: str, counts: Counter) -> str:
    if any(ch in _ESCAPES for ch in token):
        counts["escaped"] += 1
        return "".join(_ESCAPES.get(ch, ch) for ch in token)
    return token


def _open(style: str, label: str, k: int) -> str:
    return {"brackets": "[", "typed": f"<{label}>", "numbered": f"<{k}>"}[style]


def _close(style: str, label: str, k: int) -> str:
    return {"brackets": "]", "typed": f"</{label}>", "numbered": f"</{k}>"}[style]


def marked_entities(sent: Sentence) -> tuple[list[Span], list[Span]]:
    """(entities to mark: non-overlapping, in order; entities left out because they overlap a longer one)."""
    kept: list[Span] = []
    dropped: list[Span] = []
    for s in sorted(sent.spans, key=lambda s: (-(s.end - s.start), s.start)):
        (dropped if any(s.overlaps(k) for k in kept) else kept).append(s)
    return sorted(kept, key=lambda s: s.start), dropped


def mark_sentence(sent: Sentence, style: str = "brackets", counts: Counter | None = None) -> str:
    """The source sentence with each (non-overlapping) entity wrapped in markers, tokens space-joined."""
    if style not in STYLES:
        raise ProjnerError(E.E185, detail=f"marker style must be one of {STYLES}, got {style!r}")
    counts = Counter() if counts is None else counts
    ents, _ = marked_entities(sent)
    opens = {e.start: (k, e) for k, e in enumerate(ents, start=1)}
    closes = {e.end - 1: (k, e) for k, e in enumerate(ents, start=1)}
    out: list[str] = []
    for i, tok in enumerate(sent.tokens):
        if i in opens:
            k, e = opens[i]
            out.append(_open(style, e.label, k))
        out.append(_escape(tok, counts))
        if i in closes:
            k, e = closes[i]
            out.append(_close(style, e.label, k))
    return " ".join(out)


# ----------------------------------------------------------------------------- decoding


@dataclass(frozen=True)
class Segment:
    """A marked stretch of the translation: target token range, the tag (typed/numbered), repairs."""

    start: int
    end: int
    text: str
    tag: str | None = None
    repair: str = ""  # "", "close_missing", "open_missing"


@dataclass(frozen=True)
class Decoded:
    tokens: tuple[str, ...]
    segments: tuple[Segment, ...]
    counts: Counter = field(default_factory=Counter, compare=False)


def _events(text: str, style: str, tags: set[str] | None) -> list[tuple[int, int, str, str | None, bool]]:
    """Marker occurrences: (start, end, 'open'|'close', tag, variant_glyph)."""
    ev = []
    if style == "brackets":
        for m in _BRACKET_RE.finditer(text):
            ch = m.group(0)
            ev.append((m.start(), m.end(), "open" if ch in _OPEN_GLYPHS else "close", None, ch not in "[]"))
    else:
        for m in _TAG_RE.finditer(text):
            tag = m.group(2)
            norm = tag.upper() if style == "typed" else tag
            if tags is not None and norm not in tags:
                continue
            variant = m.group(0) != f"<{m.group(1)}{tag}>" or tag != norm
            ev.append((m.start(), m.end(), "close" if m.group(1) else "open", norm, variant))
    return ev


def decode_markers(text: str, style: str = "brackets", tags: set[str] | None = None,
                   tokenize: Callable[[str], list[tuple[str, int, int]]] = simple_tokenize) -> Decoded:
    """Remove markers from a translation; return its tokens and the marked segments (token ranges).

    ``tags``: for ``typed``/``numbered``, the tags that count as markers (e.g. ``{"PER", "LOC"}``
    or ``{"1", "2"}``); other ``<...>`` text is left alone.
    """
    counts: Counter = Counter()
    ev = _events(text, style, tags)
    counts["variant_markers"] += sum(1 for e in ev if e[4])
    # clean text and a map from raw offsets to clean offsets
    pieces: list[str] = []
    raw_to_clean: dict[int, int] = {}
    pos = 0
    clean_len = 0
    for s, e, *_ in ev:
        chunk = text[pos:s]
        pieces.append(chunk)
        clean_len += len(chunk)
        left = text[s - 1] if s > 0 else ""
        right = text[e] if e < len(text) else ""
        if left.isalnum() and right.isalnum():
            counts["glued_markers"] += 1  # "[John]katika": split into words, never glued together
        raw_to_clean[s] = clean_len
        pieces.append(" ")
        clean_len += 1
        raw_to_clean[e] = clean_len
        pos = e
    pieces.append(text[pos:])
    clean = "".join(pieces)
    toks = tokenize(clean)

    def tok_range(a: int, b: int) -> tuple[int, int]:
        idx = [i for i, (_, ts, te) in enumerate(toks) if ts < b and te > a]
        return (idx[0], idx[-1] + 1) if idx else (0, 0)

    raw_segments: list[tuple[int, int, str | None, str]] = []  # clean char range, tag, repair
    open_at: tuple[int, str | None] | None = None
    prev_end = 0
    for s, e, kind, tag, _variant in ev:
        cs, ce = raw_to_clean[s], raw_to_clean[e]
        if kind == "open":
            if open_at is not None:
                raw_segments.append((open_at[0], cs, open_at[1], "close_missing"))
            open_at = (ce, tag)
        else:
            if open_at is not None:
                if tag is not None and open_at[1] is not None and tag != open_at[1]:
                    counts["tag_mismatch"] += 1
                raw_segments.append((open_at[0], cs, open_at[1] or tag, ""))
                open_at = None
            else:
                raw_segments.append((prev_end, cs, tag, "open_missing"))
        prev_end = ce
    if open_at is not None:
        raw_segments.append((open_at[0], len(clean), open_at[1], "close_missing"))
    segs: list[Segment] = []
    for a, b, tag, repair in raw_segments:
        ts, te = tok_range(a, b)
        if te <= ts:
            counts["empty_segments"] += 1
            continue
        segs.append(Segment(ts, te, " ".join(t for t, _, _ in toks[ts:te]), tag, repair))
    return Decoded(tuple(t for t, _, _ in toks), tuple(segs), counts)
