"""Self-training and multi-source teacher–student distillation on unlabelled target text (issue 8).

::

    teachers (saved taggers)                       unlabelled target sentences
    ├─ projection: CRF trained on projected MAFAND     (MAFAND target side, Bible target side,
    └─ transfer:   English CoNLL CRF applied as is      or MasakhaNER train.txt without labels)
            │ one teacher: its Viterbi spans, Span.score = span probability
            │ several: weighted average of token marginals over a common IOB2 tag set,
            │          constrained (IOB2-valid) Viterbi, span confidence = mean averaged marginal
            ▼
    hard labels: sentences whose every predicted span has confidence ≥ threshold
                 (others dropped and counted: their words would be trained as O);
                 entity-free sentences kept at ratio ``keep_empty`` (evenly spaced)
            ▼
    student (CRF) ── evaluated on MasakhaNER 2.0 test ── round k's student teaches round k+1
                                                          (alone or with the original teachers)

Soft labels: crfsuite cannot train on soft targets, so the soft-label student is a transformer
(:class:`SoftStudent`, first-subword, KL divergence to the teachers' averaged token
distributions). It is tested on a tiny local BERT; on this CPU-only machine the real benchmark
uses CRF students with hard labels.

Multi-source teacher–student after Wu et al. 2020 ("Single-/Multi-Source Cross-Lingual NER via
Teacher-Student Learning on Unlabeled Data in Target Language", arXiv 2004.12440).

Every expensive step (teacher labelling, student training, evaluation) is cached through the
:class:`~projner.pipeline.cache.StepRunner` with fingerprints of its inputs and parameters, so a
rerun is free and an interrupted run resumes.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from projner.data.schemes import OUTSIDE, decode
from projner.data.textio import atomic_write
from projner.errors import E, ProjnerError
from projner.ner.base import tag_names
from projner.pipeline.cache import Entry, StepRunner, hash_tokens, read_sentences, write_sentences
from projner.pipeline.experiment import recording_errors
from projner.pipeline.translate_train import (
    DEFAULT_LABELS,
    AlignerConfig,
    LabellerConfig,
    ModelConfig,
    ParallelConfig,
    ProjectionConfig,
    TranslateTrainConfig,
    data_root,
    downsample_empty,
    evaluate_step,
    evenly,
    labeller_step,
    load_parallel,
    model_transfer_run,
    nfc_tokens,
    test_path,
    train_step,
    translate_train,
)
from projner.registry import studies
from projner.research.base import Study, StudyContext, read_run, write_run
from projner.types import Sentence, Span

TEACHERS = ("projection", "transfer")
SOURCES = ("mafand", "bible", "masakhaner-train")
SOURCE_NOTE = {"mafand": "MAFAND-MT target side, all splits", "bible": "Bible target side (swa, zul)",
               "masakhaner-train": "in-domain unlabelled: MasakhaNER train.txt tokens, labels discarded"}
_EPS = 1e-12


# ----------------------------------------------------------------------------- teachers


@dataclass(frozen=True)
class Teacher:
    """A saved tagger used as a teacher: ``ident`` fingerprints it, ``load()`` returns it."""

    name: str
    ident: str
    load: Callable[[], Any]
    weight: float = 1.0


def common_marginals(tagger, sentences: Sequence[Sentence], labels: Sequence[str], *, name: str = "teacher") -> list[np.ndarray]:
    """The tagger's token marginals folded onto the IOB2 tag set of ``labels`` (``O, B-X, I-X ...``).

    Mass on the tagger's own tags outside that set (``B-MISC`` ...) goes to ``O``; tags of the
    common set the tagger does not know get 0. Rows sum to 1 when the tagger's own do.
    """
    fn = getattr(tagger, "marginals", None)
    if not callable(fn):
        raise ProjnerError(E.E240, teacher=name, detail=f"{type(tagger).__name__} has no marginals(sentences) method")
    own = tag_names(tuple(tagger.labels))
    common = tag_names(tuple(labels))
    raw = fn(list(sentences), tags=own)
    if len(raw) != len(sentences):
        raise ProjnerError(E.E240, teacher=name, detail=f"{len(raw)} marginal arrays for {len(sentences)} sentences")
    fold = np.zeros((len(own), len(common)), dtype=np.float64)
    for i, t in enumerate(own):
        fold[i, common.index(t) if t in common else common.index(OUTSIDE)] = 1.0
    out = []
    for s, m in zip(sentences, raw):
        m = np.asarray(m, dtype=np.float64)
        if m.shape != (len(s), len(own)):
            raise ProjnerError(E.E240, teacher=name, detail=f"marginals of shape {m.shape} for {len(s)} tokens × {len(own)} tags")
        out.append(m @ fold)
    return out


def average_marginals(per_teacher: Sequence[Sequence[np.ndarray]], weights: Sequence[float]) -> list[np.ndarray]:
    """Weighted average of several teachers' marginals (weights normalised to sum 1)."""
    if not per_teacher or len(per_teacher) != len(weights):
        raise ProjnerError(E.E241, detail=f"{len(per_teacher)} teachers but {len(weights)} weights")
    w = np.asarray(weights, dtype=np.float64)
    if (w < 0).any() or w.sum() <= 0:
        raise ProjnerError(E.E241, detail=f"teacher weights must be >= 0 with a positive sum, got {list(weights)}")
    w = w / w.sum()
    n = len(per_teacher[0])
    if any(len(m) != n for m in per_teacher):
        raise ProjnerError(E.E241, detail="teachers labelled different numbers of sentences")
    out = []
    for k in range(n):
        shapes = {m[k].shape for m in per_teacher}
        if len(shapes) != 1:
            raise ProjnerError(E.E241, detail=f"sentence {k}: teachers' marginals have shapes {sorted(shapes)}")
        out.append(sum(wi * np.asarray(m[k], dtype=np.float64) for wi, m in zip(w, per_teacher)))
    return out


