"""Align and project millions of sentence pairs in shards, on a Ray cluster or in one process.

:func:`align_project_distributed` takes a labelled source file (CoNLL, JSONL or Parquet), a
line-parallel target file (text, CoNLL, JSONL or Parquet; or the source's Parquet file itself,
see :mod:`~projner.scale.parquet`) and an aligner or precomputed Pharaoh links (local paths or
fsspec URLs) and writes, in the original order:

* ``OUT/alignments.pharaoh``: one alignment line per pair,
* ``OUT/projected.jsonl`` (or ``.conll``, ``.parquet``): the target sentences with the projected
  entities (``concat=False`` with Parquet: ``OUT/dataset/part-NNNNN.parquet`` instead),
* ``OUT/scale.json``: counts, projection statistics, timings, throughput and the nodes used,
* ``OUT/manifest.json`` and ``OUT/shards/``: the shards (see :mod:`~projner.scale.store`).

The driver never reads the corpus (:mod:`~projner.scale.plan`): it cuts every file into blocks
on record boundaries by seeking (O(one record) read per cut), index tasks count each block's
records, and then every shard task reads its own rows of every file (a byte range from a
checkpoint), aligns and projects them and writes its own shard files; only byte offsets go to
the tasks and small records come back (Parquet: blocks are row groups; the driver reads the
footer only). The driver then writes the manifest (last, atomically)
and concatenates the shard files into the outputs, 1 MiB at a time (``concat=False`` /
``--no-concat`` leaves the shards as the dataset the manifest describes). Memory on the driver is
O(shards + blocks), independent of the corpus size.

Why Ray core tasks (one per block or shard) and not Ray Data's ``read_text``/``map_batches``:
here no payload goes through Ray's object store (offsets out, a small record back; workers read
and write the files themselves), whereas Ray Data moves every row through it; and ``read_text``
gives each file of a line-parallel pair blocks of its own, so pairing the rows again
(``Dataset.zip``) realigns blocks through the object store too.

``address=None`` starts a local cluster (``ray.init(num_cpus=...)``) and stops it afterwards;
``address="auto"`` or ``"ray://HOST:10001"`` connects to a running cluster. Tasks run one per
CPU, spread over the nodes (the manifest records each shard's node). Every node needs projner
(``runtime_env`` for a cluster whose nodes lack it), the inputs under the same path or URL
(shared storage, or an fsspec URL such as ``s3://``) and ``OUT`` on a shared file system.

Resume: a shard's key (:mod:`projner.scale.keys`) fingerprints the digests of the input blocks
holding its rows, the read options, every parameter, the code and the component and engine
versions. A shard counts as finished when its record (written last by its task) matches its
files; a rerun skips those and computes the rest (a killed task leaves at most files without a
record: recomputed).

eflomal priors: with eflomal the driver trains priors once on a deterministic sample of the
corpus (``priors_sample`` pairs, default 100k) or takes ``priors=FILE``, and every shard aligns
with them (:mod:`~projner.scale.priors`): a shard then samples against the statistics of the
whole corpus instead of those of its own pairs, so small shards lose little on rare words and
the result depends far less on ``shard_size`` (eflomal is unseeded, so runs still differ). Where
this projner's eflomal takes no priors, each shard trains its own model on its own pairs (large
shards, default 100k pairs, keep most of the benefit). For a deterministic aligner or
precomputed links the output equals the single-process path byte for byte.

:func:`align_project_local` runs exactly the same tasks in this process, one after the other
(``shard_size=None``: the whole corpus as one shard, i.e. the single-process reference).

This module is the driver; the parts live beside it: :mod:`~projner.scale.spec` (job and
result), :mod:`~projner.scale.ranges` (byte ranges), :mod:`~projner.scale.plan` (index and
shard layout), :mod:`~projner.scale.worker` (the tasks), :mod:`~projner.scale.shards` (align +
project), :mod:`~projner.scale.store` (shard files, manifest) and :mod:`~projner.scale.execution`
(Ray or in-process).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from projner.data.formats import ReadOptions
from projner.data.textio import atomic_write
from projner.errors import E, ProjnerError
from projner.scale.execution import RayCluster, import_ray, run_local, run_ray
from projner.scale.keys import shard_code_key
from projner.scale.plan import index_file, input_format, layout, probe
from projner.scale.priors import DEFAULT_PRIORS_SAMPLE, prepare_priors
from projner.scale.ranges import DEFAULT_BLOCK_BYTES, file_size
from projner.scale.spec import DEFAULT_SHARD_SIZE, SCALE_VERSION, ScaleResult, ScaleSpec
from projner.scale.parquet import columns_for, concat_parquet, parquet_options, publish_dataset
from projner.scale.store import ShardStore, shard_ext, write_manifest
from projner.scale.store import concat as write_concat
from projner.scale.worker import shard_task


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


def _read_sample(files: Mapping[str, Any], runs: Sequence[tuple[int, int]]) -> tuple[list, list]:
    """Source and target tokens of the rows in ``runs`` (the priors' sample), read like a worker does."""
    from projner.scale.plan import file_range
    from projner.scale.worker import read_range

    src: list[list[str]] = []
    tgt: list[list[str]] = []
    for a, b in runs:
        src += [list(s.tokens) for s in read_range(file_range(files["src"], a, b), b - a)]
        tgt += [list(t.tokens) for t in read_range(file_range(files["tgt"], a, b), b - a)]
    return src, tgt


def _parquet_columns(paths: Mapping[str, str], fmts: Mapping[str, str]) -> dict[str, dict]:
    """The columns each Parquet input's workers read (from its footer); one file as source and target: a pair file."""
    pair_file = fmts["tgt"] == "parquet" and paths["tgt"] == paths["src"]
    return {role: columns_for(paths[role], role, pair_file) for role in ("src", "tgt") if fmts[role] == "parquet"}


def _compute(todo: Sequence[dict], spec: ScaleSpec, run, progress: bool) -> tuple[dict, list[ProjnerError], float]:
    """Run the shard tasks: (records of the finished shards by key, failures, seconds to the first finished shard)."""
    from projner.log import progress_bar

    done: dict[str, dict] = {}
    failures: list[ProjnerError] = []
    t0, first = time.perf_counter(), 0.0
    by_key = {t["key"]: t for t in todo}
    spec_json = spec.to_json()
    with progress_bar(total=sum(t["n_pairs"] for t in todo), desc="align+project", unit="pair", disable=not progress) as bar:
        for r in run(shard_task, [(t, spec_json) for t in todo]):
            t = by_key[r["key"]]
            if not first:
                first = time.perf_counter() - t0
            if r["error"]:
                failures.append(ProjnerError(E.E261, shard=t["index"], first=t["first"] + 1,
                                             last=t["first"] + t["n_pairs"], detail=r["error"]))
            else:
                done[t["key"]] = r
            bar.update(t["n_pairs"])
    failures.sort(key=lambda e: e.fields["shard"])
    return done, failures, first


def _spec(aligner: str | None, aligner_params, method: str, projector_params, out_format: str, alignments) -> ScaleSpec:
    """``aligner=None``: eflomal, or the given Pharaoh links when ``alignments`` is set."""
    if alignments is not None and aligner not in ("pharaoh", None):
        raise ProjnerError(E.E260, detail=f"give either an alignment file or an aligner ({aligner!r}), not both")
    name = "pharaoh" if alignments is not None else (aligner or "eflomal")
    return ScaleSpec(aligner=name, aligner_params=dict(aligner_params or {}), method=method,
                     projector_params=dict(projector_params or {}), out_format=out_format)


def align_project(
    src: str | os.PathLike,
    tgt: str | os.PathLike | None,
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
    concat: bool = True,
    priors: str | os.PathLike | None = None,
    priors_sample: int = DEFAULT_PRIORS_SAMPLE,
    block_bytes: int = DEFAULT_BLOCK_BYTES,
) -> ScaleResult:
    """Align (unless ``alignments`` gives Pharaoh links) and project in shards, on Ray (``use_ray``;
    ``num_cpus``, ``address``, ``runtime_env`` set it up) or in this process; see the module docstring.
    ``concat=False`` leaves the shards and the manifest without the concatenated outputs (with
    ``out_format="parquet"``: plus ``OUT/dataset/``). ``tgt=None``: a Parquet ``src`` holds the targets too."""
    if shard_size is not None and shard_size < 1:
        raise ProjnerError(E.E260, detail=f"shard_size must be >= 1 (or None for one shard), got {shard_size}")
    if num_cpus is not None and num_cpus < 1:
        raise ProjnerError(E.E260, detail=f"num_cpus must be >= 1, got {num_cpus}")
    if address is not None and num_cpus is not None:
        raise ProjnerError(E.E260, detail="num_cpus sets up a local cluster; a cluster at an address brings its own CPUs")
    if priors_sample < 0:
        raise ProjnerError(E.E260, detail=f"priors_sample must be >= 0, got {priors_sample}")
    spec = _spec(aligner, aligner_params, method, projector_params, out_format, alignments)
    if priors is not None and spec.aligner != "eflomal":
        raise ProjnerError(E.E265, file=str(priors), detail=f"priors are for the eflomal aligner, not {spec.aligner!r}")
    if use_ray:
        import_ray()  # fail before any work
    say = log or (lambda m: None)
    t_start = time.perf_counter()
    out = Path(out_dir)
    if tgt is None and input_format(str(src), src_format) != "parquet":
        raise ProjnerError(E.E260, detail="a target file is needed (only a Parquet source may hold the targets too)")
    paths = {"src": str(src), "tgt": str(src if tgt is None else tgt)} | (
        {"links": str(alignments)} if alignments is not None else {})
    for p in paths.values():
        file_size(p)  # E018 naming a missing file, before starting Ray
    fmts = {"src": input_format(paths["src"], src_format), "tgt": input_format(paths["tgt"], tgt_format)}
    if alignments is not None:
        fmts["links"] = "pharaoh"
    opts = {role: probe(paths[role], fmts[role], options) for role in paths}
    session = RayCluster(num_cpus, address, runtime_env) if use_ray else None
    with session if session is not None else contextlib.nullcontext():
        init_seconds = session.init_seconds if session is not None else 0.0
        cores = session.cores() if session is not None else 1.0
        run = run_ray if session is not None else run_local
        t_index = time.perf_counter()
        cols = _parquet_columns(paths, fmts)
        for role, c in cols.items():
            opts[role] = parquet_options(paths[role], role, c, opts[role], run)
        files = {role: index_file(paths[role], fmts[role], opts[role], run, block_bytes=block_bytes,
                                  columns=cols.get(role)) for role in paths}
        n = files["src"].n_records
        if files["tgt"].n_records != n:
            raise ProjnerError(E.E001, a=paths["src"], na=n, b=paths["tgt"], nb=files["tgt"].n_records)
        if "links" in files and files["links"].n_records != n:
            raise ProjnerError(E.E001, a=paths["links"], na=files["links"].n_records, b=paths["src"], nb=n)
        index_seconds = time.perf_counter() - t_index
        extra: dict[str, Any] = {}
        priors_info: dict[str, Any] = {}
        if spec.aligner == "eflomal":  # before the keys: they hash the priors file
            params, priors_info = prepare_priors(spec.aligner_params, priors=None if priors is None else str(priors),
                                                 sample=priors_sample, n=n, read_sample=lambda runs: _read_sample(files, runs),
                                                 out_dir=out, log=say)
            if priors_info:
                spec = replace(spec, aligner_params=params)
                extra["priors_sha256"] = priors_info["sha256"]
        tasks = list(layout(files, n, shard_size, shard_code_key(spec), extra, str(out), label_map))
        store = ShardStore(out / "shards", ext=shard_ext(spec.out_format))
        done: dict[str, dict] = {}
        for t in tasks:
            rec = store.load(t["key"], t["n_pairs"])
            if rec is not None:
                done[t["key"]] = rec
        todo, seen = [], set(done)
        for t in tasks:
            if t["key"] not in seen:
                seen.add(t["key"])
                todo.append(t)
        reused = sum(1 for t in tasks if t["key"] in done)
        say(f"{len(tasks)} shard(s) of <= {shard_size or n:,} pairs: {reused} finished before, {len(todo)} to compute")
        t_compute = time.perf_counter()
        computed_recs, failures, first_shard = _compute(todo, spec, run, progress)
        done.update(computed_recs)
        compute_seconds = time.perf_counter() - t_compute if todo else 0.0
    if failures:  # finished shards are saved: a rerun computes only the failed ones
        raise failures[0]
    t_write = time.perf_counter()
    recs = [done[t["key"]] for t in tasks]
    nodes: dict[str, int] = {}
    for r in (done[t["key"]] for t in todo):
        nodes[r.get("node_id", "local")] = nodes.get(r.get("node_id", "local"), 0) + 1
    dataset = ""
    if spec.out_format == "parquet" and not concat:
        dataset = str(publish_dataset(out / "dataset", [store.paths(t["key"])[1] for t in tasks]))
    manifest = write_manifest(out, tasks, done, {"n_pairs": n, "format": spec.out_format, "shard_size": shard_size or n,
                                                   "inputs": paths, "priors": priors_info,
                                                   **({"dataset": "dataset"} if dataset else {})})
    al_path, out_path = out / "alignments.pharaoh", out / f"projected.{spec.out_format}"
    if concat:
        write_concat(al_path, [store.paths(t["key"])[0] for t in tasks])
        (concat_parquet if spec.out_format == "parquet" else write_concat)(out_path, [store.paths(t["key"])[1] for t in tasks])
    projection, al_stats = _merge_stats(recs)
    sigs = sorted({r["signature"].split("||")[0] for r in recs})
    proj_sig = recs[0]["signature"].split("||")[-1] if recs else ""
    from projner import __version__

    signature = f"projner-scale:{SCALE_VERSION}|{';'.join(sigs)}|{proj_sig}|shard:{shard_size or 'all'}|version:{__version__}"
    computed = {t["key"] for t in todo}
    result = ScaleResult(
        mode="ray" if use_ray else "single process", out_dir=str(out), alignments=str(al_path) if concat else "",
        projected=str(out_path) if concat else "", n_pairs=n, n_shards=len(tasks), shard_size=shard_size or n,
        shards_computed=len(todo), shards_reused=reused, cores=cores if todo else 0.0,
        read_seconds=index_seconds, init_seconds=init_seconds, compute_seconds=compute_seconds,
        write_seconds=time.perf_counter() - t_write, wall_seconds=time.perf_counter() - t_start,
        cpu_seconds=sum(done[k]["cpu_seconds"] for k in computed), projection=projection, aligner_stats=al_stats,
        signature=signature, address=address, first_shard_seconds=first_shard, nodes=dict(sorted(nodes.items())),
        manifest=str(manifest), priors=priors_info, dataset=dataset,
    )
    with atomic_write(out / "scale.json") as fh:
        json.dump(result.to_dict(), fh, indent=1, sort_keys=True)
    return result


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
