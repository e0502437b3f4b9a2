"""Issue 8.5: scale-out study (``projner.study.scale_out.v1``, ``study: scale_out``).

On a synthetic corpus (:mod:`projner.scale.synthetic`, gold target entities and gold links),
align + project the same pairs with the single-process path (``align_corpus`` +
``project_corpora`` over the whole corpus, the code of ``projner align``/``projner project``)
and with the Ray path (:func:`projner.scale.distributed.align_project`: workers read the files) on a given number of CPUs,
side by side, and record throughput (pairs/s, pairs/s per core, pairs per CPU-second) and the
projection F1 against the synthetic gold. The corpus is read once per size and aligner; reading
is timed separately and shared by the runs.

Config (every key optional)::

    study: scale_out
    sizes: [100000, 1000000]       # synthetic pairs
    seed: 0
    shard_size: 100000             # pairs per Ray shard (eflomal: shared priors, or one model per shard)
    num_cpus: [2]                  # Ray runs: local clusters of these many CPUs
    address: null                  # or "auto"/"ray://HOST:10001": a real cluster (num_cpus ignored)
    single: true                   # also the single-process run
    aligners:                      # pharaoh = the generator's gold links (projection alone)
      - {name: pharaoh}
      - {name: eflomal, params: {n_samplers: 1}}
    method: heuristic
    params: {}                     # projector parameters
    work: null                     # synthetic data and outputs (default OUTPUT/work)

Run ids ``synthetic__N{size}__{aligner}__single|ray{n}``; the table row (``label``) names
aligner, size and mode. A finished run is skipped on a rerun; an unfinished one restarts from
scratch (its shards are removed first, so the timing is a real one).
"""

from __future__ import annotations

import os
import shutil
import time
import traceback
from pathlib import Path
from typing import Any, Mapping, Sequence

from projner.registry import studies
from projner.pipeline.study import RECORDED_ERRORS, Study, StudyContext, read_run, write_run
from projner.scale.distributed import align_project
from projner.scale.inputs import read_inputs
from projner.scale.shards import cpu_time
from projner.scale.spec import ScaleSpec
from projner.scale.synthetic import write_synthetic

DEFAULT_ALIGNERS = [{"name": "pharaoh", "params": {}}, {"name": "eflomal", "params": {"n_samplers": 1}}]


def _aligner(x, p, v):
    d = v.mapping(x, p, {"name": lambda y, q: v.str_(y, q), "params": v.params}, required=("name",))
    return {"name": d["name"], "params": d.get("params", {})}


def _ints(minimum: int):
    return lambda x, p, v: v.list_(x, p, lambda y, q: v.int_(y, q, minimum))


