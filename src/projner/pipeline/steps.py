"""The cached steps of the translate-train pipeline (:mod:`projner.pipeline.translate_train`) and
of translate-test (:mod:`projner.pipeline.translate_test`).

Each step goes through :class:`~projner.pipeline.cache.StepRunner`: fingerprinted by its
parameters, its inputs' hashes, the code it runs and the components and engine versions it
uses, and cached. A step returns the cache :class:`~projner.pipeline.cache.Entry` (its files)
or, for the labeller, a (fingerprint, loader) pair.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, NamedTuple, Sequence

from projner.data.datasets import conll_paths, load_parallel, read_labelled, require_data
from projner.data.textio import atomic_write
from projner.data.tokenize import nfc_tokens, tokenize
from projner.errors import E, ProjnerError
from projner.ner.base import TRAINABLE_BACKENDS
from projner.pipeline.cache import (
    Entry,
    StepRunner,
    hash_file,
    hash_json,
    hash_tokens,
    read_alignments,
    read_sentences,
    write_alignments,
    write_sentences,
)
from projner.pipeline.config import AlignerConfig, LabellerConfig, ModelConfig, ProjectionConfig
from projner.project.filters import filter_projected, strip_leading_determiners
from projner.project.partial import unknown_params
from projner.types import Sentence


def _tagger(backend: str, params: Mapping[str, Any]):
    from projner.registry import create

    p = dict(params)
    if backend in ("crf", "pcrf"):
        p.setdefault("progress", False)
    return create("tagger", backend, **p)


def labeller_step(runner: StepRunner, cfg: LabellerConfig, data: str | None = None) -> tuple[str, Any]:
    """(fingerprint, loader) of the English labeller; the CRF is trained once and cached."""
    from projner.ner.io import load_tagger, read_meta

    if cfg.backend.startswith("spacy:"):
        ident = runner.key("labeller", {"spacy": cfg.backend, "map": cfg.label_map}, {}, code=[load_tagger],
                           components=[("tagger", "spacy")], engines=[f"spacy-pipeline:{cfg.backend[6:]}"]).digest
        return ident, lambda: load_tagger(cfg.backend, label_map=_spacy_map(cfg.label_map))
    if cfg.backend not in TRAINABLE_BACKENDS + ("ensemble",):  # a saved model folder
        p = Path(cfg.backend).expanduser()
        if not p.is_dir():
            raise ProjnerError(E.E202, detail=f"labeller {cfg.backend!r} is neither crf, spacy:NAME nor a model folder")
        # every file, in subfolders too (an ensemble's members); a flat folder keys as before
        files = hash_json(sorted((f.relative_to(p).as_posix(), hash_file(f)) for f in p.rglob("*") if f.is_file()))
        ident = runner.key("labeller", {}, {"folder": files}, code=[load_tagger],  # + the code that runs the model
                           components=[("tagger", str(read_meta(p).get("backend")))]).digest
        return ident, lambda: load_tagger(p)
    train, dev = conll_paths(cfg.train, cfg.dev, data)
    inputs = {"train": hash_file(train), **({"dev": hash_file(dev)} if dev else {})}

    def compute(out: Path):
        tagger = _tagger(cfg.backend, cfg.params).fit(read_labelled(train, cfg.label_map),
                                                     read_labelled(dev, cfg.label_map) if dev else None)
        tagger.save(out / "model")
        return {"info": getattr(tagger, "info", {})}

    entry = runner.run("labeller", {"backend": cfg.backend, "label_map": cfg.label_map, "params": dict(cfg.params)}, inputs,
                       compute, components=[("tagger", cfg.backend)])
    return entry.fingerprint, lambda: load_tagger(entry.file("model"), **({"progress": False} if cfg.backend == "crf" else {}))


def _spacy_map(label_map: str) -> str:
    # spaCy pipelines speak OntoNotes: map straight to the wanted inventory
    return {"conll->per-org-loc": "ontonotes->conll", "conll->masakhaner": "ontonotes->masakhaner"}.get(label_map, label_map)


def label_step(runner: StepRunner, labeller: tuple[str, Any], tokens: Sequence[Sequence[str]], labels: Sequence[str]) -> Entry:
    """English sentences labelled by the labeller, restricted to ``labels``."""
    ident, load = labeller

    def compute(out: Path):
        tagger = load()
        wanted = [lab for lab in labels if lab in tagger.labels]
        pred = tagger.predict([Sentence(tuple(t)) for t in tokens], labels=wanted)
        write_sentences(out / "labelled.jsonl", pred)
        return {"n": len(pred), "entities": sum(len(s.spans) for s in pred)}

    return runner.run("label", {"labels": list(labels)}, {"labeller": ident, "tokens": hash_tokens(tokens)}, compute)


def align_step(runner: StepRunner, cfg: AlignerConfig, src: Sequence[Sequence[str]], tgt: Sequence[Sequence[str]],
               extra: Sequence[tuple[Sequence[Sequence[str]], Sequence[Sequence[str]]]] = ()) -> Entry:
    """Alignments for (src, tgt), trained over them plus the extra parallel text."""
    inputs = {"src": hash_tokens(src), "tgt": hash_tokens(tgt)}
    for k, (es, et) in enumerate(extra):
        inputs[f"extra{k}"] = hash_json([hash_tokens(es), hash_tokens(et)])
    if cfg.name == "pharaoh":
        if not cfg.file:
            raise ProjnerError(E.E202, detail="aligner 'pharaoh' needs file")
        inputs["file"] = hash_file(require_data(Path(cfg.file), "alignment file"))

    def compute(out: Path):
        if cfg.name == "pharaoh":
            from projner.data.formats import check_alignments

            als = read_alignments(cfg.file)
            check_alignments(als, [Sentence(tuple(s)) for s in src], [Sentence(tuple(t)) for t in tgt], path=cfg.file)
            write_alignments(out / "links.align", als)
            return {"signature": f"aligner:pharaoh|file:{Path(cfg.file).name}"}
        from projner.align.build import build_aligner

        params = dict(cfg.params)
        if extra:
            params["extra_src"] = tuple(tuple(s) for es, _ in extra for s in es)
            params["extra_tgt"] = tuple(tuple(t) for _, et in extra for t in et)
        model = build_aligner(cfg.name, params)
        als = model.align([list(s) for s in src], [list(t) for t in tgt])
        write_alignments(out / "links.align", als)
        return {"signature": model.signature(), "links": sum(len(a) for a in als)}

    return runner.run("align", {"name": cfg.name, "params": dict(cfg.params)}, inputs, compute,
                      components=[] if cfg.name == "pharaoh" else [("aligner", cfg.name)])


def back_translation_step(runner: StepRunner, cfg: AlignerConfig, translator, direct: Entry,
                          src: Sequence[Sequence[str]], tgt: Sequence[Sequence[str]], *, back_side: str,
                          src_lang: str, tgt_lang: str,
                          extra: Sequence[tuple[Sequence[Sequence[str]], Sequence[Sequence[str]]]] = ()) -> Entry:
    """Direct alignments refined through a back-translation (``links.align``, ``stats.json``).

    ``back_side="source"`` (translate-train: ``tgt`` is MT output): the target side is translated
    back into ``src_lang``; ``back_side="target"`` (translate-test: ``src`` is MT output): the source
    side is translated into ``tgt_lang``. The back-translated pairs are aligned with the same
    aligner (cached like any alignment), the other leg is matched monolingually, and the
    composition refines the direct links (:mod:`projner.align.backtranslation`).
    """
    from projner.align.backtranslation import compose_through_back_translation, refine_corpus
    from projner.types import Alignment

    if translator is None:
        raise ProjnerError(E.E202, detail="aligner.back_translation needs a Translator (translator=...)")
    if back_side == "source":
        tr = translate_texts(runner, translator, [" ".join(t) for t in tgt], tgt_lang, src_lang)
    else:
        tr = translate_texts(runner, translator, [" ".join(s) for s in src], src_lang, tgt_lang)
    back = tuple(tuple(tokenize(x)) for x in read_translations(tr))
    if back_side == "source":
        keep = [i for i in range(len(back)) if back[i] and tgt[i]]
        aligned = align_step(runner, cfg, [back[i] for i in keep], [tgt[i] for i in keep], extra)
    else:
        keep = [i for i in range(len(back)) if back[i] and src[i]]
        aligned = align_step(runner, cfg, [src[i] for i in keep], [back[i] for i in keep], extra)
    prefix = int(cfg.params.get("prefix_len", 4) or 0)

    def compute(out: Path):
        links = dict(zip(keep, read_alignments(aligned.file("links.align"))))
        back_links = [links.get(i, Alignment()) for i in range(len(src))]
        composed = compose_through_back_translation(src, tgt, back, back_links, back_side=back_side, prefix_len=prefix)
        refined, st = refine_corpus(read_alignments(direct.file("links.align")), composed, cfg.back_translation)
        write_alignments(out / "links.align", refined)
        stats = {**st.to_dict(), "untranslated": len(src) - len(keep), "mode": cfg.back_translation, "back_side": back_side}
        with atomic_write(out / "stats.json") as fh:
            json.dump(stats, fh, indent=1)
        return stats

    return runner.run("refine", {"mode": cfg.back_translation, "back_side": back_side, "prefix_len": prefix},
                      {"direct": direct.fingerprint, "back_align": aligned.fingerprint, "translate": tr.fingerprint}, compute)


def project_step(runner: StepRunner, cfg: ProjectionConfig, labelled: Entry, tgt: Sequence[Sequence[str]], aligned: Entry,
                 transfer: Entry | None = None, labeller: tuple[str, Any] | None = None) -> Entry:
    """Projected target sentences (``projected.jsonl``, filtered) and statistics (``stats.json``).

    ``transfer``: the labeller's labels of ``tgt`` (:func:`label_step`), needed when
    ``cfg.transfer`` is set: its confident spans fill what projection left silent
    (:func:`projner.project.union.union_transfer`, after the unknown marking, before the filter;
    counts in ``stats["transfer"]``). ``labeller``: resolves ``ner_model: labeller`` in
    ``cfg.params`` (the labeller as candidate source of ``ner``/``fusion``).
    """
    from projner.evaluate.projection import projection_stats
    from projner.project.build import build_projector, project_corpora

    if cfg.transfer is not None and transfer is None:
        raise ProjnerError(E.E207, detail="projection.transfer needs the labeller's labels of the target side (transfer=label_step(...))")
    ner_model, ner_key = _ner_model(cfg.params.get("ner_model"), labeller)

    def compute(out: Path):
        src = read_sentences(labelled.file("labelled.jsonl"))
        n_stripped = 0
        if cfg.strip_determiners:
            src, n_stripped = strip_leading_determiners(src)
        als = read_alignments(aligned.file("links.align"))
        if cfg.unknown:  # partial labels (projner.project.partial): low-score entities are not projected
            from projner.project.partial import confident_sources, mark_unknown

            all_src, src = src, confident_sources(src, cfg.unknown, cfg.unknown_score)
        projector = build_projector(cfg.method, {**cfg.params, **({"ner_model": ner_model()} if ner_model else {})})
        tgt_sents = [Sentence(tuple(t)) for t in tgt]
        projected, projections = project_corpora(src, tgt_sents, als, projector, progress=False)
        if cfg.unknown:  # words the projection may have missed become unknown instead of O
            projected, unknown_stats = mark_unknown(projected, all_src, als, projections, cfg.unknown, cfg.unknown_score)
        if transfer is not None and cfg.transfer is not None:  # model transfer where projection is silent
            from projner.project.union import union_transfer

            projected, transfer_counts = union_transfer(projected, read_sentences(transfer.file("labelled.jsonl")),
                                                        min_score=cfg.transfer, unknown_score=cfg.transfer_unknown)
        kept, fstats = filter_projected(projected, [p.n_source for p in projections], [p.n_projected for p in projections],
                                        cfg.filter, cfg.keep_empty)
        write_sentences(out / "projected.jsonl", kept)
        st = projection_stats(projections).to_dict()
        stats = {"projection": st, "filter": fstats, "stripped_determiners": n_stripped,
                 "signature": projector.signature(), "entities_kept": sum(len(s.spans) for s in kept)}
        if cfg.unknown:
            stats["unknown"] = {**unknown_stats, "tokens_kept": sum(len(s.unknown) for s in kept)}
        if transfer is not None and cfg.transfer is not None:
            stats["transfer"] = transfer_counts.to_dict()
        with atomic_write(out / "stats.json") as fh:
            json.dump(stats, fh, indent=1)
        return stats

    params = {"method": cfg.method, "params": dict(cfg.params), "strip": cfg.strip_determiners,
              "filter": cfg.filter, "keep_empty": cfg.keep_empty, **unknown_params(cfg.unknown, cfg.unknown_score)}
    inputs = {"labelled": labelled.fingerprint, "tgt": hash_tokens(tgt), "align": aligned.fingerprint}
    if cfg.transfer is not None:  # keys only when on: runs without transfer keep their keys
        params["transfer"] = {"min_score": cfg.transfer, "unknown_score": cfg.transfer_unknown}
        inputs["transfer"] = transfer.fingerprint
    if ner_key is not None:
        inputs["ner_model"] = ner_key
    return runner.run("project", params, inputs, compute, components=[("projector", cfg.method)])


def conventions_path(spec: str, lang: str, data: str | None) -> Path:
    """The file a ``conventions`` setting names: ``dev`` is MasakhaNER's ``masakhaner2/LANG/dev.txt``."""
    from projner.data.datasets import test_path

    return test_path(None, lang, data, split="dev") if spec == "dev" else require_data(Path(spec), "span conventions")


