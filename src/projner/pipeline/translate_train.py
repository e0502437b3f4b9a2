"""Translate-train: label English, project onto target-language text, train a target model.

::

    English side of parallel text ──label (CoNLL-trained CRF)──► English spans
    (MAFAND-MT, Bible, files, or MT output of a Translator)          │ strip leading "the"
    target side ──────────────── align (eflomal over all parallel text) ──► project
                                                                     │ filter (completeness)
                                         train target model (CRF) ◄──┘ (+ English CoNLL)
                                                   │
                                       evaluate on MasakhaNER 2.0 test (strict span F1)

Every step goes through :class:`~projner.pipeline.cache.StepRunner`: it is fingerprinted by
its parameters and its inputs' hashes and cached, so a second run (or a run resumed after a
kill) recomputes nothing that is finished, and English labels / the English labeller are
shared between languages and experiments. Configs are frozen dataclasses; no function mutates
its arguments. Baselines with the same target model and evaluation: :func:`model_transfer_run`
(English model applied directly) and :func:`gold_run` (trained on in-language gold).
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

from projner.data.textio import atomic_write, read_lines
from projner.errors import E, ProjnerError
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
from projner.types import Sentence, Span

DETERMINERS = frozenset({"the", "a", "an"})
_TOKEN = re.compile(r"\w+(?:[-'’]\w+)*|[^\w\s]", re.UNICODE)
DEFAULT_LABELS = ("PER", "ORG", "LOC")
FILTERS = ("none", "complete", "complete-caps", "any")
BIBLE_FILES = {"en": "English-KJV.tsv", "swa": "Swahili-NT.tsv", "zul": "Zulu-NT.tsv"}


def tokenize(line: str) -> list[str]:
    """NFC, then Unicode words (with inner hyphens/apostrophes) and single punctuation marks."""
    return _TOKEN.findall(unicodedata.normalize("NFC", line))


def nfc_tokens(sentences: Sequence[Sentence]) -> tuple[Sentence, ...]:
    """The same sentences with NFC-normalised tokens (MasakhaNER Yoruba is not NFC; MAFAND is)."""
    out = []
    for s in sentences:
        toks = tuple(unicodedata.normalize("NFC", t) or t for t in s.tokens)
        out.append(s if toks == s.tokens else Sentence(toks, s.spans, s.id))
    return tuple(out)


def data_root(data: str | os.PathLike | None = None) -> Path:
    if data is not None:
        return Path(data).expanduser()
    return Path(os.environ.get("PROJNER_DATA", "../shared/data")).expanduser()


def _need(path: Path, what: str) -> Path:
    if not path.exists():
        raise ProjnerError(E.E203, detail=f"{what}: {path} (set PROJNER_DATA or data:)")
    return path


# ----------------------------------------------------------------------------- configs


@dataclass(frozen=True)
class ParallelConfig:
    """Where parallel text comes from.

    ``kind``: ``mafand`` (``mafand_mt/en-LANG/{split}.{en,LANG}``, raw text, tokenised here),
    ``bible`` (``bible/*.tsv`` joined on verse_id; swa, zul), ``files`` (``src``/``tgt``: raw
    one-sentence-a-line text, or pre-tokenised ``.conll``/``.jsonl``), ``translate`` (``src``
    English text translated by the Translator given to :func:`translate_train`).
    """

    kind: str = "mafand"
    splits: tuple[str, ...] = ("train", "dev", "test")
    src: str | None = None
    tgt: str | None = None
    max_pairs: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("mafand", "bible", "files", "translate"):
            raise ProjnerError(E.E202, detail=f"parallel kind {self.kind!r}; known: mafand, bible, files, translate")
        object.__setattr__(self, "splits", tuple(self.splits))


@dataclass(frozen=True)
class LabellerConfig:
    """The English labeller: ``crf`` (trained here on CoNLL-2003 ``eng.train``, dev ``eng.testa``,
    cached), ``spacy:NAME`` (a pretrained pipeline) or the path of a saved projner model folder."""

    backend: str = "crf"
    label_map: str = "conll->per-org-loc"
    params: Mapping[str, Any] = field(default_factory=dict)
    train: str | None = None
    dev: str | None = None


@dataclass(frozen=True)
class AlignerConfig:
    """``name``: a registered aligner (``eflomal``, ``neural``) with ``params``, or ``pharaoh``
    (precomputed links in ``file``, one line per pair of the projected corpus). ``extra``:
    parallel sources used only to train the aligner."""

    name: str = "eflomal"
    params: Mapping[str, Any] = field(default_factory=lambda: {"sym": "intersection", "prefix_len": 4, "copy_dictionary": True})
    file: str | None = None
    extra: tuple[ParallelConfig, ...] = ()
    back_translation: str = "none"  # none | fill | union | intersect (projner.align.backtranslation)

    def __post_init__(self) -> None:
        from projner.align.backtranslation import MODES

        if self.back_translation not in ("none",) + MODES:
            raise ProjnerError(E.E202, detail=f"back_translation {self.back_translation!r}; known: none, {', '.join(MODES)}")


@dataclass(frozen=True)
class ProjectionConfig:
    """``method``: ``heuristic`` or a candidate-matching projector (``ngram``, ``fusion`` …).

    ``strip_determiners``: drop a leading the/a/an from multi-word English entities first.
    ``filter``: ``none``; ``complete`` drops sentences where some source entity failed to
    project (their words would be wrongly trained as O); ``complete-caps`` also drops sentences
    with a capitalised word outside every projected entity (not sentence-initial, not all
    capitals of one letter): a likely name the English labeller missed or the aligner lost,
    for scripts and languages that capitalise names; ``any`` keeps only sentences with at
    least one projected entity. ``keep_empty``: share of entity-free sentences kept (evenly
    spaced, deterministic) after filtering.
    """

    method: str = "heuristic"
    params: Mapping[str, Any] = field(default_factory=dict)
    strip_determiners: bool = True
    filter: str = "none"
    keep_empty: float = 1.0

    def __post_init__(self) -> None:
        if self.filter not in FILTERS:
            raise ProjnerError(E.E202, detail=f"projection filter {self.filter!r}; known: {', '.join(FILTERS)}")
        if not 0.0 <= self.keep_empty <= 1.0:
            raise ProjnerError(E.E202, detail=f"keep_empty must be in [0, 1], not {self.keep_empty}")


@dataclass(frozen=True)
class ModelConfig:
    """The target model: a trainable tagger backend (``crf``, ``transformer``) and its params.
    ``add_english``: also train on English CoNLL-2003 (mapped with the labeller's map), at most
    ``english_max`` sentences (evenly spaced) when set."""

    backend: str = "crf"
    params: Mapping[str, Any] = field(default_factory=dict)
    add_english: bool = False
    english_max: int | None = None


@dataclass(frozen=True)
class TranslateTrainConfig:
    lang: str
    parallel: ParallelConfig = ParallelConfig()
    labeller: LabellerConfig = LabellerConfig()
    aligner: AlignerConfig = AlignerConfig()
    projection: ProjectionConfig = ProjectionConfig()
    model: ModelConfig = ModelConfig()
    test: str | None = None  # default: masakhaner2/LANG/test.txt
    labels: tuple[str, ...] = DEFAULT_LABELS
    data: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", tuple(self.labels))


@dataclass(frozen=True)
class RunResult:
    """One evaluated system: scores (strict, ``labels`` only), signature, step fingerprints."""

    lang: str
    system: str
    f1: float
    precision: float
    recall: float
    per_type: Mapping[str, Any]
    signature: str
    n_test: int
    info: Mapping[str, Any] = field(default_factory=dict)
    steps: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


# ----------------------------------------------------------------------------- data loading


def _read_tokenised(path: str | os.PathLike) -> tuple[tuple[str, ...], ...]:
    p = _need(Path(path), "parallel file")
    if p.suffix in (".conll", ".jsonl", ".conll02", ".conll03"):
        from projner.data.formats import read_corpus

        return tuple(tuple(unicodedata.normalize("NFC", t) for t in s.tokens) for s in read_corpus(p).sentences)
    return tuple(tuple(tokenize(ln)) for ln in read_lines(p))


def _read_bible(path: Path) -> dict[str, str]:
    out = {}
    for ln in read_lines(path):
        if "\t" in ln:
            vid, text = ln.split("\t", 1)
            out[vid.strip()] = text.strip()
    return out


def load_parallel(cfg: ParallelConfig, lang: str, data: str | None = None) -> tuple[tuple[tuple[str, ...], ...], tuple[tuple[str, ...], ...]]:
    """(English token lists, target token lists) for a parallel source; pairs with an empty side are dropped."""
    root = data_root(data)
    if cfg.kind == "mafand":
        src: list[tuple[str, ...]] = []
        tgt: list[tuple[str, ...]] = []
        for split in cfg.splits:
            d = root / "mafand_mt" / f"en-{lang}"
            s = _read_tokenised(_need(d / f"{split}.en", f"MAFAND-MT {lang} {split}"))
            t = _read_tokenised(_need(d / f"{split}.{lang}", f"MAFAND-MT {lang} {split}"))
            if len(s) != len(t):
                raise ProjnerError(E.E001, a=str(d / f"{split}.en"), na=len(s), b=str(d / f"{split}.{lang}"), nb=len(t))
            src += s
            tgt += t
    elif cfg.kind == "bible":
        if lang not in BIBLE_FILES:
            raise ProjnerError(E.E203, detail=f"no Bible for {lang!r} (have: {', '.join(k for k in BIBLE_FILES if k != 'en')})")
        en = _read_bible(_need(root / "bible" / BIBLE_FILES["en"], "English Bible"))
        tg = _read_bible(_need(root / "bible" / BIBLE_FILES[lang], f"{lang} Bible"))
        ids = [v for v in tg if v in en]
        src = [tuple(tokenize(en[v])) for v in ids]
        tgt = [tuple(tokenize(tg[v])) for v in ids]
    elif cfg.kind == "files":
        if not (cfg.src and cfg.tgt):
            raise ProjnerError(E.E202, detail="parallel kind 'files' needs src and tgt")
        src, tgt = list(_read_tokenised(cfg.src)), list(_read_tokenised(cfg.tgt))
        if len(src) != len(tgt):
            raise ProjnerError(E.E001, a=cfg.src, na=len(src), b=cfg.tgt, nb=len(tgt))
    else:
        raise ProjnerError(E.E202, detail="parallel kind 'translate' is loaded by translate_train() with a Translator")
    keep = [i for i in range(len(src)) if src[i] and tgt[i]]
    if cfg.max_pairs is not None:
        keep = keep[: cfg.max_pairs]
    return tuple(src[i] for i in keep), tuple(tgt[i] for i in keep)


def evenly(items: Sequence[Any], n: int | None) -> list[Any]:
    """At most ``n`` items, evenly spaced (deterministic); all when ``n`` is None or larger."""
    if n is None or n >= len(items):
        return list(items)
    if n <= 0:
        return []
    step = len(items) / n
    return [items[int(k * step)] for k in range(n)]


def strip_leading_determiners(sentences: Sequence[Sentence]) -> tuple[tuple[Sentence, ...], int]:
    """Multi-word spans starting with the/a/an lose that word; returns new sentences and a count."""
    out, n = [], 0
    for s in sentences:
        spans = []
        for sp in s.spans:
            if len(sp) > 1 and s.tokens[sp.start].lower() in DETERMINERS:
                spans.append(Span(sp.start + 1, sp.end, sp.label, sp.score))
                n += 1
            else:
                spans.append(sp)
        out.append(s.with_spans(spans))
    return tuple(out), n


def stray_capitalised(sentence: Sentence) -> bool:
    """Whether a word outside every span looks like a name: capitalised (an upper-case letter
    then a lower-case one), not the first word and not right after sentence punctuation or a
    quote/bracket."""
    inside = {i for sp in sentence.spans for i in range(sp.start, sp.end)}
    toks = sentence.tokens
    for i, t in enumerate(toks):
        if i == 0 or i in inside or len(t) < 2:
            continue
        if t[0].isupper() and t[1].islower() and toks[i - 1] not in SENTENCE_STARTERS:
            return True
    return False


SENTENCE_STARTERS = frozenset({".", "!", "?", ":", ";", '"', "“", "‘", "'", "(", "[", "«", "-", "–", "—", "…"})


def filter_projected(sentences: Sequence[Sentence], n_source: Sequence[int], n_projected: Sequence[int],
                     how: str, keep_empty: float = 1.0) -> tuple[tuple[Sentence, ...], dict[str, int]]:
    """Training sentences after the completeness filter and entity-free down-sampling."""
    kept, stats = [], {"in": len(sentences), "dropped_incomplete": 0, "dropped_no_entity": 0, "dropped_empty": 0}
    if how == "complete-caps":
        stats["dropped_capitalised"] = 0
    for s, ns, npj in zip(sentences, n_source, n_projected):
        if how in ("complete", "complete-caps") and npj < ns:
            stats["dropped_incomplete"] += 1
            continue
        if how == "complete-caps" and stray_capitalised(s):
            stats["dropped_capitalised"] += 1
            continue
        if how == "any" and not s.spans:
            stats["dropped_no_entity"] += 1
            continue
        kept.append(s)
    kept, stats["dropped_empty"] = downsample_empty(kept, keep_empty)
    stats["out"] = len(kept)
    return tuple(kept), stats


def downsample_empty(sentences: Sequence[Sentence], keep_empty: float) -> tuple[list[Sentence], int]:
    """Keep every sentence with entities and a ``keep_empty`` share of the entity-free ones
    (evenly spaced, deterministic); returns the sentences and how many were dropped."""
    if keep_empty >= 1.0:
        return list(sentences), 0
    empty = [i for i, s in enumerate(sentences) if not s.spans]
    keep_ids = set(evenly(empty, int(round(keep_empty * len(empty)))))
    return [s for i, s in enumerate(sentences) if s.spans or i in keep_ids], len(empty) - len(keep_ids)


# ----------------------------------------------------------------------------- steps


def _conll_paths(cfg: LabellerConfig, data: str | None) -> tuple[Path, Path | None]:
    root = data_root(data) / "conll2003_en" / "original_iob1"
    train = Path(cfg.train) if cfg.train else root / "eng.train"
    dev = Path(cfg.dev) if cfg.dev else (root / "eng.testa" if not cfg.train else None)
    return _need(train, "English NER training data"), (_need(dev, "English NER dev data") if dev else None)


def _read_labelled(path: Path, label_map: str | None) -> tuple[Sentence, ...]:
    from projner.data.formats import read_corpus
    from projner.data.labelmaps import load_label_map

    sents = read_corpus(path).sentences
    if label_map:
        sents, _ = load_label_map(label_map).map_sentences(sents)
    return sents


def _tagger(backend: str, params: Mapping[str, Any]):
    import projner.ner  # noqa: F401  (registers the backends)
    from projner.registry import taggers

    p = dict(params)
    if backend == "crf":
        p.setdefault("progress", False)
    return taggers.create(backend, **p)


def labeller_step(runner: StepRunner, cfg: LabellerConfig, data: str | None = None) -> tuple[str, Any]:
    """(fingerprint, loader) of the English labeller; the CRF is trained once and cached."""
    from projner.ner.io import load_tagger

    if cfg.backend.startswith("spacy:"):
        ident = hash_json({"spacy": cfg.backend, "map": cfg.label_map})
        return ident, lambda: load_tagger(cfg.backend, label_map=_spacy_map(cfg.label_map))
    if cfg.backend not in ("crf", "transformer"):  # a saved model folder
        p = Path(cfg.backend).expanduser()
        if not p.is_dir():
            raise ProjnerError(E.E202, detail=f"labeller {cfg.backend!r} is neither crf, spacy:NAME nor a model folder")
        ident = hash_json({"folder": sorted((f.name, hash_file(f)) for f in p.iterdir() if f.is_file())})
        return ident, lambda: load_tagger(p)
    train, dev = _conll_paths(cfg, data)
    inputs = {"train": hash_file(train), **({"dev": hash_file(dev)} if dev else {})}

    def compute(out: Path):
        tagger = _tagger(cfg.backend, cfg.params).fit(_read_labelled(train, cfg.label_map),
                                                     _read_labelled(dev, cfg.label_map) if dev else None)
        tagger.save(out / "model")
        return {"info": getattr(tagger, "info", {})}

    entry = runner.run("labeller", {"backend": cfg.backend, "label_map": cfg.label_map, "params": dict(cfg.params)}, inputs, compute)
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
        inputs["file"] = hash_file(_need(Path(cfg.file), "alignment file"))

    def compute(out: Path):
        if cfg.name == "pharaoh":
            from projner.data.formats import check_alignments

            als = read_alignments(cfg.file)
            check_alignments(als, [Sentence(tuple(s)) for s in src], [Sentence(tuple(t)) for t in tgt], path=cfg.file)
            write_alignments(out / "links.align", als)
            return {"signature": f"aligner:pharaoh|file:{Path(cfg.file).name}"}
        from projner.registry import aligners

        import projner.align.eflomal  # noqa: F401
        params = dict(cfg.params)
        if extra:
            params["extra_src"] = tuple(tuple(s) for es, _ in extra for s in es)
            params["extra_tgt"] = tuple(tuple(t) for _, et in extra for t in et)
        if cfg.name == "neural":
            import projner.align.neural  # noqa: F401
        model = aligners.create(cfg.name, **params)
        als = model.align([list(s) for s in src], [list(t) for t in tgt])
        write_alignments(out / "links.align", als)
        return {"signature": model.signature(), "links": sum(len(a) for a in als)}

    return runner.run("align", {"name": cfg.name, "params": dict(cfg.params)}, inputs, compute)


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


def project_step(runner: StepRunner, cfg: ProjectionConfig, labelled: Entry, tgt: Sequence[Sequence[str]], aligned: Entry) -> Entry:
    """Projected target sentences (``projected.jsonl``, filtered) and statistics (``stats.json``)."""
    from projner.evaluate.projection import projection_stats
    from projner.pipeline.files import build_projector, project_corpora

    def compute(out: Path):
        src = read_sentences(labelled.file("labelled.jsonl"))
        n_stripped = 0
        if cfg.strip_determiners:
            src, n_stripped = strip_leading_determiners(src)
        als = read_alignments(aligned.file("links.align"))
        projector = build_projector(cfg.method, dict(cfg.params))
        tgt_sents = [Sentence(tuple(t)) for t in tgt]
        projected, projections = project_corpora(src, tgt_sents, als, projector, progress=False)
        kept, fstats = filter_projected(projected, [p.n_source for p in projections], [p.n_projected for p in projections],
                                        cfg.filter, cfg.keep_empty)
        write_sentences(out / "projected.jsonl", kept)
        st = projection_stats(projections).to_dict()
        stats = {"projection": st, "filter": fstats, "stripped_determiners": n_stripped,
                 "signature": projector.signature(), "entities_kept": sum(len(s.spans) for s in kept)}
        with atomic_write(out / "stats.json") as fh:
            json.dump(stats, fh, indent=1)
        return stats

    params = {"method": cfg.method, "params": dict(cfg.params), "strip": cfg.strip_determiners,
              "filter": cfg.filter, "keep_empty": cfg.keep_empty}
    return runner.run("project", params, {"labelled": labelled.fingerprint, "tgt": hash_tokens(tgt),
                                          "align": aligned.fingerprint}, compute)


def train_step(runner: StepRunner, cfg: ModelConfig, train_inputs: Mapping[str, str], load_train, load_dev=None) -> Entry:
    """A target model trained on ``load_train()`` (``train_inputs`` fingerprint it)."""

    def compute(out: Path):
        train = load_train()
        dev = load_dev() if load_dev else None
        tagger = _tagger(cfg.backend, cfg.params).fit(train, dev)
        tagger.save(out / "model")
        return {"n_train": len(train), "info": getattr(tagger, "info", {})}

    return runner.run("train", {"backend": cfg.backend, "params": dict(cfg.params)}, dict(train_inputs), compute)


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

    def compute(out: Path):
        gold = read_corpus(test_path).sentences
        tagger = load()
        wanted = [lab for lab in labels if lab in tagger.labels]
        pred = tagger.predict([s.unlabelled() for s in nfc_tokens(gold)], labels=wanted)
        pred = [Sentence(g.tokens, p.spans, g.id) for g, p in zip(gold, pred)]
        scores = evaluate_spans(gold, pred, labels=labels, extra_signature=dict(extra_signature or {}) or None)
        write_sentences(out / "predictions.jsonl", pred)
        d = scores.to_dict()
        with atomic_write(out / "scores.json") as fh:
            json.dump(d, fh, indent=1)
        return {"f1": scores.f1}

    return runner.run("evaluate", {"labels": list(labels), "sig": dict(extra_signature or {})},
                      {"model": ident, "test": hash_file(test_path)}, compute)


def _result(lang: str, system: str, ev: Entry, info: Mapping[str, Any], steps: Mapping[str, str]) -> RunResult:
    d = json.loads(ev.file("scores.json").read_text(encoding="utf-8"))
    n = d.get("n_sentences", 0)
    return RunResult(lang, system, float(d["f1"]), float(d["precision"]), float(d["recall"]), d.get("per_type", {}),
                     str(d.get("signature", "")), int(n), dict(info), dict(steps))


def test_path(cfg_test: str | None, lang: str, data: str | None) -> Path:
    return _need(Path(cfg_test) if cfg_test else data_root(data) / "masakhaner2" / lang / "test.txt", f"{lang} test set")


def _english_train(labeller: LabellerConfig, data: str | None, labels: Sequence[str], n: int | None) -> tuple[str, Any]:
    train, _ = _conll_paths(labeller, data)
    key = hash_json({"file": hash_file(train), "map": labeller.label_map, "labels": list(labels), "n": n})

    def load():
        sents = _read_labelled(train, labeller.label_map)
        sents = [s.with_spans([sp for sp in s.spans if sp.label in labels]) for s in sents]
        return evenly(sents, n)

    return key, load


# ----------------------------------------------------------------------------- pipelines


def translate_train(config: TranslateTrainConfig, *, runner: StepRunner | None = None, translator=None) -> RunResult:
    """Run (or resume from the cache) the translate-train pipeline for one language."""
    runner = runner or StepRunner()
    cfg = config
    tpath = test_path(cfg.test, cfg.lang, cfg.data)
    if cfg.parallel.kind == "translate":
        src, tgt = _translated_parallel(runner, cfg, translator)
    else:
        src, tgt = load_parallel(cfg.parallel, cfg.lang, cfg.data)
    if not src:
        raise ProjnerError(E.E202, detail=f"no parallel sentences for {cfg.lang} ({cfg.parallel.kind})")
    extra = [load_parallel(e, cfg.lang, cfg.data) for e in cfg.aligner.extra]
    labeller = labeller_step(runner, cfg.labeller, cfg.data)
    labelled = label_step(runner, labeller, src, cfg.labels)
    aligned = align_step(runner, cfg.aligner, src, tgt, extra)
    if cfg.aligner.back_translation != "none":
        aligned = back_translation_step(runner, cfg.aligner, translator, aligned, src, tgt, back_side="source",
                                        src_lang="en", tgt_lang=cfg.lang, extra=extra)
    projected = project_step(runner, cfg.projection, labelled, tgt, aligned)
    inputs = {"projected": projected.fingerprint}
    loaders = [lambda: read_sentences(projected.file("projected.jsonl"))]
    if cfg.model.add_english:
        key, load_en = _english_train(cfg.labeller, cfg.data, cfg.labels, cfg.model.english_max)
        inputs["english"] = key
        loaders.append(load_en)
    trained = train_step(runner, cfg.model, inputs, lambda: tuple(s for ld in loaders for s in ld()))
    sig = {"system": "projection+english" if cfg.model.add_english else "projection", "model": cfg.model.backend}
    ev = evaluate_step(runner, trained, tpath, cfg.labels, backend=cfg.model.backend, extra_signature=sig)
    stats = json.loads(projected.file("stats.json").read_text(encoding="utf-8"))
    info = {"n_parallel": len(src), "n_extra": sum(len(e[0]) for e in extra), "projection": stats,
            "align_signature": (aligned.manifest.get("info") or {}).get("signature"),
            "n_train": (trained.manifest.get("info") or {}).get("n_train")}
    steps = {"labeller": labeller[0], "label": labelled.fingerprint, "align": aligned.fingerprint,
             "project": projected.fingerprint, "train": trained.fingerprint, "evaluate": ev.fingerprint}
    if aligned.step == "refine":
        info["back_translation"] = json.loads(aligned.file("stats.json").read_text(encoding="utf-8"))
    return _result(cfg.lang, sig["system"], ev, info, steps)


def model_transfer_run(lang: str, labeller: LabellerConfig = LabellerConfig(), *, labels: Sequence[str] = DEFAULT_LABELS,
                       test: str | None = None, data: str | None = None, runner: StepRunner | None = None) -> RunResult:
    """Baseline: the English model applied directly to the target test set."""
    runner = runner or StepRunner()
    lab = labeller_step(runner, labeller, data)
    ev = evaluate_step(runner, lab, test_path(test, lang, data), labels, extra_signature={"system": "transfer"})
    return _result(lang, "transfer", ev, {}, {"labeller": lab[0], "evaluate": ev.fingerprint})


def gold_run(lang: str, model: ModelConfig = ModelConfig(), *, labels: Sequence[str] = DEFAULT_LABELS,
             test: str | None = None, train: str | None = None, data: str | None = None,
             runner: StepRunner | None = None) -> RunResult:
    """Upper bound: the target model trained on in-language gold (MasakhaNER ``train.txt``)."""
    runner = runner or StepRunner()
    tr = _need(Path(train) if train else data_root(data) / "masakhaner2" / lang / "train.txt", f"{lang} gold training data")

    def load():
        from projner.data.formats import read_corpus

        sents = nfc_tokens(read_corpus(tr).sentences)
        return tuple(s.with_spans([sp for sp in s.spans if sp.label in labels]) for s in sents)

    trained = train_step(runner, model, {"gold": hash_file(tr), "labels": hash_json(list(labels))}, load)
    ev = evaluate_step(runner, trained, test_path(test, lang, data), labels, backend=model.backend,
                       extra_signature={"system": "gold", "model": model.backend})
    return _result(lang, "gold", ev, {"n_train": (trained.manifest.get("info") or {}).get("n_train")},
                   {"train": trained.fingerprint, "evaluate": ev.fingerprint})


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
                      {"texts": hash_json(list(texts))}, compute)


def read_translations(entry: Entry) -> list[str]:
    return [json.loads(ln)["text"] for ln in entry.file("translations.jsonl").read_text(encoding="utf-8").splitlines() if ln.strip()]


def _translated_parallel(runner: StepRunner, cfg: TranslateTrainConfig, translator):
    if not cfg.parallel.src:
        raise ProjnerError(E.E202, detail="parallel kind 'translate' needs src (English text, one sentence a line)")
    texts = [ln.strip() for ln in read_lines(_need(Path(cfg.parallel.src), "English text")) if ln.strip()]
    if cfg.parallel.max_pairs is not None:
        texts = texts[: cfg.parallel.max_pairs]
    tr = translate_texts(runner, translator, texts, "en", cfg.lang)
    outs = read_translations(tr)
    pairs = [(tuple(tokenize(s)), tuple(tokenize(t))) for s, t in zip(texts, outs)]
    pairs = [(s, t) for s, t in pairs if s and t]
    return tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)


def with_changes(cfg: TranslateTrainConfig, **changes) -> TranslateTrainConfig:
    """A copy of ``cfg`` with fields replaced (configs are frozen; nothing is mutated)."""
    return replace(cfg, **changes)
