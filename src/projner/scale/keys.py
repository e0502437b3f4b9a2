"""Keys of scale-out shards: the shared :mod:`projner.fingerprint` scheme (the one the pipeline's
step cache uses), so a finished shard is reused only when its content, its parameters, the code
that aligns and projects it, the aligner and projector versions (``projner.aligner.eflomal.v1``)
and the engine versions (eflomal, torch, ...) are all the same.

The code of a shard is every module a shard task runs (:data:`SHARD_MODULES`: the byte-range
and format readers, the shard writers, alignment, projection, statistics), whole
and by name — not the function objects, so a test that wraps ``process_pairs`` does not change
the keys — plus the modules of the resolved aligner and projector components.
"""

from __future__ import annotations

import json
from typing import Any

from projner.fingerprint import Key, hash_json, make_key

KIND = "scale-shard"
SHARD_MODULES = ("projner.scale.shards", "projner.scale.spec", "projner.scale.worker", "projner.scale.ranges",
                 "projner.scale.parquet", "projner.scale.store", "projner.align.base", "projner.align.build", "projner.project.build",
                 "projner.evaluate.projection", "projner.data.formats", "projner.data.writing", "projner.data.schemes",
                 "projner.data.textio", "projner.data.labelmaps")
KEY_CHARS = 32  # shard file names


def _aligner_component(name: str) -> tuple[Any, str]:
    from projner.registry import aligners

    return aligners, name  # make_key resolves it: E017 for an unknown name, E020 for a missing dependency


def _projector_component(method: str) -> tuple[Any, str]:
    from projner.registry import projectors

    return projectors, method


def shard_code_key(spec: Any) -> Key:
    """The key of every shard of a run with this :class:`~projner.scale.spec.ScaleSpec`
    (no shard content yet): computed once per run, see :func:`range_key`."""
    components = [_projector_component(spec.method)]
    if spec.aligner != "pharaoh":
        components.append(_aligner_component(spec.aligner))
    return make_key(KIND, json.loads(spec.to_json()), {}, code=SHARD_MODULES, components=components)


def range_key(code_key: Key, content: Any) -> str:
    """A shard's key when the workers read the input themselves: ``content`` (JSON) names the rows,
    the read options and the digests of the input blocks that hold them (from the index stage)."""
    return hash_json({"run": code_key.digest, "ranges": content})[:KEY_CHARS]
