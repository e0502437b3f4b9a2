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
"""

from __future__ import annotations

import json
import os
import resource
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

from projner.data.formats import ReadOptions, check_alignments, format_pharaoh, read_corpus, read_pharaoh
from projner.data.schemes import encode
from projner.data.textio import atomic_write
from projner.errors import E, ProjnerError
from projner.scale.keys import shard_code_key, shard_key
from projner.types import Alignment, Link, Sentence, Span

SCALE_VERSION = 1
DEFAULT_SHARD_SIZE = 100_000
OUT_FORMATS = ("jsonl", "conll")


# ----------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class ScaleSpec:
    """Everything a worker needs besides the shard itself (JSON-serialisable, part of the fingerprint).

    ``aligner="pharaoh"`` means the links come with the input (no aligner runs).
    """

    aligner: str = "eflomal"
    aligner_params: Mapping[str, Any] = field(default_factory=dict)
    method: str = "heuristic"
    projector_params: Mapping[str, Any] = field(default_factory=dict)
    out_format: str = "jsonl"
    scheme: str = "iob2"

    def __post_init__(self) -> None:
        if self.out_format not in OUT_FORMATS:
            raise ProjnerError(E.E260, detail=f"output format {self.out_format!r}; known: {', '.join(OUT_FORMATS)}")
        try:
            self.to_json()
        except (TypeError, ValueError) as exc:
            raise ProjnerError(E.E260, detail=f"aligner/projector parameters must be JSON values ({exc})") from None

    def to_json(self) -> str:
        return json.dumps(
            {"aligner": self.aligner, "aligner_params": dict(self.aligner_params), "method": self.method,
             "projector_params": dict(self.projector_params), "out_format": self.out_format, "scheme": self.scheme},
            sort_keys=True, ensure_ascii=False, separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> "ScaleSpec":
        return cls(**json.loads(text))


@dataclass(frozen=True)
class ScaleResult:
    """What a run did: outputs, counts, timings (seconds) and throughput."""

    mode: str  # "ray" or "single process"
    out_dir: str
    alignments: str
    projected: str
    n_pairs: int
    n_shards: int
    shard_size: int
    shards_computed: int
    shards_reused: int
    cores: float  # CPUs the work could use (Ray cluster CPUs; 1 for one process)
    read_seconds: float
    init_seconds: float  # starting/connecting to Ray
    compute_seconds: float  # align + project of the computed shards (wall, incl. Ray scheduling)
    write_seconds: float
    wall_seconds: float  # everything, from reading the inputs to the last file
    cpu_seconds: float  # align + project CPU summed over shards (workers + eflomal subprocesses)
    projection: Mapping[str, Any]  # n_source, n_projected, projection_rate, outcomes, per_type
    aligner_stats: Mapping[str, int]
    signature: str
    address: str | None = None

    @property
    def pairs_per_s(self) -> float:
        """End-to-end throughput (reading and writing included)."""
        return self.n_pairs / self.wall_seconds if self.wall_seconds > 0 else 0.0

    @property
    def compute_pairs_per_s(self) -> float:
        """Align + project throughput of the computed shards (0 when every shard was reused)."""
        n = self.n_pairs if self.shards_reused == 0 else 0
        return n / self.compute_seconds if n and self.compute_seconds > 0 else 0.0

    @property
    def pairs_per_s_per_core(self) -> float:
        return self.pairs_per_s / self.cores if self.cores else 0.0

    @property
    def compute_pairs_per_s_per_core(self) -> float:
        return self.compute_pairs_per_s / self.cores if self.cores else 0.0

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(pairs_per_s=self.pairs_per_s, pairs_per_s_per_core=self.pairs_per_s_per_core,
                 compute_pairs_per_s=self.compute_pairs_per_s, compute_pairs_per_s_per_core=self.compute_pairs_per_s_per_core)
        return d

    def summary(self) -> str:
        return (f"{self.mode}: {self.n_pairs:,} pairs in {self.n_shards} shard(s) ({self.shards_computed} computed, "
                f"{self.shards_reused} reused) on {self.cores:g} core(s): {self.wall_seconds:.1f} s wall "
                f"(read {self.read_seconds:.1f}, start {self.init_seconds:.1f}, align+project {self.compute_seconds:.1f}, "
                f"write {self.write_seconds:.1f}); {self.pairs_per_s:,.0f} pairs/s, {self.pairs_per_s_per_core:,.0f} pairs/s/core; "
                f"projected {self.projection.get('n_projected', 0):,}/{self.projection.get('n_source', 0):,} entities")


# ----------------------------------------------------------------------------- shards


@dataclass(frozen=True)
class Shard:
    index: int
    first: int  # index of the shard's first pair in the corpus
    n_pairs: int
    key: str  # content + parameter fingerprint
    payload: str  # JSON: src tokens+spans, tgt tokens+ids, links (or null)


def encode_shard(src: Sequence[Sentence], tgt: Sequence[Sentence], links: Sequence[Alignment] | None) -> str:
    return json.dumps(
        {"src": [[list(s.tokens), [[sp.start, sp.end, sp.label] for sp in s.spans]] for s in src],
         "tgt": [[list(t.tokens), t.id] for t in tgt],
         "links": None if links is None else [[x for l in a.links for x in (l.src, l.tgt)] for a in links],
         "scores": None if links is None or not any(a.has_scores for a in links) else [[l.score for l in a.links] for a in links]},
        ensure_ascii=False, separators=(",", ":"),
    )


def decode_shard(payload: str) -> tuple[list[Sentence], list[Sentence], list[Alignment] | None]:
    d = json.loads(payload)
    src = [Sentence(tuple(toks), tuple(Span(a, b, lab) for a, b, lab in spans)) for toks, spans in d["src"]]
    tgt = [Sentence(tuple(toks), (), sid) for toks, sid in d["tgt"]]
    links = None
    if d["links"] is not None:  # flat [i0, j0, i1, j1, ...] per pair (+ scores when the input had any)
        scores = d.get("scores") or [None] * len(d["links"])
        links = [Alignment(tuple(Link(f[k], f[k + 1], None if sc is None else sc[k // 2]) for k in range(0, len(f), 2)))
                 for f, sc in zip(d["links"], scores)]
    return src, tgt, links


def fingerprint(spec: ScaleSpec, payload: str) -> str:
    """A shard's key: content, parameters, code, components and engines (:mod:`projner.scale.keys`)."""
    return shard_key(shard_code_key(spec), payload)


