"""Computing shards: on Ray (a Ray Data ``map``, one row and one block per shard) or one after
the other in this process. A shard's failure comes back as data; the driver raises E261 for it.

Ray is optional (``projner[scale]``) and imported only here, when a Ray run starts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Sequence

from projner.errors import E, ProjnerError
from projner.scale.shards import Shard, process_shard


def import_ray():
    """The ``ray`` module (with Ray Data), or E020 naming the ``projner[scale]`` extra."""
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
class RayCluster:
    """A Ray session: reuses one that is already initialised, else starts/connects and stops on close."""

    num_cpus: int | None
    address: str | None
    runtime_env: Mapping[str, Any] | None = None
    started: bool = False
    init_seconds: float = 0.0

    def __enter__(self):
        ray = import_ray()
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


def run_ray(todo: Sequence[Shard], spec_json: str) -> Iterator[dict]:
    """The shards' outputs from Ray workers (in a :class:`RayCluster` session), as they finish."""
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


def run_local(todo: Sequence[Shard], spec_json: str) -> Iterator[dict]:
    """The shards' outputs computed in this process, one after the other."""
    for s in todo:
        yield _safe_process(s.index, s.key, s.payload, spec_json)
