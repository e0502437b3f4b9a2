"""The work one shard is (align + project, :func:`process_pairs`): the same code in a Ray worker
or in this process (:func:`projner.scale.worker.shard_task` reads the pairs and writes the result).

This module and the ones :func:`process_pairs` runs are part of a shard's key
(:data:`projner.scale.keys.SHARD_MODULES`).
"""

from __future__ import annotations

import json
import resource
import time
from typing import Sequence

from projner.data.formats import check_alignments, format_pharaoh
from projner.data.writing import format_corpus
from projner.errors import E, ProjnerError
from projner.scale.parquet import shard_table_bytes
from projner.scale.spec import ScaleSpec
from projner.types import Alignment, Sentence


def cpu_time() -> float:
    """CPU seconds of this process and its finished children (e.g. eflomal subprocesses)."""
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def process_pairs(src: Sequence[Sentence], tgt: Sequence[Sentence], links: Sequence[Alignment] | None,
                  spec: ScaleSpec, first: int = 0) -> dict:
    """Align and project one shard's pairs; returns JSON-able outputs (the same in a worker or in-process),
    but ``projected`` is Parquet bytes with ``spec.out_format == "parquet"`` (rows numbered from ``first``)."""
    from projner.align.base import align_corpus
    from projner.align.build import build_aligner
    from projner.evaluate.projection import projection_stats
    from projner.project.build import build_projector, project_corpora

    t0, c0 = time.perf_counter(), cpu_time()
    aligner_stats: dict[str, int] = {}
    if spec.aligner == "pharaoh":
        if links is None:
            raise ProjnerError(E.E260, detail="aligner 'pharaoh' needs an alignment file")
        check_alignments(links, src, tgt, path="<shard links>")
        als, al_sig = list(links), "aligner:pharaoh"
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
        "projected": shard_table_bytes(first, out, als, spec.scheme) if spec.out_format == "parquet"
        else format_corpus(out, spec.out_format, spec.scheme),
        "stats": json.dumps(stats, sort_keys=True),
        "signature": f"{al_sig}||{projector.signature()}",
        "seconds": time.perf_counter() - t0,
        "cpu_seconds": cpu_time() - c0,
    }
