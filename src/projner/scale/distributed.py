"""Align and project millions of sentence pairs in shards, on a Ray cluster or in one process.

:func:`align_project_distributed` reads a labelled source file and a line-parallel target file
(or a precomputed Pharaoh alignment instead of an aligner), cuts the pairs into shards of
``shard_size`` pairs, aligns and projects every shard in a Ray worker (a Ray Data ``map`` over
one row per shard) and writes, in the original order:

* ``OUT/alignments.pharaoh``: one alignment line per pair,
* ``OUT/projected.jsonl`` (or ``.conll``): the target sentences with the projected entities,
* ``OUT/scale.json``: counts, projection statistics, timings and throughput.

``address=None`` starts a local cluster (``ray.init(num_cpus=...)``) and stops it afterwards;
``address="auto"`` or ``"ray://HOST:10001"`` connects to a running cluster: the same code scales
out. Workers need projner (and the aligner's dependencies) installed; pass ``runtime_env`` for
a cluster whose nodes lack it. Inputs are read on the driver and shards travel through Ray's
object store; outputs come back to the driver, which writes them: no shared file system needed.

Resume: every finished shard is kept under ``OUT/shards/`` named by a fingerprint of its content,
every parameter, its code and its component and engine versions (:mod:`projner.scale.keys`). A
rerun skips shards whose files are complete, recomputes the rest and reassembles the outputs.
All files are written atomically, so a killed run leaves only whole shards.

Statistical aligners and shards: eflomal is trained on the corpus it aligns, so a shard is
aligned with a model trained on that shard alone. Large shards (default 100k pairs) keep
almost all of the benefit of a large corpus (eflomal's gain from more text flattens well
below 100k pairs) while bounding a worker's memory and time; small shards (a few thousand
pairs) cost alignment quality on rare words and names. The result therefore depends on
``shard_size`` for eflomal (and eflomal is unseeded anyway); for a deterministic aligner or
precomputed links it does not, and the output equals the single-process path
(:func:`projner.pipeline.files.align_files` + :func:`~projner.pipeline.files.project_files`).

:func:`align_project_local` runs exactly the same shard code in this process, one shard after
the other (``shard_size=None``: the whole corpus as one shard, i.e. the single-process path).

This module is the driver (:func:`run_shards`, :func:`align_project`); the parts live beside it:
:mod:`~projner.scale.spec` (job and result), :mod:`~projner.scale.inputs` (reading),
:mod:`~projner.scale.shards` (the work of one shard), :mod:`~projner.scale.store` (finished
shards on disk) and :mod:`~projner.scale.execution` (Ray or in-process).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

from projner.data.formats import ReadOptions
from projner.data.textio import atomic_write
from projner.errors import E, ProjnerError
from projner.scale.execution import RayCluster, import_ray, run_local, run_ray
from projner.scale.inputs import Inputs, read_inputs
from projner.scale.shards import make_shards
from projner.scale.spec import DEFAULT_SHARD_SIZE, SCALE_VERSION, ScaleResult, ScaleSpec
from projner.scale.store import ShardStore


def _merge_stats(recs: Sequence[Mapping[str, Any]]) -> tuple[dict, dict]:
    n_src = n_proj = 0
    outcomes: dict[str, int] = {}
    per_type: dict[str, list[int]] = {}
    al: dict[str, int] = {}
    for r in recs:
        st = r["stats"]
        n_src += st.get("n_source", 0)
        n_proj += st.get("n_projected", 0)
        for k, v in st.get("outcomes", {}).items():
            outcomes[k] = outcomes.get(k, 0) + v
        for k, (a, b) in st.get("per_type", {}).items():
            cur = per_type.get(k, [0, 0])
            per_type[k] = [cur[0] + a, cur[1] + b]
        for k, v in st.get("aligner", {}).items():
            al[k] = al.get(k, 0) + v
    proj = {"n_source": n_src, "n_projected": n_proj, "projection_rate": n_proj / n_src if n_src else 0.0,
            "outcomes": dict(sorted(outcomes.items())),
            "per_type": {k: {"projected": a, "source": b} for k, (a, b) in sorted(per_type.items())}}
    return proj, dict(sorted(al.items()))


def _concat(target: Path, parts: Sequence[Path]) -> None:
    with atomic_write(target, "wb") as out:
        for p in parts:
            with open(p, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    out.write(chunk)


def run_shards(
    inputs: Inputs,
    out_dir: str | os.PathLike,
    spec: ScaleSpec,
    *,
    shard_size: int | None = DEFAULT_SHARD_SIZE,
    use_ray: bool = True,
    num_cpus: int | None = None,
    address: str | None = None,
    runtime_env: Mapping[str, Any] | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
    read_seconds: float = 0.0,
) -> ScaleResult:
    """Shard ``inputs``, compute the missing shards (Ray or in-process), write the ordered outputs."""
    from projner.log import progress_bar

    if shard_size is not None and shard_size < 1:
        raise ProjnerError(E.E260, detail=f"shard_size must be >= 1 (or None for one shard), got {shard_size}")
    if num_cpus is not None and num_cpus < 1:
        raise ProjnerError(E.E260, detail=f"num_cpus must be >= 1, got {num_cpus}")
    if address is not None and num_cpus is not None:
        raise ProjnerError(E.E260, detail="num_cpus sets up a local cluster; a cluster at an address brings its own CPUs")
    if spec.aligner == "pharaoh" and inputs.links is None:
        raise ProjnerError(E.E260, detail="aligner 'pharaoh' needs an alignment file")
    say = log or (lambda m: None)
    t_start = time.perf_counter() - read_seconds
    out = Path(out_dir)
    store = ShardStore(out / "shards")
    shards = make_shards(inputs.src, inputs.tgt, inputs.links if spec.aligner == "pharaoh" else None, spec, shard_size)
    done: dict[str, dict] = {}
    for s in shards:
        rec = store.load(s.key, s.n_pairs)
        if rec is not None:
            done[s.key] = rec
    todo, seen = [], set(done)
    for s in shards:
        if s.key not in seen:
            seen.add(s.key)
            todo.append(s)
    reused = sum(1 for s in shards if s.key in done)
    say(f"{len(shards)} shard(s) of <= {shard_size or len(inputs.src):,} pairs: {reused} finished before, {len(todo)} to compute")
    by_index = {s.index: s for s in shards}
    failures: list[ProjnerError] = []
    t_compute = time.perf_counter()
    init_seconds, cores = 0.0, 1.0
    session = RayCluster(num_cpus, address, runtime_env) if use_ray else None

    def consume(results: Iterator[dict]) -> None:
        with progress_bar(total=sum(s.n_pairs for s in todo), desc="align+project", unit="pair", disable=not progress) as bar:
            for r in results:
                s = by_index[int(r["index"])]
                if r["error"]:
                    failures.append(ProjnerError(E.E261, shard=s.index, first=s.first + 1, last=s.first + s.n_pairs, detail=r["error"]))
                else:
                    done[s.key] = store.save(s.key, s.n_pairs, r)
                bar.update(s.n_pairs)

    if todo:
        if session is not None:
            with session:
                init_seconds = session.init_seconds
                cores = session.cores()
                t_compute = time.perf_counter()
                consume(run_ray(todo, spec.to_json()))
        else:
            consume(run_local(todo, spec.to_json()))
    compute_seconds = time.perf_counter() - t_compute if todo else 0.0
    if failures:  # finished shards are saved: a rerun computes only the failed ones
        raise failures[0]
    t_write = time.perf_counter()
    ext = "jsonl" if spec.out_format == "jsonl" else "conll"
    al_path, out_path = out / "alignments.pharaoh", out / f"projected.{ext}"
    _concat(al_path, [store.paths(s.key)[0] for s in shards])
    _concat(out_path, [store.paths(s.key)[1] for s in shards])
    recs = [done[s.key] for s in shards]
    projection, al_stats = _merge_stats(recs)
    sigs = sorted({r["signature"].split("||")[0] for r in recs})
    proj_sig = recs[0]["signature"].split("||")[-1] if recs else ""
    from projner import __version__

    signature = f"projner-scale:{SCALE_VERSION}|{';'.join(sigs)}|{proj_sig}|shard:{shard_size or 'all'}|version:{__version__}"
    write_seconds = time.perf_counter() - t_write
    computed_keys = {s.key for s in todo}
    result = ScaleResult(
        mode="ray" if use_ray else "single process", out_dir=str(out), alignments=str(al_path), projected=str(out_path),
        n_pairs=len(inputs.src), n_shards=len(shards), shard_size=shard_size or len(inputs.src),
        shards_computed=len(todo), shards_reused=reused, cores=cores if todo else 0.0,
        read_seconds=read_seconds, init_seconds=init_seconds, compute_seconds=compute_seconds, write_seconds=write_seconds,
        wall_seconds=time.perf_counter() - t_start,
        cpu_seconds=sum(done[k]["cpu_seconds"] for k in computed_keys), projection=projection, aligner_stats=al_stats,
        signature=signature, address=address,
    )
    with atomic_write(out / "scale.json") as fh:
        json.dump(result.to_dict(), fh, indent=1, sort_keys=True)
    return result


def _spec(aligner: str | None, aligner_params, method: str, projector_params, out_format: str, alignments) -> ScaleSpec:
    """``aligner=None``: eflomal, or the given Pharaoh links when ``alignments`` is set."""
    if alignments is not None and aligner not in ("pharaoh", None):
        raise ProjnerError(E.E260, detail=f"give either an alignment file or an aligner ({aligner!r}), not both")
    name = "pharaoh" if alignments is not None else (aligner or "eflomal")
    return ScaleSpec(aligner=name, aligner_params=dict(aligner_params or {}), method=method,
                     projector_params=dict(projector_params or {}), out_format=out_format)


def align_project(
    src: str | os.PathLike,
    tgt: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    use_ray: bool = True,
    aligner: str | None = None,
    aligner_params: Mapping[str, Any] | None = None,
    alignments: str | os.PathLike | None = None,
    method: str = "heuristic",
    projector_params: Mapping[str, Any] | None = None,
    shard_size: int | None = DEFAULT_SHARD_SIZE,
    num_cpus: int | None = None,
    address: str | None = None,
    runtime_env: Mapping[str, Any] | None = None,
    out_format: str = "jsonl",
    src_format: str | None = None,
    tgt_format: str | None = None,
    options: ReadOptions = ReadOptions(),
    label_map: str | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> ScaleResult:
    """Align (unless ``alignments`` gives Pharaoh links) and project in shards, on Ray (``use_ray``;
    ``num_cpus``, ``address``, ``runtime_env`` set it up) or in this process; see the module docstring."""
    spec = _spec(aligner, aligner_params, method, projector_params, out_format, alignments)
    if use_ray:
        import_ray()  # fail before reading millions of lines
    t0 = time.perf_counter()
    inputs = read_inputs(src, tgt, alignments=alignments, src_format=src_format, tgt_format=tgt_format,
                         options=options, label_map=label_map)
    return run_shards(inputs, out_dir, spec, shard_size=shard_size, use_ray=use_ray, num_cpus=num_cpus, address=address,
                      runtime_env=runtime_env, progress=progress, log=log, read_seconds=time.perf_counter() - t0)


def align_project_distributed(src: str | os.PathLike, tgt: str | os.PathLike, out_dir: str | os.PathLike,
                              **job: Any) -> ScaleResult:
    """:func:`align_project` on Ray (shards of :data:`DEFAULT_SHARD_SIZE` pairs unless ``shard_size`` says)."""
    return align_project(src, tgt, out_dir, use_ray=True, **job)


def align_project_local(src: str | os.PathLike, tgt: str | os.PathLike, out_dir: str | os.PathLike, *,
                        shard_size: int | None = None, **job: Any) -> ScaleResult:
    """The same job in this process, shard after shard (``shard_size=None``: the whole corpus at once);
    the options of :func:`align_project` but the Ray ones."""
    ray_options = sorted(set(job) & {"use_ray", "num_cpus", "address", "runtime_env"})
    if ray_options:
        raise TypeError(f"align_project_local() takes no Ray options: {', '.join(ray_options)}")
    return align_project(src, tgt, out_dir, use_ray=False, shard_size=shard_size, **job)
