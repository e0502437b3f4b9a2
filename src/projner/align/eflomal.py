"""Statistical word alignment with eflomal (Östling & Tiedemann 2016), both directions + symmetrisation.

eflomal 2.0.0 seeds its samplers from /dev/urandom and takes no seed, so its output varies
between runs (on small corpora projected F1 moves by 1–4 points). Two remedies are offered:
more samplers per run (``n_samplers``), and ``runs`` > 1 independent runs whose symmetrised
links are kept by majority vote (link score = share of runs that produced it). Report the
spread over runs where it matters; do not expect identical output twice.

eflomal always lowercases words internally; ``prefix_len``/``suffix_len`` > 0 additionally
truncate words to a prefix/suffix (crude stemming). The default ``prefix_len=4`` gains 2–4 F1
points on Europarl-NER for every symmetrisation (BENCHMARKS.md); pass 0 for whole words.
Extra parallel text (``extra_src``/``extra_tgt``) is used to train the model, and only the
requested pairs are returned.

``copy_dictionary`` (default on) adds, for every word that occurs on both sides of a pair
(case-insensitively, containing a letter: names, acronyms, numbers with letters), a one-word
pair to the training text. Names are mostly copied between languages, and a few hundred
sentences are too few for the model to learn that on its own: on Europarl-NER this gains
1.5–3 F1 points (BENCHMARKS.md).

Long sentences: eflomal 2.0.0 cannot align a sentence of more than ``MAX_TOKENS`` = 1,023
tokens on either side (its ``write_text`` writes a sentence of >= 0x400 tokens as an empty one,
and the binary's buffers hold 0x400), so such a pair would get no links. A pair with a side that
long is split into aligned windows (see :func:`windows`): both sides are cut at proportional
positions, preferably just after punctuation, each piece is aligned as an extra pair in the same
eflomal run, and its links are shifted back by the pieces' offsets. ``stats`` counts
``long_pairs`` (requested pairs with a side over the limit), ``long_pairs_windowed`` (those
aligned in windows: all but pairs with an empty side) and ``long_pair_windows`` (pieces);
``empty_pairs`` counts the requested pairs returned without any link, whatever the cause, and
``empty_input_pairs`` those with an empty side.

The eflomal binary runs in a child process that dies with this one (``_proc.run_child``), on
files in one temp folder per run that is removed afterwards; folders left by killed runs are
removed at the start of the next run (``stale_tmp_removed``).

``priors`` (a file made by :func:`projner.align.priors.train_priors` or ``eflomal-makepriors``):
eflomal starts every run from these statistics of a larger corpus (see :mod:`projner.align.priors`),
so a small run (a shard) aligns rare words as the whole corpus taught. The file is read and checked
once, when the aligner is made; its sha256 enters :meth:`EflomalAligner.signature` and, through
``make_eflomal.content_params``, every cache key that holds the aligner's parameters.
``priors_lex_used`` counts the lexical priors whose two words occur in a run (summed over its eflomal
calls), ``priors_lexr_used`` those of the reverse table (LEXR). ``priors_weight`` multiplies every
alpha (pseudo-counts against the run's own counts; 1 = as counted; ``projner scale`` uses 16,
the best measured on the Europarl benchmark, BENCHMARKS.md). With LEXR lines each direction runs in its own eflomal call
with its own lexical table (see :mod:`projner.align.priors` for why).
"""

from __future__ import annotations

import logging
import math
import os
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

from projner.align._proc import remove_stale, run_child, run_dir
from projner.align.base import check_parallel
from projner.align.priors import LoadedPriors, load_priors
from projner.align.symmetrize import SYM_METHODS, symmetrize
from projner.data.formats import parse_pharaoh_line
from projner.errors import E, ProjnerError
from projner.registry import aligners
from projner.signature import component_signature
from projner.types import Alignment, Link

Tokens = Sequence[str]
logger = logging.getLogger(__name__)

MAX_TOKENS = 1023  # eflomal 2.0.0 aligns nothing in a pair with a side of >= 0x400 tokens
WINDOW = 500  # target length of the longer side's pieces when a long pair is split
TMP_PREFIX = "projner-eflomal"
_STRONG_PUNCT = frozenset(".!?;:。！？；：।॥؟؛…")


_NAME_PREFIX = re.compile(r"^[a-z]{1,6}(?=[A-Z][a-z])")


