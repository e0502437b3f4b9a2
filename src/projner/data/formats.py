"""Readers and writers: CoNLL-like columns, HF-style JSONL, pre-tokenised text, Pharaoh.

Formats are detected from the file extension (``.txt`` text, ``.jsonl`` JSONL, ``.align``
/ ``.pharaoh`` Pharaoh, anything else CoNLL-like) and can always be given explicitly.
Errors name the file and the line; repairs and normalisations are counted in the report.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from projner.data.corpus import Corpus, ReadReport
from projner.data.normalize import Normalizer
from projner.data.schemes import (
    OUTSIDE,
    RepairPolicy,
    decode,
    detect_scheme,
    get_scheme,
    split_tag,
)
from projner.data.textio import atomic_write, read_lines
from projner.data.tokens import DOCSTART, EMPTY_MARKER, find_control  # noqa: F401 - re-exported
from projner.errors import E, ProjnerError
from projner.types import Alignment, Link, Sentence

FORMATS = ("conll", "jsonl", "txt", "pharaoh")

# Label lists as the HF datasets of these corpora order their class ids.
NAMED_LABEL_LISTS: dict[str, tuple[str, ...]] = {
    "conll2003": ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"),
    "masakhaner": ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-DATE", "I-DATE"),
    "wikiann": ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"),
}


def _looks_like_conll(path: str | os.PathLike, probe: int = 200) -> bool:
    """True when a ``.txt`` file is really token/tag columns (MasakhaNER ships ``train.txt`` so)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(65536).decode("utf-8", errors="replace").splitlines()[:probe]
    except OSError:
        return False
    rows = [ln.split() for ln in head if ln.strip()]
    if not rows or len(rows) == len(head):  # no blank separator lines in the probe: plain text
        return False
    tagged = sum(1 for r in rows if len(r) >= 2 and (r[-1] == "O" or (len(r[-1]) > 2 and r[-1][1] in "-_" and r[-1][0] in "BIESLU")))
    return tagged >= 0.95 * len(rows)


def detect_format(path: str | os.PathLike) -> str:
    """Format from the extension; a ``.txt`` whose content is token/tag columns is read as CoNLL."""
    suffix = Path(path).suffix.lower()
    if suffix == ".txt":
        return "conll" if _looks_like_conll(path) else "txt"
    if suffix in (".jsonl", ".json"):
        return "jsonl"
    if suffix in (".align", ".pharaoh", ".talp"):
        return "pharaoh"
    return "conll"


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ProjnerError(E.E013, fmt=fmt, known=", ".join(FORMATS))
    return fmt


@dataclass(frozen=True)
class ReadOptions:
    """How to read labelled text. ``scheme="auto"`` detects it; ``repair`` as in :mod:`schemes`."""

    scheme: str = "auto"
    repair: RepairPolicy = "begin"
    token_col: int = 0
    tag_col: int = -1
    sep: str | None = None  # None: tab if the file has tabs, else any whitespace
    normalizer: Normalizer = Normalizer()
    empty_token: str = "error"  # or "drop" (counted)
    labels: tuple[str, ...] | None = None  # id → tag for JSONL with integer tags


class _Raw:
    """Sentences as token/tag lists with their line numbers, before scheme decoding."""

    def __init__(self) -> None:
        self.tokens: list[list[str]] = []
        self.tags: list[list[str] | None] = []
        self.tok_lines: list[list[int]] = []
        self.starts: list[int] = []  # the line where each sentence starts
        self.unknown: dict[int, tuple[int, ...]] = {}  # sentence → tokens of unknown tag (JSONL "unknown")
        self.norm: Counter[str] = Counter()
        self.skipped: Counter[str] = Counter()


def _check_controls(text: str, path: str, line: int, what: str) -> None:
    pos = find_control(text)
    if pos is not None:
        raise ProjnerError(E.E022, file=path, line=line, codepoint=ord(text[pos]), what=what, text=text[:80])


def _normalise_token(tok: str, opts: ReadOptions, raw: _Raw, path: str, line: int) -> str | None:
    out = opts.normalizer(tok, raw.norm) if opts.normalizer.active else tok
    if out == "" or out.isspace():
        if opts.empty_token == "drop":
            raw.skipped["empty_token_after_normalisation"] += 1
            return None
        raise ProjnerError(E.E007, file=path, line=line, token=tok)
    return out


