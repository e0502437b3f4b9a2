"""``projner align-priors``: eflomal priors trained once on a corpus (or a sample), for ``projner align --priors``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer


def align_priors(
    src: Path = typer.Argument(..., help="Source sentences (.txt one per line, or CoNLL/JSONL)."),
    tgt: Path = typer.Argument(..., help="Target sentences, line-parallel to SRC."),
    out: Path = typer.Option(..., "--out", "-o", help="The priors file to write (eflomal's format plus LEXR lines; a sidecar OUT.json records what went in)."),
    sample: Optional[int] = typer.Option(None, "--sample", help="Train on N pairs only: evenly spaced, or a seeded sample with --seed."),
    seed: Optional[int] = typer.Option(None, "--seed", help="With --sample: a random sample with this seed instead of evenly spaced pairs."),
    samplers: int = typer.Option(3, help="eflomal: samplers per run."),
    stem: int = typer.Option(4, help="eflomal: prefix length for stemming (use the --stem of the runs that will use the priors)."),
    model: int = typer.Option(3, "--model", help="eflomal: 1 IBM1, 2 +HMM, 3 +fertility."),
    copy_dictionary: bool = typer.Option(True, "--copy-dictionary/--no-copy-dictionary", help="eflomal: add words found on both sides as one-word pairs."),
    eflomal_format: bool = typer.Option(False, "--eflomal-format", help="Write eflomal's own kinds only (one lexical table, forward links; for eflomal-align --priors). Default: also LEXR lines, the reverse direction's table."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print no reading reports."),
) -> None:
    """Align a corpus with eflomal in both directions and write priors from its links, for shards or small runs."""
    from projner.align.priors import train_priors
    from projner.data.formats import read_corpus
    from projner.data.paths import require_input
    from projner.errors import E, ProjnerError

    corpora = []
    for path, what in ((src, "the source file"), (tgt, "the target file")):
        require_input(path, what)
        corpora.append(read_corpus(path))
    s, t = corpora
    if len(s) != len(t):
        raise ProjnerError(E.E001, a=str(src), na=len(s), b=str(tgt), nb=len(t))
    if not quiet:
        for c in corpora:
            typer.echo(c.report.summary(), err=True)
    info = train_priors([x.tokens for x in s], [x.tokens for x in t], out, sample=sample, seed=seed, eflomal_format=eflomal_format,
                        n_samplers=samplers, prefix_len=stem, model=model, copy_dictionary=copy_dictionary)
    rec = info.record
    typer.echo(f"wrote priors of {rec['sample']['n']} of {rec['pairs']} pairs to {out} ({json.dumps(info.counts)}); "
               f"sidecar {info.sidecar}", err=True)
    typer.echo(f"priors sha256 {info.sha256}", err=True)


def register(app: typer.Typer) -> None:
    app.command("align-priors")(align_priors)
