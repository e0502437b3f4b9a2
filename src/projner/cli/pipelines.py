"""``projner translate-test`` and ``projner translate-train``: the pipelines on a user's own files.

Both are thin wrappers over :func:`projner.pipeline.translate_test.translate_test` and
:func:`projner.pipeline.translate_train.translate_train`; every step is cached (``--cache``,
default ``$PROJNER_CACHE`` or ``~/.cache/projner``), so a rerun or a run resumed after an
interruption recomputes nothing that finished. Translation comes from an MT model
(``--mt NAME_OR_FOLDER``, transformers seq2seq or CTranslate2) or from translations already on
disk (``--translations FILE``).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import List, Optional

import typer

from projner.data.paths import require_inputs
from projner.errors import E, ProjnerError


def _err(msg: str) -> None:
    typer.echo(msg, err=True)


def _aligner(name: str, sym: str, prefix_len: int, back_translation: str, extra_src: List[str], extra_tgt: List[str],
             name_prefix: bool = False):
    from projner.pipeline.config import AlignerConfig, ParallelConfig

    if len(extra_src) != len(extra_tgt):
        raise ProjnerError(E.E202, detail=f"{len(extra_src)} --align-extra-src but {len(extra_tgt)} --align-extra-tgt files")
    extras = tuple(ParallelConfig(kind="files", src=a, tgt=b) for a, b in zip(extra_src, extra_tgt))
    params = {"sym": sym, "prefix_len": prefix_len, "copy_dictionary": True} if name == "eflomal" else {}
    if name == "eflomal" and name_prefix:
        params["name_prefix"] = True
    return AlignerConfig(name=name, params=params, extra=extras, back_translation=back_translation)


def _labeller(labeller: str, label_map: str):
    from projner.pipeline.config import LabellerConfig

    return LabellerConfig(backend=labeller, label_map=label_map)


def _translator(mt: Optional[str], mt_backend: str, device: Optional[str]):
    if mt is None:
        return None
    from projner.cli.translate_cmd import make_translator

    return make_translator(mt_backend, mt, device=device)


def translate_test_cmd(
    test: Path = typer.Argument(..., help="Target-language sentences, CoNLL or JSONL (gold tags, if any, are scored)."),
    lang: str = typer.Option(..., "--lang", help="Target language code (e.g. swa)."),
    out: Path = typer.Option(..., "--out", "-o", help="Predicted target sentences (.conll or .jsonl), written atomically."),
    mt: Optional[str] = typer.Option(None, "--mt", help="MT model name or folder for target→English (and back)."),
    mt_backend: str = typer.Option("seq2seq", "--mt-backend", help="seq2seq (transformers) or ct2 (CTranslate2)."),
    translations: Optional[Path] = typer.Option(None, "--translations", help="English translations of TEST, one per line (instead of --mt)."),
    back_translations: Optional[Path] = typer.Option(None, "--back-translations", help="With --translations: the English lines translated back into LANG, one per line."),
    labeller: str = typer.Option("crf", "--labeller", help="crf (trained on CoNLL-2003 in --data), spacy:NAME, or a saved model folder."),
    label_map: str = typer.Option("conll->per-org-loc", "--label-map", help="Map of the labeller's labels."),
    labels: str = typer.Option("PER,ORG,LOC", "--labels", help="Entity types to project and score."),
    aligner: str = typer.Option("eflomal", "--aligner", help="eflomal or neural."),
    sym: str = typer.Option("intersection", "--sym", help="eflomal symmetrisation."),
    prefix_len: int = typer.Option(4, "--prefix-len", help="eflomal stemming prefix (0 = off)."),
    align_extra_src: List[str] = typer.Option([], "--align-extra-src", help="Extra parallel text for the aligner: English file (repeatable; paired in order with --align-extra-tgt)."),
    align_extra_tgt: List[str] = typer.Option([], "--align-extra-tgt", help="Extra parallel text for the aligner: target file, line-parallel to its --align-extra-src."),
    back_translation: str = typer.Option("none", "--back-translation", help="Refine alignments through a back-translation: none, fill, union, intersect."),
    method: str = typer.Option("heuristic", "--method", help="Projection method (heuristic, ngram, fusion, ...)."),
    conventions: Optional[str] = typer.Option(None, "--conventions", metavar="GOLD|RULES|dev", help="Make the projected spans follow the target annotation's span edges: a labelled target corpus to learn them from, a rules .json (projner conventions), or dev (MasakhaNER's masakhaner2/LANG/dev.txt under --data). Never the file you score on."),
    device: Optional[str] = typer.Option(None, "--device", help="MT device (cpu, cuda)."),
    cache: Optional[Path] = typer.Option(None, "--cache", help="Step cache folder."),
    data: Optional[Path] = typer.Option(None, "--data", help="Shared data folder (CoNLL-2003 for --labeller crf)."),
) -> None:
    """Translate TEST into English, label it, align, project the labels back onto the original words."""
    from projner.data.formats import read_corpus, write_corpus
    from projner.data.tokenize import nfc_tokens
    from projner.data.transaction import atomic_outputs
    from projner.pipeline.cache import StepRunner
    from projner.pipeline.config import ProjectionConfig
    from projner.pipeline.translate_test import TranslateTestConfig, translate_test

    if (mt is None) == (translations is None):
        raise ProjnerError(E.E202, detail="give exactly one of --mt MODEL or --translations FILE")
    require_inputs((test, "the test file"), (translations, "the translations"), (back_translations, "the back-translations"),
                    *((x, "an --align-extra-src file") for x in align_extra_src),
                    *((x, "an --align-extra-tgt file") for x in align_extra_tgt))
    runner = StepRunner.at(None if cache is None else str(cache), verbose=True)
    if translations is not None:
        translator = _file_translator(runner, test, translations, back_translations, lang)
    else:
        translator = _translator(mt, mt_backend, device)
    cfg = TranslateTestConfig(lang=lang, labeller=_labeller(labeller, label_map),
                              aligner=_aligner(aligner, sym, prefix_len, back_translation, align_extra_src, align_extra_tgt),
                              projection=ProjectionConfig(method=method, strip_determiners=True, conventions=conventions),
                              test=str(test), labels=tuple(x for x in labels.split(",") if x),
                              data=None if data is None else str(data))
    with atomic_outputs() as tx:
        tx.path(out, "the predictions")  # an unwritable --out fails before the pipeline runs
        res, pred = translate_test(cfg, translator, runner=runner)
        tx.write(out, lambda p: write_corpus(str(p), list(pred)))
    gold = read_corpus(str(test))
    if any(s.spans for s in nfc_tokens(gold.sentences)):
        typer.echo(f"F1 {res.f1:.4f}  P {res.precision:.4f}  R {res.recall:.4f}  ({res.n_test} sentences)")
        typer.echo(res.signature)
    st = res.info.get("projection", {}).get("projection", {})
    if st:
        _err(f"projection rate {st.get('projection_rate', 0):.3f}; untranslated {res.info.get('untranslated', 0)}")
    cv = res.info.get("projection", {}).get("conventions")
    if cv:
        _err(f"span conventions {cv['source']}: {cv['spans']} spans in {cv['sentences']} sentences changed")
    _err(f"wrote {len(pred)} sentences to {out}")


class _TwoFiles:
    """target→English from one file, English→target (back-translation) from another."""

    def __init__(self, fwd, back, lang):
        self.fwd, self.back, self.lang = fwd, back, lang

    def translate(self, sentences, src, tgt):
        if self.back is not None and src == "en":
            return self.back.translate(sentences, src, tgt)
        return self.fwd.translate(sentences, src, tgt)

    def signature(self) -> str:
        return self.fwd.signature() + ("" if self.back is None else "+" + self.back.signature())


def _file_translator(runner, test: Path, translations: Path, back: Optional[Path], lang: str):
    """A parallel-file translator keyed by TEST's sentences (space-joined NFC tokens, as the pipeline sends them)."""
    from projner.data.formats import read_corpus
    from projner.data.textio import atomic_write, read_lines
    from projner.data.tokenize import nfc_tokens
    from projner.pipeline.cache import hash_file
    from projner.translate.parallel import ParallelFileTranslator

    sents = nfc_tokens(read_corpus(str(test)).sentences)
    lines = [" ".join(s.tokens) for s in sents]
    en_lines = read_lines(str(translations))
    if len(en_lines) != len(lines):
        raise ProjnerError(E.E001, a=str(test), na=len(lines), b=str(translations), nb=len(en_lines))
    folder = runner.cache.root / "translations"
    folder.mkdir(parents=True, exist_ok=True)
    keyed = folder / f"{hash_file(test)[:16]}.{lang}.txt"
    with atomic_write(keyed) as fh:
        fh.write("".join(ln + "\n" for ln in lines))
    fwd = ParallelFileTranslator(keyed, translations)  # keyed by TEST itself: no language check needed
    bwd = None
    if back is not None:
        bt = read_lines(str(back))
        if len(bt) != len(en_lines):
            raise ProjnerError(E.E001, a=str(translations), na=len(en_lines), b=str(back), nb=len(bt))
        bwd = ParallelFileTranslator(translations, back)
    return _TwoFiles(fwd, bwd, lang)


