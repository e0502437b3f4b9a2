"""``projner train`` and ``projner tag``: thin wrappers over :mod:`projner.ner`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from projner.errors import E, ProjnerError
from projner.ner.base import TRAINABLE_BACKENDS as BACKENDS



def _read(path: Path, scheme: str, label_map: Optional[str], quiet: bool):
    from projner.data.formats import ReadOptions, read_corpus
    from projner.data.labelmaps import load_label_map
    from projner.data.paths import require_input

    corpus = read_corpus(require_input(path), options=ReadOptions(scheme=scheme))
    if not quiet:
        typer.echo(corpus.report.summary(), err=True)
    sents = corpus.sentences
    if label_map:
        sents, counts = load_label_map(label_map).map_sentences(sents)
        if not quiet:
            typer.echo(f"  label map {label_map}: " + ", ".join(f"{k}={v}" for k, v in counts.items()), err=True)
    return sents


def train_cmd(
    train: Path = typer.Option(..., "--train", help="Training data (CoNLL columns, JSONL; any scheme)."),
    out: Path = typer.Option(..., "--out", help="Model folder to write (meta.json + backend files)."),
    dev: Optional[Path] = typer.Option(None, "--dev", help="Dev data: early stopping (transformer, fast, pcrf), dev F1 report."),
    backend: str = typer.Option("crf", "--backend", help="crf, transformer, fast (frozen encoder run once, vectors cached, light CRF head trained on top), or pcrf (torch CRF over the crf features; trains on partial labels)."),
    model: Optional[str] = typer.Option(None, "--model", help="transformer, fast: encoder folder or hub name (fast: default the prepared e5-small)."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    label_map: Optional[str] = typer.Option(None, "--label-map", help="Map labels of train and dev first (e.g. conll->masakhaner)."),
    scheme: str = typer.Option("auto", "--scheme", help="Tag scheme of the inputs: auto, iob1, iob2, bioes, io."),
    epochs: Optional[int] = typer.Option(None, help="transformer, fast, pcrf: maximum epochs (default 3; fast 15; pcrf 5)."),
    lr: Optional[float] = typer.Option(None, help="transformer, fast, pcrf: learning rate (default 5e-5; fast 2e-3; pcrf 0.01)."),
    batch_size: Optional[int] = typer.Option(None, help="transformer: windows per batch (default 16); fast, pcrf: sentences per batch (default 64; pcrf 32)."),
    max_length: Optional[int] = typer.Option(None, help="transformer, fast: subwords per window (default: the model limit)."),
    freeze_layers: int = typer.Option(0, help="transformer: freeze embeddings and this many lowest layers."),
    freeze_embeddings: bool = typer.Option(False, "--freeze-embeddings", help="transformer: freeze the embeddings (much faster on CPU for large vocabularies)."),
    patience: Optional[int] = typer.Option(None, help="transformer, fast, pcrf: epochs without dev improvement before stopping (default 2; fast 3; pcrf 3)."),
    layers: Optional[str] = typer.Option(None, "--layers", help="fast: encoder layers whose vectors are concatenated (default 5,6,7,8; 0 = embeddings, negative = counted from the top, e.g. -4,-3,-2,-1)."),
    embed_cache: Optional[Path] = typer.Option(None, "--embed-cache", help="fast: word-vector cache folder (default $PROJNER_CACHE/embeddings)."),
    device: str = typer.Option("auto", help="transformer, fast: auto, cpu, cuda."),
    threads: Optional[int] = typer.Option(None, help="transformer, fast, pcrf: CPU threads (default: torch's choice; pcrf 1)."),
    max_iterations: int = typer.Option(150, help="crf: maximum L-BFGS iterations."),
    c1: float = typer.Option(0.05, help="crf: L1 regularisation."),
    c2: float = typer.Option(0.01, help="crf: L2 regularisation."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No reading reports or progress bars."),
) -> None:
    """Train a NER tagger and save it to a model folder."""
    from projner.registry import create

    if backend not in BACKENDS:
        raise ProjnerError(E.E150, backend=backend, known=", ".join(BACKENDS) + " (spacy is a pretrained labeller: use `projner tag --model spacy:NAME`)")
    train_s = _read(train, scheme, label_map, quiet)
    dev_s = _read(dev, scheme, label_map, quiet) if dev is not None else None
    if backend == "crf":
        tagger = create("tagger", "crf", c1=c1, c2=c2, max_iterations=max_iterations, seed=seed, progress=not quiet)
    elif backend == "pcrf":
        opt = {k: v for k, v in (("epochs", epochs), ("lr", lr), ("batch_size", batch_size), ("patience", patience),
                                 ("threads", threads)) if v is not None}
        tagger = create("tagger", "pcrf", seed=seed, progress=not quiet, **opt)
    elif backend == "fast":
        opt = {k: v for k, v in (("epochs", epochs), ("lr", lr), ("batch_size", batch_size), ("patience", patience),
                                 ("layers", layers)) if v is not None}
        tagger = create("tagger", "fast", model=model, max_length=max_length, device=device, threads=threads,
                                cache_dir=embed_cache, seed=seed, progress=not quiet, **opt)
    else:
        if not model:
            raise ProjnerError(E.E018, detail="--backend transformer needs --model <encoder folder or hub name>")
        tagger = create("tagger", "transformer", model=model, epochs=3 if epochs is None else epochs, lr=5e-5 if lr is None else lr,
                                batch_size=16 if batch_size is None else batch_size, max_length=max_length, freeze_layers=freeze_layers,
                                freeze_embeddings=freeze_embeddings, patience=2 if patience is None else patience,
                                device=device, seed=seed, threads=threads, progress=not quiet)
    tagger.fit(train_s, dev_s)
    tagger.save(out)
    typer.echo(json.dumps({"model": str(out), "backend": backend, "labels": list(tagger.labels), **tagger.info}))


def tag_cmd(
    input: Path = typer.Argument(..., help="Sentences to tag (.txt one per line, CoNLL, JSONL); gold tags are ignored."),
    model: str = typer.Option(..., "--model", help="Model folder, or spacy:PIPELINE (e.g. spacy:en_core_web_sm)."),
    out: Path = typer.Option(..., "--out", help="Output file; format from the extension (.jsonl, .txt→CoNLL columns otherwise)."),
    out_scheme: str = typer.Option("iob2", "--out-scheme", help="Scheme of the written tags."),
    labels: Optional[str] = typer.Option(None, "--only", help="Comma-separated labels to keep (must be known to the model)."),
    label_map: Optional[str] = typer.Option(None, "--label-map", help="spacy: label map (default ontonotes->conll; 'none' keeps spaCy labels)."),
    scheme: str = typer.Option("auto", "--scheme", help="Tag scheme of a labelled input."),
    scores: Optional[Path] = typer.Option(None, "--scores", help="Also write spans with confidence scores as JSONL."),
    conventions: Optional[Path] = typer.Option(None, "--conventions", help="Make predicted spans follow the target annotation's span edges: a rules .json (projner conventions, or the conventions.json translate-train saves with a model) or a labelled corpus to learn them from."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No reading report or progress bars."),
) -> None:
    """Tag sentences with a saved model or an installed spaCy pipeline."""
    from projner.data.formats import ReadOptions, read_corpus, write_corpus_report
    from projner.data.paths import require_input
    from projner.data.transaction import atomic_outputs
    from projner.ner.io import SPACY_PREFIX, load_tagger

    overrides: dict = {"progress": not quiet}
    if label_map is not None:
        if not model.startswith(SPACY_PREFIX):
            raise ProjnerError(E.E018, detail="--label-map applies to spacy:PIPELINE models only")
        overrides["label_map"] = label_map
    require_input(input)
    # --out and --scores are committed together (or neither is written)
    with atomic_outputs() as tx:
        tx.path(out, "the tagged output")
        if scores is not None:
            tx.path(scores, "the scores")
        tagger = load_tagger(model, **overrides)
        if conventions is not None:
            from projner.project.conventions import ConventionTagger, load_conventions

            require_input(conventions)
            tagger = ConventionTagger(tagger, load_conventions(conventions))
        corpus = read_corpus(input, options=ReadOptions(scheme=scheme))
        if not quiet:
            typer.echo(corpus.report.summary(), err=True)
        wanted = [x.strip() for x in labels.split(",") if x.strip()] if labels else None
        pred = tagger.predict([s.unlabelled() for s in corpus.sentences], labels=wanted)
        fmt = "jsonl" if out.suffix.lower() in (".jsonl", ".json") else "conll"
        # source=corpus: repair examples (e.g. IO merging adjacent same-type spans) name the input's lines
        written = tx.write(out, lambda p: write_corpus_report(p, pred, fmt=fmt, scheme=out_scheme, source=corpus))
        if scores is not None:
            with tx.open(scores) as fh:
                for s in pred:
                    fh.write(json.dumps({"tokens": list(s.tokens), "spans": [
                        {"start": sp.start, "end": sp.end, "label": sp.label, "score": sp.score} for sp in s.spans]},
                        ensure_ascii=False) + "\n")
    for line in written.repair_lines():
        typer.echo(line, err=True)
    typer.echo(json.dumps({"out": str(out), "sentences": written.n_sentences, "entities": sum(len(s.spans) for s in pred)}))


def register(app: typer.Typer) -> None:
    """Add ``train`` and ``tag`` to the main app."""
    app.command("train")(train_cmd)
    app.command("tag")(tag_cmd)
