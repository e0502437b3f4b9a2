"""The ``projner`` command line: thin wrappers over :mod:`projner.pipeline`."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import List, Optional

# OpenMP threads that spin while waiting make torch 10x slower on a shared or busy CPU
# (measured: 20.9 s vs 1.6 s per e5-small training step at load 5 on 2 cores); set before torch
# loads, and only as a default: OMP_WAIT_POLICY=ACTIVE in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import typer  # noqa: E402

from projner import __version__
from projner.cli.options import GROUP, Projector, option_group, projector_options
from projner.data.formats import ReadOptions, load_label_list
from projner.data.normalize import Normalizer
from projner.errors import ProjnerError
from projner.registry import is_missing_optional

app = typer.Typer(
    name="projner",
    help="Projection-based cross-lingual NER: align, project, evaluate, convert.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _err(msg: str) -> None:
    typer.echo(msg, err=True)


@app.callback()
def _global_options(
    ctx: typer.Context,
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Also debug messages on stderr."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only warnings and errors on stderr: no progress bars, "
                               "no reading reports (every command's own --quiet)."),
) -> None:
    # the global convention (`projner -v CMD`, `projner -q CMD`); a command's own --quiet still works
    from projner import log

    if verbose and quiet:
        raise typer.BadParameter("--verbose and --quiet exclude each other", param_hint="'--verbose' / '--quiet'")
    log.configure(log.VERBOSE if verbose else log.QUIET if quiet else log.NORMAL)
    if quiet:  # every command's own --quiet defaults to on
        ctx.default_map = {**(ctx.default_map or {}), **_quiet_defaults(ctx.command)}


def _quiet_defaults(group) -> dict:
    """``{command: {"quiet": True}}`` (nested for subgroups) for each command that has a --quiet."""
    out: dict = {}
    for name, cmd in getattr(group, "commands", {}).items():
        if hasattr(cmd, "commands"):
            sub = _quiet_defaults(cmd)
            if sub:
                out[name] = sub
        elif any(p.name == "quiet" for p in cmd.params):
            out[name] = {"quiet": True}
    return out


def _options(
    scheme: str = "auto",
    repair: str = "begin",
    nfc: bool = False,
    strip_zero_width: bool = False,
    token_col: int = 0,
    tag_col: int = -1,
    labels: Optional[str] = None,
    empty_token: str = "error",
) -> ReadOptions:
    return ReadOptions(
        scheme=scheme,
        repair=repair,  # type: ignore[arg-type]
        token_col=token_col,
        tag_col=tag_col,
        normalizer=Normalizer(nfc=nfc, strip_zero_width=strip_zero_width),
        empty_token=empty_token,
        labels=load_label_list(labels) if labels else None,
    )


SchemeOpt = typer.Option("auto", "--scheme", help="Tag scheme of the input: auto, iob1, iob2, bioes, io.")
RepairOpt = typer.Option("begin", help="Invalid tag sequences: begin (conlleval), drop (seqeval strict), error.")
NfcOpt = typer.Option(False, "--nfc", help="NFC-normalise tokens (changes are counted).")
ZwOpt = typer.Option(False, "--strip-zero-width", help="Remove zero-width characters (counted).")
TokColOpt = typer.Option(0, help="Token column (CoNLL-like input).")
TagColOpt = typer.Option(-1, help="Tag column (CoNLL-like input; -1 = last).")
LabelsOpt = typer.Option(None, "--labels", help="Label list for JSONL with integer tags: conll2003, masakhaner, wikiann or a file.")
EmptyTokOpt = typer.Option("error", "--empty-token", help="A token empty after normalisation: error or drop (counted).")
QuietOpt = typer.Option(False, "--quiet", "-q", help="Print no reading reports.")
# --scheme, --repair, --nfc, --strip-zero-width in place of a command's `options: ReadOptions`
read_options = option_group("options", {"scheme": (str, SchemeOpt), "repair": (str, RepairOpt), "nfc": (bool, NfcOpt),
                                        "strip_zero_width": (bool, ZwOpt)}, _options)


@app.command()
def align(
    src: Path = typer.Option(..., "--src", help="Source sentences (.txt one per line, or CoNLL/JSONL)."),
    tgt: Path = typer.Option(..., "--tgt", help="Target sentences, line-parallel to --src."),
    out: Path = typer.Option(..., "--out", help="Output Pharaoh file (i-j per link)."),
    aligner: str = typer.Option("eflomal", help="Aligner: eflomal or neural."),
    sym: str = typer.Option("reverse", help="Symmetrisation (eflomal; default: best on Europarl): reverse, intersection, union, grow-diag, grow-diag-final, grow-diag-final-and, forward, reverse."),
    extra_src: Optional[Path] = typer.Option(None, "--extra-src", help="Extra parallel source text to train the aligner (not written out)."),
    extra_tgt: Optional[Path] = typer.Option(None, "--extra-tgt", help="Extra parallel target text."),
    runs: int = typer.Option(1, help="eflomal: independent runs, links kept by majority vote (eflomal takes no seed)."),
    samplers: int = typer.Option(3, help="eflomal: samplers per run."),
    stem: int = typer.Option(4, help="eflomal: truncate words to this prefix length (default 4: best on Europarl; 0 = whole words; eflomal always lowercases)."),
    priors: Optional[Path] = typer.Option(None, "--priors", help="eflomal: start from these priors (projner align-priors; made with the same --stem)."),
    priors_weight: float = typer.Option(1.0, "--priors-weight", help="eflomal: multiply the priors' pseudo-counts by this against the run's own counts."),
    model: Optional[str] = typer.Option(None, help="Neural aligner: encoder folder or hub name."),
    layer: int = typer.Option(7, help="Neural aligner: encoder layer (0 = embeddings)."),
    pooling: str = typer.Option("mean", help="Neural aligner: subword pooling into words: mean, first, subword."),
    precision: str = typer.Option("float32", help="Neural aligner: float32; bfloat16 (CPUs with native bf16, else float32 with a warning; links may differ slightly); int8 (dynamic int8 quantisation, CPU)."),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", help="Neural aligner: reuse embeddings across runs from this folder."),
    method: str = typer.Option("itermax", help="Neural aligner: argmax, itermax, match, softmax."),
    batch_size: int = typer.Option(32, help="Neural aligner: pairs per batch."),
    device: Optional[str] = typer.Option(None, help="Neural aligner: cpu or cuda (default: cuda when available)."),
    scores: bool = typer.Option(False, "--scores", help="Write link scores (i-j:score)."),
    nfc: bool = NfcOpt,
    strip_zero_width: bool = ZwOpt,
    quiet: bool = QuietOpt,
) -> None:
    """Word-align two line-parallel files and write Pharaoh links."""
    from projner.align.build import import_aligner
    from projner.pipeline.files import align_files

    import_aligner(aligner)  # a missing optional dependency (E020) fails before the inputs are read
    if priors is not None and aligner != "eflomal":
        raise typer.BadParameter("priors are for the eflomal aligner", param_hint="'--priors'")
    if aligner == "eflomal":
        params = dict(sym=sym, runs=runs, n_samplers=samplers, prefix_len=stem, priors=str(priors) if priors else None)
        if priors_weight != 1:
            params["priors_weight"] = priors_weight
    else:
        params = dict(model=model, layer=layer, method=method, batch_size=batch_size, device=device,
                      pooling=pooling, precision=precision, cache_dir=str(cache_dir) if cache_dir else None, progress=not quiet)
    from projner.data.formats import write_pharaoh
    from projner.data.transaction import atomic_outputs

    with atomic_outputs() as tx:
        tx.path(out, "the alignments")  # an unwritable --out fails before the aligner runs
        res = align_files(
            str(src), str(tgt), None, aligner=aligner, params=params,
            extra_src=str(extra_src) if extra_src else None, extra_tgt=str(extra_tgt) if extra_tgt else None,
            options=_options(nfc=nfc, strip_zero_width=strip_zero_width), scores=scores,
        )
        tx.write(out, lambda p: write_pharaoh(p, res.alignments, scores=scores))
    if not quiet:
        for r in res.reports:
            _err(r)
    if res.stats:
        _err("aligner: " + ", ".join(f"{k}={v}" for k, v in sorted(res.stats.items())))
    n_links = sum(len(a) for a in res.alignments)
    _err(f"wrote {len(res.alignments)} alignments ({n_links} links) to {out}")
    _err(f"projner-align:1|{res.signature}|version:{__version__}")


@app.command()
@projector_options()
@read_options
def project(
    src: Path = typer.Option(..., "--src", help="Labelled source sentences (CoNLL-like or JSONL)."),
    tgt: Path = typer.Option(..., "--tgt", help="Target sentences (.txt, or labelled CoNLL: only tokens are used)."),
    align: Path = typer.Option(..., "--align", help="Pharaoh alignments, one line per pair."),
    out: Path = typer.Option(..., "--out", help="Output: token<TAB>tag, IOB2 (or .jsonl)."),
    projector: Projector = GROUP,
    label_map: Optional[str] = typer.Option(None, "--label-map", help="Map source labels first (e.g. ontonotes->conll or a file)."),
    report: Optional[Path] = typer.Option(None, "--report", help="Write per-entity verdicts and projection stats as JSON."),
    conventions: Optional[Path] = typer.Option(None, "--conventions", help="Make the projected spans follow the target annotation's span edges: a labelled target corpus to learn them from (e.g. MasakhaNER dev.txt) or a rules .json (projner conventions)."),
    options: ReadOptions = GROUP,
    quiet: bool = QuietOpt,
) -> None:
    """Project source entities onto target words through word alignments."""
    from projner.data.formats import write_corpus
    from projner.data.transaction import atomic_outputs
    from projner.pipeline.files import project_files

    # --out and --report are committed together: an unwritable report leaves no --out either
    with atomic_outputs() as tx:
        tx.path(out, "the projected output")
        if report is not None:
            tx.path(report, "the report")
        res = project_files(
            str(src), str(tgt), str(align), None, method=projector.method, params=projector.params,
            options=options, label_map=label_map,
        )
        fmt = "jsonl" if str(out).endswith((".jsonl", ".json")) else "conll"
        sentences, conv_counts = res.sentences, None
        if conventions is not None:
            from projner.project.conventions import apply_conventions, load_conventions

            conv = load_conventions(conventions)
            sentences, conv_counts = apply_conventions(sentences, conv)
        tx.write(out, lambda p: write_corpus(p, sentences, fmt=fmt))
        st = res.stats
        if report is not None:
            verdicts = [
                {
                    "pair": i,
                    "source": [e.source.start, e.source.end, e.source.label],
                    "target": None if e.target is None else [e.target.start, e.target.end, e.target.label],
                    "outcome": e.outcome.value,
                    "detail": e.detail,
                }
                for i, p in enumerate(res.projections)
                for e in p.entities
            ]
            doc = {"signature": res.signature, "stats": st.to_dict(), "entities": verdicts}
            if conv_counts is not None:
                doc["conventions"] = {**conv_counts.to_dict(), "source": conv.signature()}
            with tx.open(report) as fh:
                json.dump(doc, fh, ensure_ascii=False)
    if not quiet:
        for r in res.reports:
            _err(r)
    _err(f"projected {st.n_projected}/{st.n_source} source entities (projection rate {st.rate:.4f}); outcomes {dict(st.outcomes)}")
    if conv_counts is not None:
        _err(f"span conventions {conv.signature()}: {conv_counts.spans} spans in {conv_counts.sentences} sentences "
             f"changed ({conv_counts.words})")
    _err(res.signature)


@app.command()
def conventions(
    gold: Path = typer.Argument(..., help="Labelled target sentences (CoNLL or JSONL), e.g. MasakhaNER dev.txt; never the file you score on."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the rules as JSON (for --conventions, or to edit by hand)."),
    min_count: int = typer.Option(3, "--min-count", min=1, help="A word needs this many sightings at a span edge."),
    min_ratio: float = typer.Option(0.5, "--min-ratio", min=0.0, max=1.0, help="Share of its sightings inside (include) or outside (exclude) the span."),
) -> None:
    """Learn the target annotation's span edges (which words next to a name belong to the entity) and print them."""
    from projner.data.paths import require_inputs
    from projner.data.textio import atomic_write
    from projner.project.conventions import load_conventions

    require_inputs((gold, "the labelled corpus"))
    conv = load_conventions(gold, min_count=min_count, min_ratio=min_ratio)
    doc = conv.to_dict()
    text = json.dumps(doc, ensure_ascii=False, indent=1)
    if out is not None:
        with atomic_write(out) as fh:
            fh.write(text + "\n")
        _err(f"{len(conv)} rules written to {out}")
    else:
        typer.echo(text)