def translate_train_cmd(
    lang: str = typer.Option(..., "--lang", help="Target language code (e.g. swa)."),
    src: Path = typer.Option(..., "--src", help="English text, one sentence a line (raw) or CoNLL/JSONL tokens."),
    tgt: Optional[Path] = typer.Option(None, "--tgt", help="Its target-language side, line-parallel (omit with --mt to translate --src)."),
    test: Optional[Path] = typer.Option(None, "--test", help="Labelled target test set (default: masakhaner2/LANG/test.txt in --data)."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the trained target model."),
    mt: Optional[str] = typer.Option(None, "--mt", help="MT model (English→target) when there is no --tgt."),
    mt_backend: str = typer.Option("seq2seq", "--mt-backend", help="seq2seq or ct2."),
    labeller: str = typer.Option("fast", "--labeller", help="fast (default: frozen e5-small + CRF head, trained on CoNLL-2003 in --data; needs `projner models prepare e5-small`), crf, pcrf, spacy:NAME, or a saved model folder."),
    label_map: str = typer.Option("conll->per-org-loc", "--label-map"),
    labels: str = typer.Option("PER,ORG,LOC", "--labels"),
    aligner: str = typer.Option("eflomal", "--aligner"),
    sym: str = typer.Option("intersection", "--sym"),
    prefix_len: int = typer.Option(4, "--prefix-len"),
    name_prefix: bool = typer.Option(True, "--name-prefix/--no-name-prefix", help="eflomal: align uMandela/eThekwini as Mandela/Thekwini (Bantu class prefixes glued to names; other words unchanged)."),
    align_extra_src: List[str] = typer.Option([], "--align-extra-src", help="Extra parallel text for the aligner: English file (repeatable; paired in order with --align-extra-tgt)."),
    align_extra_tgt: List[str] = typer.Option([], "--align-extra-tgt", help="Extra parallel text for the aligner: target file, line-parallel to its --align-extra-src."),
    back_translation: str = typer.Option("none", "--back-translation", help="none, fill, union, intersect (needs --mt)."),
    method: str = typer.Option("heuristic", "--method"),
    filter_: str = typer.Option("complete", "--filter", help="none, complete (drop sentences with unprojected entities), complete-caps (also with stray capitalised words), any."),
    transfer: Optional[float] = typer.Option(0.9, "--transfer", metavar="MIN_SCORE", help="Model transfer where projection is silent: the labeller also tags the target side; its spans scoring >= MIN_SCORE that overlap no projected span are added before --filter (default 0.9; needs a labeller that reads the target language: fast, transformer, a multilingual model folder; crf/spacy are English-only and weak). --no-transfer turns it off."),
    no_transfer: bool = typer.Option(False, "--no-transfer", help="Do not add the labeller's spans on the target side."),
    transfer_unknown: Optional[float] = typer.Option(None, "--transfer-unknown", metavar="SCORE", help="With --transfer: labeller spans scoring in [SCORE, MIN_SCORE) outside every span make their words of unknown tag instead of O (partial labels)."),
    backend: str = typer.Option("fast", "--backend", help="Target model: fast (default: frozen encoder + CRF head), pcrf (torch CRF, trains on partial labels), crf or transformer."),
    encoder: Optional[str] = typer.Option(None, "--encoder", help="--backend transformer or fast: encoder folder or hub name."),
    add_english: bool = typer.Option(False, "--add-english", help="Also train on English CoNLL-2003."),
    epochs: Optional[int] = typer.Option(None, "--epochs", min=1, help="Epochs of the target model (default: fast 5, measured best on projected data; other backends their own default)."),
    conventions: Optional[str] = typer.Option(None, "--conventions", metavar="GOLD|RULES|dev", help="Make the projected training data follow the target annotation's span edges (e.g. Hausa 'jihar Kano', 'kasar Ingila'): a labelled target corpus to learn them from, a rules .json (projner conventions), or dev (MasakhaNER's masakhaner2/LANG/dev.txt under --data). Never the file you score on."),
    ensemble: Optional[int] = typer.Option(None, "--ensemble", min=1, metavar="N", help="--backend fast: train N target models with seeds 0..N-1 and decode them as one (averaged scores); each member is cached on its own. Default for fast: 3 heads of 3 epochs (measured best on dev, 1.8x one 5-epoch head's time); --ensemble 1: one head of 5 epochs."),
    self_train: Optional[str] = typer.Option(None, "--self-train", metavar="TEXT", help="Unlabelled target text for self-training after training: a file (raw, one sentence a line, or .conll/.jsonl with labels ignored) or a data source (mafand, masakhaner-train). The trained model labels it; a new model trains on the confident sentences plus the training data; it is the one saved."),
    self_train_threshold: float = typer.Option(0.7, "--self-train-threshold", help="Keep an unlabelled sentence when every span it got scores at least this."),
    self_train_keep_empty: float = typer.Option(0.5, "--self-train-keep-empty", help="Share of the kept sentences without entities that stay (evenly spaced)."),
    self_train_rounds: int = typer.Option(1, "--self-train-rounds", help="Rounds of self-training (each round's model teaches the next; 1 measured best)."),
    self_train_max: Optional[int] = typer.Option(None, "--self-train-max", help="At most this many unlabelled sentences (evenly spaced)."),
    device: Optional[str] = typer.Option(None, "--device"),
    cache: Optional[Path] = typer.Option(None, "--cache"),
    data: Optional[Path] = typer.Option(None, "--data"),
) -> None:
    """Label English, translate or take the parallel target side, align, project, train and evaluate a target model.

    The defaults are the best configuration measured on CPU (BENCHMARKS.md, MasakhaNER 2.0 grid):
    the fast e5-small labeller, eflomal intersection with stems, copy dictionary and name
    prefixes, the labeller's confident target-side spans where projection is silent
    (--transfer 0.9), the complete filter, and a fast target model."""
    from projner.pipeline.cache import StepRunner
    from projner.data.unlabelled import FILE_PREFIX, SOURCES
    from projner.pipeline.config import (ENSEMBLE_EPOCHS, PROJECTED_ENSEMBLE, PROJECTED_EPOCHS, ModelConfig, ParallelConfig,
                                         ProjectionConfig, SelfTrainConfig, TranslateTrainConfig)
    from projner.pipeline.translate_train import translate_train

    if tgt is None and mt is None:
        raise ProjnerError(E.E202, detail="give --tgt (parallel target side) or --mt (MT model to translate --src)")
    require_inputs((src, "the English file"), (tgt, "the target file"), (test, "the test file"),
                    *((x, "an --align-extra-src file") for x in align_extra_src),
                    *((x, "an --align-extra-tgt file") for x in align_extra_tgt))
    st_cfg = None
    if self_train is not None:
        if self_train in SOURCES:
            source = self_train
        else:
            require_inputs((Path(self_train), "the --self-train text"))
            source = FILE_PREFIX + str(Path(self_train).resolve())
        st_cfg = SelfTrainConfig(unlabelled=source, threshold=self_train_threshold, keep_empty=self_train_keep_empty,
                                 rounds=self_train_rounds, max_sentences=self_train_max)
    parallel = (ParallelConfig(kind="files", src=str(src), tgt=str(tgt)) if tgt is not None
                else ParallelConfig(kind="translate", src=str(src)))
    params = {"model": encoder} if backend in ("transformer", "fast") and encoder else {}
    if epochs is not None and backend == "crf":
        raise ProjnerError(E.E202, detail="--epochs: the crf backend trains by iterations, not epochs (use --backend pcrf or fast)")
    if ensemble is None:
        ensemble = PROJECTED_ENSEMBLE.get(backend, 1)
    if epochs is None and ensemble > 1 and backend in ENSEMBLE_EPOCHS:
        epochs = ENSEMBLE_EPOCHS[backend]
    if epochs is not None or backend in PROJECTED_EPOCHS:
        params["epochs"] = epochs if epochs is not None else PROJECTED_EPOCHS[backend]
    cfg = TranslateTrainConfig(lang=lang, parallel=parallel, labeller=_labeller(labeller, label_map),
                               aligner=_aligner(aligner, sym, prefix_len, back_translation, align_extra_src, align_extra_tgt,
                                                name_prefix),
                               projection=ProjectionConfig(method=method, strip_determiners=True, filter=filter_,
                                                           transfer=None if no_transfer else transfer,
                                                           transfer_unknown=None if no_transfer else transfer_unknown,
                                                           conventions=conventions),
                               model=ModelConfig(backend=backend, params=params, add_english=add_english, ensemble=ensemble),
                               test=None if test is None else str(test), labels=tuple(x for x in labels.split(",") if x),
                               data=None if data is None else str(data), self_train=st_cfg)
    runner = StepRunner.at(None if cache is None else str(cache), verbose=True)
    res = translate_train(cfg, runner=runner, translator=_translator(mt, mt_backend, device))
    step = "ensemble" if ensemble > 1 else "train"  # the step that wrote the model (an ensemble's members are train steps)
    trained = runner.cache.root / step / res.steps["train"] / "model"
    if not trained.is_dir():  # pragma: no cover - the cache layout is StepRunner's
        raise ProjnerError(E.E206, entry=f"{step}:{res.steps['train']}", detail="model folder missing")
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(trained, tmp)
    if "conventions" in res.steps:  # the rules the training data followed, for `projner tag --conventions`
        shutil.copy2(runner.cache.root / "conventions" / res.steps["conventions"] / "rules.json", tmp / "conventions.json")
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    typer.echo(f"F1 {res.f1:.4f}  P {res.precision:.4f}  R {res.recall:.4f}  ({res.n_test} test sentences)")
    typer.echo(res.signature)
    st = res.info.get("projection", {})
    _err(f"parallel pairs {res.info.get('n_parallel')}; projection rate "
         f"{st.get('projection', {}).get('projection_rate', 0):.3f}; training sentences {st.get('filter', {}).get('out')}")
    if "conventions" in st:
        cv = st["conventions"]
        _err(f"span conventions {cv['source']}: {cv['spans']} projected spans in {cv['sentences']} sentences changed; "
             f"tag with `projner tag --model {out} --conventions {out / 'conventions.json'}` to apply them to the output too")
    if "transfer" in st:
        tr = st["transfer"]
        _err(f"model transfer added {tr['n_added']} entities {tr['added']} in {tr['sentences']} sentences; "
             f"{tr['unknown_tokens']} words marked unknown")
    if "teacher" in res.info:
        te = res.info["teacher"]
        _err(f"before self-training: F1 {te['f1']:.4f}  P {te['precision']:.4f}  R {te['recall']:.4f}")
        for r in res.info["self_training"]:
            ps, un = r["pseudo"], r["unlabelled"]
            _err(f"self-training round {r['round']}: F1 {r['f1']:.4f}  P {r['precision']:.4f}  R {r['recall']:.4f}; "
                 f"kept {ps['out']} of {ps['in']} unlabelled sentences ({ps['dropped_low_confidence']} below the threshold, "
                 f"{ps['dropped_empty']} entity-free left out; {un['empty_skipped']} empty lines skipped)")
    _err(f"model saved to {out}")


def register(app: typer.Typer) -> None:
    app.command("translate-test")(translate_test_cmd)
    app.command("translate-train")(translate_train_cmd)
