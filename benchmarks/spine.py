"""Issue 3 benchmark: Europarl-NER en→de/es/it with eflomal + heuristic projection, per
symmetrisation (mean ± sd over eflomal runs: eflomal is seeded from /dev/urandom), projection
throughput, and eflomal wall time on 100k MAFAND en-swa pairs.

    python -m benchmarks.spine [--data DIR] [--runs 3] [--skip-100k]
"""

from __future__ import annotations

import argparse
import os
import resource
import time

from benchmarks.common import data_dir, machine, mean_sd, table, tokenize
from projner.align.eflomal import EflomalAligner, vote
from projner.align.symmetrize import SYM_METHODS, symmetrize
from projner.data.formats import read_corpus
from projner.evaluate.spans import evaluate_spans
from projner.project.build import project_corpora
from projner.project.heuristic import HeuristicProjector
from projner.types import ParallelPair

LANGS = ("de", "es", "it")
VARIANTS = ((True, 4, 3), (True, 4, 1), (True, 0, 3), (False, 0, 3))  # (copy dictionary, prefix stem, samplers)


def europarl(data, runs: int) -> str:
    base = data / "europarl_ner"
    en = read_corpus(base / "en-europarl.test.conll02").sentences
    rows, default_rows = [], []
    scores: dict[tuple, list[float]] = {}
    for lang in LANGS:
        gold = read_corpus(base / f"{lang}-europarl.test.conll02").sentences
        for copy, stem, samplers in VARIANTS:
            kept = {sym: [] for sym in SYM_METHODS}
            for _ in range(runs):
                t0 = time.perf_counter()
                aligner = EflomalAligner(copy_dictionary=copy, prefix_len=stem, n_samplers=samplers)
                fwd, rev = aligner.align_directional([s.tokens for s in en], [s.tokens for s in gold])
                t_align = time.perf_counter() - t0
                for sym in SYM_METHODS:
                    t1 = time.perf_counter()
                    als = [symmetrize(f, r, sym) for f, r in zip(fwd, rev)]
                    kept[sym].append(als)
                    pred, _ = project_corpora(en, gold, als, HeuristicProjector())
                    f1 = evaluate_spans(gold, pred).f1
                    scores.setdefault((lang, copy, stem, samplers, sym), []).append(f1)
                    scores.setdefault((lang, copy, stem, samplers, sym, "time"), []).append(t_align + time.perf_counter() - t1)
            if (copy, stem, samplers) == VARIANTS[0] and runs > 1:  # --runs N: majority vote over the N runs' links
                for sym in SYM_METHODS:
                    als = [vote([run[i] for run in kept[sym]]) for i in range(len(en))]
                    pred, _ = project_corpora(en, gold, als, HeuristicProjector())
                    scores[(lang, "vote", VARIANTS[0][1], VARIANTS[0][2], sym)] = [evaluate_spans(gold, pred).f1]
    names = [(v, f"copy {'yes' if v[0] else 'no'}, stem {v[1] or 'off'}, {v[2]} sampler{'s' if v[2] > 1 else ''}") for v in VARIANTS]
    if runs > 1:
        names.append((("vote", *VARIANTS[0][1:]), f"copy yes, stem {VARIANTS[0][1]}, {VARIANTS[0][2]} samplers, {runs} runs voted"))
    for sym in SYM_METHODS:
        for key, name in names:
            vals = [scores[(l, *key, sym)] for l in LANGS]
            rows.append([sym, name] + [mean_sd(v) for v in vals] + [f"{sum(sum(v) / len(v) for v in vals) / 3:.3f}"])
    t = [f"{sum(scores[(l, *VARIANTS[0], 'reverse', 'time')]) / runs:.1f} s" for l in LANGS]
    return (
        f"Strict F1, English gold entities projected with eflomal + heuristic (gap 1, ratio >= 0.8), mean ± sd over {runs} eflomal runs:\n\n"
        + table(["symmetrisation", "aligner input", "de", "es", "it", "mean"], rows)
        + f"\n\nWhole language run (align + symmetrise + project + evaluate), default settings: de {t[0]}, es {t[1]}, it {t[2]}.\n"
    )


def throughput(data) -> str:
    base = data / "europarl_ner"
    en = read_corpus(base / "en-europarl.test.conll02").sentences
    de = read_corpus(base / "de-europarl.test.conll02").sentences
    als = EflomalAligner().align([s.tokens for s in en], [s.tokens for s in de])
    pairs = [ParallelPair(s, t.unlabelled(), a) for s, t, a in zip(en, de, als)] * 125  # ~100k pairs
    proj = HeuristicProjector()
    t0 = time.perf_counter()
    proj.project(pairs)
    dt = time.perf_counter() - t0
    n_ent = sum(len(p.src.spans) for p in pairs)
    return f"Heuristic projection throughput (one process, one core): {len(pairs) / dt:,.0f} pairs/s ({len(pairs):,} Europarl en-de pairs, {n_ent:,} entities, {dt:.2f} s).\n"


def eflomal_100k(data) -> str:
    base = data / "mafand_mt" / "en-swa"
    src = [tokenize(x) for x in (base / "train.en").read_text(encoding="utf-8").splitlines()]
    tgt = [tokenize(x) for x in (base / "train.swa").read_text(encoding="utf-8").splitlines()]
    reps = -(-100_000 // len(src))
    src, tgt = (src * reps)[:100_000], (tgt * reps)[:100_000]
    rows = []
    for label, kw in (
        ("default: reverse (one direction computed), 3 samplers", {}),
        ("reverse, 1 sampler (`--samplers 1`)", {"n_samplers": 1}),
        ("grow-diag-final-and (both directions), 1 sampler", {"sym": "grow-diag-final-and", "n_samplers": 1}),
        ("grow-diag-final-and (both directions), 3 samplers", {"sym": "grow-diag-final-and"}),
    ):
        aligner = EflomalAligner(**kw)
        c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        aligner.align(src, tgt)
        wall = time.perf_counter() - t0
        c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime)
        rows.append([label, f"{wall:.1f} s", f"{cpu:.1f} s", f"{os.getloadavg()[0]:.1f}"])
    return (
        "eflomal on 100,000 pairs (MAFAND en-swa train repeated; prefix-4 stemming, copy dictionary), "
        "end to end (input files, both directions, symmetrisation, parsing):\n\n"
        + table(["setting", "wall", "eflomal CPU (children)", "load avg after"], rows) + "\n"
    )


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--sections", default="europarl,throughput,100k", help="comma-separated: europarl, throughput, 100k")
    args = ap.parse_args(argv)
    data = data_dir(args.data)
    sections = args.sections.split(",")
    print(f"## Spine (issue 3): Europarl-NER, eflomal + heuristic\nMachine: {machine()}; date {time.strftime('%Y-%m-%d')}.\n")
    if "europarl" in sections:
        print(europarl(data, args.runs))
    if "throughput" in sections:
        print(throughput(data))
    if "100k" in sections:
        print(eflomal_100k(data))


if __name__ == "__main__":
    main()