def make_shards(src: Sequence[Sentence], tgt: Sequence[Sentence], links: Sequence[Alignment] | None,
                spec: ScaleSpec, shard_size: int | None) -> list[Shard]:
    n = len(src)
    size = n if not shard_size else shard_size
    out, code_key = [], shard_code_key(spec)  # the code part of the key: once per run
    for k, first in enumerate(range(0, max(n, 1), max(size, 1))):
        last = min(first + size, n)
        payload = encode_shard(src[first:last], tgt[first:last], None if links is None else links[first:last])
        out.append(Shard(k, first, last - first, shard_key(code_key, payload), payload))
    return out


def _format_corpus(sentences: Sequence[Sentence], fmt: str, scheme: str) -> str:
    """The text :func:`projner.data.formats.write_corpus` writes for these sentences."""
    parts = []
    for s in sentences:
        tags = encode(s.spans, len(s), scheme)
        if fmt == "conll":
            if s.tokens:
                parts.append("".join(f"{t}\t{g}\n" for t, g in zip(s.tokens, tags)) + "\n")
        else:
            obj = {"tokens": list(s.tokens), "ner_tags": list(tags)}
            if s.id is not None:
                obj = {"id": s.id, **obj}
            parts.append(json.dumps(obj, ensure_ascii=False) + "\n")
    return "".join(parts)


