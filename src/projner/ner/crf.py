"""A linear-chain CRF tagger (python-crfsuite), gazetteer-free, fast on CPU.

Feature set (per token ``i``, all strings, no external resources):

* the word itself, lower-cased; its prefixes and suffixes of 1–4 characters;
* casing flags: initial capital, title case, all upper, all lower, mixed case, first-in-sentence + title;
* character classes: has a digit, all digits, has a hyphen, has other punctuation, is
  punctuation only; length bucket (1, 2, 3, 4–6, 7+);
* word shape (``Xxxx`` → ``Xx``, ``A-1`` → ``X-0`` ...) long (capped at 8 chars) and short
  (runs collapsed);
* for neighbours at offsets −2, −1, +1, +2: lower-cased word, short shape, title flag; the
  bigrams (w[−1], w[0]) and (w[0], w[+1]); ``BOS`` / ``EOS`` markers at the edges.

Training is L-BFGS with L1+L2 regularisation (``c1``, ``c2``); it stops on crfsuite's own
convergence test (relative objective change below ``delta`` over ``period`` iterations) or
``max_iterations``. Given a dev set, its strict span F1 is computed and stored in
``meta.json`` (the CRF optimiser is not resumable, so dev is a report, not a stopping rule).
Span scores come from crfsuite's exact per-token marginals (see :func:`~projner.ner.base.span_scores`).
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from projner.errors import E, ProjnerError
from projner.log import progress_bar
from projner.ner.base import SCHEME, check_training_data, keep_labels, restrict_labels, seed_everything
from projner.ner.base import span_scores, strict_f1, tag_names, to_tags, unknown_as_o
from projner.ner.io import read_meta, write_meta
from projner.registry import taggers
from projner.types import Sentence

MODEL_FILE = "model.crfsuite"
FEATURES_VERSION = 1

_PUNCT = re.compile(r"^[^\w\s]+$")


def _shape(w: str) -> str:
    out = []
    for ch in w[:8]:
        out.append("X" if ch.isupper() else "x" if ch.isalpha() else "0" if ch.isdigit() else ch)
    return "".join(out)


def _short_shape(w: str) -> str:
    out: list[str] = []
    for ch in w:
        c = "X" if ch.isupper() else "x" if ch.isalpha() else "0" if ch.isdigit() else ch
        if not out or out[-1] != c:
            out.append(c)
    return "".join(out)


def _len_bucket(n: int) -> str:
    return "1" if n == 1 else "2" if n == 2 else "3" if n == 3 else "4-6" if n <= 6 else "7+"


def token_features(tokens: Sequence[str], i: int) -> list[str]:
    """The feature strings of token ``i`` (documented in the module docstring)."""
    w = tokens[i]
    lw = w.lower()
    f = [
        "bias",
        "w=" + lw,
        "shape=" + _shape(w),
        "sshape=" + _short_shape(w),
        "len=" + _len_bucket(len(w)),
    ]
    for k in range(1, 5):
        if len(w) >= k:
            f.append(f"p{k}=" + w[:k])
            f.append(f"s{k}=" + lw[-k:])
    if w[:1].isupper():
        f.append("init_cap")
    if w.istitle():
        f.append("title")
        if i == 0:
            f.append("title_first")
    if w.isupper():
        f.append("upper")
    if w.islower():
        f.append("lower")
    if any(c.isupper() for c in w[1:]) and any(c.islower() for c in w):
        f.append("mixed")
    if any(c.isdigit() for c in w):
        f.append("has_digit")
    if w.isdigit():
        f.append("digits")
    if "-" in w:
        f.append("hyphen")
    if _PUNCT.match(w):
        f.append("punct")
    for off in (-2, -1, 1, 2):
        j = i + off
        if 0 <= j < len(tokens):
            n = tokens[j]
            f.append(f"{off:+d}:w=" + n.lower())
            f.append(f"{off:+d}:sshape=" + _short_shape(n))
            if n.istitle():
                f.append(f"{off:+d}:title")
        elif j == -1:
            f.append("BOS")
        elif j == len(tokens):
            f.append("EOS")
    if i > 0:
        f.append("-1|0=" + tokens[i - 1].lower() + "|" + lw)
    if i + 1 < len(tokens):
        f.append("0|+1=" + lw + "|" + tokens[i + 1].lower())
    return f


def sentence_features(tokens: Sequence[str]) -> list[list[str]]:
    return [token_features(tokens, i) for i in range(len(tokens))]


def _trainer_class():
    import pycrfsuite

    class _Trainer(pycrfsuite.Trainer):
        """A quiet trainer that advances a progress bar per L-BFGS iteration."""

        bar = None

        def on_start(self, log):
            pass

        def on_featgen_progress(self, log, percent):
            pass

        def on_featgen_end(self, log):
            pass

        def on_prepared(self, log):
            pass

        def on_prepare_error(self, log):
            pass

        def on_iteration(self, log, info):
            if self.bar is not None:
                self.bar.update(1)
                loss = info.get("loss")
                if loss is not None:
                    self.bar.set_postfix(loss=f"{loss:.1f}")

        def on_optimization_end(self, log):
            pass

        def on_end(self, log):
            pass

    return _Trainer


@taggers.register("projner.tagger.crf.v1")
class CrfTagger:
    """CRF NER tagger. ``fit`` → ``predict`` → ``save``; ``CrfTagger.load(dir)``."""

    backend = "crf"

    def __init__(
        self,
        *,
        c1: float = 0.05,
        c2: float = 0.01,
        max_iterations: int = 150,
        delta: float = 1e-4,
        period: int = 10,
        min_freq: int = 1,
        seed: int = 0,
        progress: bool = True,
    ):
        if c1 < 0 or c2 < 0 or max_iterations < 1:
            raise ProjnerError(E.E018, detail="CRF needs c1 >= 0, c2 >= 0 and max_iterations >= 1")
        self.params = {
            "c1": float(c1), "c2": float(c2), "max_iterations": int(max_iterations),
            "delta": float(delta), "period": int(period), "min_freq": int(min_freq),
        }
        self.seed = int(seed)
        self.progress = progress
        self._labels: tuple[str, ...] = ()
        self._model: bytes | None = None
        self._tagger = None
        self.info: dict = {}

    # ------------------------------------------------------------------ properties

    @property
    def labels(self) -> tuple[str, ...]:
        return self._labels

    def _ensure(self):
        if self._tagger is None:
            raise ProjnerError(E.E148)
        return self._tagger

    def _open(self, model: bytes) -> None:
        import pycrfsuite

        tagger = pycrfsuite.Tagger()
        tagger.open_inmemory(model)
        self._model = model
        self._tagger = tagger

    # ------------------------------------------------------------------ training

    def fit(self, train: Sequence[Sentence], dev: Sequence[Sentence] | None = None) -> "CrfTagger":
        labels = check_training_data(train, dev)
        seed_everything(self.seed)  # L-BFGS is deterministic; seeded for uniformity
        trainer = _trainer_class()(algorithm="lbfgs", verbose=True)
        trainer.set_params({
            "c1": self.params["c1"],
            "c2": self.params["c2"],
            "max_iterations": self.params["max_iterations"],
            "delta": self.params["delta"],
            "period": self.params["period"],
            "feature.minfreq": self.params["min_freq"],
            "feature.possible_transitions": True,
        })
        t0 = time.perf_counter()
        for sent in progress_bar(train, desc="crf features", unit="sent", disable=not self.progress, leave=False):
            if len(sent) == 0:
                continue
            trainer.append(sentence_features(sent.tokens), list(to_tags(sent)))
        bar = progress_bar(total=self.params["max_iterations"], desc="crf L-BFGS", unit="it", disable=not self.progress, leave=False)
        trainer.bar = bar
        with tempfile.TemporaryDirectory(prefix="projner-crf-") as tmp:
            path = os.path.join(tmp, MODEL_FILE)
            trainer.train(path)
            model = Path(path).read_bytes()
        bar.close()
        iterations = len(trainer.logparser.iterations) if trainer.logparser else None
        self._labels = labels
        self._open(model)
        self.info = {"train_seconds": round(time.perf_counter() - t0, 2), "iterations": iterations,
                     "n_train": len(train), **unknown_as_o(train, "crf")}
        if dev is not None and len(dev):
            self.info["dev_f1"] = round(strict_f1(dev, self.predict(dev)), 4)
        return self

    # ------------------------------------------------------------------ prediction

    def predict(self, sentences: Sequence[Sentence], *, labels: Iterable[str] | None = None) -> list[Sentence]:
        tagger = self._ensure()
        wanted = restrict_labels(self._labels, labels)
        known_tags = tagger.labels()
        out = []
        for sent in progress_bar(sentences, desc="crf tag", unit="sent", disable=not self.progress or len(sentences) < 2000, leave=False):
            if len(sent) == 0:
                out.append(sent.with_spans(()))
                continue
            tagger.set(sentence_features(sent.tokens))
            tags = tagger.tag()
            marg = [{t: tagger.marginal(t, i) for t in known_tags} for i in range(len(tags))]
            out.append(sent.with_spans(keep_labels(span_scores(tags, marg), wanted)))
        return out

    def marginals(self, sentences: Sequence[Sentence], *, tags: Sequence[str] | None = None) -> list[np.ndarray]:
        """crfsuite's exact per-token marginals: per sentence a ``tokens × tags`` float array.

        Columns follow ``tags`` (default :func:`~projner.ner.base.tag_names` of :attr:`labels`:
        ``O, B-X, I-X, ...``); a tag the model does not know gets probability 0, so with the
        default inventory every row sums to 1. An empty sentence gives a ``0 × tags`` array.
        """
        tagger = self._ensure()
        cols = tuple(tags) if tags is not None else tag_names(self._labels)
        known = set(tagger.labels())
        out = []
        for sent in progress_bar(sentences, desc="crf marginals", unit="sent", disable=not self.progress or len(sentences) < 2000, leave=False):
            m = np.zeros((len(sent), len(cols)), dtype=np.float64)
            if len(sent):
                tagger.set(sentence_features(sent.tokens))
                for j, t in enumerate(cols):
                    if t in known:
                        for i in range(len(sent)):
                            m[i, j] = tagger.marginal(t, i)
            out.append(m)
        return out

    # ------------------------------------------------------------------ persistence

    def save(self, path: str | os.PathLike) -> None:
        if self._model is None:
            raise ProjnerError(E.E148)
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        tmp = p / (MODEL_FILE + ".tmp")
        tmp.write_bytes(self._model)
        os.replace(tmp, p / MODEL_FILE)
        write_meta(p, self.backend, self._labels, SCHEME, params=self.params, seed=self.seed,
                   features_version=FEATURES_VERSION, info=self.info)

    @classmethod
    def load(cls, path: str | os.PathLike, *, progress: bool = True) -> "CrfTagger":
        meta = read_meta(path, cls.backend)
        if meta.get("features_version") != FEATURES_VERSION:
            raise ProjnerError(E.E143, file=str(path), detail=f"CRF feature set version {meta.get('features_version')} != {FEATURES_VERSION}")
        mf = Path(path) / MODEL_FILE
        if not mf.is_file():
            raise ProjnerError(E.E143, file=str(path), detail=f"{MODEL_FILE} is missing")
        p = meta.get("params", {})
        obj = cls(**{k: p[k] for k in ("c1", "c2", "max_iterations", "delta", "period", "min_freq") if k in p},
                  seed=meta.get("seed", 0), progress=progress)
        obj._labels = tuple(meta["labels"])
        obj.info = dict(meta.get("info", {}))
        obj._open(mf.read_bytes())
        return obj
