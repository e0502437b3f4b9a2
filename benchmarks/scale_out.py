"""Issue 8.5 benchmark: single process vs Ray Data shards on the same synthetic corpus.

    python -m benchmarks.scale_out --pairs 1000000 [--cpus 2] [--shard-size 100000]
        [--aligners pharaoh,eflomal] [--samplers 1] [--address auto] [--output DIR]

Runs the ``projner.study.scale_out.v1`` study (records under ``--output``/runs, finished runs
are skipped on a rerun) and prints its markdown table: align+project pairs/s, pairs/s per core,
the per-core ratio against the single process, pairs per CPU-second, end-to-end pairs/s and
projection F1 against the synthetic gold. ``pharaoh`` projects the generator's gold links
(projection alone); ``eflomal`` aligns (on Ray with shared priors where available, see
:mod:`projner.scale.priors`). For the I/O side (workers reading and writing their own shards:
CPU of all processes, driver memory, time to the first shard) see ``benchmarks/scale_io.py``.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from benchmarks.common import machine


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=1_000_000)
    ap.add_argument("--cpus", default="2", help="comma-separated CPU counts of local Ray clusters")
    ap.add_argument("--shard-size", type=int, default=100_000)
    ap.add_argument("--aligners", default="pharaoh,eflomal", help="comma-separated: pharaoh (gold links), eflomal")
    ap.add_argument("--samplers", type=int, default=1, help="eflomal samplers (1: one core per worker)")
    ap.add_argument("--address", default=None, help="a running Ray cluster instead of local ones")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--output", default=None)
    args = ap.parse_args(argv)

    from projner.pipeline.experiment import parse_config, run_experiment

    aligners = [{"name": a} if a == "pharaoh" else {"name": a, "params": {"n_samplers": args.samplers}}
                for a in args.aligners.split(",") if a]
    cfg = parse_config({"study": "scale_out", "name": "scale_out_benchmark", "sizes": [args.pairs], "seed": args.seed,
                        "shard_size": args.shard_size, "num_cpus": [int(c) for c in args.cpus.split(",")],
                        "address": args.address, "aligners": aligners})
    out = Path(args.output or f"benchmarks/results/scale_out_bench_{args.pairs}")
    print(f"## Scale-out (issue 8.5): {args.pairs:,} synthetic pairs, single process vs Ray\n"
          f"Machine: {machine()}; date {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
          f"load average at start {os.getloadavg()[0]:.1f}.\n", flush=True)
    t0 = time.perf_counter()
    run_experiment(cfg, out, verbose=False, log=lambda m: print(m, flush=True))
    print((out / "scale_out.md").read_text(encoding="utf-8"))
    print(f"Whole benchmark: {time.perf_counter() - t0:.0f} s wall; load average at end {os.getloadavg()[0]:.1f}. Results in {out}.")


if __name__ == "__main__":
    main()