def _human(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k" if n % 1000 == 0 else str(n)


def single_process(inputs, out: Path, spec) -> dict:
    """The single-process path on already read inputs: whole-corpus align + project, then write."""
    from projner.align.base import align_corpus
    from projner.align.build import build_aligner
    from projner.data.formats import write_corpus, write_pharaoh
    from projner.evaluate.projection import projection_stats
    from projner.project.build import build_projector, project_corpora

    t0, c0 = time.perf_counter(), cpu_time()
    if spec.aligner == "pharaoh":
        als, sig = list(inputs.links), "aligner:pharaoh"
    else:
        model = build_aligner(spec.aligner, spec.aligner_params)
        als = align_corpus(model, [s.tokens for s in inputs.src], [t.tokens for t in inputs.tgt])
        sig = model.signature()
    projector = build_projector(spec.method, spec.projector_params)
    sents, projections = project_corpora(inputs.src, inputs.tgt, als, projector)
    compute = time.perf_counter() - t0
    out.mkdir(parents=True, exist_ok=True)
    write_pharaoh(out / "alignments.pharaoh", als)
    path = out / f"projected.{spec.out_format}"
    write_corpus(path, sents, fmt=spec.out_format)
    st = projection_stats(projections)
    return {"compute_seconds": compute, "run_seconds": time.perf_counter() - t0, "cpu_seconds": cpu_time() - c0, "cores": 1.0,
            "projected": str(path), "sentences": sents, "signature": f"{sig}|{projector.signature()}",
            "projection": {"n_source": st.n_source, "n_projected": st.n_projected, "projection_rate": st.rate}}


def ray_process(inputs, out: Path, spec, *, num_cpus: int | None, address: str | None, shard_size: int) -> dict:
    """The Ray path on the same files (fresh: earlier shards of this run are removed); the workers
    read the files themselves (``inputs.paths``)."""
    c0 = cpu_time()
    t0 = time.perf_counter()
    src, tgt, links = inputs.paths
    pharaoh = spec.aligner == "pharaoh"
    res = align_project(src, tgt, out, use_ray=True, aligner=None if pharaoh else spec.aligner,
                        aligner_params=None if pharaoh else dict(spec.aligner_params), alignments=links if pharaoh else None,
                        method=spec.method, projector_params=dict(spec.projector_params), out_format=spec.out_format,
                        shard_size=shard_size, num_cpus=num_cpus, address=address, progress=False)
    # workers' CPU (incl. eflomal) + the driver's own (encoding shards, writing outputs)
    return {"compute_seconds": res.compute_seconds, "run_seconds": time.perf_counter() - t0,
            "init_seconds": res.init_seconds, "cpu_seconds": res.cpu_seconds + (cpu_time() - c0), "cores": res.cores,
            "worker_cpu_seconds": res.cpu_seconds, "n_shards": res.n_shards, "projected": res.projected,
            "signature": res.signature, "projection": dict(res.projection)}


def throughput_fields(n_pairs: int, m: Mapping[str, Any], read_seconds: float) -> dict:
    compute = m["compute_seconds"]
    end_to_end = read_seconds + m["run_seconds"]
    return {
        "n_pairs": n_pairs, "read_seconds": round(read_seconds, 2), "compute_seconds": round(compute, 2),
        "run_seconds": round(m["run_seconds"], 2), "init_seconds": round(m.get("init_seconds", 0.0), 2),
        "wall_seconds": round(end_to_end, 2), "cpu_seconds": round(m["cpu_seconds"], 2), "cores": m["cores"],
        "pairs_per_s": n_pairs / compute if compute else 0.0,
        "pairs_per_s_per_core": n_pairs / compute / m["cores"] if compute and m["cores"] else 0.0,
        "end_to_end_pairs_per_s": n_pairs / end_to_end if end_to_end else 0.0,
        "pairs_per_cpu_second": n_pairs / m["cpu_seconds"] if m["cpu_seconds"] else 0.0,
        "worker_cpu_seconds": round(m.get("worker_cpu_seconds", m["cpu_seconds"]), 2),
    }


@studies.register("projner.study.scale_out.v1")
class ScaleOut(Study):
    keys = {
        "sizes": _ints(1),
        "seed": lambda x, p, v: v.int_(x, p, 0),
        "shard_size": lambda x, p, v: v.int_(x, p, 1),
        "num_cpus": _ints(1),
        "address": lambda x, p, v: v.opt_str(x, p),
        "single": lambda x, p, v: v.bool_(x, p),
        "aligners": lambda x, p, v: v.list_(x, p, lambda y, q: _aligner(y, q, v)),
        "method": lambda x, p, v: v.str_(x, p),
        "params": lambda x, p, v: v.params(x, p),
        "work": lambda x, p, v: v.opt_str(x, p),
    }

    @staticmethod
    def settings(params: Mapping[str, Any]) -> dict:
        return {
            "sizes": list(params.get("sizes", [100_000, 1_000_000])), "seed": params.get("seed", 0),
            "shard_size": params.get("shard_size", 100_000), "num_cpus": list(params.get("num_cpus", [2])),
            "address": params.get("address"), "single": params.get("single", True),
            "aligners": list(params.get("aligners", DEFAULT_ALIGNERS)), "method": params.get("method", "heuristic"),
            "params": dict(params.get("params", {})), "work": params.get("work"),
        }

    def points(self, params: Mapping[str, Any]) -> list[dict]:
        s = self.settings(params)
        modes = (["single"] if s["single"] else []) + (
            [f"ray{n}" for n in s["num_cpus"]] if s["address"] is None else ["raycluster"])
        return [{"size": size, "aligner": al, "mode": mode,
                 "run_id": f"synthetic__N{size}__{al['name']}__{mode}"}
                for size in s["sizes"] for al in s["aligners"] for mode in modes]

    def plan(self, params: Mapping[str, Any]) -> list[str]:
        return [p["run_id"] for p in self.points(params)]

    def run(self, params: Mapping[str, Any], ctx: StudyContext) -> None:
        from projner.data.formats import read_corpus
        from projner.evaluate.spans import evaluate_spans

        if ctx.languages and "synthetic" not in ctx.languages:
            return
        s = self.settings(params)
        work = Path(s["work"]) if s["work"] else ctx.out / "work"
        groups: dict[int, list[dict]] = {}
        for p in self.points(params):
            groups.setdefault(p["size"], []).append(p)
        for size, pts in groups.items():
            todo = [p for p in pts if read_run(ctx.out, p["run_id"]) is None]
            if not todo:
                continue
            ctx.log(f"synthetic corpus of {size:,} pairs (seed {s['seed']})")
            corpus = write_synthetic(work / f"synthetic-{size}-seed{s['seed']}", size, seed=s["seed"])
            t0 = time.perf_counter()
            # read once for every run of this size (the gold links too: used by the pharaoh runs only)
            inputs = read_inputs(corpus.src, corpus.tgt, alignments=corpus.links)
            read_seconds = time.perf_counter() - t0
            ctx.log(f"  read in {read_seconds:.1f} s")
            gold = read_corpus(corpus.gold).sentences
            for p in todo:
                spec = ScaleSpec(aligner=p["aligner"]["name"], aligner_params=dict(p["aligner"]["params"]),
                                 method=s["method"], projector_params=s["params"], out_format="jsonl")
                ctx.log(f"  {p['run_id']}")
                rec = self._measure(p, s, inputs, gold, spec, work / p["run_id"], read_seconds, evaluate_spans, read_corpus)
                write_run(ctx.out, rec)
                if rec["status"] == "ok":
                    ctx.log(f"    {rec['pairs_per_s']:,.0f} pairs/s on {rec['cores']:g} core(s) "
                            f"({rec['pairs_per_s_per_core']:,.0f}/core, {rec['pairs_per_cpu_second']:,.0f} per CPU-s), "
                            f"F1 {rec['f1']:.4f}, {rec['run_seconds']:.0f} s")
                else:
                    ctx.log(f"    error: {rec['error']}")

    @staticmethod
    def _measure(p, s, inputs, gold, spec, out: Path, read_seconds, evaluate_spans, read_corpus) -> dict:
        mode = p["mode"]
        al = p["aligner"]
        what = "gold links" if al["name"] == "pharaoh" else al["name"]
        label = (f"{what}, {_human(p['size'])} pairs, "
                 + ("single process" if mode == "single" else "Ray cluster" if mode == "raycluster" else f"Ray {mode[3:]} CPUs"))
        rec: dict[str, Any] = {"run_id": p["run_id"], "experiment": "scale_out", "lang": "synthetic", "label": label,
                               "system": "scale-out", "mode": mode, "aligner": al["name"], "aligner_params": al["params"],
                               "size": p["size"], "shard_size": s["shard_size"], "load_before": os.getloadavg()[0]}
        try:
            if out.exists():
                shutil.rmtree(out)  # a fresh measurement, never reused shards
            if mode == "single":
                m = single_process(inputs, out, spec)
            else:
                n = None if mode == "raycluster" else int(mode[3:])
                m = ray_process(inputs, out, spec, num_cpus=n, address=s["address"], shard_size=s["shard_size"])
            rec.update(throughput_fields(len(inputs.src), m, read_seconds))
            rec["load_after"] = os.getloadavg()[0]
            rec["n_shards"] = m.get("n_shards", 1)
            # the single process scores its sentences in memory; Ray's are read back from the merged file
            pred = m["sentences"] if "sentences" in m else read_corpus(m["projected"]).sentences
            sc = evaluate_spans(gold, pred)
            rec.update(status="ok", f1=sc.f1, precision=sc.precision, recall=sc.recall, signature=sc.signature,
                       pipeline_signature=m["signature"], projection=m["projection"])
        except RECORDED_ERRORS as exc:  # one failing run must not lose the others (a bug propagates)
            rec.update(status="error", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc(limit=5))
        return rec

    def report(self, folder: Path) -> None:
        from projner.data.textio import atomic_write
        from projner.pipeline.experiment import load_runs

        runs = [r for r in load_runs(folder) if r.get("status") == "ok" and r.get("system") == "scale-out"]
        if not runs:
            return
        runs.sort(key=lambda r: (r["size"], r["aligner"], r["mode"] != "single", r["cores"]))
        with atomic_write(Path(folder) / "scale_out.md") as fh:
            fh.write(markdown(runs))
        plot(runs, Path(folder) / "scale_out.png")


def _base(runs: Sequence[dict], r: dict) -> dict | None:
    return next((b for b in runs if b["mode"] == "single" and b["size"] == r["size"] and b["aligner"] == r["aligner"]), None)


def markdown(runs: Sequence[dict]) -> str:
    """The throughput table; ratios are per core against the single process on the same corpus."""
    head = ("| corpus | aligner | run | cores | shards | align+project s | pairs/s | pairs/s/core | per core vs single "
            "| CPU s (all / align+project) | pairs/CPU-s | end-to-end pairs/s | F1 | load |")
    lines = ["# Scale-out: single process vs Ray", "",
             "Synthetic English→xx corpus (`projner.scale.synthetic`); `gold links` = the generator's alignment "
             "(projection alone), otherwise the aligner runs (on Ray: shared priors where available, else one model "
             "per shard). pairs/s = pairs / "
             "align+project wall time (Ray: from the first task to the last shard written, cluster start excluded); "
             "end-to-end adds reading the inputs (once, shared) and, for Ray, starting the cluster; pairs/CPU-s "
             "counts all CPU time of the run: driver, workers, eflomal and, for Ray, the Ray processes the driver reaped at shutdown (less load-dependent than wall time); align+project CPU is the shard work alone (Ray workers incl. eflomal). Load = 1-minute "
             "load average before the run.", "", head,
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in runs:
        b = _base(runs, r)
        ratio = (f"{r['pairs_per_s_per_core'] / b['pairs_per_s_per_core']:.2f}"
                 if b and b["pairs_per_s_per_core"] and r is not b else "1.00" if r["mode"] == "single" else "")
        run = "single process" if r["mode"] == "single" else f"Ray, {r['cores']:g} CPUs"
        lines.append(
            f"| {r['size']:,} | {r['aligner']} | {run} | {r['cores']:g} | {r.get('n_shards', 1)} | {r['compute_seconds']:.1f} | "
            f"{r['pairs_per_s']:,.0f} | {r['pairs_per_s_per_core']:,.0f} | {ratio} | "
            f"{r['cpu_seconds']:.1f} / {r.get('worker_cpu_seconds', r['cpu_seconds']):.1f} | {r['pairs_per_cpu_second']:,.0f} | "
            f"{r['end_to_end_pairs_per_s']:,.0f} | {r['f1']:.4f} | {r['load_before']:.1f} |")
    lines += ["", "Ray cluster start (s): " + ", ".join(f"{r['run_id']} {r['init_seconds']:.1f}" for r in runs if r["mode"] != "single"), ""]
    return "\n".join(lines)


def plot(runs: Sequence[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{_human(r['size'])} {r['aligner']}\n" + ("single" if r["mode"] == "single" else f"Ray {r['cores']:g} CPU")
              for r in runs]
    fig, axes = plt.subplots(1, 2, figsize=(max(7, 1.3 * len(runs) + 3), 4.5))
    xs = range(len(runs))
    colors = ["#888888" if r["mode"] == "single" else "#1f77b4" for r in runs]
    axes[0].bar(xs, [r["pairs_per_s_per_core"] for r in runs], color=colors)
    axes[0].set_title("align+project pairs/s per core")
    axes[1].bar(xs, [r["pairs_per_cpu_second"] for r in runs], color=colors)
    axes[1].set_title("pairs per CPU-second")
    for ax in axes:
        ax.set_xticks(list(xs))
        ax.set_xticklabels(labels, fontsize=7)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    os.replace(tmp, path)