def _parse_conll(path: str, opts: ReadOptions) -> _Raw:
    lines = read_lines(path)
    sep = opts.sep
    if sep is None:
        sep = "\t" if any("\t" in ln for ln in lines[:2000]) else " "
    raw = _Raw()
    ncols: int | None = None
    cur_tok: list[str] = []
    cur_tag: list[str] = []
    cur_lines: list[int] = []
    block: list[int] = []  # lines of the current block (tokens dropped by normalisation included)

    def flush() -> None:
        nonlocal cur_tok, cur_tag, cur_lines, block
        if block:  # a block whose tokens were all dropped stays an (empty) sentence: line parallelism
            if len(block) == 1 and cur_tok == [EMPTY_MARKER] and cur_tag == [OUTSIDE]:
                cur_tok, cur_tag, cur_lines = [], [], []  # the empty-sentence marker
                raw.skipped["empty_sentences_kept"] += 1
            raw.tokens.append(cur_tok)
            raw.tags.append(cur_tag if ncols and ncols > 1 else None)
            raw.tok_lines.append(cur_lines)
            raw.starts.append(block[0])
        cur_tok, cur_tag, cur_lines, block = [], [], [], []

    for lineno, line in enumerate(lines, 1):
        _check_controls(line, path, lineno, "line")
        stripped = line.rstrip()
        if not stripped.strip():
            flush()
            continue
        cols = stripped.split("\t") if sep == "\t" else stripped.split()
        if sep == "\t":
            cols = [c.strip() for c in cols]
        if cols[0] == DOCSTART:
            flush()
            raw.skipped["docstart_lines"] += 1
            continue
        if ncols is None:
            ncols = len(cols)
        if len(cols) != ncols:
            raise ProjnerError(E.E002, file=path, line=lineno, expected=ncols, found=len(cols))
        try:
            tok = cols[opts.token_col]
            tag = cols[opts.tag_col] if ncols > 1 else OUTSIDE
        except IndexError:
            raise ProjnerError(
                E.E018, file=path, line=lineno,
                detail=f"column {opts.token_col}/{opts.tag_col} does not exist in a line of {ncols} columns",
            ) from None
        block.append(lineno)
        norm = _normalise_token(tok, opts, raw, path, lineno)
        if norm is None:
            continue
        cur_tok.append(norm)
        cur_tag.append(tag)
        cur_lines.append(lineno)
    flush()
    return raw


def _parse_jsonl(path: str, opts: ReadOptions) -> _Raw:
    lines = read_lines(path)
    raw = _Raw()
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ProjnerError(E.E012, file=path, line=lineno, detail=f"invalid JSON ({exc.msg})") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("tokens"), list):
            raise ProjnerError(E.E012, file=path, line=lineno, detail='expected an object with a "tokens" list')
        tags = obj.get("ner_tags", obj.get("tags"))
        if tags is not None:
            if not isinstance(tags, list) or len(tags) != len(obj["tokens"]):
                raise ProjnerError(E.E012, file=path, line=lineno, detail='"ner_tags" must be a list as long as "tokens"')
            if any(isinstance(t, int) and not isinstance(t, bool) for t in tags):
                if opts.labels is None:
                    raise ProjnerError(
                        E.E012, file=path, line=lineno,
                        detail="integer ner_tags need a label list (--labels conll2003|masakhaner|wikiann|FILE)",
                    )
                try:
                    tags = [opts.labels[t] if isinstance(t, int) else t for t in tags]
                except IndexError:
                    raise ProjnerError(E.E012, file=path, line=lineno, detail=f"tag id out of range for {len(opts.labels)} labels") from None
            tags = [str(t) for t in tags]
        unknown = _unknown_column(obj, path, lineno)
        toks, kept_tags, new_index = [], [], {}
        for k, tok in enumerate(obj["tokens"]):
            if not isinstance(tok, str):
                raise ProjnerError(E.E012, file=path, line=lineno, detail=f"token {k + 1} is {json.dumps(tok)}, not a string")
            _check_controls(tok, path, lineno, "token")
            norm = _normalise_token(tok, opts, raw, path, lineno)
            if norm is not None:
                new_index[k] = len(toks)
                toks.append(norm)
                if tags is not None:
                    kept_tags.append(tags[k])
        if unknown:  # a token dropped by normalisation (counted there) takes its unknown mark along
            raw.unknown[len(raw.tokens)] = tuple(new_index[k] for k in unknown if k in new_index)
        raw.tokens.append(toks)
        raw.tags.append(kept_tags if tags is not None else None)
        raw.tok_lines.append([lineno] * len(toks))
        raw.starts.append(lineno)
    return raw