def conventions_step(runner: StepRunner, projected: Entry, path: Path) -> Entry:
    """The projected data with the target annotation's span edges (:mod:`projner.project.conventions`,
    learned from ``path`` or read from a rules ``.json``): ``projected.jsonl``, ``stats.json`` (the
    projection's, plus ``conventions``: what changed) and ``rules.json``."""
    from projner.project.conventions import SpanConventions

    def compute(out: Path):
        from projner.project.conventions import apply_conventions, load_conventions

        conv = load_conventions(path)
        sents, counts = apply_conventions(read_sentences(projected.file("projected.jsonl")), conv)
        write_sentences(out / "projected.jsonl", sents)
        with atomic_write(out / "rules.json") as fh:
            json.dump(conv.to_dict(), fh, indent=1, ensure_ascii=False)
        stats = json.loads(projected.file("stats.json").read_text(encoding="utf-8"))
        stats["conventions"] = {**counts.to_dict(), "rules": len(conv), "source": conv.signature()}
        with atomic_write(out / "stats.json") as fh:
            json.dump(stats, fh, indent=1)
        return stats["conventions"]

    return runner.run("conventions", {}, {"projected": projected.fingerprint, "conventions": hash_file(path)}, compute,
                      code=[SpanConventions])


def _ner_model(value: Any, labeller: tuple[str, Any] | None) -> tuple[Any, str | None]:
    """(loader or None, fingerprint or None) of a ``ner_model`` projector parameter that names a
    model: ``labeller`` (the configured labeller as candidate source) or a saved model folder
    (fingerprinted by content). Other values (``capitalisation``) pass through as parameters."""
    from projner.project.tagger_candidates import TaggerCandidates, folder_digest

    if value == "labeller":
        if labeller is None:
            raise ProjnerError(E.E208, value=value, needs="a labeller: it means the configured labeller of translate-train/translate-test")
        ident, load = labeller
        return (lambda: TaggerCandidates(load(), name=f"labeller@{ident[:16]}")), ident
    if isinstance(value, str) and Path(value).expanduser().is_dir():
        return None, folder_digest(Path(value).expanduser())
    return None, None


