"""eflomal priors: alignment statistics of a large corpus, trained once, used by every small run.

eflomal (2.0.0) can start from *priors*: Dirichlet pseudo-counts added to the counts its Gibbs
samplers collect. A priors file (eflomal's text format plus one projner kind) holds these lines,
tab-separated::

    LEX   SRCWORD  TGTWORD  ALPHA   lexical: pseudo-links between two words (forward links;
                                    both directions when there are no LEXR lines)
    LEXR  SRCWORD  TGTWORD  ALPHA   lexical, reverse direction (reverse links; projner's kind)
    HMMF  JUMP     ALPHA            forward HMM jumps (source position of target word j+1 minus that of j)
    HMMR  JUMP     ALPHA            reverse HMM jumps
    FERF  SRCWORD  FERT     ALPHA   forward fertility: a source word with FERT target words
    FERR  TGTWORD  FERT     ALPHA   reverse fertility

eflomal keeps one lexical table for both directions (``eflomal-makepriors`` counts forward
links, and the reverse sampler reads them swapped). The two directions' links are not mirror
images, though: a forward link gives each *target* word one source word, a reverse link each
*source* word one target word (an English "federal government" against one German compound
gives one forward link and two reverse ones). Shards aligned in the reverse direction (the
default ``sym: reverse``) with forward-link priors scored 2 F1 points *below* aligning each
shard alone on the Europarl benchmark (BENCHMARKS.md); with reverse-link priors for the reverse
sampler they come within 1 point of the whole corpus aligned at once, and above it with the
alphas weighted 16 (``EflomalAligner(priors_weight=16)``, ``projner scale``'s default). So :func:`train_priors` writes both (LEXR
lines), and the aligner gives each direction its own table (one eflomal call per direction).
``eflomal_format=True`` writes eflomal's five kinds only, for ``eflomal-align --priors``, whose
reader rejects LEXR lines.

The ALPHAs are counts of a previous alignment (:func:`compute_priors`), so a shard aligned with
priors made on the whole corpus samples against the whole corpus' statistics: its rare words
get the translations the whole corpus taught (:func:`train_priors`). eflomal adds LEX alphas to
the link counts of the pair, HMM alphas to the jump counts (clipped to ±1,024) and FER alphas to
the fertility counts (fertilities >= 7 share one cell).

Words are stored as eflomal's vocabulary holds them: lower-cased and stemmed to the aligner's
``prefix_len``/``suffix_len`` (and with the aligner's token clean-up: whitespace removed, an
empty token written ``_``), so that they match the words of any later run with the same
settings. Unlike ``eflomal-makepriors``, fertility 0 (a word linked to nothing) is counted too,
as eflomal's sampler counts it. A sidecar JSON (``PRIORS.json``) records what went in: pairs,
sample, aligner parameters, eflomal and projner versions, the corpus' and the file's sha256;
:func:`load_priors` checks it (E113 when it describes another file, E111 when the stemming
differs from the aligner's). A malformed priors file is E110 with file and line.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from projner.errors import E, ProjnerError

Tokens = Sequence[str]
FORMAT = 2  # 2: LEXR lines (reverse-direction lexical priors)
SIDECAR_SUFFIX = ".json"
KINDS = ("LEX", "LEXR", "HMMF", "HMMR", "FERF", "FERR")


@dataclass(frozen=True)
class Priors:
    """The kinds of priors (eflomal's ``read_priors`` tuple, as mappings, plus ``lexr``: the reverse
    direction's lexical priors, source→target orientation; empty: ``lex`` serves both directions)."""

    lex: Mapping[tuple[str, str], float] = field(default_factory=dict)
    hmmf: Mapping[int, float] = field(default_factory=dict)
    hmmr: Mapping[int, float] = field(default_factory=dict)
    ferf: Mapping[tuple[str, int], float] = field(default_factory=dict)
    ferr: Mapping[tuple[str, int], float] = field(default_factory=dict)
    lexr: Mapping[tuple[str, str], float] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {"lex": len(self.lex), "lexr": len(self.lexr), "hmmf": len(self.hmmf), "hmmr": len(self.hmmr),
                "ferf": len(self.ferf), "ferr": len(self.ferr)}

    def as_eflomal(self, weight: float = 1.0, *, reverse: bool = False) -> tuple:
        """The tuple eflomal's ``to_eflomal_priors_file`` takes, every alpha multiplied by ``weight``;
        ``reverse``: for a reverse-only eflomal call (its lexical table is ``lexr`` where there is one)."""
        w = float(weight)
        lex = self.lexr if reverse and self.lexr else self.lex
        return ([(s, t, a * w) for (s, t), a in lex.items()], {j: a * w for j, a in self.hmmf.items()},
                {j: a * w for j, a in self.hmmr.items()}, [(x, k, a * w) for (x, k), a in self.ferf.items()],
                [(x, k, a * w) for (x, k), a in self.ferr.items()])


@dataclass(frozen=True)
class LoadedPriors:
    """A priors file read once: its priors, its sha256, and where it came from."""

    path: str
    sha256: str
    priors: Priors


@dataclass(frozen=True)
class PriorsInfo:
    """What :func:`train_priors` wrote (the sidecar's content)."""

    path: str
    sidecar: str
    sha256: str
    record: Mapping[str, Any]

    @property
    def counts(self) -> Mapping[str, int]:
        return self.record["counts"]


def stem(word: str, prefix_len: int = 0, suffix_len: int = 0) -> str:
    """A word as eflomal's vocabulary holds it (its ``TextIndex``: lower-cased, prefix, then suffix)."""
    w = word.lower()
    if prefix_len:
        w = w[:prefix_len]
    if suffix_len:
        w = w[-suffix_len:]
    return w


def compute_priors(src: Sequence[Tokens], tgt: Sequence[Tokens], fwd: Sequence[Any], rev: Sequence[Any],
                   *, prefix_len: int = 0, suffix_len: int = 0) -> Priors:
    """Priors counted from forward and reverse alignments (both in source→target orientation).

    ``src``/``tgt`` are the words as eflomal saw them; they are stemmed here. LEX counts the
    forward links, LEXR the reverse ones; HMMF/HMMR the jumps as eflomal's sampler counts them (the first from -1, one
    to the sentence end after the last link, none in a pair without links); FERF/FERR the
    fertility of every word of the side, 0 included.
    """
    lex: Counter = Counter()
    lexr: Counter = Counter()
    hmmf: Counter = Counter()
    hmmr: Counter = Counter()
    ferf: Counter = Counter()
    ferr: Counter = Counter()
    for s, t, f, r in zip(src, tgt, fwd, rev):
        s_st = [stem(w, prefix_len, suffix_len) for w in s]
        t_st = [stem(w, prefix_len, suffix_len) for w in t]
        f_pairs = sorted({(l.src, l.tgt) for l in f.links})
        r_pairs = sorted({(l.src, l.tgt) for l in r.links})
        for i, j in f_pairs:
            lex[(s_st[i], t_st[j])] += 1
        for i, j in r_pairs:
            lexr[(s_st[i], t_st[j])] += 1
        _jumps(hmmf, [(j, i) for i, j in f_pairs], len(s))
        _jumps(hmmr, r_pairs, len(t))
        _fertility(ferf, s_st, Counter(i for i, _ in f_pairs))
        _fertility(ferr, t_st, Counter(j for _, j in r_pairs))
    return Priors(dict(lex), dict(hmmf), dict(hmmr), dict(ferf), dict(ferr), dict(lexr))


def _jumps(out: Counter, links: list[tuple[int, int]], length: int) -> None:
    """Jumps of one direction: ``links`` are (position of the aligned side, position it links to)."""
    last_pos, last_to = -1, -1
    for pos, to in sorted(links):
        if pos != last_pos:
            out[to - last_to] += 1
            last_to = to
        last_pos = pos
    if links:
        out[length - last_to] += 1


def _fertility(out: Counter, words: list[str], fert: Counter) -> None:
    for i, w in enumerate(words):
        out[(w, fert.get(i, 0))] += 1


def _alpha(a: float) -> str:
    return str(int(a)) if float(a).is_integer() else repr(float(a))


def format_priors(priors: Priors) -> str:
    """The priors text (eflomal's ``write_priors`` order: LEX, then LEXR, FERF, FERR, HMMF, HMMR; sorted)."""
    lines = [f"LEX\t{s}\t{t}\t{_alpha(a)}" for (s, t), a in sorted(priors.lex.items())]
    lines += [f"LEXR\t{s}\t{t}\t{_alpha(a)}" for (s, t), a in sorted(priors.lexr.items())]
    lines += [f"FERF\t{w}\t{k}\t{_alpha(a)}" for (w, k), a in sorted(priors.ferf.items())]
    lines += [f"FERR\t{w}\t{k}\t{_alpha(a)}" for (w, k), a in sorted(priors.ferr.items())]
    lines += [f"HMMF\t{j}\t{_alpha(a)}" for j, a in sorted(priors.hmmf.items())]
    lines += [f"HMMR\t{j}\t{_alpha(a)}" for j, a in sorted(priors.hmmr.items())]
    return "".join(line + "\n" for line in lines)


def parse_priors(data: bytes, path: str) -> Priors:
    """Priors from the bytes of a priors file; E110 with the line for anything eflomal would misread."""
    out: dict[str, dict] = {k: {} for k in KINDS}
    n = 0
    for lineno, raw in enumerate(data.split(b"\n"), 1):
        if not raw.strip():
            if raw:
                raise ProjnerError(E.E110, file=path, line=lineno, detail="a line of only white space")
            continue
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProjnerError(E.E110, file=path, line=lineno, detail=f"not UTF-8 ({exc.reason})") from None
        fields = line.rstrip("\r").split("\t")
        kind = fields[0]
        want = {"LEX": 4, "LEXR": 4, "FERF": 4, "FERR": 4, "HMMF": 3, "HMMR": 3}.get(kind)
        if want is None:
            raise ProjnerError(E.E110, file=path, line=lineno,
                               detail=f"unknown kind {kind[:40]!r}; lines start with {', '.join(KINDS)} and a TAB")
        if len(fields) != want:
            raise ProjnerError(E.E110, file=path, line=lineno,
                               detail=f"{kind} takes {want} TAB-separated fields, found {len(fields)}")
        alpha = _number(fields[-1], float, "alpha", path, lineno)
        if not math.isfinite(alpha) or alpha < 0:
            raise ProjnerError(E.E110, file=path, line=lineno, detail=f"alpha must be a finite number >= 0, not {fields[-1]!r}")
        if kind in ("HMMF", "HMMR"):
            key: Any = _number(fields[1], int, "jump", path, lineno)
        else:
            words = fields[1:3] if kind in ("LEX", "LEXR") else fields[1:2]
            if any(not w or w != "".join(w.split()) for w in words):
                raise ProjnerError(E.E110, file=path, line=lineno, detail="a word is empty or holds white space")
            if kind in ("LEX", "LEXR"):
                key = (fields[1], fields[2])
            else:
                fert = _number(fields[2], int, "fertility", path, lineno)
                if fert < 0:
                    raise ProjnerError(E.E110, file=path, line=lineno, detail=f"fertility must be >= 0, not {fert}")
                key = (fields[1], fert)
        table = out[kind]
        table[key] = table.get(key, 0.0) + alpha  # eflomal adds repeated entries up
        n += 1
    if not n:
        raise ProjnerError(E.E110, file=path, detail="the file holds no priors")
    if out["LEXR"] and not out["LEX"]:
        raise ProjnerError(E.E110, file=path, detail="LEXR lines without LEX lines (the forward direction has no lexical priors)")
    return Priors(out["LEX"], out["HMMF"], out["HMMR"], out["FERF"], out["FERR"], out["LEXR"])


def _number(text: str, kind: type, what: str, path: str, lineno: int):
    try:
        return kind(text)
    except ValueError:
        raise ProjnerError(E.E110, file=path, line=lineno, detail=f"{what} {text[:40]!r} is not {'an integer' if kind is int else 'a number'}") from None


def sidecar_path(path: str | os.PathLike) -> str:
    return os.fspath(path) + SIDECAR_SUFFIX


def load_priors(path: str | os.PathLike, *, prefix_len: int | None = None, suffix_len: int | None = None) -> LoadedPriors:
    """Read and check a priors file once (its bytes are hashed and parsed together).

    A sidecar, when there is one, must name the file's sha256 (else E113); with ``prefix_len`` /
    ``suffix_len`` given, its stemming must be the same (else E111). E040 when unreadable.
    """
    p = os.fspath(path)
    try:
        with open(p, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise ProjnerError(E.E040, file=p, what="the priors file", detail=exc.strerror or str(exc)) from None
    sha = hashlib.sha256(data).hexdigest()
    priors = parse_priors(data, p)
    side = sidecar_path(p)
    if os.path.exists(side):
        record = _read_sidecar(side)
        if record.get("sha256") != sha:
            raise ProjnerError(E.E113, file=side, detail=f"it names sha256 {str(record.get('sha256'))[:16]}…, "
                                                         f"{os.path.basename(p)} has {sha[:16]}…")
        stemming = record.get("params", {})
        for name, want in (("prefix_len", prefix_len), ("suffix_len", suffix_len)):
            if want is not None and stemming.get(name, 0) != want:
                raise ProjnerError(E.E111, file=p, what=name, found=stemming.get(name, 0), expected=want)
    return LoadedPriors(p, sha, priors)


def _read_sidecar(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as fh:
            record = json.load(fh)
    except OSError as exc:
        raise ProjnerError(E.E040, file=path, what="the priors sidecar", detail=exc.strerror or str(exc)) from None
    except ValueError as exc:
        raise ProjnerError(E.E113, file=path, line=getattr(exc, "lineno", None), detail=f"not JSON ({exc})") from None
    if not isinstance(record, dict) or not isinstance(record.get("params", {}), dict):
        raise ProjnerError(E.E113, file=path, detail="not a JSON object with 'sha256' and 'params'")
    return record


def sample_indices(n: int, sample: int | None, seed: int | None = None) -> list[int]:
    """Which of ``n`` pairs make the priors: all; ``sample`` evenly spaced ones; or, with ``seed``, a seeded sample (sorted)."""
    if sample is None or sample >= n:
        return list(range(n))
    if sample < 1:
        raise ProjnerError(E.E112, detail=f"sample must be >= 1, not {sample}")
    if seed is not None:
        return sorted(random.Random(seed).sample(range(n), sample))
    return [(k * n) // sample for k in range(sample)]


def hash_corpus(src: Sequence[Tokens], tgt: Sequence[Tokens]) -> str:
    h = hashlib.sha256()
    for s, t in zip(src, tgt):
        h.update("\x1f".join(s).encode("utf-8") + b"\x1e" + "\x1f".join(t).encode("utf-8") + b"\n")
    return h.hexdigest()


def train_priors(src: Sequence[Tokens], tgt: Sequence[Tokens], out_path: str | os.PathLike, *,
                 sample: int | None = None, seed: int | None = None, eflomal_format: bool = False,
                 **params: Any) -> PriorsInfo:
    """Align ``src``/``tgt`` (or a sample) with ``EflomalAligner(**params)`` in both directions and
    write the priors made from its links to ``out_path`` (atomically) and a sidecar ``out_path.json``.
    ``eflomal_format``: no LEXR lines (eflomal's own reader and convention: one lexical table).

    The aligner applies to its input what it applies in any run (token clean-up, prefix/suffix
    stemming, the copy dictionary, extra text, long-pair windows), so the priors' words match
    those of later runs with the same settings. ``sym`` and ``runs`` play no part (one run, both
    directions). The inputs are not mutated.
    """
    from projner.align.base import check_parallel
    from projner.align.eflomal import EflomalAligner, _eflomal_version, _line
    from projner.data.textio import atomic_write

    check_parallel(src, tgt)
    if not len(src):
        raise ProjnerError(E.E112, detail="the corpus is empty")
    idx = sample_indices(len(src), sample, seed)
    s_sel = [list(src[i]) for i in idx]
    t_sel = [list(tgt[i]) for i in idx]
    aligner = EflomalAligner(**params)
    fwd, rev = aligner.align_directional(s_sel, t_sel)
    words_s = [_line(s).split(" ") if len(s) else [] for s in s_sel]
    words_t = [_line(t).split(" ") if len(t) else [] for t in t_sel]
    priors = compute_priors(words_s, words_t, fwd, rev, prefix_len=aligner.prefix_len, suffix_len=aligner.suffix_len)
    if eflomal_format:
        priors = Priors(priors.lex, priors.hmmf, priors.hmmr, priors.ferf, priors.ferr)
    if not priors.lex:
        raise ProjnerError(E.E112, detail=f"eflomal produced no links on the {len(idx)} pairs")
    text = format_priors(priors).encode("utf-8")
    out = os.fspath(out_path)
    sha = hashlib.sha256(text).hexdigest()
    shown = {k: v for k, v in params.items() if k not in ("extra_src", "extra_tgt", "priors")}
    record = {
        "format": FORMAT, "priors": os.path.basename(out), "eflomal_format": bool(eflomal_format), "sha256": sha, "pairs": len(src),
        "sample": {"n": len(idx), "method": "all" if len(idx) == len(src) else "seeded" if seed is not None else "even",
                   "seed": seed},
        "corpus_sha256": hash_corpus(src, tgt), "extra_pairs": len(params.get("extra_src", ()) or ()),
        "params": {**shown, "model": aligner.model, "n_samplers": aligner.n_samplers, "prefix_len": aligner.prefix_len,
                   "suffix_len": aligner.suffix_len, "copy_dictionary": aligner.copy_dictionary,
                   "null_prior": aligner.null_prior, "rel_iterations": aligner.rel_iterations,
                   "n_iterations": list(aligner.n_iterations) if aligner.n_iterations is not None else None},
        "priors_of": aligner._priors.sha256 if aligner._priors is not None else None,
        "aligner": aligner.signature(), "eflomal": _eflomal_version(), "projner": _projner_version(),
        "counts": priors.counts(), "aligner_stats": dict(sorted(aligner.stats.items())),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    with atomic_write(out, "wb") as fh:
        fh.write(text)
    side = sidecar_path(out)
    with atomic_write(side) as fh:
        json.dump(record, fh, indent=1, ensure_ascii=False)
        fh.write("\n")
    return PriorsInfo(out, side, sha, record)


def _projner_version() -> str:
    from projner import __version__

    return __version__


__all__ = ["FORMAT", "LoadedPriors", "Priors", "PriorsInfo", "compute_priors", "format_priors", "hash_corpus",
           "load_priors", "parse_priors", "sample_indices", "sidecar_path", "stem", "train_priors"]