def _iob2_constraints(tags: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(start_ok[tag], trans_ok[prev, tag]): ``I-X`` only after ``B-X`` or ``I-X``, never first."""
    n = len(tags)
    start = np.array([not t.startswith("I-") for t in tags])
    trans = np.ones((n, n), dtype=bool)
    for j, t in enumerate(tags):
        if t.startswith("I-"):
            lab = t[2:]
            for i, p in enumerate(tags):
                trans[i, j] = p in (f"B-{lab}", f"I-{lab}")
    return start, trans


def viterbi_iob2(marginals: np.ndarray, tags: Sequence[str]) -> list[str]:
    """The IOB2-valid tag sequence maximising the sum of log marginals (exact, O(n·T²))."""
    m = np.asarray(marginals, dtype=np.float64)
    n = m.shape[0]
    if n == 0:
        return []
    start, trans = _iob2_constraints(tags)
    logp = np.log(np.clip(m, _EPS, 1.0))
    neg = -np.inf
    score = np.where(start, logp[0], neg)
    back = np.zeros((n, len(tags)), dtype=np.int64)
    tmask = np.where(trans, 0.0, neg)
    for i in range(1, n):
        cand = score[:, None] + tmask  # prev × cur
        back[i] = cand.argmax(axis=0)
        score = cand.max(axis=0) + logp[i]
    best = [int(score.argmax())]
    for i in range(n - 1, 0, -1):
        best.append(int(back[i, best[-1]]))
    return [tags[k] for k in reversed(best)]


def decode_marginals(marginals: np.ndarray, tags: Sequence[str]) -> tuple[Span, ...]:
    """Spans of the constrained Viterbi path; score = mean marginal of the span's own tags."""
    path = viterbi_iob2(marginals, tags)
    index = {t: i for i, t in enumerate(tags)}
    spans = decode(path, "iob2", "begin").spans
    return tuple(s.with_score(float(np.mean([marginals[k, index[path[k]]] for k in range(s.start, s.end)]))) for s in spans)


def teacher_label(teachers: Sequence[Teacher], sentences: Sequence[Sentence], labels: Sequence[str],
                  loaded: Sequence[Any] | None = None) -> list[Sentence]:
    """Scored spans on ``sentences``: one teacher → its own predictions (``Span.score`` = span
    probability); several → weighted-average marginals decoded by :func:`decode_marginals`."""
    models = list(loaded) if loaded is not None else [t.load() for t in teachers]
    if len(teachers) == 1:
        tagger = models[0]
        wanted = [lab for lab in labels if lab in tagger.labels]
        pred = tagger.predict(list(sentences), labels=wanted)
        return [Sentence(s.tokens, p.spans, s.id) for s, p in zip(sentences, pred)]
    per = [common_marginals(m, sentences, labels, name=t.name) for t, m in zip(teachers, models)]
    avg = average_marginals(per, [t.weight for t in teachers])
    tags = tag_names(tuple(labels))
    return [s.with_spans(decode_marginals(m, tags)) for s, m in zip(sentences, avg)]


def select_confident(labelled: Sequence[Sentence], threshold: float, keep_empty: float = 1.0) -> tuple[tuple[Sentence, ...], dict[str, int]]:
    """Hard labels: keep sentences whose every span has score ≥ ``threshold``.

    A sentence with a span below the threshold is dropped whole (dropping only the span would
    train its words as O) and counted in ``dropped_low_confidence``. Entity-free sentences are
    then kept at ratio ``keep_empty`` (evenly spaced, deterministic). A span without a score
    is an error (a teacher that gives no confidences cannot be thresholded).
    """
    if not 0.0 <= threshold <= 1.0 or not 0.0 <= keep_empty <= 1.0:
        raise ProjnerError(E.E241, detail=f"threshold and keep_empty must be in [0, 1], got {threshold}, {keep_empty}")
    kept = []
    stats = {"in": len(labelled), "dropped_low_confidence": 0, "spans_below_threshold": 0, "dropped_empty": 0}
    for k, s in enumerate(labelled):
        if any(sp.score is None for sp in s.spans):
            raise ProjnerError(E.E241, detail=f"sentence {k} ({s.id}): the teacher gave a span without a score")
        low = sum(1 for sp in s.spans if sp.score < threshold)
        if low:
            stats["dropped_low_confidence"] += 1
            stats["spans_below_threshold"] += low
            continue
        kept.append(s)
    kept, stats["dropped_empty"] = downsample_empty(kept, keep_empty)
    stats["out"] = len(kept)
    stats["with_entities"] = sum(1 for s in kept if s.spans)
    stats["spans"] = sum(len(s.spans) for s in kept)
    for lab in sorted({sp.label for s in kept for sp in s.spans}):
        stats[f"spans_{lab}"] = sum(1 for s in kept for sp in s.spans if sp.label == lab)
    return tuple(kept), stats


def pseudo_label_step(runner: StepRunner, teachers: Sequence[Teacher], tokens: Sequence[Sequence[str]], *,
                      labels: Sequence[str], threshold: float, keep_empty: float) -> Entry:
    """Cached teacher labelling + confidence filtering: ``pseudo.jsonl`` and ``stats.json``."""
    params = {"weights": [t.weight for t in teachers], "labels": list(labels), "threshold": threshold,
              "keep_empty": keep_empty, "decoder": "teacher" if len(teachers) == 1 else "avg-marginals-viterbi-iob2"}
    inputs = {f"teacher{i}": t.ident for i, t in enumerate(teachers)}
    inputs["tokens"] = hash_tokens(tokens)

    def compute(out: Path):
        sents = [Sentence(tuple(t), id=f"u{i}") for i, t in enumerate(tokens)]
        labelled = teacher_label(teachers, sents, labels)
        kept, stats = select_confident(labelled, threshold, keep_empty)
        stats["teachers"] = " + ".join(f"{t.name}×{t.weight:g}" for t in teachers)
        write_sentences(out / "pseudo.jsonl", kept)
        with atomic_write(out / "stats.json") as fh:
            json.dump(stats, fh, indent=1)
        return stats

    return runner.run("self_training_label", params, inputs, compute)


# ----------------------------------------------------------------------------- soft-label student


def _soft_student_class():
    from projner.ner.transformer import TransformerTagger, _length_grouped_batches, _torch, _torch_threads

    class SoftStudent(TransformerTagger):
        """A transformer student trained on soft targets (KL divergence, first subword).

        Reuses :class:`~projner.ner.transformer.TransformerTagger`'s tokenisation, sliding
        windows, batching and freezing; saved and loaded as a plain transformer tagger.
        """

        def fit_soft(self, sentences: Sequence[Sentence], targets: Sequence[np.ndarray], labels: Sequence[str]):
            with _torch_threads(self.threads):
                return self._fit_soft(sentences, targets, tuple(labels))

        def _fit_soft(self, sentences, targets, labels):
            torch = _torch()
            from transformers import AutoModelForTokenClassification, get_linear_schedule_with_warmup

            from projner.ner.base import seed_everything

            tags = tag_names(labels)
            if len(sentences) != len(targets):
                raise ProjnerError(E.E241, detail=f"{len(sentences)} sentences but {len(targets)} target arrays")
            for k, (s, t) in enumerate(zip(sentences, targets)):
                if np.asarray(t).shape != (len(s), len(tags)):
                    raise ProjnerError(E.E241, detail=f"sentence {k}: targets of shape {np.asarray(t).shape}, need {(len(s), len(tags))}")
            seed_everything(self.seed)
            self.tokenizer = self._load_tokenizer(self.model_name)
            try:
                self.model = AutoModelForTokenClassification.from_pretrained(
                    self.model_name, num_labels=len(tags), id2label=dict(enumerate(tags)),
                    label2id={t: i for i, t in enumerate(tags)}, ignore_mismatched_sizes=True)
            except (OSError, ValueError) as exc:
                raise ProjnerError(E.E149, name=self.model_name, detail=str(exc).splitlines()[0]) from None
            self._labels, self._tags = labels, tags
            self.model.to(self.device)
            self._freeze()
            tgt = [np.asarray(t, dtype=np.float32) for t in targets]
            windows = self._windows(sentences)
            p = self.params
            steps_per_epoch = (len(windows) + p["batch_size"] - 1) // p["batch_size"]
            total = steps_per_epoch * p["epochs"]
            params = [q for q in self.model.parameters() if q.requires_grad]
            opt = torch.optim.AdamW([{"params": [q for q in params if q.ndim >= 2], "weight_decay": p["weight_decay"]},
                                     {"params": [q for q in params if q.ndim < 2], "weight_decay": 0.0}], lr=p["lr"])
            sched = get_linear_schedule_with_warmup(opt, int(p["warmup"] * total), total)
            rng = np.random.default_rng(self.seed)
            history = []
            t0 = time.perf_counter()
            self.model.train()
            for epoch in range(1, p["epochs"] + 1):
                loss_sum = 0.0
                for idx in _length_grouped_batches(rng, [len(w.input_ids) for w in windows], p["batch_size"]):
                    ws = [windows[i] for i in idx]
                    batch = self._batch(ws)
                    logits = self.model(**batch).logits
                    target = torch.zeros_like(logits)
                    mask = torch.zeros(logits.shape[:2], dtype=logits.dtype, device=logits.device)
                    for r, w in enumerate(ws):
                        target[r, w.first] = torch.as_tensor(tgt[w.sent][w.start : w.end], device=logits.device)
                        mask[r, w.first] = 1.0
                    logq = torch.log_softmax(logits.float(), dim=-1)
                    kl = (target * (torch.log(target.clamp_min(_EPS)) - logq)).sum(-1)
                    loss = (kl * mask).sum() / mask.sum().clamp_min(1.0)
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(params, 1.0)
                    opt.step()
                    sched.step()
                    opt.zero_grad(set_to_none=True)
                    loss_sum += float(loss.detach())
                history.append({"epoch": epoch, "kl": round(loss_sum / max(1, steps_per_epoch), 5)})
            self.model.eval()
            self.info = {"train_seconds": round(time.perf_counter() - t0, 2), "history": history,
                         "n_train": len(sentences), "n_windows": len(windows), "objective": "kl-soft-targets"}
            return self

        def marginals(self, sentences: Sequence[Sentence], *, tags: Sequence[str] | None = None) -> list[np.ndarray]:
            """Per-word softmax distributions (first subword; the most central window wins)."""
            if self.model is None:
                raise ProjnerError(E.E148)
            with _torch_threads(self.threads):
                probs = self._word_probs(sentences)
            cols = tuple(tags) if tags is not None else self._tags
            idx = {t: i for i, t in enumerate(self._tags)}
            out = []
            for s, pm in zip(sentences, probs):
                m = np.zeros((len(s), len(cols)))
                for j, t in enumerate(cols):
                    if t in idx and pm is not None:
                        m[:, j] = pm[:, idx[t]]
                out.append(m)
            return out

        def _word_probs(self, sentences):
            # the same window merging as TransformerTagger._predict (which does not expose it)
            torch = _torch()
            windows = self._windows(sentences)
            probs = [np.zeros((len(s), len(self._tags))) if len(s) else None for s in sentences]
            cent = [np.full(len(s), -1, dtype=np.int64) if len(s) else None for s in sentences]
            order = sorted(range(len(windows)), key=lambda k: len(windows[k].input_ids))
            was_training = self.model.training
            self.model.eval()
            with torch.no_grad():
                for b0 in range(0, len(order), self.eval_batch_size):
                    ws = [windows[k] for k in order[b0 : b0 + self.eval_batch_size]]
                    pr = torch.softmax(self.model(**self._batch(ws)).logits.float(), dim=-1).cpu().numpy()
                    for r, w in enumerate(ws):
                        pos = np.arange(w.start, w.end)
                        c = np.minimum(pos - w.start, w.end - 1 - pos)
                        better = c > cent[w.sent][w.start : w.end]
                        probs[w.sent][pos[better]] = pr[r, w.first][better]
                        cent[w.sent][pos[better]] = c[better]
            if was_training:
                self.model.train()
            return probs

        def kl_to(self, sentences: Sequence[Sentence], targets: Sequence[np.ndarray]) -> float:
            """Mean per-token KL(target ‖ student) on ``sentences``."""
            marg = self.marginals(sentences)
            tot, n = 0.0, 0
            for t, q in zip(targets, marg):
                t = np.asarray(t, dtype=np.float64)
                tot += float((t * (np.log(np.clip(t, _EPS, 1)) - np.log(np.clip(q, _EPS, 1)))).sum())
                n += len(t)
            return tot / max(1, n)

    return SoftStudent


def soft_student(model: str, **params):
    """A :class:`SoftStudent` (transformer with KL training on soft targets); needs torch."""
    return _soft_student_class()(model, **params)


def soft_targets(teachers: Sequence[Teacher], sentences: Sequence[Sentence], labels: Sequence[str]) -> list[np.ndarray]:
    """The teachers' weighted-average token distributions over the IOB2 tags of ``labels``."""
    per = [common_marginals(t.load(), sentences, labels, name=t.name) for t in teachers]
    return average_marginals(per, [t.weight for t in teachers])


# ----------------------------------------------------------------------------- unlabelled text


def unlabelled_tokens(source: str, lang: str, data: str | None, max_sentences: int | None = None) -> tuple[tuple[str, ...], ...]:
    """Target-language token lists of an unlabelled source (see :data:`SOURCE_NOTE`)."""
    if source == "mafand":
        toks = load_parallel(ParallelConfig(kind="mafand"), lang, data)[1]
    elif source == "bible":
        toks = load_parallel(ParallelConfig(kind="bible"), lang, data)[1]
    elif source == "masakhaner-train":
        from projner.data.formats import read_corpus

        path = data_root(data) / "masakhaner2" / lang / "train.txt"
        if not path.is_file():
            raise ProjnerError(E.E203, detail=f"MasakhaNER train for {lang}: {path} (set PROJNER_DATA or data:)")
        toks = tuple(s.tokens for s in nfc_tokens(read_corpus(path).sentences) if len(s))
    else:
        raise ProjnerError(E.E241, detail=f"unknown unlabelled source {source!r}; known: {', '.join(SOURCES)}")
    return tuple(evenly(list(toks), max_sentences))


def source_available(source: str, lang: str) -> bool:
    from projner.pipeline.translate_train import BIBLE_FILES

    return source != "bible" or lang in BIBLE_FILES


# ----------------------------------------------------------------------------- the study


def _teacher_set(x, p, v):
    s = v.str_(x, p)
    names = s.split("+")
    for n in names:
        if n not in TEACHERS:
            v.fail(p, f"unknown teacher {n!r} in {s!r}; known: {', '.join(TEACHERS)} (join several with +)")
    if len(set(names)) != len(names):
        v.fail(p, f"teacher named twice in {s!r}")
    return "+".join(names)


def _weights(x, p, v):
    d = v.params(x, p)
    out = {}
    for k, w in d.items():
        if k not in TEACHERS + ("student",):
            v.fail(f"{p}.{k}", f"unknown teacher; known: {', '.join(TEACHERS + ('student',))}")
        out[k] = v.num(w, f"{p}.{k}", 0.0, None)
    return out


def _student(x, p, v):
    return v.mapping(x, p, {"backend": lambda y, q: v.str_(y, q, ["crf"], "student backend"),
                            "params": lambda y, q: v.params(y, q)})


DEFAULTS: Mapping[str, Any] = {
    "labels": list(DEFAULT_LABELS), "teachers": ["projection", "projection+transfer"], "unlabelled": ["mafand"],
    "threshold": 0.9, "keep_empty": 0.5, "rounds": 2, "combine": {}, "round_teachers": "student",
    "include_projected": False, "max_unlabelled": None, "student": {"backend": "crf", "params": {}},
}


def _params(params: Mapping[str, Any]) -> dict:
    out = {**DEFAULTS, **dict(params)}
    out["student"] = {**DEFAULTS["student"], **dict(out["student"])}
    return out


def _label(teachers: str, source: str, rnd: int, include_projected: bool) -> str:
    extra = " +projected" if include_projected else ""
    return f"student r{rnd} ({teachers} → {source}{extra})"


@studies.register("projner.study.self_training.v1")
class SelfTraining(Study):
    """Teachers label unlabelled target text; CRF students train on the confident hard labels."""

    keys = {
        "languages": lambda x, p, v: v.list_(x, p, v.str_),
        "labels": lambda x, p, v: v.list_(x, p, v.str_),
        "teachers": lambda x, p, v: v.list_(x, p, lambda y, q: _teacher_set(y, q, v)),
        "unlabelled": lambda x, p, v: v.list_(x, p, lambda y, q: v.str_(y, q, SOURCES, "unlabelled source")),
        "threshold": lambda x, p, v: v.num(x, p, 0.0, 1.0),
        "keep_empty": lambda x, p, v: v.num(x, p, 0.0, 1.0),
        "rounds": lambda x, p, v: v.int_(x, p, 1),
        "combine": _weights,
        "round_teachers": lambda x, p, v: v.str_(x, p, ["student", "student+original"], "round_teachers"),
        "include_projected": lambda x, p, v: v.bool_(x, p),
        "max_unlabelled": lambda x, p, v: v.int_(x, p, 1, optional=True),
        "student": _student,
    }
    required = ("languages",)

    # -------------------------------------------------------------- plan

    def _cells(self, params: Mapping[str, Any]) -> list[tuple[str, str, str, int]]:
        p = _params(params)
        cells = []
        for lang in p["languages"]:
            for src in p["unlabelled"]:
                if not source_available(src, lang):
                    continue
                for t in p["teachers"]:
                    for r in range(1, p["rounds"] + 1):
                        cells.append((lang, t, src, r))
        return cells

    def plan(self, params: Mapping[str, Any]) -> list[str]:
        p = _params(params)
        out = []
        for lang in p["languages"]:
            out += [f"{lang}__transfer", f"{lang}__projection"]
            out += [f"{lg}__{t}__{src}__r{r}" for lg, t, src, r in self._cells(p) if lg == lang]
        return out

    # -------------------------------------------------------------- run

    def run(self, params: Mapping[str, Any], ctx: StudyContext) -> None:
        p = _params(params)
        for lang in p["languages"]:
            if ctx.languages and lang not in ctx.languages:
                continue
            skipped = [s for s in p["unlabelled"] if not source_available(s, lang)]
            if skipped:
                ctx.log(f"[self-training] {lang}: no {', '.join(skipped)} text for this language; those students are not planned")
            self._run_lang(lang, p, ctx)

    def _guard(self, ctx: StudyContext, rid: str, lang: str, label: str, fn: Callable[[], dict]) -> None:
        if read_run(ctx.out, rid):
            return
        t0 = time.perf_counter()
        rec: dict[str, Any] = {"run_id": rid, "lang": lang, "label": label}
        ctx.log(f"[self-training] {rid}")
        with recording_errors(rec, ctx.log):
            rec.update(fn())
            rec["status"] = "ok"
            ctx.log(f"    F1 {rec['f1']:.4f}  P {rec['precision']:.4f}  R {rec['recall']:.4f}")
        rec["seconds"] = round(time.perf_counter() - t0, 2)
        write_run(ctx.out, rec)

    def _run_lang(self, lang: str, p: Mapping[str, Any], ctx: StudyContext) -> None:
        from projner.ner.io import load_tagger

        runner, data, labels = ctx.runner, ctx.data, tuple(p["labels"])
        labeller_cfg = LabellerConfig(backend="crf", label_map="conll->per-org-loc")
        tt_cfg = TranslateTrainConfig(lang=lang, parallel=ParallelConfig(kind="mafand"), labeller=labeller_cfg,
                                      aligner=AlignerConfig(), projection=ProjectionConfig(method="heuristic", strip_determiners=True, filter="complete"),
                                      model=ModelConfig(backend="crf"), labels=labels, data=data)
        res_box: dict[str, Any] = {}

        def transfer():
            r = model_transfer_run(lang, labeller_cfg, labels=labels, data=data, runner=runner)
            return {"system": "transfer", "f1": r.f1, "precision": r.precision, "recall": r.recall,
                    "per_type": r.per_type, "signature": r.signature, "steps": r.steps}

        def projection():
            r = translate_train(tt_cfg, runner=runner)
            res_box["projection"] = r
            return {"system": "projection", "f1": r.f1, "precision": r.precision, "recall": r.recall,
                    "per_type": r.per_type, "signature": r.signature, "steps": r.steps,
                    "info": {"n_train": r.info.get("n_train"), "align_signature": r.info.get("align_signature")}}

        self._guard(ctx, f"{lang}__transfer", lang, "transfer (English CRF)", transfer)
        self._guard(ctx, f"{lang}__projection", lang, "projection teacher", projection)
        cells = [c for c in self._cells(p) if c[0] == lang]
        if not cells:
            return
        try:
            teachers = self._teachers(lang, p, ctx, tt_cfg, labeller_cfg, res_box)
        except Exception as exc:  # the teachers failed: every student run records the error
            err = str(exc) if isinstance(exc, ProjnerError) else f"{type(exc).__name__}: {exc}"
            for _, t, src, r in cells:
                rid = f"{lang}__{t}__{src}__r{r}"
                if not read_run(ctx.out, rid):
                    write_run(ctx.out, {"run_id": rid, "lang": lang, "label": _label(t, src, r, p["include_projected"]),
                                        "status": "error", "error": f"teachers unavailable: {err}"})
            return
        tpath = test_path(None, lang, data)
        student_cfg = ModelConfig(backend=p["student"]["backend"], params=dict(p["student"]["params"]))
        weights = dict(p["combine"])
        token_cache: dict[str, tuple] = {}
        chains = [(tset, src) for tset in p["teachers"] for src in p["unlabelled"] if source_available(src, lang)]
        state: dict[tuple[str, str], Any] = {}
        for tset, src in chains:
            state[(tset, src)] = [Teacher(n, teachers[n].ident, teachers[n].load, weights.get(n, 1.0)) for n in tset.split("+")]
        # round by round over all chains: every round-1 student is ready before any round-2 one
        for rnd in range(1, p["rounds"] + 1):
            for tset, src in chains:
                current = state[(tset, src)]
                if current is None:
                    continue  # an earlier round of this chain failed: no teacher
                originals = [Teacher(n, teachers[n].ident, teachers[n].load, weights.get(n, 1.0)) for n in tset.split("+")]
                rid = f"{lang}__{tset}__{src}__r{rnd}"
                box: dict[str, Any] = {}

                def student(current=current, rnd=rnd, src=src, tset=tset, box=box):
                    if src not in token_cache:
                        token_cache[src] = unlabelled_tokens(src, lang, data, p["max_unlabelled"])
                    toks = token_cache[src]
                    pseudo = pseudo_label_step(runner, current, toks, labels=labels, threshold=p["threshold"],
                                               keep_empty=p["keep_empty"])
                    inputs = {"pseudo": pseudo.fingerprint}
                    loaders = [lambda: read_sentences(pseudo.file("pseudo.jsonl"))]
                    if p["include_projected"]:
                        proj = teachers["projection"].extra["projected"]
                        inputs["projected"] = proj.fingerprint
                        loaders.append(lambda: read_sentences(proj.file("projected.jsonl")))
                    trained = train_step(runner, student_cfg, inputs, lambda: tuple(s for ld in loaders for s in ld()))
                    sig = {"system": "self-training", "student": student_cfg.backend, "teachers": tset,
                           "unlabelled": src, "round": rnd, "threshold": p["threshold"]}
                    ev = evaluate_step(runner, trained, tpath, labels, backend=student_cfg.backend, extra_signature=sig)
                    box["trained"] = trained
                    d = json.loads(ev.file("scores.json").read_text(encoding="utf-8"))
                    stats = json.loads(pseudo.file("stats.json").read_text(encoding="utf-8"))
                    return {"system": "self-training", "teachers": tset, "unlabelled": src, "round": rnd,
                            "round_teachers": [t.name for t in current], "f1": float(d["f1"]),
                            "precision": float(d["precision"]), "recall": float(d["recall"]),
                            "per_type": d.get("per_type", {}), "signature": str(d.get("signature", "")),
                            "pseudo": stats, "n_unlabelled": len(toks),
                            "n_train": (trained.manifest.get("info") or {}).get("n_train"),
                            "steps": {"pseudo": pseudo.fingerprint, "train": trained.fingerprint, "evaluate": ev.fingerprint}}

                label = _label(tset, src, rnd, p["include_projected"])
                done = read_run(ctx.out, rid)
                if done:  # finished earlier: only the student model is needed for the next round
                    entry = self._entry(runner, "train", (done.get("steps") or {}).get("train"))
                    if entry is None:
                        student()
                        entry = box.get("trained")
                    box["trained"] = entry
                else:
                    self._guard(ctx, rid, lang, label, student)
                trained = box.get("trained")
                if trained is None:
                    state[(tset, src)] = None
                    continue
                st = Teacher(f"student r{rnd}", trained.fingerprint,
                             lambda e=trained: load_tagger(e.file("model"), progress=False), weights.get("student", 1.0))
                state[(tset, src)] = [st] + (originals if p["round_teachers"] == "student+original" else [])

    @staticmethod
    def _entry(runner: StepRunner, step: str, fp: str | None) -> Entry | None:
        if not fp:
            return None
        status, entry, _ = runner.cache.check(step, fp)
        return entry if status == "hit" else None

    def _teachers(self, lang, p, ctx, tt_cfg, labeller_cfg, res_box) -> dict[str, "_LoadedTeacher"]:
        from projner.ner.io import load_tagger

        runner = ctx.runner
        out: dict[str, _LoadedTeacher] = {}
        names = {n for t in p["teachers"] for n in t.split("+")} | ({"projection"} if p["include_projected"] else set())
        if "projection" in names:
            r = res_box.get("projection") or translate_train(tt_cfg, runner=runner)
            trained = self._entry(runner, "train", r.steps.get("train"))
            projected = self._entry(runner, "project", r.steps.get("project"))
            if trained is None or projected is None:
                raise ProjnerError(E.E241, detail=f"{lang}: the projection teacher's cache entries are missing after training")
            out["projection"] = _LoadedTeacher(trained.fingerprint, lambda e=trained: load_tagger(e.file("model"), progress=False),
                                               {"projected": projected})
        if "transfer" in names:
            ident, load = labeller_step(runner, labeller_cfg, ctx.data)
            out["transfer"] = _LoadedTeacher(ident, load, {})
        return out

    # -------------------------------------------------------------- report

    def report(self, folder: Path) -> None:
        folder = Path(folder)
        from projner.pipeline.experiment import load_runs

        runs = load_runs(folder)
        order = _order(folder)
        runs.sort(key=lambda r: order.get(r.get("run_id"), len(order)))
        langs = list(dict.fromkeys(r["lang"] for r in runs))
        parts = ["# Self-training / multi-source teacher–student", "",
                 "Strict span F1 on MasakhaNER 2.0 test (PER/ORG/LOC). Students are CRFs trained on the hard "
                 "labels of the teachers on unlabelled target text: sentences whose every predicted span has "
                 "confidence ≥ threshold (one teacher: span probability; several: mean of the averaged token "
                 "marginals along a constrained IOB2 Viterbi path). `masakhaner-train` is in-domain unlabelled "
                 "text (the test's own distribution, labels discarded): a separate, optimistic setting.", ""]
        for lang in langs:
            rs = [r for r in runs if r["lang"] == lang]
            base = {r["run_id"].split("__", 1)[1]: r for r in rs if r.get("status") == "ok"}
            parts += [f"## {lang}", "", "| system | F1 | P | R | Δ vs transfer | Δ vs projection | unlabelled | pseudo-labelled kept | dropped (low conf.) | spans (PER/ORG/LOC) |",
                      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
            for r in rs:
                if r.get("status") != "ok":
                    parts.append(f"| {r['label']} | error | | | | | | | | {str(r.get('error', ''))[:80]} |")
                    continue
                dt = _delta(r, base.get("transfer"))
                dp = _delta(r, base.get("projection"))
                ps = r.get("pseudo") or {}
                spans = "/".join(str(ps.get(f"spans_{lab}", 0)) for lab in ("PER", "ORG", "LOC")) if ps else ""
                parts.append(f"| {r['label']} | {r['f1']:.3f} | {r['precision']:.3f} | {r['recall']:.3f} | {dt} | {dp} | "
                             f"{r.get('n_unlabelled', '')} | {ps.get('out', '')} | {ps.get('dropped_low_confidence', '')} | {spans} |")
            parts.append("")
        with atomic_write(folder / "self_training.md") as fh:
            fh.write("\n".join(parts))
        _rounds_plot(runs, folder / "self_training_rounds.png")


@dataclass(frozen=True)
class _LoadedTeacher:
    ident: str
    load: Callable[[], Any]
    extra: Mapping[str, Any]


def _order(folder: Path) -> dict[str, int]:
    f = folder / "experiment.json"
    try:
        return {rid: i for i, rid in enumerate(json.loads(f.read_text(encoding="utf-8")).get("order", []))}
    except (OSError, json.JSONDecodeError):
        return {}


def _delta(r: Mapping[str, Any], ref: Mapping[str, Any] | None) -> str:
    if ref is None or ref is r or ref.get("run_id") == r.get("run_id"):
        return ""
    return f"{r['f1'] - ref['f1']:+.3f}"


def _rounds_plot(runs: Sequence[Mapping[str, Any]], path: Path) -> None:
    ok = [r for r in runs if r.get("status") == "ok"]
    if not ok:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    langs = list(dict.fromkeys(r["lang"] for r in ok))
    fig, axes = plt.subplots(1, len(langs), figsize=(4.5 * len(langs), 4), squeeze=False)
    for ax, lang in zip(axes[0], langs):
        rs = [r for r in ok if r["lang"] == lang]
        for r in rs:
            if r.get("system") in ("transfer", "projection"):
                ax.axhline(r["f1"], ls="--" if r["system"] == "transfer" else ":", color="grey" if r["system"] == "transfer" else "black",
                           label=r["label"])
        series: dict[str, list[tuple[int, float]]] = {}
        for r in rs:
            if r.get("system") == "self-training":
                series.setdefault(f"{r['teachers']} → {r['unlabelled']}", []).append((int(r["round"]), r["f1"]))
        for name, pts in series.items():
            pts.sort()
            ax.plot([x for x, _ in pts], [y for _, y in pts], marker="o", label=name)
        rounds = sorted({x for pts in series.values() for x, _ in pts})
        if rounds:
            ax.set_xticks(rounds)
        ax.set_title(lang)
        ax.set_xlabel("round")
        ax.set_ylabel("F1")
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