class ProjectedChain(NamedTuple):
    """What :func:`label_align_project` computed: the extra parallel text and each step's result."""

    extra: tuple[tuple[tuple[tuple[str, ...], ...], tuple[tuple[str, ...], ...]], ...]
    labeller: tuple[str, Any]
    labelled: Entry
    aligned: Entry  # the refined alignments when the aligner asks for a back-translation
    projected: Entry


def label_align_project(runner: StepRunner, cfg: Any, src: Sequence[Sequence[str]], tgt: Sequence[Sequence[str]], *,
                        translator=None, back_side: str, src_lang: str) -> ProjectedChain:
    """Label ``src`` (``cfg.labeller``), align (src, tgt) over the extra parallel text (``cfg.aligner``;
    refined through a back-translation when it asks) and project (``cfg.projection``): the chain
    translate-train and translate-test share. ``cfg``: their config (``lang``, ``data``, ``labels``)."""
    extra = tuple(load_parallel(e, cfg.lang, cfg.data) for e in cfg.aligner.extra)
    labeller = labeller_step(runner, cfg.labeller, cfg.data)
    labelled = label_step(runner, labeller, src, cfg.labels)
    # model transfer: the same labeller on the target side (a cached label step keyed by the target tokens)
    transfer = label_step(runner, labeller, tgt, cfg.labels) if cfg.projection.transfer is not None else None
    aligned = align_step(runner, cfg.aligner, src, tgt, extra)
    if cfg.aligner.back_translation != "none":
        aligned = back_translation_step(runner, cfg.aligner, translator, aligned, src, tgt, back_side=back_side,
                                        src_lang=src_lang, tgt_lang=cfg.lang, extra=extra)
    projected = project_step(runner, cfg.projection, labelled, tgt, aligned, transfer=transfer, labeller=labeller)
    return ProjectedChain(extra, labeller, labelled, aligned, projected)


