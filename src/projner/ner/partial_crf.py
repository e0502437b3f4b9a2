"""``pcrf``: a linear-chain CRF in torch over the hand-made features of :mod:`projner.ner.crf`,
trained with partial labels.

* Features: :func:`projner.ner.crf.token_features` (the crfsuite CRF's set, same version),
  each string hashed with ``zlib.crc32`` (stable across runs and machines, unlike Python's
  salted ``hash``) into ``rows`` buckets (default 2²⁰); a bucket holds one weight per tag. A
  word's tag scores are the sum of its features' rows plus a bias (an ``nn.EmbeddingBag``).
* CRF: :class:`projner.ner.fast_head.Crf` (IOB2 transitions enforced: decoding always yields
  valid IOB2; forward–backward marginals give the span scores, as for the other taggers).
* Partial labels: words listed in :attr:`Sentence.unknown` are summed over (the objective is
  ``logZ − logZ_allowed``, see :func:`~projner.ner.fast_head.allowed_tags`), not trained as
  ``O``; ``info["unknown_tokens"]`` counts them.
* Training: Adam on shuffled length-grouped mini-batches, an L2 penalty (``l2`` per sentence,
  as crfsuite's ``c2``; applied to the rows a batch touches), a fixed seed; with a dev set the
  strict span F1 is measured after every epoch, the learning rate is multiplied by
  ``lr_decay`` after an epoch without improvement, and the best epoch's weights are kept.
  Torch runs with ``threads`` intra-op threads (default 1: the CRF is many tiny operations).
* Saved as ``weights.safetensors`` plus ``meta.json`` (never pickle).
"""

from __future__ import annotations

import logging
import os
import time
import zlib
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from projner.data.textio import atomic_write
from projner.errors import E, ProjnerError
from projner.log import progress_bar
from projner.ner.base import SCHEME, BestEpoch, check_training_data, keep_labels, restrict_labels, seed_everything
from projner.ner.base import span_scores, strict_f1, tag_names, to_tags
from projner.ner.crf import FEATURES_VERSION, sentence_features
from projner.ner.io import read_meta, write_meta
from projner.registry import taggers
from projner.types import Sentence

WEIGHTS_FILE = "weights.safetensors"
HASH = "crc32"
log = logging.getLogger(__name__)


def _torch():
    try:
        import torch
    except ImportError:
        raise ProjnerError(E.E020, package="torch", hint="projner[ner]") from None
    return torch


def feature_ids(tokens: Sequence[str], rows: int) -> tuple[np.ndarray, np.ndarray]:
    """The hashed feature rows of every token, concatenated, and the number per token."""
    ids: list[int] = []
    counts = np.zeros(len(tokens), dtype=np.int64)
    for i, feats in enumerate(sentence_features(tokens)):
        ids.extend(zlib.crc32(f.encode("utf-8")) % rows for f in feats)
        counts[i] = len(feats)
    return np.asarray(ids, dtype=np.int64), counts