def _unknown_column(obj: dict, path: str, lineno: int) -> tuple[int, ...]:
    """The JSONL column ``"unknown"``: indices of tokens of unknown tag (partial labels)."""
    unknown = obj.get("unknown", [])
    n = len(obj["tokens"])
    if not isinstance(unknown, list) or not all(isinstance(k, int) and not isinstance(k, bool) for k in unknown):
        raise ProjnerError(E.E131, file=path, line=lineno, detail=f"expected a list of token indices, got {json.dumps(unknown)[:80]}")
    bad = [k for k in unknown if not 0 <= k < n]
    if bad:
        raise ProjnerError(E.E131, file=path, line=lineno, detail=f"token index {bad[0]} is out of range for {n} tokens")
    return tuple(unknown)


def _parse_txt(path: str, opts: ReadOptions) -> _Raw:
    raw = _Raw()
    for lineno, line in enumerate(read_lines(path), 1):
        _check_controls(line, path, lineno, "line")
        toks = []
        for tok in line.split():
            norm = _normalise_token(tok, opts, raw, path, lineno)
            if norm is not None:
                toks.append(norm)
        if not toks:
            raw.skipped["empty_sentences_kept"] += 1
        raw.tokens.append(toks)
        raw.tags.append(None)
        raw.tok_lines.append([lineno] * len(toks))
        raw.starts.append(lineno)
    return raw


def read_corpus(path: str | os.PathLike, fmt: str | None = None, options: ReadOptions = ReadOptions()) -> Corpus:
    """Read sentences (with spans when the file has tags) from any supported format."""
    path = str(path)
    fmt = _check_format(fmt or detect_format(path))
    if fmt == "pharaoh":
        raise ProjnerError(E.E013, fmt="pharaoh (alignments, not sentences)", known="conll, jsonl, txt")
    raw = {"conll": _parse_conll, "jsonl": _parse_jsonl, "txt": _parse_txt}[fmt](path, options)
    labelled = [t for t in raw.tags if t is not None]
    labelled_lines = [ls for t, ls in zip(raw.tags, raw.tok_lines) if t is not None]
    scheme_name, evidence = None, {}
    if labelled:
        given = None if options.scheme == "auto" else get_scheme(options.scheme)
        for tags, lines in zip(labelled, labelled_lines):
            for tag, ln in zip(tags, lines):
                try:
                    split_tag(tag, given)  # unknown prefix (E003) or lower-case tag (E023), with its line
                except ProjnerError as exc:
                    raise ProjnerError(exc.code, file=path, line=ln, **exc.fields) from None
        if given is None:
            det = detect_scheme(labelled, where=path, lines=labelled_lines)
            scheme_name, evidence = det.scheme, dict(det.evidence)
        else:
            scheme_name = given.name
    sentences, repairs, examples = [], Counter(), []
    for i, (toks, tags, lines) in enumerate(zip(raw.tokens, raw.tags, raw.tok_lines)):
        spans: tuple = ()
        if tags is not None and scheme_name is not None:
            try:
                dec = decode(tags, scheme_name, options.repair)
            except ProjnerError as exc:
                raise ProjnerError(exc.code, file=path, line=lines[0] if lines else None, **exc.fields) from None
            except ValueError as exc:  # pragma: no cover - defensive
                raise ProjnerError(E.E012, file=path, line=lines[0] if lines else None, detail=str(exc)) from None
            spans = dec.spans
            for r in dec.repairs:
                repairs[f"{r.kind}:{r.action}"] += 1
                if len(examples) < 10:
                    examples.append(f"{path}:{lines[r.index]}: {r.tag} ({r.kind}, {r.action})")
        unknown = raw.unknown.get(i, ())
        inside = [k for k in unknown if any(sp.start <= k < sp.end for sp in spans)]
        if inside:
            raise ProjnerError(E.E131, file=path, line=lines[inside[0]],
                               detail=f"token {inside[0]} ({toks[inside[0]]!r}) is of unknown tag but tagged {tags[inside[0]]} (unknown tokens are tagged O)")
        sentences.append(Sentence(tuple(toks), spans, None, unknown))
    report = ReadReport(
        path=path,
        format=fmt,
        n_sentences=len(sentences),
        n_tokens=sum(len(s) for s in sentences),
        scheme=scheme_name,
        scheme_evidence=evidence,
        repairs=dict(sorted(repairs.items())),
        repair_examples=tuple(examples),
        normalisation=dict(sorted(raw.norm.items())),
        skipped=dict(sorted(raw.skipped.items())),
        repair_policy=options.repair if scheme_name is not None else None,
    )
    return Corpus(tuple(sentences), report, tuple(raw.starts))