def train_step(runner: StepRunner, cfg: ModelConfig, train_inputs: Mapping[str, str], load_train, load_dev=None) -> Entry:
    """A target model trained on ``load_train()`` (``train_inputs`` fingerprint it)."""

    def compute(out: Path):
        train = load_train()
        dev = load_dev() if load_dev else None
        tagger = _tagger(cfg.backend, cfg.params).fit(train, dev)
        tagger.save(out / "model")
        return {"n_train": len(train), "info": getattr(tagger, "info", {})}

    return runner.run("train", {"backend": cfg.backend, "params": dict(cfg.params)}, dict(train_inputs), compute,
                      components=[("tagger", cfg.backend)])


def ensemble_step(runner: StepRunner, members: Sequence[Entry]) -> Entry:
    """A seed ensemble (:mod:`projner.ner.ensemble`) of trained fast models: their folders copied
    into one model folder; nothing is trained."""

    def compute(out: Path):
        from projner.ner.ensemble import assemble

        assemble(out / "model", [m.file("model") for m in members])
        infos = [m.manifest.get("info") or {} for m in members]
        return {"n_train": infos[0].get("n_train"), "members": [m.fingerprint for m in members],
                "info": {"members": [i.get("info", {}) for i in infos]}}

    return runner.run("ensemble", {"members": len(members)}, {f"member{k}": m.fingerprint for k, m in enumerate(members)},
                      compute, components=[("tagger", "ensemble")])


