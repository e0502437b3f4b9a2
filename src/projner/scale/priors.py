"""Shared eflomal priors for a scale-out run: trained once, used by every shard.

With ``aligner="eflomal"`` the driver trains priors (:func:`projner.align.priors.train_priors`)
once on a deterministic sample of the corpus (``priors_sample`` pairs: evenly spaced runs of
consecutive pairs, read through the same byte-range readers as the workers) or takes the user's
``priors`` file, and every shard aligns with ``EflomalAligner(priors=PATH)``. The priors file's
sha256 is part of every shard's key. The trained file is kept as ``OUT/priors/priors-DIGEST.txt``
(DIGEST of the sample and the aligner parameters), so a rerun reuses it.

Hook: when this projner's eflomal aligner takes no ``priors`` parameter (or
:mod:`projner.align.priors` is missing), a given ``priors`` file is an error (E265) and the
sample training is skipped with a log line: every shard then trains its own model, as before.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from pathlib import Path
from typing import Any, Callable, Mapping

from projner.errors import E, ProjnerError

DEFAULT_PRIORS_SAMPLE = 100_000
SAMPLE_RUNS = 32


def aligner_takes_priors() -> bool:
    """Whether ``projner.align.priors.train_priors`` exists and the eflomal aligner takes ``priors=``."""
    try:
        from projner.align import priors as _priors  # noqa: F401
        from projner.align.eflomal import EflomalAligner
    except ImportError:
        return False
    if not hasattr(_priors, "train_priors"):
        return False
    try:
        return "priors" in inspect.signature(EflomalAligner).parameters
    except (TypeError, ValueError):
        return False


def sample_rows(n: int, sample: int) -> list[tuple[int, int]]:
    """Evenly spaced runs ``[a, b)`` of consecutive rows, ``min(sample, n)`` rows in all."""
    m = min(sample, n)
    if m <= 0:
        return []
    runs = min(SAMPLE_RUNS, m)
    per = -(-m // runs)
    out, got = [], 0
    for i in range(runs):
        a = (i * n) // runs
        b = min(a + per, n, a + (m - got))
        if b > a:
            out.append((a, b))
            got += b - a
    return out


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# the priors' pseudo-counts against a shard's own counts: with 16, shards of 10k scored +0.76 F1 against
# aligning the whole corpus at once on the Europarl benchmark, with 1 (eflomal's own scale) +0.37
# (BENCHMARKS.md, "eflomal priors shared by shards"); aligner_params["priors_weight"] overrides it
SHARD_PRIORS_WEIGHT = 16.0


def prepare_priors(aligner_params: Mapping[str, Any], *, priors: str | None, sample: int, n: int,
                   read_sample: Callable[[list[tuple[int, int]]], tuple[list, list]], out_dir: Path,
                   log: Callable[[str], None]) -> tuple[dict, dict]:
    """The eflomal parameters every shard uses (with ``priors`` set when there are priors) and what
    ``scale.json`` records of the priors (``{}`` without): sha256, path, source ("given" or
    "trained") and, trained, the sample (pairs, runs of rows). ``read_sample(runs)`` gives source and target tokens."""
    params = dict(aligner_params)
    weight = float(params.pop("priors_weight", SHARD_PRIORS_WEIGHT))  # training does not use it
    if priors is not None:
        path = Path(priors)
        if not path.is_file():
            raise ProjnerError(E.E265, file=str(path), detail="priors file not found")
        if not aligner_takes_priors():
            raise ProjnerError(E.E265, file=str(path),
                               detail="this projner's eflomal aligner takes no priors (projner.align.priors missing)")
        params.update(priors=str(path.resolve()), priors_weight=weight)
        return params, {"sha256": _sha256(path), "path": str(path.resolve()), "source": "given", "sample": None,
                        "weight": weight}
    if sample <= 0:
        return params, {}
    if not aligner_takes_priors():
        log("no shared eflomal priors (projner.align.priors not available): every shard trains its own model")
        return params, {}
    from projner.align.priors import train_priors

    runs = sample_rows(n, sample)
    src, tgt = read_sample(runs)
    digest = hashlib.sha256(json.dumps([src, tgt, sorted(params.items())], ensure_ascii=False,
                                       default=str).encode("utf-8")).hexdigest()[:24]
    path = Path(out_dir) / "priors" / f"priors-{digest}.txt"
    if not path.is_file():
        log(f"training eflomal priors on {len(src):,} sampled pairs -> {path}")
        train_priors(src, tgt, path, **params)
    params.update(priors=str(path.resolve()), priors_weight=weight)
    return params, {"sha256": _sha256(path), "path": str(path.resolve()), "source": "trained", "weight": weight,
                    "sample": {"pairs": len(src), "requested": sample, "runs": [list(r) for r in runs]}}