# ----------------------------------------------------------------------------- Pharaoh


_INDEX = re.compile(r"[0-9]+", re.ASCII)
_SCORE = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?", re.ASCII)


def parse_pharaoh_line(line: str, *, path: str = "<string>", lineno: int | None = None) -> Alignment:
    """``0-0 1-2:0.9 2p3``: ``i-j`` (or ``ipj``) links between ASCII word indices, each with an
    optional score, a finite number >= 0 (``nan``, ``inf`` and negative scores are errors)."""
    links = []
    for item in line.split():
        score = None
        body = item
        if ":" in item:
            body, _, s = item.partition(":")
            if not _SCORE.fullmatch(s):
                raise ProjnerError(
                    E.E012, file=path, line=lineno,
                    detail=f"bad link score in {item!r} (a score is a finite decimal number >= 0, e.g. 0.75)",
                )
            score = float(s)
            if not math.isfinite(score):  # e.g. 1e999
                raise ProjnerError(E.E012, file=path, line=lineno, detail=f"link score in {item!r} is not finite")
        sep = "-" if "-" in body else "p" if "p" in body else None
        if sep is None:
            raise ProjnerError(E.E012, file=path, line=lineno, detail=f"bad link {item!r} (expected i-j)")
        a, _, b = body.partition(sep)
        if not (_INDEX.fullmatch(a) and _INDEX.fullmatch(b)):
            raise ProjnerError(E.E012, file=path, line=lineno, detail=f"bad link {item!r} (expected i-j with digits 0-9)")
        links.append(Link(int(a), int(b), score))
    return Alignment(tuple(links))


def read_pharaoh(path: str | os.PathLike, *, allow_empty: bool = True) -> tuple[Alignment, ...]:
    """One alignment per line (``0-0 1-2``, links may carry ``:score``). Empty lines are empty alignments."""
    path = str(path)
    return tuple(parse_pharaoh_line(ln, path=path, lineno=i) for i, ln in enumerate(read_lines(path, allow_empty=allow_empty), 1))


def format_pharaoh(al: Alignment, scores: bool = False) -> str:
    if scores:
        return " ".join(f"{l.src}-{l.tgt}" + (f":{l.score:.4g}" if l.score is not None else "") for l in al.links)
    return " ".join(f"{l.src}-{l.tgt}" for l in al.links)


def write_pharaoh(path: str | os.PathLike, alignments: Iterable[Alignment], scores: bool = False) -> int:
    n = 0
    with atomic_write(path) as fh:
        for al in alignments:
            fh.write(format_pharaoh(al, scores) + "\n")
            n += 1
    return n


def check_alignments(
    alignments: Sequence[Alignment],
    src: Sequence[Sentence],
    tgt: Sequence[Sentence],
    *,
    path: str = "<alignments>",
    src_path: str = "<source>",
    tgt_path: str = "<target>",
) -> None:
    """Same number of lines everywhere, every link inside both sentences (E001, E008)."""
    if len(src) != len(tgt):
        raise ProjnerError(E.E001, a=src_path, na=len(src), b=tgt_path, nb=len(tgt))
    if len(alignments) != len(src):
        raise ProjnerError(E.E001, a=path, na=len(alignments), b=src_path, nb=len(src))
    for i, (al, s, t) in enumerate(zip(alignments, src, tgt), 1):
        ms, mt = al.max_indices()
        if ms >= len(s) or mt >= len(t):
            bad = next(l for l in al.links if l.src >= len(s) or l.tgt >= len(t))
            raise ProjnerError(E.E008, file=path, line=i, link=f"{bad.src}-{bad.tgt}", n_src=len(s), n_tgt=len(t))


def load_label_list(spec: str) -> tuple[str, ...]:
    """A named label list (conll2003, masakhaner, wikiann) or a file with one tag per line."""
    if spec in NAMED_LABEL_LISTS:
        return NAMED_LABEL_LISTS[spec]
    if not Path(spec).exists():
        raise ProjnerError(E.E018, detail=f"label list {spec!r} is neither a name ({', '.join(NAMED_LABEL_LISTS)}) nor a file")
    return tuple(ln.strip() for ln in read_lines(spec) if ln.strip())


# the writers live in projner.data.writing; imported last (writing imports this module lazily)
from projner.data.writing import format_corpus, write_corpus, write_corpus_report  # noqa: E402,F401
