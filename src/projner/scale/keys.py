"""Keys of scale-out shards: the shared :mod:`projner.fingerprint` scheme (the one the pipeline's
step cache uses), so a finished shard is reused only when its content, its parameters, the code
that aligns and projects it, the aligner and projector versions (``projner.aligner.eflomal.v1``)
and the engine versions (eflomal, torch, ...) are all the same.

The code of a shard is every module :func:`projner.scale.shards.process_shard` runs
(:data:`SHARD_MODULES`: the shard reader and writers, alignment, projection, statistics), whole
and by name — not the function objects, so a test that wraps ``process_shard`` does not change
the keys — plus the modules of the resolved aligner and projector components.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from projner.fingerprint import Key, hash_json, make_key

KIND = "scale-shard"
SHARD_MODULES = ("projner.scale.shards", "projner.scale.spec", "projner.align.base", "projner.align.build",
                 "projner.project.build", "projner.evaluate.projection", "projner.data.formats", "projner.data.writing",
                 "projner.data.schemes")
KEY_CHARS = 32  # shard file names


def _aligner_component(name: str) -> tuple[Any, str]:
    from projner.registry import aligners

    return aligners, name  # make_key resolves it: E017 for an unknown name, E020 for a missing dependency


def _projector_component(method: str) -> tuple[Any, str]:
    from projner.registry import projectors

    return projectors, method


def shard_code_key(spec: Any) -> Key:
    """The key of every shard of a run with this :class:`~projner.scale.spec.ScaleSpec`
    (no shard content yet): computed once per run, see :func:`shard_key`."""
    components = [_projector_component(spec.method)]
    if spec.aligner != "pharaoh":
        components.append(_aligner_component(spec.aligner))
    return make_key(KIND, json.loads(spec.to_json()), {}, code=SHARD_MODULES, components=components)


def shard_key(code_key: Key, payload: str) -> str:
    """A shard's key: its content (``payload``) under the run's :func:`shard_code_key`."""
    content = hashlib.sha256(payload.encode("utf-8")).hexdigest()
    return hash_json({"run": code_key.digest, "payload": content})[:KEY_CHARS]
