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
from projner.data.formats import ReadOptions, load_label_list
from projner.data.normalize import Normalizer
from projner.errors import ProjnerError

app = typer.Typer(
    name="projner",
    help="Projection-based cross-lingual NER: align, project, evaluate, convert.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _err(msg: str) -> None:
    typer.echo(msg, err=True)


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
    model: Optional[str] = typer.Option(None, help="Neural aligner: encoder folder or hub name."),
    layer: int = typer.Option(7, help="Neural aligner: encoder layer (0 = embeddings)."),
    pooling: str = typer.Option("mean", help="Neural aligner: subword pooling into words: mean, first, subword."),
    precision: str = typer.Option("float32", help="Neural aligner: float32 or bfloat16 (faster on CPUs with bf16 units; links may differ slightly)."),
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
    from projner.pipeline.files import align_files

    if aligner == "eflomal":
        import projner.align.eflomal  # noqa: F401

        params = dict(sym=sym, runs=runs, n_samplers=samplers, prefix_len=stem)
    else:
        try:
            import projner.align.neural  # noqa: F401
        except ImportError as exc:
            raise ProjnerError(__import__("projner.errors").errors.E.E020, package=str(exc.name), hint="projner[neural]") from None
        params = dict(model=model, layer=layer, method=method, batch_size=batch_size, device=device,
                      pooling=pooling, precision=precision, cache_dir=str(cache_dir) if cache_dir else None, progress=not quiet)
    res = align_files(
        str(src), str(tgt), str(out), aligner=aligner, params=params,
        extra_src=str(extra_src) if extra_src else None, extra_tgt=str(extra_tgt) if extra_tgt else None,
        options=_options(nfc=nfc, strip_zero_width=strip_zero_width), scores=scores,
    )
    if not quiet:
        for r in res.reports:
            _err(r)
    if res.stats:
        _err("aligner: " + ", ".join(f"{k}={v}" for k, v in sorted(res.stats.items())))
    n_links = sum(len(a) for a in res.alignments)
    _err(f"wrote {len(res.alignments)} alignments ({n_links} links) to {out}")
    _err(f"projner-align:1|{res.signature}|version:{__version__}")


@app.command()
def project(
    src: Path = typer.Option(..., "--src", help="Labelled source sentences (CoNLL-like or JSONL)."),
    tgt: Path = typer.Option(..., "--tgt", help="Target sentences (.txt, or labelled CoNLL: only tokens are used)."),
    align: Path = typer.Option(..., "--align", help="Pharaoh alignments, one line per pair."),
    out: Path = typer.Option(..., "--out", help="Output: token<TAB>tag, IOB2 (or .jsonl)."),
    method: str = typer.Option("heuristic", help="heuristic, or candidate matching: ngram, ner, fusion."),
    max_gap: int = typer.Option(1, help="Heuristic: largest gap of unaligned words bridged inside a span."),
    min_ratio: float = typer.Option(0.8, help="Heuristic: keep ranges with len(target)/len(source) >= this (inclusive)."),
    max_ratio: Optional[float] = typer.Option(None, help="Heuristic: and <= this (default: no limit)."),
    keep: str = typer.Option("longest", help="Heuristic: longest (one span per entity) or all passing ranges."),
    strip_determiners: bool = typer.Option(False, "--strip-determiners", help="Drop a leading the/a/an from source entities first."),
    solver: str = typer.Option("greedy", help="Candidate matching: greedy, bipartite, ilp."),
    weights: Optional[str] = typer.Option(None, help="Candidate matching: score weights, e.g. 'align=1,ner=0.5'."),
    threshold: Optional[float] = typer.Option(None, help="Candidate matching: minimum score."),
    max_len: Optional[int] = typer.Option(None, help="Candidate matching: longest n-gram candidate (default: longest entity + 2, capped)."),
    ner_model: Optional[str] = typer.Option(None, "--ner-model", help="Candidate matching: target-side span proposer (capitalisation)."),
    translation: Optional[str] = typer.Option(None, "--translation", help="Candidate matching: translation score model (lexical: from the alignments)."),
    unaligned_weight: Optional[float] = typer.Option(None, help="Candidate matching: weight of unaligned words in the alignment score (0..1)."),
    ilp_max_vars: Optional[int] = typer.Option(None, help="Candidate matching: largest ILP before the reported greedy fallback."),
    label_map: Optional[str] = typer.Option(None, "--label-map", help="Map source labels first (e.g. ontonotes->conll or a file)."),
    report: Optional[Path] = typer.Option(None, "--report", help="Write per-entity verdicts and projection stats as JSON."),
    scheme: str = SchemeOpt,
    repair: str = RepairOpt,
    nfc: bool = NfcOpt,
    strip_zero_width: bool = ZwOpt,
    quiet: bool = QuietOpt,
) -> None:
    """Project source entities onto target words through word alignments."""
    from projner.pipeline.files import project_files, projector_params

    params = projector_params(
        method, max_gap=max_gap, min_ratio=min_ratio, max_ratio=max_ratio, keep=keep, strip_determiners=strip_determiners,
        solver=solver, weights=weights, threshold=threshold, max_len=max_len, ner_model=ner_model,
        translation=translation, unaligned_weight=unaligned_weight, ilp_max_vars=ilp_max_vars,
    )
    res = project_files(
        str(src), str(tgt), str(align), str(out), method=method, params=params,
        options=_options(scheme, repair, nfc, strip_zero_width), label_map=label_map,
    )
    if not quiet:
        for r in res.reports:
            _err(r)
    st = res.stats
    _err(f"projected {st.n_projected}/{st.n_source} source entities (projection rate {st.rate:.4f}); outcomes {dict(st.outcomes)}")
    _err(res.signature)
    if report is not None:
        from projner.data.textio import atomic_write

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
        with atomic_write(report) as fh:
            json.dump({"signature": res.signature, "stats": st.to_dict(), "entities": verdicts}, fh, ensure_ascii=False)


@app.command()
def evaluate(
    gold: Path = typer.Option(..., "--gold", help="Gold labelled file."),
    pred: Path = typer.Option(..., "--pred", help="Predicted labelled file (same sentences and tokens)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    labels: Optional[List[str]] = typer.Option(None, "--label", help="Only score these types (repeatable)."),
    bootstrap: int = typer.Option(0, help="Bootstrap samples for a 95% confidence interval (0 = off)."),
    label_map: Optional[str] = typer.Option(None, "--label-map", help="Map both sides first (e.g. conll->per-org-loc)."),
    scheme: str = SchemeOpt,
    repair: str = RepairOpt,
    nfc: bool = NfcOpt,
    strip_zero_width: bool = ZwOpt,
    quiet: bool = QuietOpt,
) -> None:
    """Strict span precision/recall/F1 (equal to seqeval mode='strict'), signed."""
    from projner.pipeline.files import evaluate_files

    scores, reports = evaluate_files(
        str(gold), str(pred), options=_options(scheme, repair, nfc, strip_zero_width),
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
) -> None:
    """Convert between formats and tag schemes (repairs and normalisations are reported)."""
    from projner.pipeline.files import convert_file

    c = convert_file(
        str(src), str(dst), from_format=from_format, to_format=to_format, to_scheme=scheme,
        options=_options(in_scheme, repair, nfc, strip_zero_width, token_col, tag_col, labels, empty_token),
        label_map=label_map,
    )
    _err(c.report.summary())
    _err(f"wrote {len(c)} sentences to {dst} ({scheme})")


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
    """Version and registered components."""
    import importlib

    from projner import registry

    for mod in ("projner.align.eflomal", "projner.align.neural", "projner.project.heuristic", "projner.project.matching", "projner.ner", "projner.translate"):
        try:
            importlib.import_module(mod)
        except ImportError:
            pass
    typer.echo(f"projner {__version__}")
    for name in ("aligners", "projectors", "taggers", "translators", "scorers"):
        typer.echo(f"{name}: {', '.join(getattr(registry, name).names()) or '-'}")


def _mount_optional() -> None:
    """Commands from other packages; each is optional so a partial install still runs."""
    try:
        from projner.cli import models as models_cli

        app.add_typer(models_cli.app, name="models", help="Prepare offline models (e.g. e5-small).")
    except ImportError:
        pass
    try:
        from projner.cli import ner as ner_cli

        ner_cli.register(app)
    except ImportError:
        pass
    try:
        from projner.cli import inspect_cmd

        inspect_cmd.register(app)
    except ImportError:
        pass
    try:
        from projner.cli import translate_cmd

        translate_cmd.register(app)
    except ImportError:
        pass
    try:
        from projner.cli import scale as scale_cli

        scale_cli.register(app)
    except ImportError:
        pass
    try:
        from projner.cli import pipelines as pipelines_cli

        pipelines_cli.register(app)
    except ImportError:
        pass
    try:
        from projner.cli import experiment as experiment_cli

        app.add_typer(experiment_cli.app, name="experiment", help="Run and report experiment grids (translate-train) and research studies.")
    except ImportError:
        pass


_mount_optional()


def main(argv: Optional[List[str]] = None) -> None:
    try:
        app(args=argv, standalone_mode=False)
    except ProjnerError as exc:
        _err(f"error: {exc}")
        sys.exit(2)
    except (typer.Exit,) as exc:  # pragma: no cover
        sys.exit(exc.exit_code)
    except Exception as exc:
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort):
            sys.exit(130)
        raise


if __name__ == "__main__":  # pragma: no cover
    main()
