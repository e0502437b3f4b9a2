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
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

from projner.align.base import check_parallel
from projner.align.symmetrize import SYM_METHODS, symmetrize
from projner.data.formats import parse_pharaoh_line
from projner.errors import E, ProjnerError
from projner.registry import aligners
from projner.types import Alignment, Link

Tokens = Sequence[str]


def _line(tokens: Tokens) -> str:
    # eflomal splits on whitespace: keep one field per token whatever the token holds
    return " ".join("_" if not t.strip() else "".join(t.split()) for t in tokens)


@dataclass
class EflomalAligner:
    sym: str = "reverse"  # best mean Europarl F1 with the heuristic (BENCHMARKS.md)
    model: int = 3  # 1: IBM1, 2: +HMM, 3: +fertility
    n_samplers: int = 3
    n_iterations: int | None = None
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
    stats: Counter = field(default_factory=Counter, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.sym not in SYM_METHODS:
            raise ProjnerError(E.E018, detail=f"symmetrisation {self.sym!r}; known: {', '.join(SYM_METHODS)}")
        if self.model not in (1, 2, 3):
            raise ProjnerError(E.E018, detail=f"eflomal model must be 1, 2 or 3, not {self.model}")
        if self.runs < 1 or self.n_samplers < 1:
            raise ProjnerError(E.E018, detail="runs and n_samplers must be >= 1")
        check_parallel(self.extra_src, self.extra_tgt, "extra source", "extra target")

    def signature(self) -> str:
        return (
            f"aligner:eflomal-{_eflomal_version()}|model:{self.model}|sym:{self.sym}|samplers:{self.n_samplers}"
            f"|runs:{self.runs}|stem:{self.prefix_len},{self.suffix_len}|extra:{len(self.extra_src)}|copy-dict:{'yes' if self.copy_dictionary else 'no'}|seeded:no"
        )

    def align_directional(
        self, src: Sequence[Tokens], tgt: Sequence[Tokens], *, forward: bool = True, reverse: bool = True
    ) -> tuple[list[Alignment], list[Alignment]]:
        """One eflomal run: (forward, reverse) alignments, both in source→target orientation.

        A direction not asked for is not computed (its list holds empty alignments).
        """
        import eflomal

        check_parallel(src, tgt)
        keep = [i for i, (s, t) in enumerate(zip(src, tgt)) if len(s) and len(t)]
        self.stats["empty_pairs"] += len(src) - len(keep)
        extra = [i for i, (s, t) in enumerate(zip(self.extra_src, self.extra_tgt)) if len(s) and len(t)]
        self.stats["extra_pairs_used"] += len(extra)
        fwd_out = [Alignment()] * len(src)
        rev_out = [Alignment()] * len(src)
        if not keep:
            return fwd_out, rev_out
        src_lines = [_line(src[i]) for i in keep] + [_line(self.extra_src[i]) for i in extra]
        tgt_lines = [_line(tgt[i]) for i in keep] + [_line(self.extra_tgt[i]) for i in extra]
        if self.copy_dictionary:
            copies = copy_pairs([src[i] for i in keep], [tgt[i] for i in keep])
            self.stats["copy_dictionary_pairs"] += len(copies)
            src_lines += copies
            tgt_lines += copies
        aligner = eflomal.Aligner(
            model=self.model,
            n_samplers=self.n_samplers,
            n_iterations=self.n_iterations,
            rel_iterations=self.rel_iterations,
            null_prior=self.null_prior,
            source_prefix_len=self.prefix_len,
            source_suffix_len=self.suffix_len,
            target_prefix_len=self.prefix_len,
            target_suffix_len=self.suffix_len,
        )
        if len(src_lines) > 20_000 and self.quiet:
            import sys

            print(f"eflomal: aligning {len(src_lines):,} pairs (model {self.model}, {self.n_samplers} samplers)...", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory(prefix="projner-eflomal-") as tmp:
            fwd_path, rev_path = os.path.join(tmp, "fwd"), os.path.join(tmp, "rev")

            links = {"links_filename_fwd": fwd_path} if forward else {}
            if reverse:
                links["links_filename_rev"] = rev_path
            try:
                aligner.align(src_lines, tgt_lines, quiet=self.quiet, **links)
            except Exception as exc:  # eflomal raises bare errors from its binary wrapper
                raise ProjnerError(E.E021, detail=f"eflomal: {exc}") from exc
            for path, on, out, name in ((fwd_path, forward, fwd_out, "eflomal-fwd"), (rev_path, reverse, rev_out, "eflomal-rev")):
                if not on:
                    continue
                lines = _read(path)
                if len(lines) < len(keep):
                    raise ProjnerError(E.E021, detail=f"eflomal wrote {len(lines)} lines for {len(src_lines)} pairs ({name})")
                for k, i in enumerate(keep):
                    out[i] = parse_pharaoh_line(lines[k], path=name, lineno=k + 1)
        return fwd_out, rev_out

    def align(self, src: Sequence[Tokens], tgt: Sequence[Tokens]) -> list[Alignment]:
        runs = []
        # a one-directional symmetrisation needs only that direction: half the work
        forward, reverse = self.sym != "reverse", self.sym != "forward"
        for _ in range(self.runs):
            fwd, rev = self.align_directional(src, tgt, forward=forward, reverse=reverse)
            runs.append([symmetrize(f, r, self.sym) for f, r in zip(fwd, rev)])
        if self.runs == 1:
            return runs[0]
        return [vote([run[i] for run in runs], self.min_votes) for i in range(len(src))]


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


def _eflomal_version() -> str:
    try:
        from importlib.metadata import version

        return version("eflomal")
    except Exception:  # pragma: no cover
        return "unknown"


@aligners.register("projner.aligner.eflomal.v1")
def make_eflomal(**params) -> EflomalAligner:
    return EflomalAligner(**params)
