"""Running tasks: on Ray (one task per block or shard, spread over the nodes) or one after the
other in this process. A shard's failure comes back as data; the driver raises E261 for it.

Ray is optional (``projner[scale]``) and imported only here, when a Ray run starts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Sequence

from projner.errors import E, ProjnerError


def import_ray():
    """The ``ray`` module, or E020 naming the ``projner[scale]`` extra. (Ray core tasks only: the
    data never travels through Ray, so Ray Data and its Arrow blocks are not needed.)"""
    try:
        import ray
    except ImportError as exc:
        raise ProjnerError(E.E020, package=str(getattr(exc, "name", None) or "ray"), hint="projner[scale]") from None
    return ray


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


def run_ray(fn: Callable[..., dict], calls: Sequence[tuple], *, spread: bool = True) -> Iterator[dict]:
    """``fn(*args)`` for every ``args`` in ``calls`` as Ray tasks (one CPU each, spread over the
    nodes), in a :class:`RayCluster` session; results as they finish. Arguments and results are
    small (byte offsets, records): the data stays in the files the tasks read and write."""
    import ray

    opts: dict[str, Any] = {"num_cpus": 1, "max_retries": 1}
    if spread:
        opts["scheduling_strategy"] = "SPREAD"
    remote = ray.remote(**opts)(fn)
    pending = [remote.remote(*args) for args in calls]
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        yield ray.get(ready[0])


def run_local(fn: Callable[..., dict], calls: Sequence[tuple]) -> Iterator[dict]:
    """The same calls in this process, one after the other."""
    for args in calls:
        yield fn(*args)
