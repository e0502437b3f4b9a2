"""``projner translate``: machine-translate a file (one sentence per line), or project entities with markers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from projner.errors import E, ProjnerError

BACKENDS = ("seq2seq", "ct2")


def _err(msg: str) -> None:
    typer.echo(msg, err=True)


def make_translator(backend: str, model: str, **params):
    """A translator from the registry by backend short name (the registry imports its module lazily)."""
    from projner.registry import create

    if backend not in BACKENDS:
        raise ProjnerError(E.E185, detail=f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
    return create("translator", backend, model=model, **params)


def translate_cmd(
    src_file: Path = typer.Argument(..., metavar="IN", help="Input: one sentence per line (.txt), or CoNLL/JSONL (tokens are space-joined)."),
    out: Path = typer.Argument(..., metavar="OUT", help="Output: one translation per line (with --markers: labelled target, CoNLL/JSONL by extension)."),
    model: str = typer.Option(..., "--model", help="Model name or local folder (transformers seq2seq, or a CTranslate2 folder with --backend ct2)."),
    src_lang: str = typer.Option(..., "--src-lang", help="Source language: ISO 639-1/639-3 or NLLB code (en, eng, eng_Latn)."),
    tgt_lang: str = typer.Option(..., "--tgt-lang", help="Target language (e.g. swa, sw, swh_Latn)."),
    backend: str = typer.Option("seq2seq", "--backend", help="seq2seq (transformers) or ct2 (CTranslate2)."),
    beam: int = typer.Option(4, "--beam", help="Beam size."),
    batch_size: int = typer.Option(16, "--batch-size", help="Sentences per batch (batched by length)."),
    max_length: int = typer.Option(256, "--max-length", help="Longest output in subword tokens (cut outputs are counted)."),
    device: Optional[str] = typer.Option(None, "--device", help="cpu or cuda (default: cuda when available)."),
    long_inputs: str = typer.Option("error", "--long-inputs", help="Inputs over the model limit: error, or split (at punctuation; counted)."),
    tokenizer: Optional[str] = typer.Option(None, "--tokenizer", help="ct2: tokenizer folder/name when not copied into the model folder."),
    scores: Optional[Path] = typer.Option(None, "--scores", help="Also write each translation's mean log-probability per token, one per line."),
    markers: bool = typer.Option(False, "--markers", help="EasyProject: IN is labelled; wrap entities in markers, translate, write the labelled target."),
    style: str = typer.Option("brackets", "--style", help="--markers: brackets ([ X ]), typed (<PER> X </PER>) or numbered (<1> X </1>)."),
    report: Optional[Path] = typer.Option(None, "--report", help="--markers: write per-entity verdicts and marker stats as JSON."),
) -> None:
    """Translate IN into OUT, one translation per line (written atomically); or --markers projection."""
    from projner.data.formats import detect_format, read_corpus, write_corpus
    from projner.data.paths import require_input
    from projner.data.textio import read_lines
    from projner.data.transaction import atomic_outputs

    require_input(src_file)
    params = dict(beam=beam, batch_size=batch_size, max_length=max_length, device=device, long_inputs=long_inputs)
    if backend == "ct2" and tokenizer:
        params["tokenizer"] = tokenizer
    if markers:
        from projner.project.markers import MarkerProjector

        corpus = read_corpus(str(src_file))
        if corpus.report.scheme is None:
            raise ProjnerError(E.E187, file=str(src_file), detail="--markers needs a labelled input (CoNLL or JSONL with tags)")
        # OUT and --report are committed together (or neither is written)
        with atomic_outputs() as tx:
            tx.path(out, "the translation")
            if report is not None:
                tx.path(report, "the report")
            tr = make_translator(backend, model, **params)
            proj = MarkerProjector(tr, src_lang, tgt_lang, style=style)
            results = proj.project(corpus.sentences)
            empty = sum(1 for t, _ in results if not t.tokens)
            if empty and detect_format(str(out)) == "conll":
                _err(f"warning: {empty} translations are empty; CoNLL output skips them (use .jsonl to keep lines parallel)")
            tx.write(out, lambda path: write_corpus(str(path), [t for t, _ in results]))
            if report is not None:
                ents = [
                    {"sentence": i, "source": [e.source.start, e.source.end, e.source.label],
                     "target": None if e.target is None else [e.target.start, e.target.end, e.target.label],
                     "outcome": e.outcome.value, "detail": e.detail}
                    for i, (_, p) in enumerate(results) for e in p.entities
                ]
                with tx.open(report) as fh:
                    json.dump({"signature": proj.signature(), "stats": proj.stats.to_dict(), "entities": ents}, fh, ensure_ascii=False)
        _err(proj.stats.format())
        _err(f"projner-translate:1|{proj.signature()}")
        return
    if detect_format(str(src_file)) == "txt":
        lines = read_lines(str(src_file))
    else:
        lines = [" ".join(s.tokens) for s in read_corpus(str(src_file)).sentences]
    # OUT and --scores are committed together (or neither is written)
    with atomic_outputs() as tx:
        tx.path(out, "the translation")
        if scores is not None:
            tx.path(scores, "the scores")
        tr = make_translator(backend, model, **params)
        outs = tr.translate(lines, src_lang, tgt_lang)
        with tx.open(out) as fh:
            for t in outs:
                fh.write(t.text.replace("\n", " ") + "\n")
        if scores is not None:
            with tx.open(scores) as fh:
                for t in outs:
                    fh.write(("nan" if t.score is None else f"{t.score:.6f}") + "\n")
    counts = dict(getattr(tr, "counts", {}) or {})
    _err(f"translated {len(outs)} sentences into {out}" + (f"; {counts}" if counts else ""))
    _err(f"projner-translate:1|{tr.signature()}")


def register(app: typer.Typer) -> None:
    """Add ``translate`` to the main app."""
    app.command("translate")(translate_cmd)
