"""What a scale-out run is asked to do (:class:`ScaleSpec`) and what it did (:class:`ScaleResult`)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

from projner.errors import E, ProjnerError

SCALE_VERSION = 1
DEFAULT_SHARD_SIZE = 100_000
OUT_FORMATS = ("jsonl", "conll", "parquet")


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
    read_seconds: float  # planning: cutting the inputs and indexing their blocks (in tasks)
    init_seconds: float  # starting/connecting to Ray
    compute_seconds: float  # align + project of the computed shards (wall, incl. Ray scheduling)
    write_seconds: float
    wall_seconds: float  # everything, from reading the inputs to the last file
    cpu_seconds: float  # align + project CPU summed over shards (workers + eflomal subprocesses)
    projection: Mapping[str, Any]  # n_source, n_projected, projection_rate, outcomes, per_type
    aligner_stats: Mapping[str, int]
    signature: str
    address: str | None = None
    first_shard_seconds: float = 0.0  # from the first shard task's start to the first finished shard
    nodes: Mapping[str, int] = field(default_factory=dict)  # computed shards per Ray node id ("local": in-process)
    manifest: str = ""  # OUT/manifest.json
    priors: Mapping[str, Any] = field(default_factory=dict)  # eflomal: sha256, path, source (trained/given), sample
    dataset: str = ""  # out_format "parquet" without concatenation: OUT/dataset/, one part file per shard

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

