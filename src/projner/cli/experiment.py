"""``projner experiment run CONFIG.yaml`` and ``projner experiment report DIR``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(help="Run a grid of cached translate-train experiments or a research study, and report them.", no_args_is_help=True)


@app.command("run")
def run_cmd(
    config: Path = typer.Argument(..., help="Experiment config (YAML); see experiments/."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Results folder (default: the config's output)."),
    cache: Optional[Path] = typer.Option(None, "--cache", help="Cache folder (default: config, $PROJNER_CACHE, ~/.cache/projner)."),
    data: Optional[Path] = typer.Option(None, "--data", help="Shared data folder (default: config, $PROJNER_DATA, ../shared/data)."),
    langs: Optional[str] = typer.Option(None, "--langs", help="Only these languages, comma-separated."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate the whole config (parameters, data folder, languages, files) and list the runs; run nothing."),
    strict: bool = typer.Option(False, "--strict", help="Exit with status 1 when any run fails (default: only when every run fails)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No cache log."),
) -> None:
    """Validate CONFIG, run every grid cell (finished steps come from the cache), write the results folder.

    Every problem of the config is reported before anything runs (exit status 2), each with the
    config file and line. A failing run does not stop the others: it is recorded as an error in
    results.md and counted on stderr. Exit status 1 when every run failed (or, with --strict, when
    any run failed); 0 otherwise.
    """
    from projner.errors import E, ProjnerError
    from projner.pipeline.config_check import validate_experiment
    from projner.pipeline.experiment import load_config, run_experiment, run_status

    cfg = load_config(config)
    langs_l = [x.strip() for x in langs.split(",") if x.strip()] if langs else None
    validate_experiment(cfg, data=None if data is None else str(data), languages=langs_l)
    specs = [s for s in cfg.runs() if langs_l is None or s.lang in langs_l]
    if dry_run:
        typer.echo(f"{cfg.name}: {len(specs)} runs")
        for s in specs:
            typer.echo(f"  {s.run_id}")
        return
    out = run_experiment(cfg, output, cache=None if cache is None else str(cache), data=None if data is None else str(data),
                         languages=langs_l, verbose=not quiet, log=lambda m: typer.echo(m, err=True))
    typer.echo((out / "results.md").read_text(encoding="utf-8"))
    typer.echo(f"results in {out}", err=True)
    status = run_status(out, [s.run_id for s in specs])
    failed = len(status["error"])
    if failed:
        total = failed + len(status["ok"])
        msg = ProjnerError(E.E045, failed=failed, total=total, detail=f" ({', '.join(status['error'][:5])}"
                           f"{', ...' if failed > 5 else ''}; see Errors in {out / 'results.md'})")
        if not status["ok"] or strict:
            typer.echo(f"error: {msg}", err=True)
            raise typer.Exit(1)
        typer.echo(f"warning: {msg}", err=True)


@app.command("report")
def report_cmd(folder: Path = typer.Argument(..., help="A results folder written by `projner experiment run`.")) -> None:
    """Rebuild results.md and the plots from the folder's runs/*.json."""
    from projner.pipeline.experiment import report_folder

    path = report_folder(folder)
    typer.echo(path.read_text(encoding="utf-8"))
