"""``projner scale``: align + project a large corpus in shards on Ray (or in one process with --local)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from projner.cli.options import GROUP, Projector, projector_options


@projector_options(("method", "max_gap", "min_ratio", "strip_determiners"), help={
    "method": "Projection: heuristic, or candidate matching: ngram, ner, fusion.",
    "min_ratio": "Heuristic: keep ranges with len(target)/len(source) >= this.",
})
def scale_cmd(
    src: str = typer.Option(..., "--src", help="Labelled source sentences (CoNLL-like, JSONL or Parquet: tokens + ner_tags): a path or an fsspec URL (s3://...)."),
    tgt: Optional[str] = typer.Option(None, "--tgt", help="Target sentences, line-parallel to --src (.txt, or CoNLL/JSONL/Parquet: only tokens are used); path or URL. Required unless a Parquet --src holds a tgt_tokens column."),
    out: Path = typer.Option(..., "--out", help="Output folder: alignments.pharaoh, projected.jsonl|conll, scale.json, shards/."),
    align: Optional[str] = typer.Option(None, "--align", help="Precomputed Pharaoh alignments (then no aligner runs); path or URL."),
    aligner: str = typer.Option("eflomal", help="Aligner when --align is not given: eflomal or neural."),
    sym: str = typer.Option("reverse", help="eflomal: symmetrisation."),
    samplers: int = typer.Option(3, help="eflomal: samplers per run (1 keeps a worker on one core)."),
    stem: int = typer.Option(4, help="eflomal: prefix length for stemming (0 = whole words)."),
    projector: Projector = GROUP,
    shard_size: int = typer.Option(100_000, "--shard-size", help="Pairs per shard (one task each; eflomal aligns each shard with the shared priors)."),
    num_cpus: Optional[int] = typer.Option(None, "--num-cpus", help="Local cluster: CPUs to use (default: all)."),
    address: Optional[str] = typer.Option(None, "--address", help="Connect to a running Ray cluster (auto, or ray://HOST:10001) instead of starting one."),
    local: bool = typer.Option(False, "--local", help="No Ray: the same shards one after the other in this process."),
    out_format: str = typer.Option("jsonl", "--format", "--output-format", help="Projected output: jsonl, conll or parquet (row, tokens, ner_tags, spans, unknown, alignment; with --no-concat OUT/dataset/ is a Parquet dataset)."),
    label_map: Optional[str] = typer.Option(None, "--label-map", help="Map source labels first (e.g. conll->per-org-loc)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or reading reports."),
    no_concat: bool = typer.Option(False, "--no-concat", help="Leave the shards and OUT/manifest.json as the output (no alignments.pharaoh/projected.* concatenation)."),
    priors: Optional[Path] = typer.Option(None, "--priors", help="eflomal: a priors file every shard aligns with (instead of training priors on a sample)."),
    priors_sample: int = typer.Option(100_000, "--priors-sample", help="eflomal: pairs of a deterministic sample to train shared priors on once (0: every shard trains alone)."),
    priors_weight: Optional[float] = typer.Option(None, "--priors-weight", help="eflomal: multiply the priors' pseudo-counts by this against each shard's own counts (default 16: the measured best, BENCHMARKS.md; 1 = eflomal's own scale)."),
) -> None:
    """Align and project millions of pairs in shards on a Ray cluster: workers read and write their own
    shards; finished shards are kept (rerun resumes)."""
    from projner.data.paths import require_inputs
    from projner.scale.distributed import align_project_distributed, align_project_local
    from projner.scale.ranges import is_url

    require_inputs(*((p, what) for p, what in ((src, "the source file"), (tgt, "the target file"), (align, "the alignment file"))
                     if p is None or not is_url(p)))  # a URL is checked when it is opened (E018)

    def say(msg: str) -> None:
        if not quiet:
            typer.echo(msg, err=True)

    aligner_params = {} if align is not None else (
        dict(sym=sym, n_samplers=samplers, prefix_len=stem, **({"priors_weight": priors_weight} if priors_weight is not None else {}))
        if aligner == "eflomal" else {})
    common = dict(
        aligner=None if align is not None else aligner, aligner_params=aligner_params,
        alignments=str(align) if align is not None else None, method=projector.method,
        projector_params=dict(projector.params),
        out_format=out_format, label_map=label_map, progress=not quiet, log=say, concat=not no_concat,
        priors=str(priors) if priors is not None else None, priors_sample=priors_sample,
    )
    if local:
        res = align_project_local(str(src), tgt, str(out), shard_size=shard_size, **common)
    else:
        res = align_project_distributed(str(src), tgt, str(out), shard_size=shard_size, num_cpus=num_cpus,
                                        address=address, **common)
    typer.echo(res.summary(), err=True)
    typer.echo(json.dumps({"projection": res.projection, "pairs_per_s": round(res.pairs_per_s, 1),
                           "pairs_per_s_per_core": round(res.pairs_per_s_per_core, 1)}, ensure_ascii=False), err=True)
    typer.echo(res.signature, err=True)


def register(app: typer.Typer) -> None:
    """Add ``scale`` to the main app."""
    app.command("scale")(scale_cmd)