def _model(rows: int, tags: Sequence[str]):
    torch = _torch()
    from torch import nn

    from projner.ner.fast_head import Crf

    class PartialCrf(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.EmbeddingBag(rows, len(tags), mode="sum", sparse=True)
            nn.init.zeros_(self.emb.weight)
            self.bias = nn.Parameter(torch.zeros(len(tags)))
            self.crf = Crf(tags)

        def emissions(self, ids, offsets, shape):
            return self.emb(ids, offsets).view(*shape, -1) + self.bias

    return PartialCrf()


@taggers.register("projner.tagger.pcrf.v1")
class PartialCrfTagger:
    """CRF over hashed hand-made features, trained in torch with partial labels."""

    backend = "pcrf"

    def __init__(self, *, rows: int = 2**20, epochs: int = 5, lr: float = 0.01, batch_size: int = 32,
                 l2: float = 0.01, patience: int = 3, lr_decay: float = 0.5, seed: int = 0,
                 threads: int | None = 1, eval_batch_size: int = 256, progress: bool = True):
        if rows < 1 or epochs < 1 or batch_size < 1 or lr <= 0 or l2 < 0 or patience < 1 or not 0 < lr_decay <= 1:
            raise ProjnerError(E.E018, detail="pcrf needs rows, epochs, batch_size, patience >= 1; lr > 0; l2 >= 0; "
                                              "0 < lr_decay <= 1")
        self.params = {"rows": int(rows), "epochs": int(epochs), "lr": float(lr), "batch_size": int(batch_size),
                       "l2": float(l2), "patience": int(patience), "lr_decay": float(lr_decay)}
        self.seed = int(seed)
        self.threads = threads
        self.eval_batch_size = int(eval_batch_size)
        self.progress = progress
        self._labels: tuple[str, ...] = ()
        self._tags: tuple[str, ...] = ()
        self.model = None
        self.info: dict = {}

    @property
    def labels(self) -> tuple[str, ...]:
        return self._labels

    def _threads(self):
        from projner.ner.transformer import _torch_threads

        return _torch_threads(self.threads)

    def _features(self, sentences: Sequence[Sentence]) -> list[tuple[np.ndarray, np.ndarray]]:
        rows = self.params["rows"]
        return [feature_ids(s.tokens, rows) for s in sentences]

    def _batch(self, feats: Sequence[tuple[np.ndarray, np.ndarray]], idx: Sequence[int]):
        """Flat feature ids, bag offsets (one bag per word slot; padding slots are empty) and the mask."""
        torch = _torch()
        lengths = [len(feats[i][1]) for i in idx]
        n = max(lengths)
        counts = np.zeros((len(idx), n), dtype=np.int64)
        for r, i in enumerate(idx):
            counts[r, : lengths[r]] = feats[i][1]
        flat = counts.ravel()
        offsets = np.zeros(len(flat), dtype=np.int64)
        np.cumsum(flat[:-1], out=offsets[1:])
        ids = np.concatenate([feats[i][0] for i in idx])
        mask = torch.arange(n).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
        return torch.from_numpy(ids), torch.from_numpy(offsets), mask

    # ------------------------------------------------------------------ training

    def fit(self, train: Sequence[Sentence], dev: Sequence[Sentence] | None = None) -> "PartialCrfTagger":
        labels = check_training_data(train, dev)
        with self._threads():
            return self._fit(labels, train, dev)

    def _fit(self, labels, train: Sequence[Sentence], dev: Sequence[Sentence] | None) -> "PartialCrfTagger":
        from projner.ner.fast_head import allowed_tags

        self._labels, self._tags = labels, tag_names(labels)
        t0 = time.perf_counter()
        train = [s for s in train if len(s)]
        dev = [s for s in dev if len(s)] if dev is not None else None
        index = {t: i for i, t in enumerate(self._tags)}
        xs = self._features(train)
        ys = [np.array([index[t] for t in to_tags(s)], dtype=np.int64) for s in train]
        allowed = [allowed_tags(y, s.unknown, self._tags) if s.unknown else None for s, y in zip(train, ys)]
        xd = self._features(dev) if dev else None
        feat_s = time.perf_counter() - t0
        seed_everything(self.seed)
        self.model = _model(self.params["rows"], self._tags)
        history, best = self._train(train, dev, xs, ys, allowed, xd)
        n_unknown = sum(len(s.unknown) for s in train)
        self.info = {"feature_seconds": round(feat_s, 2), "train_seconds": round(time.perf_counter() - t0 - feat_s, 2),
                     "history": history, "n_train": len(train)}
        if best is not None:
            self.info.update(best_epoch=best[0], dev_f1=round(best[1], 4))
        if n_unknown:
            self.info.update(unknown_tokens=n_unknown, unknown_sentences=sum(1 for a in allowed if a is not None),
                             unknown_as="partial")
            log.info("pcrf: %d unknown tokens in %d sentences trained as partial labels", n_unknown,
                     self.info["unknown_sentences"])
        return self

    def _train(self, train, dev, xs, ys, allowed, xd):
        torch = _torch()
        from torch.nn.utils.rnn import pad_sequence

        from projner.ner.transformer import _length_grouped_batches

        p = self.params
        model = self.model
        dense = [model.bias, model.crf.transitions, model.crf.start, model.crf.end]
        opts = [torch.optim.SparseAdam([model.emb.weight], lr=p["lr"]), torch.optim.Adam(dense, lr=p["lr"])]
        l2 = p["l2"] / max(1, len(train))  # crfsuite's c2 per sentence → per mini-batch mean loss
        rng = np.random.default_rng(self.seed)
        k = len(self._tags)
        steps = (len(train) + p["batch_size"] - 1) // p["batch_size"]
        bar = progress_bar(total=steps * p["epochs"], desc="pcrf", unit="step", disable=not self.progress, leave=False)
        best, history = BestEpoch(p["patience"], p["lr_decay"]), []
        for epoch in range(1, p["epochs"] + 1):
            model.train()
            loss_sum = 0.0
            for idx in _length_grouped_batches(rng, [len(y) for y in ys], p["batch_size"]):
                ids, offsets, mask = self._batch(xs, idx)
                tags = pad_sequence([torch.from_numpy(ys[i]) for i in idx], batch_first=True)
                allow = None
                if any(allowed[i] is not None for i in idx):
                    allow = pad_sequence([torch.from_numpy(allowed[i] if allowed[i] is not None else np.eye(k, dtype=bool)[ys[i]])
                                          for i in idx], batch_first=True)
                em = model.emissions(ids, offsets, mask.shape)
                loss = model.crf.nll(em, tags, mask, allow)
                if l2:
                    touched = torch.nn.functional.embedding(torch.unique(ids), model.emb.weight, sparse=True)
                    loss = loss + l2 * (touched.pow(2).sum() + sum(q.pow(2).sum() for q in dense))
                for o in opts:
                    o.zero_grad(set_to_none=True)
                loss.backward()
                for o in opts:
                    o.step()
                loss_sum += float(loss.detach())
                bar.update(1)
            rec = {"epoch": epoch, "loss": round(loss_sum / max(1, steps), 4)}
            if xd:
                f1 = strict_f1(dev, self._decode(dev, xd, None, scores=False))
                rec["dev_f1"] = round(f1, 4)
                best.update(epoch, f1, model, opts)
            history.append(rec)
            if best.stop:
                break
        bar.close()
        chosen = best.restore(model)
        model.eval()
        return history, chosen

    # ------------------------------------------------------------------ prediction

    def _ensure(self):
        if self.model is None:
            raise ProjnerError(E.E148)
        return self.model

    def _run(self, sentences: Sequence[Sentence], feats, marginals: bool = True):
        """(sentence index, tag path, marginals ``[len, tags]`` or None) of every non-empty sentence."""
        torch = _torch()
        model = self._ensure()
        order = sorted((i for i, s in enumerate(sentences) if len(s)), key=lambda i: len(sentences[i]))
        bs = self.eval_batch_size
        with torch.no_grad():
            for b0 in range(0, len(order), bs):
                idx = order[b0 : b0 + bs]
                ids, offsets, mask = self._batch(feats, idx)
                em = model.emissions(ids, offsets, mask.shape)
                paths = model.crf.viterbi(em, mask)
                marg = model.crf.marginals(em, mask).numpy() if marginals else None
                for r, i in enumerate(idx):
                    yield i, paths[r], (marg[r, : len(paths[r])] if marginals else None)

    def _decode(self, sentences: Sequence[Sentence], feats, wanted, scores: bool = True) -> list[Sentence]:
        out: list[Sentence | None] = [s.with_spans(()) if not len(s) else None for s in sentences]
        for i, path, marg in self._run(sentences, feats, scores):
            tags = [self._tags[k] for k in path]
            m = [dict(zip(self._tags, row.tolist())) for row in marg] if scores else None
            out[i] = sentences[i].with_spans(keep_labels(span_scores(tags, m), wanted))
        return out

    def predict(self, sentences: Sequence[Sentence], *, labels: Iterable[str] | None = None) -> list[Sentence]:
        self._ensure()
        wanted = restrict_labels(self._labels, labels)
        with self._threads():
            return self._decode(sentences, self._features(sentences), wanted)

    def marginals(self, sentences: Sequence[Sentence], *, tags: Sequence[str] | None = None) -> list[np.ndarray]:
        """Exact per-token marginals: per sentence a ``tokens × tags`` float array (columns follow
        ``tags``, default ``O, B-X, I-X, ...`` of :attr:`labels`; a tag the model lacks gets 0)."""
        self._ensure()
        cols = tuple(tags) if tags is not None else self._tags
        where = [self._tags.index(t) if t in self._tags else -1 for t in cols]
        out = [np.zeros((len(s), len(cols)), dtype=np.float64) for s in sentences]
        with self._threads():
            for i, _, marg in self._run(sentences, self._features(sentences)):
                for j, w in enumerate(where):
                    if w >= 0:
                        out[i][:, j] = marg[:, w]
        return out

    # ------------------------------------------------------------------ persistence

    def save(self, path: str | os.PathLike) -> None:
        model = self._ensure()
        from safetensors.torch import save

        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        with atomic_write(p / WEIGHTS_FILE, "wb") as fh:
            fh.write(save({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}))
        write_meta(p, self.backend, self._labels, SCHEME, tags=list(self._tags), params=self.params, seed=self.seed,
                   features_version=FEATURES_VERSION, hash=HASH, info=self.info)

    @classmethod
    def load(cls, path: str | os.PathLike, *, threads: int | None = 1, eval_batch_size: int = 256,
             progress: bool = True) -> "PartialCrfTagger":
        meta = read_meta(path, cls.backend)
        if meta.get("features_version") != FEATURES_VERSION or meta.get("hash") != HASH:
            raise ProjnerError(E.E143, file=str(Path(path) / "meta.json"),
                               detail=f"pcrf features version {meta.get('features_version')} / hash {meta.get('hash')!r}, "
                                      f"this projner computes {FEATURES_VERSION} / {HASH!r}")
        params = dict(meta.get("params", {}))
        obj = cls(seed=meta.get("seed", 0), threads=threads, eval_batch_size=eval_batch_size, progress=progress, **params)
        obj._labels = tuple(meta["labels"])
        obj._tags = tuple(meta.get("tags") or tag_names(obj._labels))
        obj.info = dict(meta.get("info", {}))
        obj.model = _model(obj.params["rows"], obj._tags)
        wf = Path(path) / WEIGHTS_FILE
        try:
            from safetensors.torch import load_file

            obj.model.load_state_dict(load_file(str(wf)))
        except Exception as exc:  # missing, truncated or mismatched file
            raise ProjnerError(E.E157, file=str(wf), detail=f"{type(exc).__name__}: {str(exc)[:200]}") from None
        obj.model.eval()
        return obj