def train_model(runner: StepRunner, cfg: ModelConfig, train_inputs: Mapping[str, str], load_train, load_dev=None) -> Entry:
    """:func:`train_step`, or with ``cfg.ensemble`` > 1 one train step per member (each cached on
    its own: member 0 is the single model's step) and their :func:`ensemble_step`."""
    if cfg.ensemble == 1:
        return train_step(runner, cfg, train_inputs, load_train, load_dev)
    members = [train_step(runner, cfg.member(k), train_inputs, load_train, load_dev) for k in range(cfg.ensemble)]
    return ensemble_step(runner, members)


def evaluate_step(runner: StepRunner, model: Entry | tuple[str, Any], test_path: Path, labels: Sequence[str], *,
                  backend: str = "crf", extra_signature: Mapping[str, Any] | None = None) -> Entry:
    """Strict span scores on ``test_path`` (other types than ``labels`` ignored on both sides)."""
    from projner.data.formats import read_corpus
    from projner.evaluate import evaluate_spans
    from projner.ner.io import load_tagger

    if isinstance(model, Entry):
        ident = model.fingerprint
        load = lambda: load_tagger(model.file("model"), **({"progress": False} if backend == "crf" else {}))  # noqa: E731
    else:
        ident, load = model

    # the scored file belongs in the signature (a dev-set figure must never pass for a test-set one):
    # its name; the language is the table's column, the content hash is in the step key
    signature = {**dict(extra_signature or {}), "test": Path(test_path).name}

    def compute(out: Path):
        gold_corpus = read_corpus(test_path)
        gold = gold_corpus.sentences
        tagger = load()
        wanted = [lab for lab in labels if lab in tagger.labels]
        pred = tagger.predict([s.unlabelled() for s in nfc_tokens(gold)], labels=wanted)
        pred = [Sentence(g.tokens, p.spans, g.id) for g, p in zip(gold, pred)]
        scores = evaluate_spans(gold, pred, labels=labels, extra_signature=signature,
                                gold_name=str(test_path), gold_report=gold_corpus.report, gold_lines=gold_corpus.lines)
        write_sentences(out / "predictions.jsonl", pred)
        d = scores.to_dict()
        with atomic_write(out / "scores.json") as fh:
            json.dump(d, fh, indent=1)
        return {"f1": scores.f1}

    return runner.run("evaluate", {"labels": list(labels), "sig": signature},
                      {"model": ident, "test": hash_file(test_path)}, compute)


