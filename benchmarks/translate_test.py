"""Translate-test on Europarl-NER (issue 7): de/es/it test sentences "translated" into English by
their human Europarl translation (a parallel-file translator: no MT model installs offline, so
this is translate-test with oracle translation), labelled by the CoNLL-2003 CRF, aligned with
eflomal, projected back onto the original target words and scored strictly against the target
gold (PER/ORG/LOC; MISC → O on both sides). Side by side: model transfer (the same English CRF
applied directly to the target sentences).

    PROJNER_DATA=../shared/data .venv/bin/python -m benchmarks.translate_test [--langs de,es,it] [--repeats 3]

Every step is cached (``$PROJNER_CACHE`` or ~/.cache/projner); ``--repeats`` reruns only the
nondeterministic eflomal alignment (each repeat gets its own cache namespace) and reports
mean ± sd.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from benchmarks.common import data_dir, machine, mean_sd, table
from projner.data.formats import read_corpus
from projner.pipeline.cache import StepRunner, hash_file
from projner.pipeline.config import AlignerConfig, LabellerConfig, ProjectionConfig
from projner.pipeline.translate_test import TranslateTestConfig, translate_test
from projner.pipeline.translate_train import model_transfer_run
from projner.translate.parallel import ParallelFileTranslator

LABELS = ("PER", "ORG", "LOC")
ALIGNERS = {
    "eflomal ∩ stem4 copy": {"sym": "intersection", "prefix_len": 4, "copy_dictionary": True},
    "eflomal reverse stem4 copy (projner default)": {},
}


def _texts(path: Path, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    lines = [" ".join(s.tokens) for s in read_corpus(path).sentences]
    tmp = out.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(out)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=None)
    ap.add_argument("--langs", default="de,es,it")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cache", default=None)
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    data = data_dir(args.data)
    runner = StepRunner.at(args.cache, verbose=False)
    work = runner.cache.root / "europarl_text"
    labeller = LabellerConfig(backend="crf", label_map="conll->per-org-loc")
    en_path = data / "europarl_ner" / "en-europarl.test.conll02"
    en_txt = _texts(en_path, work / f"en.{hash_file(en_path)[:12]}.txt")
    rows, t0 = [], time.perf_counter()
    for lang in args.langs.split(","):
        tpath = data / "europarl_ner" / f"{lang}-europarl.test.conll02"
        tgt_txt = _texts(tpath, work / f"{lang}.{hash_file(tpath)[:12]}.txt")
        translator = ParallelFileTranslator(tgt_txt, en_txt, src_lang=lang, tgt_lang="en")
        transfer = model_transfer_run(lang, labeller, labels=LABELS, test=str(tpath), data=str(data), runner=runner)
        row = {"lang": lang, "transfer": transfer.f1}
        for name, params in ALIGNERS.items():
            f1s, ps, rs, rates = [], [], [], []
            for k in range(args.repeats):
                # a separate cache namespace per repeat: eflomal is nondeterministic (no seed)
                rr = runner if k == 0 else StepRunner.at(str(runner.cache.root / f"repeat{k}"), verbose=False)
                cfg = TranslateTestConfig(lang=lang, labeller=labeller, aligner=AlignerConfig(name="eflomal", params=params),
                                          projection=ProjectionConfig(method="heuristic", strip_determiners=True),
                                          test=str(tpath), labels=LABELS, data=str(data))
                if k > 0:  # share the trained English labeller with the main cache
                    rr = _SharedLabeller(rr, runner)
                res, _ = translate_test(cfg, translator, runner=rr)
                f1s.append(res.f1)
                ps.append(res.precision)
                rs.append(res.recall)
                rates.append(res.info["projection"]["projection"]["projection_rate"])
            row[name] = (f1s, statistics.mean(ps), statistics.mean(rs), statistics.mean(rates), res.signature)
        rows.append(row)
    print(f"<!-- {machine()}; wall {time.perf_counter() - t0:.0f} s; {args.repeats} eflomal runs per cell -->\n")
    header = ["target", "model transfer (CRF on English)"] + [f"translate-test, {n}" for n in ALIGNERS]
    body = []
    for r in rows:
        cells = [r["lang"], f"{r['transfer']:.3f}"]
        for n in ALIGNERS:
            f1s, p, rc, rate, _ = r[n]
            cells.append(f"{mean_sd(f1s)} (P {p:.3f} R {rc:.3f}, proj. rate {rate:.3f})")
        body.append(cells)
    print(table(header, body))
    print()
    for n in ALIGNERS:
        print(f"* {n}: `{rows[0][n][4]}`")
    return 0


class _SharedLabeller:
    """A StepRunner whose ``labeller`` steps come from another runner's cache (the CRF is
    deterministic, so only alignment-dependent steps need a fresh namespace per repeat)."""

    def __init__(self, runner: StepRunner, shared: StepRunner):
        self._runner, self._shared = runner, shared

    def run(self, step, params, inputs, compute):
        target = self._shared if step in ("labeller", "label", "translate") else self._runner
        return target.run(step, params, inputs, compute)

    def __getattr__(self, name):
        return getattr(self._runner, name)


if __name__ == "__main__":
    raise SystemExit(main())