def _cpu() -> float:
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def process_shard(payload: str, spec_json: str) -> dict:
    """Align and project one shard; returns JSON-able outputs (the same in a worker or in-process)."""
    from projner.align.base import align_corpus
    from projner.align.build import build_aligner
    from projner.evaluate.projection import projection_stats
    from projner.project.build import build_projector, project_corpora

    t0, c0 = time.perf_counter(), _cpu()
    spec = ScaleSpec.from_json(spec_json)
    src, tgt, links = decode_shard(payload)
    aligner_stats: dict[str, int] = {}
    if spec.aligner == "pharaoh":
        if links is None:
            raise ProjnerError(E.E260, detail="aligner 'pharaoh' needs an alignment file")
        check_alignments(links, src, tgt, path="<shard links>")
        als, al_sig = links, "aligner:pharaoh"
    else:
        model = build_aligner(spec.aligner, spec.aligner_params)
        als = align_corpus(model, [s.tokens for s in src], [t.tokens for t in tgt])
        aligner_stats = {k: int(v) for k, v in (getattr(model, "stats", {}) or {}).items()}
        al_sig = model.signature()
    projector = build_projector(spec.method, spec.projector_params)
    out, projections = project_corpora(src, tgt, als, projector, progress=False)
    st = projection_stats(projections)
    stats = {"n_source": st.n_source, "n_projected": st.n_projected, "outcomes": dict(st.outcomes),
             "per_type": {k: [a, b] for k, (a, b) in st.per_type.items()}, "aligner": aligner_stats}
    return {
        "pharaoh": "".join(format_pharaoh(a) + "\n" for a in als),
        "projected": _format_corpus(out, spec.out_format, spec.scheme),
        "stats": json.dumps(stats, sort_keys=True),
        "signature": f"{al_sig}||{projector.signature()}",
        "seconds": time.perf_counter() - t0,
        "cpu_seconds": _cpu() - c0,
    }


