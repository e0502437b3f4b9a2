"""Issue 16 benchmark: eflomal priors trained once on a whole corpus and shared by its shards.

Europarl-NER en→de/es/it (799 pairs each) interleaved, evenly spaced, into a corpus of N pairs
filled with MAFAND-MT en-swa train pairs (real English; tokenised as the spine benchmark does).
The filler's target language is another one on purpose: the only text that teaches the aligner
German (Spanish, Italian) is the 799 pairs themselves, so cutting the corpus into shards of S
pairs leaves each shard with 799·S/N of them, as a real corpus cut into shards leaves each shard
with a share of its rare words (Europarl has no larger en-de/es/it text here; the synthetic
corpus of ``projner.scale`` is too regular for alignment quality to depend on the shard size).
Strict F1 of heuristic projection (gap 1, ratio >= 0.8) of the English gold entities on the
799 pairs, eflomal with the default settings (reverse, stem 4, copy dictionary), for

    (a) the whole corpus aligned at once;
    (b) shards of S pairs, each aligned alone;
    (c) shards of S pairs, each aligned with priors trained once on the whole corpus
        (``train_priors``, then ``EflomalAligner(priors=...)``): a lexical table per direction;
        ``--weights 1,3,10``: also with the priors' alphas multiplied (``priors_weight``);
        ``--eflomal-lex``: also with eflomal's one lexical table (the same priors without LEXR).

Mean ± sd over ``--runs`` repetitions (eflomal is unseeded; (c) trains its priors anew each run).

    nice -n 5 .venv/bin/python -m benchmarks.priors [--data DIR] [--pairs 30000] [--shard 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from benchmarks.common import data_dir, machine, mean_sd, table, tokenize
from projner.align.eflomal import EflomalAligner
from projner.align.priors import Priors, format_priors, load_priors, train_priors
from projner.data.formats import read_corpus
from projner.evaluate.spans import evaluate_spans
from projner.project.build import project_corpora
from projner.project.heuristic import HeuristicProjector

LANGS = ("de", "es", "it")


def filler(data, n: int) -> tuple[list[list[str]], list[list[str]]]:
    base = data / "mafand_mt" / "en-swa"
    src, tgt = [], []
    for name in ("train", "dev", "test"):
        with open(base / f"{name}.en", encoding="utf-8") as fs, open(base / f"{name}.swa", encoding="utf-8") as ft:
            for s, t in zip(fs, ft):
                s_tok, t_tok = tokenize(s), tokenize(t)
                if s_tok and t_tok:
                    src.append(s_tok)
                    tgt.append(t_tok)
                if len(src) == n:
                    return src, tgt
    raise SystemExit(f"MAFAND en-swa has only {len(src)} usable pairs, {n} needed")


def corpus(en, gold, fill_src, fill_tgt, n: int) -> tuple[list, list, list[int]]:
    """The N-pair corpus and the positions of the Europarl pairs in it (evenly spaced)."""
    k = len(en)
    pos = [(i * n) // k + (n // k) // 2 for i in range(k)]
    at = dict(zip(pos, range(k)))
    src, tgt, f = [], [], 0
    for p in range(n):
        if p in at:
            src.append(list(en[at[p]].tokens))
            tgt.append(list(gold[at[p]].tokens))
        else:
            src.append(fill_src[f])
            tgt.append(fill_tgt[f])
            f += 1
    return src, tgt, pos


def f1_at(en, gold, als, pos) -> float:
    pred, _ = project_corpora(en, gold, [als[p] for p in pos], HeuristicProjector())
    return evaluate_spans(gold, pred).f1


def sharded(src, tgt, shard: int, **params) -> list:
    out = []
    for a in range(0, len(src), shard):
        out += EflomalAligner(**params).align(src[a:a + shard], tgt[a:a + shard])
    return out


def run(data, n: int, shard: int, runs: int, langs=LANGS, weights=(1.0,), eflomal_lex: bool = False) -> str:
    base = data / "europarl_ner"
    en = read_corpus(base / "en-europarl.test.conll02").sentences
    fill_src, fill_tgt = filler(data, n - len(en))
    scores: dict[tuple[str, str], list[float]] = {}
    times: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="projner-priors-bench-") as tmp:
        for lang in langs:
            _language(base, en, fill_src, fill_tgt, lang, n, shard, runs, tmp, scores, times, weights, eflomal_lex)
    return _report(scores, times, n, shard, runs, langs, weights, eflomal_lex)


def _cell(w: float) -> str:
    return "c" if w == 1 else f"c{w:g}"


def _language(base, en, fill_src, fill_tgt, lang, n, shard, runs, tmp, scores, times, weights=(1.0,),
              eflomal_lex: bool = False) -> None:
    gold = read_corpus(base / f"{lang}-europarl.test.conll02").sentences
    src, tgt, pos = corpus(en, gold, fill_src, fill_tgt, n)
    for r in range(runs):
        t0 = time.perf_counter()
        scores.setdefault((lang, "a"), []).append(f1_at(en, gold, EflomalAligner().align(src, tgt), pos))
        t1 = time.perf_counter()
        scores.setdefault((lang, "b"), []).append(f1_at(en, gold, sharded(src, tgt, shard), pos))
        t2 = time.perf_counter()
        path = os.path.join(tmp, f"{lang}-{r}.priors")
        info = train_priors(src, tgt, path)
        t3 = time.perf_counter()
        for name, dt in (("a", t1 - t0), ("b", t2 - t1), ("priors", t3 - t2)):
            times.setdefault(name, []).append(dt)
        for w in weights:
            t4 = time.perf_counter()
            als = sharded(src, tgt, shard, priors=path, priors_weight=w)
            scores.setdefault((lang, _cell(w)), []).append(f1_at(en, gold, als, pos))
            times.setdefault(_cell(w), []).append(time.perf_counter() - t4)
        if eflomal_lex:  # the same priors with eflomal's one lexical table (forward links) for both directions
            one = os.path.join(tmp, f"{lang}-{r}.eflomal.priors")
            pri = load_priors(path).priors
            with open(one, "w", encoding="utf-8") as fh:
                fh.write(format_priors(Priors(pri.lex, pri.hmmf, pri.hmmr, pri.ferf, pri.ferr)))
            t4 = time.perf_counter()
            als = sharded(src, tgt, shard, priors=one)
            scores.setdefault((lang, "e"), []).append(f1_at(en, gold, als, pos))
            times.setdefault("e", []).append(time.perf_counter() - t4)
        cells = [_cell(w) for w in weights] + (["e"] if eflomal_lex else [])
        cs = " ".join(f"{c} {scores[(lang, c)][-1]:.4f}" for c in cells)
        print(f"{lang} run {r + 1}: a {scores[(lang, 'a')][-1]:.4f} b {scores[(lang, 'b')][-1]:.4f} "
              f"{cs} (priors: {info.counts['lex']} LEX lines, {os.path.getsize(path) / 1e6:.1f} MB)", flush=True)


def _report(scores, times, n: int, shard: int, runs: int, langs, weights=(1.0,), eflomal_lex: bool = False) -> str:
    names = {"a": "(a) whole corpus at once", "b": f"(b) shards of {shard:,}, alone"}
    for w in weights:
        names[_cell(w)] = f"(c) shards of {shard:,} + priors of the whole corpus" + ("" if w == 1 else f", weight {w:g}")
    if eflomal_lex:
        names["e"] = f"(c, eflomal's one lexical table) shards of {shard:,} + the same priors without LEXR"
    rows = []
    for c, name in names.items():
        vals = [scores[(lang, c)] for lang in langs]
        means = [sum(v) / len(v) for v in vals]
        rows.append([name] + [mean_sd(v) for v in vals] + [f"{sum(means) / len(means):.3f}"])
    mean = {c: sum(sum(scores[(lang, c)]) / runs for lang in langs) / len(langs) for c in names}
    t = {k: sum(v) / len(v) for k, v in times.items()}
    short = {c: "(b)" if c == "b" else "(c)" if c == "c" else "(c, one table)" if c == "e" else f"(c, weight {c[1:]})" for c in names}
    diffs = "; ".join(f"{short[c]} − (a): {100 * (mean[c] - mean['a']):+.2f}" for c in names if c != "a")
    return (
        f"Europarl-NER en→{'/'.join(langs)} (799 pairs) interleaved into {n:,} pairs (the rest MAFAND en-swa), "
        f"strict F1 on the 799 pairs, mean ± sd over {runs} runs ({machine()}):\n\n"
        + table(["alignment", *langs, "mean"], rows)
        + f"\n\nF1 points: {diffs}.\n"
        + "Mean wall time per language and run: " + ", ".join(f"{k} {v:.0f} s" for k, v in t.items()) + ".\n"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data")
    ap.add_argument("--pairs", type=int, default=30_000)
    ap.add_argument("--shard", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--langs", default=",".join(LANGS))
    ap.add_argument("--weights", default="1", help="priors weights for (c), comma-separated (EflomalAligner(priors_weight=))")
    ap.add_argument("--eflomal-lex", action="store_true",
                    help="also (c) with eflomal's single lexical table (the same priors without LEXR lines)")
    args = ap.parse_args()
    weights = tuple(float(w) for w in args.weights.split(","))
    print(run(data_dir(args.data), args.pairs, args.shard, args.runs, tuple(args.langs.split(",")), weights, args.eflomal_lex))


if __name__ == "__main__":
    main()
