"""Shards: cutting a corpus into shards, (de)serialising them, and the work one shard is
(align + project, :func:`process_shard`) — the same code in a Ray worker or in this process.

This module and the ones :func:`process_shard` runs are part of a shard's key
(:data:`projner.scale.keys.SHARD_MODULES`).
"""

from __future__ import annotations

import json
import resource
import time
from dataclasses import dataclass
from typing import Sequence

from projner.data.formats import check_alignments, format_pharaoh
from projner.data.writing import format_corpus
from projner.errors import E, ProjnerError
from projner.scale.keys import shard_code_key, shard_key
from projner.scale.spec import ScaleSpec
from projner.types import Alignment, Link, Sentence, Span


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


def cpu_time() -> float:
    """CPU seconds of this process and its finished children (e.g. eflomal subprocesses)."""
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def process_shard(payload: str, spec_json: str) -> dict:
    """Align and project one shard; returns JSON-able outputs (the same in a worker or in-process)."""
    from projner.align.base import align_corpus
    from projner.align.build import build_aligner
    from projner.evaluate.projection import projection_stats
    from projner.project.build import build_projector, project_corpora

    t0, c0 = time.perf_counter(), cpu_time()
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
        "projected": format_corpus(out, spec.out_format, spec.scheme),
        "stats": json.dumps(stats, sort_keys=True),
        "signature": f"{al_sig}||{projector.signature()}",
        "seconds": time.perf_counter() - t0,
        "cpu_seconds": cpu_time() - c0,
    }
