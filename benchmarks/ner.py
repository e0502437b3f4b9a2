"""NER benchmarks: CoNLL-2003 English (spaCy sm/md, CRF) and MasakhaNER 2.0 (model transfer
from English vs in-language CRF). Prints markdown tables.

    .venv/bin/python -m benchmarks.ner [--data DIR] [--quick] [--skip-spacy] [--skip-masakhaner]
                                       [--transformer DIR [--transformer-train N] [--transformer-save DIR]]
                                       [--fast [DIR] [--fast-layers L] [--fast-langs LANG ...] [--fast-cache DIR]]
                                       [--pcrf]

With --transformer only the transformer runs (CoNLL test, then MasakhaNER model transfer).
With --fast only the fast tagger runs (frozen encoder, default the prepared e5-small, vectors
cached, CRF head): trained on eng.train (MISC dropped) with a cold vector cache (a fresh
temporary folder unless --fast-cache), scored on eng.testb PER/ORG/LOC; then, per --fast-langs
language, an in-language MasakhaNER model trained on its train.txt (dev.txt for early stopping).
Times come with CPU seconds and the load average, since the machine may be shared.
With --pcrf the CoNLL table gets a row for the partial-label torch CRF (``pcrf``): trained on
eng.train mapped by conll->per-org-loc (MISC dropped), eng.testa as dev (best epoch kept); e.g.
``--pcrf --skip-spacy --skip-crf --skip-masakhaner`` for that row alone.

Scores are strict span F1 (``projner.evaluate.evaluate_spans``, equal to seqeval strict).
"all" = every type of the dataset (CoNLL: PER/ORG/LOC/MISC; MasakhaNER: PER/ORG/LOC/DATE);
"PER/ORG/LOC" ignores other types on both sides (MISC→O / DATE→O in gold and prediction).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

from projner.data.labelmaps import load_label_map
from projner.evaluate import evaluate_spans
from projner.ner import CrfTagger, SpacyTagger, TransformerTagger
from projner.evaluate.transfer import MASAKHANER_LANGS, conll_split, data_root, masakhaner_split, score_language

CONLL_ALL = ("PER", "ORG", "LOC", "MISC")
POL = ("PER", "ORG", "LOC")


def _f1(gold, pred, labels) -> float:
    return evaluate_spans(gold, pred, labels=labels).f1


def _unl(sents):
    return [s.unlabelled() for s in sents]


def bench_conll(args, rows: list) -> None:
    train = conll_split("train", args.data)
    dev = conll_split("testa", args.data)
    test = conll_split("testb", args.data)
    if args.quick:
        train, dev = train[:2000], dev[:500]
    if not args.skip_spacy:
        for name in ("en_core_web_sm", "en_core_web_md"):
            t0 = time.perf_counter()
            tagger = SpacyTagger(name, label_map="ontonotes->conll", progress=False)
            pred = tagger.predict(_unl(test))
            secs = time.perf_counter() - t0
            rows.append({"system": f"spaCy {name} (ontonotes->conll, pretrained)", "train_s": None, "tag_s": round(secs, 1),
                         "f1_all": _f1(test, pred, CONLL_ALL), "f1_pol": _f1(test, pred, POL)})
    if not args.skip_crf:
        t0 = time.perf_counter()
        crf = CrfTagger(max_iterations=args.crf_iterations, progress=False).fit(train, dev)
        tr = time.perf_counter() - t0
        t0 = time.perf_counter()
        pred = crf.predict(_unl(test))
        rows.append({"system": f"CRF (eng.train{', 2k quick' if args.quick else ''}, {crf.info.get('iterations')} L-BFGS it.)",
                     "train_s": round(tr, 1), "tag_s": round(time.perf_counter() - t0, 1),
                     "f1_all": _f1(test, pred, CONLL_ALL), "f1_pol": _f1(test, pred, POL)})
    if args.pcrf:
        from projner.ner.partial_crf import PartialCrfTagger

        cmap = "conll->per-org-loc"
        ptrain, pdev = conll_split("train", args.data, cmap), conll_split("testa", args.data, cmap)
        if args.quick:
            ptrain, pdev = ptrain[:2000], pdev[:500]
        t0, c0 = time.perf_counter(), time.process_time()
        pc = PartialCrfTagger(progress=False).fit(ptrain, pdev)
        tr, tr_cpu = time.perf_counter() - t0, time.process_time() - c0
        t0 = time.perf_counter()
        pred = pc.predict(_unl(test))
        rows.append({"system": f"pcrf (eng.train{', 2k quick' if args.quick else ''}, MISC dropped, "
                               f"best epoch {pc.info.get('best_epoch')} of {len(pc.info['history'])}; CPU {tr_cpu:.0f} s)",
                     "train_s": round(tr, 1), "tag_s": round(time.perf_counter() - t0, 1), "f1_all": None,
                     "f1_pol": _f1(test, pred, POL)})


def bench_transformer(args) -> dict:
    """Fine-tune an encoder on English CoNLL-2003 (``conll->masakhaner``: MISC dropped) once, then
    score it on eng.testb (PER/ORG/LOC) and, as model transfer, on every MasakhaNER 2.0 test set."""
    cmap = "conll->masakhaner"
    n = args.transformer_train
    train = conll_split("train", args.data, cmap)[:n]
    dev = conll_split("testa", args.data, cmap)[: args.transformer_dev]
    test = conll_split("testb", args.data)
    t0 = time.perf_counter()
    tt = TransformerTagger(args.transformer, epochs=args.transformer_epochs, lr=args.transformer_lr,
                           batch_size=args.transformer_batch, max_length=128, seed=0, freeze_embeddings=True,
                           patience=1, progress=True).fit(train, dev)
    tr = time.perf_counter() - t0
    if args.transformer_save:
        tt.save(args.transformer_save)
    t0 = time.perf_counter()
    pred = tt.predict(_unl(test))
    row = {"system": f"transformer {os.path.basename(args.transformer.rstrip('/'))} ({len(train)} eng.train sentences, "
                     f"{len(tt.info['history'])} epochs, lr {args.transformer_lr}, embeddings frozen, MISC dropped)",
           "train_s": round(tr, 1), "tag_s": round(time.perf_counter() - t0, 1), "f1_all": None,
           "f1_pol": _f1(test, pred, POL), "history": tt.info.get("history")}
    out = {"conll": row, "masakhaner": []}
    print(json.dumps(row), flush=True)
    if not args.skip_masakhaner:
        for lang in args.langs:
            gold = masakhaner_split(lang, "test", args.data)
            t0 = time.perf_counter()
            res = score_language(lang, gold, tt.predict(_unl(gold)))
            r = {"lang": lang, "transfer_all": res.f1_all, "transfer_pol": res.f1_pol, "tag_s": round(time.perf_counter() - t0, 1)}
            out["masakhaner"].append(r)
            print(json.dumps(r), flush=True)
    return out


def _timed_fit(make, train, dev) -> tuple:
    load = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    tagger = make().fit(train, dev)
    return tagger, {"fit_s": round(time.perf_counter() - t0, 1), "fit_cpu_s": round(time.process_time() - c0, 1),
                    "embed_s": tagger.info["embed_seconds"], "head_s": tagger.info["train_seconds"],
                    "epochs": len(tagger.info["history"]), "best_epoch": tagger.info.get("best_epoch"),
                    "dev_f1": tagger.info.get("dev_f1"), "load_start": round(load, 1), "load_end": round(os.getloadavg()[0], 1)}


def bench_fast(args) -> dict:
    """The fast tagger on English CoNLL-2003 (MISC dropped, cold vector cache) and, per
    ``--fast-langs``, in-language MasakhaNER 2.0 target models."""
    import tempfile

    from projner.ner import FastTagger

    cache = args.fast_cache or tempfile.mkdtemp(prefix="projner-fast-bench-")
    kw = {"cache_dir": cache, "progress": False, "seed": 0}
    if args.fast_layers:
        kw["layers"] = args.fast_layers

    def make():
        return FastTagger(args.fast or None, **kw)

    out: dict = {"cache": cache, "conll": None, "masakhaner": []}
    if not args.skip_conll:
        cmap = "conll->masakhaner"
        train, dev = conll_split("train", args.data, cmap), conll_split("testa", args.data, cmap)
        test = conll_split("testb", args.data)
        tagger, row = _timed_fit(make, train, dev)
        t0, c0 = time.perf_counter(), time.process_time()
        pred = tagger.predict(_unl(test))
        row.update(system=f"fast {os.path.basename(str(tagger.encoder.path))} layers {','.join(map(str, tagger.encoder.layers))} "
                          f"({tagger.encoder.precision})", n_train=len(train), tag_s=round(time.perf_counter() - t0, 1),
                   tag_cpu_s=round(time.process_time() - c0, 1), f1_pol=_f1(test, pred, POL))
        out["conll"] = row
        print(json.dumps(row), flush=True)
    for lang in args.fast_langs:
        train, dev = masakhaner_split(lang, "train", args.data), masakhaner_split(lang, "dev", args.data)
        gold = masakhaner_split(lang, "test", args.data)
        tagger, row = _timed_fit(make, train, dev)
        res = score_language(lang, gold, tagger.predict(_unl(gold)))
        row.update(lang=lang, n_train=len(train), f1_all=res.f1_all, f1_pol=res.f1_pol)
        out["masakhaner"].append(row)
        print(json.dumps(row), flush=True)
    return out


def _print_fast(fa: dict) -> None:
    print("\n### Fast cached-encoder tagger (strict span F1; times in s, wall / CPU)\n")
    if fa["conll"]:
        r = fa["conll"]
        print("| system | embed s | head s | fit s (wall / CPU) | epochs (best) | dev F1 | tag eng.testb s | F1 PER/ORG/LOC | load |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        print(f"| {r['system']} | {r['embed_s']} | {r['head_s']} | {r['fit_s']} / {r['fit_cpu_s']} | {r['epochs']} ({r['best_epoch']}) | "
              f"{_fmt(r['dev_f1'])} | {r['tag_s']} | {_fmt(r['f1_pol'])} | {r['load_start']}–{r['load_end']} |")
    if fa["masakhaner"]:
        print("\n| lang | train sents | embed s | head s | fit s (wall / CPU) | epochs (best) | F1 PER/ORG/LOC/DATE | F1 PER/ORG/LOC | load |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for r in fa["masakhaner"]:
            print(f"| {r['lang']} | {r['n_train']} | {r['embed_s']} | {r['head_s']} | {r['fit_s']} / {r['fit_cpu_s']} | "
                  f"{r['epochs']} ({r['best_epoch']}) | {_fmt(r['f1_all'])} | {_fmt(r['f1_pol'])} | {r['load_start']}–{r['load_end']} |")


def bench_masakhaner(args, rows: list) -> None:
    cmap = "conll->masakhaner"
    train = conll_split("train", args.data, cmap)
    dev = conll_split("testa", args.data, cmap)
    if args.quick:
        train, dev = train[:2000], dev[:500]
    t0 = time.perf_counter()
    src = CrfTagger(max_iterations=args.crf_iterations, progress=False).fit(train, dev)
    src_secs = time.perf_counter() - t0
    for lang in args.langs:
        gold = masakhaner_split(lang, "test", args.data)
        transfer = score_language(lang, gold, src.predict(_unl(gold)))
        ltrain = masakhaner_split(lang, "train", args.data)
        ldev = masakhaner_split(lang, "dev", args.data)
        if args.quick:
            ltrain = ltrain[:1000]
        t0 = time.perf_counter()
        own = CrfTagger(max_iterations=args.crf_iterations, progress=False).fit(ltrain, ldev)
        own_secs = time.perf_counter() - t0
        upper = score_language(lang, gold, own.predict(_unl(gold)))
        rows.append({"lang": lang, "n_test": len(gold), "transfer_all": transfer.f1_all, "transfer_pol": transfer.f1_pol,
                     "inlang_all": upper.f1_all, "inlang_pol": upper.f1_pol, "inlang_train_s": round(own_secs, 1),
                     "n_train": len(ltrain), "src_train_s": round(src_secs, 1)})


def _fmt(x, digits: int = 4) -> str:
    return "–" if x is None else f"{x:.{digits}f}" if isinstance(x, float) else str(x)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=None, help="data folder (default $PROJNER_DATA or ../shared/data)")
    ap.add_argument("--quick", action="store_true", help="small training subsets (smoke run)")
    ap.add_argument("--skip-spacy", action="store_true")
    ap.add_argument("--skip-conll", action="store_true")
    ap.add_argument("--skip-crf", action="store_true", help="CoNLL: no CRF row (e.g. for a transformer-only run)")
    ap.add_argument("--skip-masakhaner", action="store_true")
    ap.add_argument("--langs", nargs="+", default=list(MASAKHANER_LANGS))
    ap.add_argument("--crf-iterations", type=int, default=150)
    ap.add_argument("--pcrf", action="store_true", help="CoNLL: add the partial-label torch CRF (pcrf) row")
    ap.add_argument("--transformer", default=None, help="encoder folder to fine-tune on a CoNLL subset (e.g. e5-small)")
    ap.add_argument("--transformer-train", type=int, default=None, help="first N eng.train sentences (default all)")
    ap.add_argument("--transformer-epochs", type=int, default=2)
    ap.add_argument("--transformer-lr", type=float, default=1e-4)
    ap.add_argument("--transformer-batch", type=int, default=16)
    ap.add_argument("--transformer-dev", type=int, default=1000, help="eng.testa sentences for early stopping")
    ap.add_argument("--transformer-save", default=None, help="save the fine-tuned tagger here")
    ap.add_argument("--fast", nargs="?", const="", default=None,
                    help="run only the fast tagger; optional encoder folder (default: the prepared e5-small)")
    ap.add_argument("--fast-layers", default=None, help="fast: encoder layers, e.g. 5,6,7,8 (default: the backend's)")
    ap.add_argument("--fast-langs", nargs="*", default=[], help="fast: also in-language MasakhaNER models for these languages")
    ap.add_argument("--fast-cache", default=None, help="fast: vector cache folder (default: a fresh temporary one, i.e. cold)")
    ap.add_argument("--json", default=None, help="also write all figures as JSON here")
    args = ap.parse_args(argv)
    args.data = str(data_root(args.data))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    print(f"<!-- {platform.node()} {os.cpu_count()} CPUs, data {args.data} -->")
    out: dict = {}
    if args.fast is not None:
        out["fast"] = bench_fast(args)
        _print_fast(out["fast"])
        args.skip_conll = True
        args.skip_masakhaner = True
    if args.transformer:
        out["transformer"] = bench_transformer(args)
        tr = out["transformer"]
        print("\n### Transformer fine-tuned on English CoNLL-2003 (strict span F1 PER/ORG/LOC)\n")
        print(f"eng.testb: {_fmt(tr['conll']['f1_pol'])} (train {tr['conll']['train_s']} s, tag {tr['conll']['tag_s']} s)\n")
        if tr["masakhaner"]:
            print("| lang | transfer PER/ORG/LOC/DATE | transfer PER/ORG/LOC |\n| --- | ---: | ---: |")
            for r in tr["masakhaner"]:
                print(f"| {r['lang']} | {_fmt(r['transfer_all'])} | {_fmt(r['transfer_pol'])} |")
            k = len(tr["masakhaner"])
            print(f"| mean | {_fmt(sum(r['transfer_all'] for r in tr['masakhaner']) / k)} | "
                  f"{_fmt(sum(r['transfer_pol'] for r in tr['masakhaner']) / k)} |")
        args.skip_conll = True
        args.skip_masakhaner = True
    if not args.skip_conll:
        rows: list = []
        bench_conll(args, rows)
        out["conll"] = rows
        print("\n### CoNLL-2003 English eng.testb (strict span F1)\n")
        print("| system | train s | tag s | F1 PER/ORG/LOC/MISC | F1 PER/ORG/LOC |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for r in rows:
            print(f"| {r['system']} | {_fmt(r['train_s'], 1)} | {_fmt(r['tag_s'], 1)} | {_fmt(r['f1_all'])} | {_fmt(r['f1_pol'])} |")
    if not args.skip_masakhaner:
        rows = []
        bench_masakhaner(args, rows)
        out["masakhaner"] = rows
        print("\n### MasakhaNER 2.0 test (strict span F1): CRF model transfer from English vs in-language CRF\n")
        print("| lang | test sents | transfer PER/ORG/LOC/DATE | transfer PER/ORG/LOC | in-language PER/ORG/LOC/DATE | in-language PER/ORG/LOC | in-lang train s |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for r in rows:
            print(f"| {r['lang']} | {r['n_test']} | {_fmt(r['transfer_all'])} | {_fmt(r['transfer_pol'])} | "
                  f"{_fmt(r['inlang_all'])} | {_fmt(r['inlang_pol'])} | {_fmt(r['inlang_train_s'], 1)} |")
        if rows:
            n = len(rows)
            avg = {k: sum(r[k] for r in rows) / n for k in ("transfer_all", "transfer_pol", "inlang_all", "inlang_pol")}
            print(f"| mean | | {_fmt(avg['transfer_all'])} | {_fmt(avg['transfer_pol'])} | {_fmt(avg['inlang_all'])} | {_fmt(avg['inlang_pol'])} | |")
            print(f"\nEnglish source CRF (conll->masakhaner) trained in {rows[0]['src_train_s']} s.")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(out, fh, indent=2)


if __name__ == "__main__":
    main()
