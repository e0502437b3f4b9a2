"""Issue 16: a scale-out job on a two-node Ray cluster (loopback, started inside the test) runs
shards on both nodes and writes exactly what the single process writes."""

from __future__ import annotations

import json

import pytest

from projner.scale.distributed import align_project_distributed, align_project_local
from projner.scale.synthetic import write_synthetic

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")


@pytest.fixture(scope="module")
def two_nodes():
    from ray.cluster_utils import Cluster

    if ray.is_initialized():
        ray.shutdown()
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 1, "object_store_memory": 80 * 1024 * 1024, "include_dashboard": False})
    cluster.add_node(num_cpus=1, object_store_memory=80 * 1024 * 1024)
    try:
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False, configure_logging=False)
        _wait_until_both_nodes_run_tasks()
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()


def _wait_until_both_nodes_run_tasks(timeout: float = 60.0) -> None:
    """wait_for_nodes() sees both nodes registered; the scheduler's view of the second node's CPU
    and its first worker process can lag behind (seconds on a loaded machine), and until then
    SPREAD places every task on the head. Warm up: until spread tasks have run on both nodes."""
    import time

    @ray.remote(num_cpus=1, scheduling_strategy="SPREAD")
    def where() -> str:
        time.sleep(0.2)
        return ray.get_runtime_context().get_node_id()

    deadline = time.monotonic() + timeout
    seen: set[str] = set()
    while time.monotonic() < deadline:
        seen |= set(ray.get([where.remote() for _ in range(4)]))
        if len(seen) >= 2:
            return
    pytest.fail(f"the second node ran no task within {timeout:.0f} s (ran on {sorted(seen)})")


def test_two_nodes_share_the_shards_and_equal_the_single_process(tmp_path, two_nodes):
    corpus = write_synthetic(tmp_path / "syn", 300, seed=7)
    single = align_project_local(corpus.src, corpus.tgt, tmp_path / "single", alignments=corpus.links, progress=False)
    assert single.n_shards == 1
    res = align_project_distributed(corpus.src, corpus.tgt, tmp_path / "ray", alignments=corpus.links, shard_size=25,
                                    progress=False, block_bytes=2048)
    assert res.mode == "ray" and res.n_shards == 12 and res.cores == 2.0
    manifest = json.loads((tmp_path / "ray" / "manifest.json").read_text(encoding="utf-8"))
    nodes = {s["node_id"] for s in manifest["shards"]}
    alive = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
    assert len(alive) == 2 and nodes == alive, (nodes, alive)  # tasks ran on both nodes
    assert sum(res.nodes.values()) == 12 and set(res.nodes) == alive
    assert [s["first"] for s in manifest["shards"]] == list(range(0, 300, 25))
    for name in ("projected.jsonl", "alignments.pharaoh"):
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "single" / name).read_bytes()
    assert (tmp_path / "ray" / "alignments.pharaoh").read_bytes() == corpus.links.read_bytes()
