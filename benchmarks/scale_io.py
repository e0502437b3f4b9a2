"""Issue 16 benchmark: projection with precomputed links, single process vs Ray, workers reading
and writing their own shards.

    nice -n 5 python -m benchmarks.scale_io --pairs 1000000 [--pairs 10000000] [--cpus 2]
        [--shard-size 100000] [--work /tmp/projner-scale-io] [--keep]

For every size: writes the synthetic corpus (:mod:`projner.scale.synthetic`) under ``--work``
(deleted afterwards unless ``--keep``), then runs, each in a fresh child process, the same job
(``aligner=pharaoh``: the generator's gold links) in one process (:func:`align_project_local`,
the same shard size, shards one after the other) and on a local Ray cluster of ``--cpus`` CPUs
(:func:`align_project_distributed`), and prints one markdown table:

* pairs/s: pairs / wall time of the whole job (planning, cluster start, compute, concatenation);
* pairs/CPU-s: pairs / CPU seconds of *every* process of the job: the child measures, just
  before it stops Ray, user+system CPU of itself and of all its descendants still alive (Ray's
  GCS, raylet, dashboard agents, workers: ``psutil.Process().children(recursive=True)``), plus
  the CPU of descendants they already reaped (``cpu_times().children_*``);
* driver peak RSS: ``ru_maxrss`` of the child process (the driver alone; Ray's processes are not in it);
* first shard: seconds from the start of the job to the first finished shard file.

The outputs of the two runs are compared byte for byte.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path


def _tree_cpu() -> float:
    import psutil

    me = psutil.Process()
    total = 0.0
    for p in [me] + me.children(recursive=True):
        try:
            t = p.cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system + getattr(t, "children_user", 0.0) + getattr(t, "children_system", 0.0)
    return total


def child(mode: str, folder: str, out: str, cpus: int, shard_size: int) -> None:
    """One measured run (in its own process); prints a JSON line."""
    from projner.scale.distributed import align_project_distributed, align_project_local
    from projner.scale.synthetic import SyntheticCorpus

    c = SyntheticCorpus(Path(folder), 0, 0)
    t0 = time.perf_counter()
    if mode == "single":
        res = align_project_local(c.src, c.tgt, out, alignments=c.links, shard_size=shard_size, progress=False)
        cpu = _tree_cpu()
    else:
        import ray

        ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False, configure_logging=False)
        init = time.perf_counter() - t0
        res = align_project_distributed(c.src, c.tgt, out, alignments=c.links, shard_size=shard_size, progress=False)
        cpu = _tree_cpu()
        ray.shutdown()
    wall = time.perf_counter() - t0
    before_first = wall - res.write_seconds - (res.compute_seconds - res.first_shard_seconds)
    if mode != "single":
        before_first = init + res.read_seconds + res.first_shard_seconds  # cluster start + planning + first shard
    print(json.dumps({"mode": mode, "n_pairs": res.n_pairs, "n_shards": res.n_shards, "wall": wall, "cpu": cpu,
                      "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "first_shard": before_first,
                      "plan": res.read_seconds, "compute": res.compute_seconds, "write": res.write_seconds,
                      "worker_cpu": res.cpu_seconds, "nodes": res.nodes}), flush=True)


def measure(mode: str, folder: Path, out: Path, cpus: int, shard_size: int) -> dict:
    if out.exists():
        shutil.rmtree(out)
    cmd = [sys.executable, "-m", "benchmarks.scale_io", "--child", mode, "--folder", str(folder), "--out", str(out),
           "--cpus", str(cpus), "--shard-size", str(shard_size)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603 - fixed argv, no shell
    if proc.returncode != 0:
        raise SystemExit(f"{mode} run failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, action="append", help="corpus sizes (repeat); default 1,000,000")
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--shard-size", type=int, default=100_000)
    ap.add_argument("--work", default="/tmp/projner-scale-io")
    ap.add_argument("--keep", action="store_true", help="keep the synthetic corpora and outputs")
    ap.add_argument("--modes", default="single,ray", help="runs per size: single,ray (default) or one of them")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--folder", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.child, args.folder, args.out, args.cpus, args.shard_size)
        return

    from benchmarks.common import machine
    from projner.scale.synthetic import write_synthetic

    sizes = args.pairs or [1_000_000]
    modes = [m for m in args.modes.split(",") if m]
    if not modes or any(m not in ("single", "ray") for m in modes):
        raise SystemExit(f"--modes: single, ray or both, not {args.modes!r}")
    print(f"## Scale-out I/O (issue 16): gold links, single process vs Ray ({args.cpus} CPUs), shards of "
          f"{args.shard_size:,} pairs\nMachine: {machine()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
          f"load average at start {os.getloadavg()[0]:.1f}.\n", flush=True)
    rows = []
    work = Path(args.work)
    try:
        for n in sizes:
            t0 = time.perf_counter()
            corpus = write_synthetic(work / f"synthetic-{n}", n, seed=0)
            print(f"{n:,} pairs written in {time.perf_counter() - t0:.0f} s", flush=True)
            res = {}
            for mode in modes:
                res[mode] = measure(mode, corpus.folder, work / f"out-{n}-{mode}", args.cpus, args.shard_size)
                res[mode]["load"] = os.getloadavg()[0]
                print(json.dumps(res[mode]), flush=True)
            same = None if len(modes) < 2 else all(
                (work / f"out-{n}-single" / f).read_bytes() == (work / f"out-{n}-ray" / f).read_bytes()
                for f in ("projected.jsonl", "alignments.pharaoh"))
            rows.append((n, res, same))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print("\n| pairs | run | shards | wall s | pairs/s | CPU s (all processes) | pairs/CPU-s | vs single per CPU-s "
          "| driver peak RSS MB | first shard s | plan s | load | output = single |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for n, res, same in rows:
        base = n / res["single"]["cpu"] if "single" in res else None
        for mode in modes:
            r = res[mode]
            per_cpu = n / r["cpu"]
            run = "single process" if mode == "single" else f"Ray, {args.cpus} CPUs"
            print(f"| {n:,} | {run} | {r['n_shards']} | {r['wall']:.1f} | {n / r['wall']:,.0f} | {r['cpu']:.1f} | "
                  f"{per_cpu:,.0f} | {'' if base is None else f'{per_cpu / base:.2f}'} | {r['rss_mb']:,.0f} | {r['first_shard']:.1f} | {r['plan']:.1f} | "
                  f"{r['load']:.1f} | {'-' if same is None else 'yes' if same else 'NO'} |")


if __name__ == "__main__":
    main()
