"""``projner inspect``: why was an entity lost or misplaced? One HTML page, or terminal text."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from projner.cli.options import GROUP, PROJECTOR_OPTIONS, Projector, projector_options
from projner.errors import E, ProjnerError

FORMATS = ("html", "txt")


@projector_options(PROJECTOR_OPTIONS[:PROJECTOR_OPTIONS.index("threshold") + 1])
def inspect_cmd(
    src: Path = typer.Option(..., "--src", help="Labelled source sentences (CoNLL-like or JSONL)."),
    tgt: Path = typer.Option(..., "--tgt", help="Target sentences (.txt, or labelled CoNLL: only tokens are used)."),
    align: Path = typer.Option(..., "--align", help="Pharaoh alignments, one line per pair (i-j, optionally i-j:score)."),
    pred: Optional[Path] = typer.Option(None, "--pred", help="Predicted target file to compare with the projection (default: the projection)."),
    gold: Optional[Path] = typer.Option(None, "--gold", help="Target gold: classify each target entity (correct, wrong_boundary, wrong_type, missed, spurious)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Output file (default for html: inspect.html; txt: standard output)."),
    fmt: str = typer.Option("html", "--format", help="html (one self-contained page) or txt (terminal)."),
    limit: int = typer.Option(5, "--limit", help="txt: pairs to show."),
    errors_only: bool = typer.Option(False, "--errors-only", help="txt: only pairs with a failure."),
    reason: Optional[str] = typer.Option(None, "--reason", help="txt: only pairs with this reason (e.g. length_ratio, missed)."),
    label: Optional[str] = typer.Option(None, "--type", help="txt: only pairs with an entity of this type."),
    query: Optional[str] = typer.Option(None, "--search", help="txt: only pairs whose tokens contain this text."),
    title: Optional[str] = typer.Option(None, "--title", help="html: page title."),
    page_size: int = typer.Option(25, "--page-size", help="html: pairs per page (10, 25, 50, 100)."),
    projector: Projector = GROUP,
    label_map: Optional[str] = typer.Option(None, "--label-map", help="Map source (and gold/pred) labels first."),
    scheme: str = typer.Option("auto", "--scheme", help="Tag scheme of the inputs: auto, iob1, iob2, bioes, io."),
    repair: str = typer.Option("begin", help="Invalid tag sequences: begin (conlleval), drop (seqeval strict), error."),
    color: bool = typer.Option(False, "--color", help="txt: keep colours (default: plain text unless the output is a terminal)."),
) -> None:
    """Show per sentence pair what happened to every entity: projected where, dropped why, right or wrong vs gold."""
    from projner.data.formats import ReadOptions
    from projner.data.paths import require_inputs
    from projner.data.transaction import atomic_outputs
    from projner.inspect.verdicts import inspect_files

    if fmt not in FORMATS:
        raise ProjnerError(E.E161, fmt=fmt, known=", ".join(FORMATS))
    if limit < 1:
        raise ProjnerError(E.E162, detail=f"--limit must be at least 1, not {limit}")
    require_inputs((src, "the source file"), (tgt, "the target file"), (align, "the alignment file"),
                   (pred, "the prediction file"), (gold, "the gold file"))
    report = inspect_files(
        src, tgt, align, pred=pred, gold=gold, method=projector.method, params=projector.params,
        options=ReadOptions(scheme=scheme, repair=repair), label_map=label_map,  # type: ignore[arg-type]
    )
    if fmt == "html":
        from projner.inspect.html import render_report_html

        page = render_report_html(report, title=title, page_size=page_size)
        target = out or Path("inspect.html")
        with atomic_outputs() as tx, tx.open(target, what="the page") as fh:
            fh.write(page)
        typer.echo(
            f"wrote {target} ({len(report.pairs)} pairs, {report.n_error_pairs} with errors, {len(page) / 1e6:.1f} MB)", err=True
        )
        return
    from projner.inspect.text import render_text

    use_color = color or (out is None and sys.stdout.isatty())
    import shutil

    width = shutil.get_terminal_size((120, 40)).columns if out is None and sys.stdout.isatty() else 120
    text = render_text(
        report, limit=limit, errors_only=errors_only, reason=reason, label=label, query=query, width=width, color=use_color
    )
    if out is None:
        sys.stdout.write(text)
    else:
        with atomic_outputs() as tx, tx.open(out) as fh:
            fh.write(text)


def register(app: typer.Typer) -> None:
    """Add ``inspect`` to the main app."""
    app.command("inspect")(inspect_cmd)