class ShardStore:
    """Finished shards under ``OUT/shards/``: ``KEY.pharaoh``, ``KEY.out`` and ``KEY.json`` (written last)."""

    def __init__(self, folder: Path):
        self.folder = folder

    def paths(self, key: str) -> tuple[Path, Path, Path]:
        return self.folder / f"{key}.pharaoh", self.folder / f"{key}.out", self.folder / f"{key}.json"

    def load(self, key: str, n_pairs: int) -> dict | None:
        """The stored result of a finished shard, or None (missing or incomplete: recompute it)."""
        al, out, meta = self.paths(key)
        if not (al.is_file() and out.is_file() and meta.is_file()):
            return None
        try:
            rec = json.loads(meta.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None
        if rec.get("n_pairs") != n_pairs or rec.get("pharaoh_bytes") != al.stat().st_size or rec.get("out_bytes") != out.stat().st_size:
            return None
        return rec

    def save(self, key: str, n_pairs: int, result: Mapping[str, Any]) -> dict:
        al, out, meta = self.paths(key)
        with atomic_write(al) as fh:
            fh.write(result["pharaoh"])
        with atomic_write(out) as fh:
            fh.write(result["projected"])
        rec = {"key": key, "n_pairs": n_pairs, "stats": json.loads(result["stats"]), "signature": result["signature"],
               "seconds": result["seconds"], "cpu_seconds": result["cpu_seconds"],
               "pharaoh_bytes": al.stat().st_size, "out_bytes": out.stat().st_size}
        with atomic_write(meta) as fh:
            json.dump(rec, fh, sort_keys=True)
        return rec


# ----------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Inputs:
    src: tuple[Sentence, ...]
    tgt: tuple[Sentence, ...]
    links: tuple[Alignment, ...] | None
    reports: tuple[str, ...]


def read_inputs(src: str | os.PathLike, tgt: str | os.PathLike, *, alignments: str | os.PathLike | None = None,
                src_format: str | None = None, tgt_format: str | None = None, options: ReadOptions = ReadOptions(),
                label_map: str | None = None) -> Inputs:
    """Labelled source + target tokens (+ Pharaoh links), checked to be parallel (E001/E008 name the file)."""
    from projner.data.labelmaps import load_label_map

    for p in (src, tgt, alignments):
        if p is not None and not Path(p).is_file():
            raise ProjnerError(E.E018, detail=f"file not found: {p}")
    s = read_corpus(src, src_format, options)
    t = read_corpus(tgt, tgt_format, options)
    if len(s) != len(t):
        raise ProjnerError(E.E001, a=str(src), na=len(s), b=str(tgt), nb=len(t))
    src_sents = s.sentences
    if label_map:
        src_sents, _ = load_label_map(label_map).map_sentences(src_sents)
    links = None
    if alignments is not None:
        links = read_pharaoh(alignments)
        check_alignments(links, s.sentences, t.sentences, path=str(alignments), src_path=str(src), tgt_path=str(tgt))
    return Inputs(tuple(src_sents), tuple(x.unlabelled() for x in t.sentences), links, (s.report.summary(), t.report.summary()))


# ----------------------------------------------------------------------------- running


def _import_ray():
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as exc:
        raise ProjnerError(E.E020, package=str(getattr(exc, "name", None) or "ray"), hint="projner[scale]") from None
    return ray


def _safe_process(index: int, key: str, payload: str, spec_json: str) -> dict:
    """One shard's outputs, or its error as data (the driver raises E261 naming the shard)."""
    try:
        res = process_shard(payload, spec_json)
        res["error"] = ""
    except Exception as exc:
        res = {"pharaoh": "", "projected": "", "stats": "{}", "signature": "", "seconds": 0.0, "cpu_seconds": 0.0,
               "error": f"{type(exc).__name__}: {exc}"}
    return {"index": index, "key": key, **res}


def _ray_row(row: dict, spec_json: str) -> dict:
    """The Ray Data map function: one row = one shard."""
    return _safe_process(int(row["index"]), row["key"], row["payload"], spec_json)


@dataclass
class _Ray:
    """A Ray session: reuses one that is already initialised, else starts/connects and stops on close."""

    num_cpus: int | None
    address: str | None
    runtime_env: Mapping[str, Any] | None = None
    started: bool = False
    init_seconds: float = 0.0

    def __enter__(self):
        ray = _import_ray()
        t0 = time.perf_counter()
        if not ray.is_initialized():
            kw: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
            if self.runtime_env:
                kw["runtime_env"] = dict(self.runtime_env)
            try:
                if self.address is None:
                    ray.init(num_cpus=self.num_cpus, **kw)
                else:
                    ray.init(address=self.address, **kw)
            except Exception as exc:
                raise ProjnerError(E.E262, address=self.address or "local", detail=f"{type(exc).__name__}: {exc}") from None
            self.started = True
        self.init_seconds = time.perf_counter() - t0
        self.ray = ray
        return self

    def cores(self) -> float:
        return float(self.ray.cluster_resources().get("CPU", 0.0))

    def __exit__(self, *exc) -> None:
        if self.started:
            self.ray.shutdown()


def _run_ray(todo: Sequence[Shard], spec_json: str) -> Iterator[dict]:
    import ray.data

    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
    items = [{"index": s.index, "key": s.key, "payload": s.payload} for s in todo]
    # one block per shard, so every shard is its own task and the cluster's CPUs share them
    ds = ray.data.from_items(items, override_num_blocks=len(items))
    ds = ds.map(_ray_row, fn_kwargs={"spec_json": spec_json}, num_cpus=1)
    for row in ds.iter_rows():
        yield dict(row)


def _run_local(todo: Sequence[Shard], spec_json: str) -> Iterator[dict]:
    for s in todo:
        yield _safe_process(s.index, s.key, s.payload, spec_json)


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
    session = _Ray(num_cpus, address, runtime_env) if use_ray else None

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
                consume(_run_ray(todo, spec.to_json()))
        else:
            consume(_run_local(todo, spec.to_json()))
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
        _import_ray()  # fail before reading millions of lines
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
