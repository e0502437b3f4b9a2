"""MasakhaNER 2.0 translate-train benchmark (issue 7): the experiment config, run and tabled.

    PROJNER_DATA=../shared/data .venv/bin/python -m benchmarks.masakhaner [--langs hau,pcm] [--cache DIR]

Same as ``projner experiment run experiments/masakhaner_translate_train.yaml``. Every step is
cached (``$PROJNER_CACHE`` or ~/.cache/projner): the English CRF labeller is trained once and
shared by every language, a rerun recomputes nothing, a killed run resumes.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

from projner.pipeline.experiment import load_config, run_experiment

CONFIG = Path(__file__).resolve().parents[1] / "experiments" / "masakhaner_translate_train.yaml"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=str(CONFIG))
    ap.add_argument("--output", default=None)
    ap.add_argument("--cache", default=None)
    ap.add_argument("--data", default=None)
    ap.add_argument("--langs", default=None)
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    cfg = load_config(args.config)
    langs = args.langs.split(",") if args.langs else None
    t0, c0 = time.perf_counter(), time.process_time()
    out = run_experiment(cfg, args.output, cache=args.cache, data=args.data, languages=langs,
                         log=lambda m: print(m, file=sys.stderr, flush=True))
    print((out / "results.md").read_text(encoding="utf-8"))
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"wall {time.perf_counter() - t0:.0f} s, CPU {time.process_time() - c0:.0f} s in-process"
          f" + {children.ru_utime + children.ru_stime:.0f} s in child processes (eflomal); results in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