@app.command()
@read_options
def evaluate(
    gold: Path = typer.Option(..., "--gold", help="Gold labelled file."),
    pred: Path = typer.Option(..., "--pred", help="Predicted labelled file (same sentences and tokens)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    labels: Optional[List[str]] = typer.Option(None, "--label", help="Only score these types (repeatable)."),
    bootstrap: int = typer.Option(0, help="Bootstrap samples for a 95% confidence interval (0 = off)."),
    label_map: Optional[str] = typer.Option(None, "--label-map", help="Map both sides first (e.g. conll->per-org-loc)."),
    options: ReadOptions = GROUP,
    quiet: bool = QuietOpt,
) -> None:
    """Strict span precision/recall/F1 (equal to seqeval mode='strict'), signed."""
    from projner.pipeline.files import evaluate_files

    scores, reports = evaluate_files(
        str(gold), str(pred), options=options,
        labels=labels or None, bootstrap=bootstrap, label_map=label_map,
    )
    if as_json:
        typer.echo(json.dumps(scores.to_dict(), ensure_ascii=False))
    else:
        if not quiet:
            for r in reports:
                _err(r)
        typer.echo(scores.format())


@app.command()
def convert(
    src: Path = typer.Argument(..., help="Input file."),
    dst: Path = typer.Argument(..., help="Output file."),
    from_format: Optional[str] = typer.Option(None, "--from", help="Input format: conll, jsonl, txt (default: by extension)."),
    to_format: Optional[str] = typer.Option(None, "--to", help="Output format: conll, jsonl, txt (default: by extension)."),
    scheme: str = typer.Option("iob2", "--scheme", help="Output tag scheme: iob1, iob2, bioes, io."),
    in_scheme: str = typer.Option("auto", "--in-scheme", help="Input tag scheme (default: detect)."),
    label_map: Optional[str] = typer.Option(None, "--label-map", help="Map labels (named map or file)."),
    labels: Optional[str] = LabelsOpt,
    repair: str = RepairOpt,
    nfc: bool = NfcOpt,
    strip_zero_width: bool = ZwOpt,
    token_col: int = TokColOpt,
    tag_col: int = TagColOpt,
    empty_token: str = EmptyTokOpt,
    unsafe_tokens: str = typer.Option(
        "error", "--unsafe-tokens",
        help="A token the output format cannot hold (whitespace in txt; TAB, line break, edge space in CoNLL): "
        "error, or replace (each such character becomes '_', counted).",
    ),
) -> None:
    """Convert between formats and tag schemes (repairs and normalisations are reported).

    An empty sentence stays a sentence: an empty line in txt, "tokens": [] in JSONL, and the
    block `-EMPTY-<TAB>O` in CoNLL (read back as an empty sentence).
    """
    from projner.pipeline.files import convert_file

    c = convert_file(
        str(src), str(dst), from_format=from_format, to_format=to_format, to_scheme=scheme,
        options=_options(in_scheme, repair, nfc, strip_zero_width, token_col, tag_col, labels, empty_token),
        label_map=label_map, unsafe_tokens=unsafe_tokens,
    )
    _err(c.report.summary())
    if c.label_map:
        _err("  label map: " + ", ".join(f"{k}={v}" for k, v in c.label_map.items()))
    w = c.written
    _err(f"wrote {w.n_sentences} sentences to {dst} ({w.scheme})")
    for line in w.repair_lines():
        _err(line)


@app.command()
def demo(
    data: Optional[Path] = typer.Option(None, "--data", help="Run Europarl-NER en->de/es/it from this data folder instead of the embedded example."),
    show: int = typer.Option(5, help="Projected sentences to print."),
) -> None:
    """The main job end to end: align, project, evaluate (embedded example, or Europarl-NER with --data)."""
    from projner.pipeline.demo import run_demo

    run_demo(data=str(data) if data else None, show=show, echo=typer.echo)


@app.command()
def info() -> None:
    """Version and registered components (built-ins are listed without importing them)."""
    from projner import registry

    typer.echo(f"projner {__version__}")
    for name in ("aligners", "projectors", "taggers", "translators", "scorers", "studies"):
        typer.echo(f"{name}: {', '.join(getattr(registry, name).names()) or '-'}")


def _mount_models(target: typer.Typer, mod) -> None:
    target.add_typer(mod.app, name="models", help="Prepare offline models (e.g. e5-small).")


def _mount_experiment(target: typer.Typer, mod) -> None:
    target.add_typer(mod.app, name="experiment", help="Run and report experiment grids (translate-train) and research studies.")


def _mount_register(target: typer.Typer, mod) -> None:
    mod.register(target)


# (module, how it joins the app); each is optional so a partial install still runs
OPTIONAL_COMMANDS = (
    ("projner.cli.models", _mount_models),
    ("projner.cli.ner", _mount_register),
    ("projner.cli.inspect_cmd", _mount_register),
    ("projner.cli.translate_cmd", _mount_register),
    ("projner.cli.scale", _mount_register),
    ("projner.cli.pipelines", _mount_register),
    ("projner.cli.align_priors", _mount_register),
    ("projner.cli.experiment", _mount_experiment),
)


def _mount_optional(target: Optional[typer.Typer] = None, import_module=None) -> list[str]:
    """Mount the commands of other modules; returns the modules skipped for a missing optional package.

    Only an ImportError naming a third-party package is skipped: one naming a projner module is a
    bug and is raised, so that a subcommand never vanishes silently.
    """
    import importlib

    target = app if target is None else target
    load = import_module or importlib.import_module
    skipped = []
    for mod_name, mount in OPTIONAL_COMMANDS:
        try:
            mod = load(mod_name)
        except ImportError as exc:
            if not is_missing_optional(exc):
                raise
            skipped.append(mod_name)
            continue
        mount(target, mod)
    return skipped


_mount_optional()


def _click_exceptions() -> tuple[tuple[type, ...], tuple[type, ...]]:
    """(ClickException classes, Abort classes) of this typer: typer >= 0.2x vendors click as
    ``typer._click``; older typer raises the separate ``click`` package's classes. Both are caught."""
    click_exc: list[type] = []
    abort: list[type] = [typer.Abort]
    for mod_name in ("typer._click.exceptions", "click.exceptions"):
        try:
            import importlib

            mod = importlib.import_module(mod_name)
        except ImportError:
            continue
        if hasattr(mod, "ClickException"):
            click_exc.append(mod.ClickException)
        if hasattr(mod, "Abort"):
            abort.append(mod.Abort)
    return tuple(click_exc), tuple(abort)


def _show_click_error(exc) -> int:
    """One line for a usage error (plus a hint naming the command's --help); click's own text otherwise."""
    ctx = getattr(exc, "ctx", None)
    if type(exc).__name__ == "NoArgsIsHelpError":  # `projner` or `projner experiment` alone: the help
        exc.show()
        return int(getattr(exc, "exit_code", 2))
    msg = " ".join(str(exc.format_message()).split())
    if ctx is not None and getattr(exc, "exit_code", 1) == 2:
        _err(f"error: {msg}")
        _err(f"Try '{ctx.command_path} --help' for help.")
    else:
        _err(f"error: {msg}")
    return int(getattr(exc, "exit_code", 1))


def main(argv: Optional[List[str]] = None) -> None:
    """The console script (``projner = projner.cli.main:main``).

    Exit status: 0 success; 1 a command that ran but failed (e.g. every run of an experiment);
    2 a usage error (missing or unknown option, bad value) or an input/output error
    (``error: [Ennn] FILE:LINE: message``, never a traceback); 130 interrupted.
    """
    click_exc, abort_exc = _click_exceptions()
    try:
        rv = app(args=argv, standalone_mode=False, prog_name="projner")
    except ProjnerError as exc:
        _err(f"error: {exc}")
        sys.exit(2)
    except typer.Exit as exc:  # pragma: no cover - standalone_mode=False returns the code instead
        sys.exit(exc.exit_code)
    except click_exc as exc:
        sys.exit(_show_click_error(exc))
    except abort_exc:
        _err("Aborted!")
        sys.exit(130)
    except OSError as exc:  # the commands name their files; this is the fallback that still names one
        from projner.data.paths import os_error

        _err(f"error: {os_error(exc)}")
        sys.exit(2)
    if isinstance(rv, int) and not isinstance(rv, bool) and rv != 0:  # typer.Exit(code) in a command
        sys.exit(rv)


if __name__ == "__main__":  # pragma: no cover
    main()