def strip_name_prefix(word: str) -> str:
    """``uMandela`` → ``Mandela``, ``eThekwini`` → ``Thekwini``, ``waseReservoir`` → ``Reservoir``:
    a lower-case class prefix (1–6 letters) glued to a capitalised name, as Bantu languages
    (Zulu, Xhosa …) write locatives, possessives and person prefixes. Other words are unchanged."""
    return _NAME_PREFIX.sub("", word, count=1)


def _line(tokens: Tokens) -> str:
    # eflomal splits on whitespace: keep one field per token whatever the token holds
    return " ".join("_" if not t.strip() else "".join(t.split()) for t in tokens)


@dataclass
class EflomalAligner:
    sym: str = "reverse"  # best mean Europarl F1 with the heuristic (BENCHMARKS.md)
    model: int = 3  # 1: IBM1, 2: +HMM, 3: +fertility
    n_samplers: int = 3
    n_iterations: Sequence[int] | None = None  # (IBM1, HMM, fertility) iterations; None: from rel_iterations
    rel_iterations: float = 1.0
    null_prior: float = 0.2
    prefix_len: int = 4  # words truncated to 4-char prefixes: +2-4 F1 on Europarl (BENCHMARKS.md); 0 = off
    suffix_len: int = 0
    runs: int = 1
    min_votes: float = 0.5  # with runs > 1: keep a link produced by more than this share of runs
    extra_src: Sequence[Tokens] = ()
    extra_tgt: Sequence[Tokens] = ()
    copy_dictionary: bool = True
    quiet: bool = True
    priors: str | None = None  # a priors file (projner align-priors): read once, here
    priors_weight: float = 1.0  # the priors' alphas are multiplied by this (pseudo-counts vs the run's own counts)
    # align uMandela/eThekwini as Mandela/Thekwini (stemming, copy dictionary): for Bantu languages
    name_prefix: bool = False
    stats: Counter = field(default_factory=Counter, init=False, repr=False)
    _priors: LoadedPriors | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.sym not in SYM_METHODS:
            raise ProjnerError(E.E018, detail=f"symmetrisation {self.sym!r}; known: {', '.join(SYM_METHODS)}")
        if self.model not in (1, 2, 3):
            raise ProjnerError(E.E018, detail=f"eflomal model must be 1, 2 or 3, not {self.model}")
        if self.runs < 1 or self.n_samplers < 1:
            raise ProjnerError(E.E018, detail="runs and n_samplers must be >= 1")
        if self.n_iterations is not None and (
            len(self.n_iterations) != 3 or not all(isinstance(n, int) and n >= 0 for n in self.n_iterations)
        ):
            raise ProjnerError(E.E018, detail=f"n_iterations must be 3 non-negative integers, not {self.n_iterations!r}")
        check_parallel(self.extra_src, self.extra_tgt, "extra source", "extra target")
        if self.priors is not None and self.name_prefix:
            raise ProjnerError(E.E018, detail="priors and name_prefix together: the priors were made from unstripped words")
        if not (isinstance(self.priors_weight, (int, float)) and math.isfinite(self.priors_weight) and self.priors_weight > 0):
            raise ProjnerError(E.E018, detail=f"priors_weight must be a finite number > 0, not {self.priors_weight!r}")
        if self.priors is not None:
            self.priors = os.fspath(self.priors)
            self._priors = load_priors(self.priors, prefix_len=self.prefix_len, suffix_len=self.suffix_len)

    def signature(self) -> str:
        return component_signature(
            "aligner", f"eflomal-{_eflomal_version()}", model=self.model, sym=self.sym, samplers=self.n_samplers,
            runs=self.runs, stem=f"{self.prefix_len},{self.suffix_len}", extra=len(self.extra_src),
            copy_dict=self.copy_dictionary, long=f"windows{WINDOW}", seeded=False,
            priors=self._priors.sha256[:16] if self._priors is not None else None,
            priors_weight=self.priors_weight if self._priors is not None and self.priors_weight != 1 else None,
            name_prefix=True if self.name_prefix else None,
        )

    def align_directional(
        self, src: Sequence[Tokens], tgt: Sequence[Tokens], *, forward: bool = True, reverse: bool = True
    ) -> tuple[list[Alignment], list[Alignment]]:
        """One eflomal run: (forward, reverse) alignments, both in source→target orientation.

        A direction not asked for is not computed (its list holds empty alignments).
        ``empty_pairs`` counts the pairs without a link in any computed direction.
        """
        check_parallel(src, tgt)
        plan = self._plan(src, tgt)
        fwd, rev = self._run(plan, forward=forward, reverse=reverse)
        self.stats["empty_pairs"] += sum(1 for f, r in zip(fwd, rev) if not len(f) and not len(r))
        return fwd, rev

    def align(self, src: Sequence[Tokens], tgt: Sequence[Tokens]) -> list[Alignment]:
        check_parallel(src, tgt)
        plan = self._plan(src, tgt)
        runs = []
        # a one-directional symmetrisation needs only that direction: half the work
        forward, reverse = self.sym != "reverse", self.sym != "forward"
        for _ in range(self.runs):
            fwd, rev = self._run(plan, forward=forward, reverse=reverse)
            runs.append([symmetrize(f, r, self.sym) for f, r in zip(fwd, rev)])
        if self.runs == 1:
            out = runs[0]
        else:
            out = [vote([run[i] for run in runs], self.min_votes) for i in range(len(src))]
        self.stats["empty_pairs"] += sum(1 for a in out if not len(a))
        return out

    def _plan(self, src: Sequence[Tokens], tgt: Sequence[Tokens]) -> "_Plan":
        """eflomal's input lines (long pairs split into windows) and where each requested piece goes."""
        st = self.stats
        if self.name_prefix:  # one word for one word: links keep their indices
            strip = lambda side: [[strip_name_prefix(w) for w in toks] for toks in side]  # noqa: E731
            new_src, new_tgt = strip(src), strip(tgt)
            st["name_prefix_words"] += sum(a != b for old, new in ((src, new_src), (tgt, new_tgt))
                                           for o, n in zip(old, new) for a, b in zip(o, n))
            src, tgt = new_src, new_tgt
        keep = [i for i, (s, t) in enumerate(zip(src, tgt)) if len(s) and len(t)]
        st["empty_input_pairs"] += len(src) - len(keep)
        st["long_pairs"] += sum(1 for s, t in zip(src, tgt) if max(len(s), len(t)) > MAX_TOKENS)
        st["long_pairs_windowed"] += 0  # always reported, next to long_pairs
        plan = _Plan(len(src))
        for i in keep:
            pieces = windows(src[i], tgt[i])
            if len(pieces) > 1:
                st["long_pairs_windowed"] += 1
                st["long_pair_windows"] += len(pieces)
            for s0, s1, t0, t1 in pieces:
                if s1 > s0 and t1 > t0:  # a piece may be empty on the shorter side
                    plan.add(src[i][s0:s1], tgt[i][t0:t1], (i, s0, t0))
        extra = [i for i, (s, t) in enumerate(zip(self.extra_src, self.extra_tgt)) if len(s) and len(t)]
        st["extra_pairs_used"] += len(extra)
        for i in extra:
            s, t = self.extra_src[i], self.extra_tgt[i]
            if self.name_prefix:
                s, t = [strip_name_prefix(w) for w in s], [strip_name_prefix(w) for w in t]
            pieces = windows(s, t)
            if len(pieces) > 1:
                st["long_extra_pairs_windowed"] += 1
            for s0, s1, t0, t1 in pieces:
                if s1 > s0 and t1 > t0:
                    plan.add(s[s0:s1], t[t0:t1], None)
        if self.copy_dictionary:
            copies = copy_pairs([src[i] for i in keep], [tgt[i] for i in keep])
            st["copy_dictionary_pairs"] += len(copies)
            plan.src_lines += copies
            plan.tgt_lines += copies
        return plan

    def _run(self, plan: "_Plan", *, forward: bool, reverse: bool) -> tuple[list[Alignment], list[Alignment]]:
        fwd_out = [Alignment()] * plan.n_pairs
        rev_out = [Alignment()] * plan.n_pairs
        if not plan.targets:
            return fwd_out, rev_out
        n_lines = len(plan.src_lines)
        if n_lines > 20_000 and self.quiet:  # eflomal's own output is hidden: say what is running
            logger.info("eflomal: aligning %s pairs (model %s, %s samplers)...", f"{n_lines:,}", self.model, self.n_samplers)
        removed = remove_stale(TMP_PREFIX)
        if removed:
            self.stats["stale_tmp_removed"] += removed
        with run_dir(TMP_PREFIX) as tmp:
            paths = {name: os.path.join(tmp, name) for name in ("source", "target", "fwd", "rev", "stderr", "priors")}
            indices = self._write_input(plan, paths["source"], paths["target"])
            # priors with a reverse lexical table (LEXR): one eflomal call per direction, each with its table
            split = forward and reverse and self._priors is not None and bool(self._priors.priors.lexr)
            for fwd_on, rev_on in ((True, False), (False, True)) if split else ((forward, reverse),):
                args = [_binary(), "-m", str(self.model), "-s", paths["source"], "-t", paths["target"],
                        "-n", str(self.n_samplers), "-N", str(self.null_prior)]
                if self._priors is not None:
                    self._write_priors(indices, paths["priors"], reverse=rev_on and not fwd_on)
                    args += ["-p", paths["priors"]]
                for k, n in enumerate(self._iterations(n_lines)[: self.model], 1):
                    args += [f"-{k}", str(n)]
                if self.quiet:
                    args.append("-q")
                if fwd_on:
                    args += ["-f", paths["fwd"]]
                if rev_on:
                    args += ["-r", paths["rev"]]
                try:
                    rc, tail = run_child(args, stderr_path=paths["stderr"] if self.quiet else None)
                except OSError as exc:
                    raise ProjnerError(E.E021, detail=f"eflomal: cannot run {args[0]}: {exc}") from exc
                if rc != 0:
                    raise ProjnerError(E.E021, detail=f"eflomal exited with status {rc}" + (f": {tail[-500:]}" if tail else ""))
            for on, out, name in ((forward, fwd_out, "fwd"), (reverse, rev_out, "rev")):
                if on:
                    self._collect(plan, paths[name], out, f"eflomal-{name}")
        return fwd_out, rev_out

    def _write_input(self, plan: "_Plan", src_path: str, tgt_path: str) -> tuple:
        """eflomal's own encoder (lowercasing, prefix/suffix stemming, vocabulary) writes the input
        files; returns the two vocabularies (for the priors, as its ``prepare_files`` does)."""
        import eflomal

        with open(src_path, "wb") as sf, open(tgt_path, "wb") as tf:
            s_index, _, _ = eflomal.to_eflomal_text_file(plan.src_lines, sf, self.prefix_len, self.suffix_len)
            t_index, _, _ = eflomal.to_eflomal_text_file(plan.tgt_lines, tf, self.prefix_len, self.suffix_len)
        return s_index, t_index

    def _write_priors(self, indices: tuple, path: str, *, reverse: bool) -> None:
        """The priors indexed by this run's vocabulary, alphas times ``priors_weight``; ``reverse``:
        for a reverse-only call (the LEXR table where the priors have one)."""
        import eflomal

        s_index, t_index = indices
        with open(path, "w", encoding="utf-8") as pf:
            eflomal.to_eflomal_priors_file(self._priors.priors.as_eflomal(self.priors_weight, reverse=reverse), s_index, t_index, pf)
        with open(path, encoding="utf-8") as pf:
            header = pf.readline().split()
        used = int(header[2]) if len(header) > 2 else 0
        self.stats["priors_lex_used"] += used
        if reverse and self._priors.priors.lexr:
            self.stats["priors_lexr_used"] += used

    def _iterations(self, n_sentences: int) -> tuple[int, int, int]:
        """Iterations per model stage, computed as eflomal 2.0.0's ``align()`` does."""
        if self.n_iterations is not None:
            return tuple(self.n_iterations)  # type: ignore[return-value]
        iters = max(2, int(round(self.rel_iterations * 5000 / math.sqrt(n_sentences))))
        iters4 = max(1, iters // 4)
        if self.model == 1:
            return iters, 0, 0
        if self.model == 2:
            return max(2, iters4), iters, 0
        return max(2, iters4), iters4, iters

    @staticmethod
    def _collect(plan: "_Plan", path: str, out: list[Alignment], name: str) -> None:
        lines = _read(path)
        if len(lines) < len(plan.src_lines):
            raise ProjnerError(E.E021, detail=f"eflomal wrote {len(lines)} lines for {len(plan.src_lines)} pairs ({name})")
        merged: dict[int, list[Link]] = {}
        for k, (i, s0, t0) in enumerate(plan.targets):
            al = parse_pharaoh_line(lines[k], path=name, lineno=k + 1)
            merged.setdefault(i, []).extend(Link(l.src + s0, l.tgt + t0, l.score) for l in al.links)
        for i, links in merged.items():
            out[i] = Alignment(tuple(links))


@dataclass
class _Plan:
    """eflomal input lines; the first ``len(targets)`` lines are requested pieces: (pair, src offset, tgt offset)."""

    n_pairs: int
    src_lines: list[str] = field(default_factory=list)
    tgt_lines: list[str] = field(default_factory=list)
    targets: list[tuple[int, int, int]] = field(default_factory=list)

    def add(self, s: Tokens, t: Tokens, target: tuple[int, int, int] | None) -> None:
        if target is not None:
            if len(self.targets) != len(self.src_lines):  # requested pieces come first
                raise AssertionError("requested pieces must precede training-only lines")
            self.targets.append(target)
        self.src_lines.append(_line(s))
        self.tgt_lines.append(_line(t))


def windows(src: Tokens, tgt: Tokens, window: int = WINDOW, limit: int = MAX_TOKENS) -> list[tuple[int, int, int, int]]:
    """Split a pair into aligned pieces ``(s0, s1, t0, t1)`` (half-open) with no side over ``limit``.

    A pair within the limit is one piece. Otherwise the longer side is cut into
    ``ceil(len / window)`` pieces at proportional positions, each cut moved to just after a
    punctuation token within ``window // 5`` tokens when there is one (sentence punctuation
    first); the shorter side is cut at the same relative positions, likewise moved to its own
    punctuation within a proportionally smaller radius. Pieces cover both sides in order; one may
    be empty on the shorter side.
    """
    ls, lt = len(src), len(tgt)
    if max(ls, lt) <= limit:
        return [(0, ls, 0, lt)]
    flip = lt > ls
    long_, short = (tgt, src) if flip else (src, tgt)
    L, S = len(long_), len(short)
    k = -(-L // window)
    radius = window // 5
    cl, cs = [0], [0]
    for m in range(1, k):
        cl.append(_cut(long_, round(m * L / k), radius, cl[-1] + 1, L - 1))
        cs.append(_cut(short, round(cl[-1] * S / L), round(radius * S / L), cs[-1], S))
    cl.append(L)
    cs.append(S)
    if any(b - a > limit for a, b in zip(cl, cl[1:])) or any(b - a > limit for a, b in zip(cs, cs[1:])):
        cl = [round(m * L / k) for m in range(k + 1)]  # pragma: no cover - cannot happen with window <= limit / 2
        cs = [round(m * S / k) for m in range(k + 1)]
    if flip:
        return list(zip(cs, cs[1:], cl, cl[1:]))
    return list(zip(cl, cl[1:], cs, cs[1:]))


def _is_punct(tok: str) -> bool:
    return bool(tok) and all(unicodedata.category(c).startswith("P") for c in tok)


def _cut(tokens: Tokens, ideal: int, radius: int, lo: int, hi: int) -> int:
    """A cut position in [lo, hi] near ``ideal``, just after punctuation where possible."""
    ideal = min(max(ideal, lo), hi)
    for good in (lambda t: t in _STRONG_PUNCT, _is_punct):
        for d in range(radius + 1):
            for c in (ideal - d, ideal + d):
                if lo <= c <= hi and c > 0 and good(tokens[c - 1]):
                    return c
    return ideal


def copy_pairs(src: Sequence[Tokens], tgt: Sequence[Tokens]) -> list[str]:
    """One-word training lines for words found on both sides of a pair (see ``copy_dictionary``).

    Each distinct word (case-insensitively) is added once: adding one line per occurrence was no
    better on Europarl and made eflomal's input 2.5 times larger on 100k MAFAND pairs.
    """
    out: list[str] = []
    seen: set[str] = set()
    for s, t in zip(src, tgt):
        t_lower = {w.lower() for w in t}
        for w in s:
            key = w.lower()
            if key in t_lower and key not in seen and any(c.isalpha() for c in w):
                seen.add(key)
                out.append(_line([w]))
    return out


def vote(alignments: Sequence[Alignment], min_share: float = 0.5) -> Alignment:
    """Links produced by more than ``min_share`` of the alignments; score = share of votes."""
    counts = Counter(p for al in alignments for p in al.pairs)
    n = len(alignments)
    return Alignment(tuple(Link(i, j, c / n) for (i, j), c in sorted(counts.items()) if c / n > min_share))


def _read(path: str) -> list[str]:
    with open(path, encoding="utf-8") as fh:
        return [ln.rstrip("\n") for ln in fh]


def _binary() -> str:
    """The eflomal executable shipped inside the eflomal package (where its ``align()`` looks)."""
    import eflomal

    return os.path.join(os.path.dirname(os.path.abspath(eflomal.__file__)), "bin", "eflomal")


def _eflomal_version() -> str:
    try:
        from importlib.metadata import version

        return version("eflomal")
    except Exception:  # pragma: no cover
        return "unknown"


@aligners.register("projner.aligner.eflomal.v1")
def make_eflomal(**params) -> EflomalAligner:
    return EflomalAligner(**params)


make_eflomal.content_params = ("priors",)  # type: ignore[attr-defined]  # file parameters keyed by content (projner.fingerprint)