def translator_signature(translator) -> str:
    sig = getattr(translator, "signature", None)
    if callable(sig):
        return str(sig())
    if isinstance(sig, str):
        return sig
    return f"{type(translator).__module__}.{type(translator).__qualname__}"


def translate_texts(runner: StepRunner, translator, texts: Sequence[str], src_lang: str, tgt_lang: str) -> Entry:
    """Cached MT output (``translations.jsonl``: text and score per input)."""
    if translator is None:
        raise ProjnerError(E.E202, detail="this pipeline needs a Translator (translator=...)")

    def compute(out: Path):
        try:
            res = list(translator.translate(list(texts), src_lang, tgt_lang))
        except ProjnerError:
            raise
        except Exception as exc:
            raise ProjnerError(E.E205, detail=f"{type(exc).__name__}: {exc}") from exc
        if len(res) != len(texts):
            raise ProjnerError(E.E205, detail=f"{len(texts)} inputs but {len(res)} translations")
        with atomic_write(out / "translations.jsonl") as fh:
            for r in res:
                fh.write(json.dumps({"text": getattr(r, "text", r), "score": getattr(r, "score", None)}, ensure_ascii=False) + "\n")
        return {"n": len(res)}

    return runner.run("translate", {"translator": translator_signature(translator), "src": src_lang, "tgt": tgt_lang},
                      {"texts": hash_json(list(texts))}, compute, code=[type(translator)])


def read_translations(entry: Entry) -> list[str]:
    return [json.loads(ln)["text"] for ln in entry.file("translations.jsonl").read_text(encoding="utf-8").splitlines() if ln.strip()]
