"""The fast tagger: a frozen encoder run once per sentence (vectors cached on disk) and a light
head trained on top; minutes on two CPU cores where fine-tuning the encoder takes hours.

* Word vectors: the hidden states of a few ``layers`` of the encoder (default: the prepared
  e5-small, layers 5–8 of 12: its middle layers tag better than the top ones, which are tuned
  for sentence embeddings, and nothing above layer 8 runs), concatenated and pooled per word
  (first subword; :class:`~projner.ner.encoder.WordEncoder`),
  cached in a content-addressed store (``cache_dir``; default ``$PROJNER_CACHE/embeddings``;
  ``False`` for none): a second training run, or tagging the same sentences again, runs no
  encoder at all.
* Head (:mod:`projner.ner.fast_head`): each layer's vector normalised, a ``hidden``-wide
  projection, a residual convolution over each word and its ``context`` neighbours, tag
  scores, and a linear-chain CRF whose forbidden IOB2 moves are excluded, so every output
  sequence is valid IOB2 (``crf=False``: softmax with the same constrained decoding). Where
  the encoder runs in bfloat16 (``precision``), so do the head's matrix products. Adam, sentences in shuffled length-grouped batches, a fixed seed;
  with a dev set the strict span F1 is measured after every epoch, the learning rate is
  multiplied by ``lr_decay`` after an epoch without improvement, the best epoch's head is kept
  and training stops after ``patience`` epochs without improvement.
* Threads: the encoder runs with ``threads`` (default: torch's choice), the head with
  ``head_threads`` (default 1): the CRF is many tiny tensor operations, which run several
  times faster on one thread than when OpenMP spreads each over two busy cores.
* Span scores come from the CRF's exact per-word marginals (forward–backward).
* Partial labels: training words listed in :attr:`Sentence.unknown` are trained with the
  partial-label objective (the CRF sums over every valid tag path through them, see
  :func:`~projner.ner.fast_head.allowed_tags`; the softmax head puts no loss on them);
  ``info["unknown_tokens"]`` counts them and ``info["unknown_as"]`` says how they were trained.
* Saved as ``head.safetensors`` plus ``meta.json`` (config, tags, and a pointer to the encoder:
  its folder and content fingerprint). Loading fails with E151 when the encoder folder is gone
  and E152 when its content changed; ``load(..., encoder=NEW_FOLDER)`` follows a moved encoder.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from projner.data.textio import atomic_write
from projner.errors import E, ProjnerError
from projner.log import progress_bar
from projner.ner.base import (
    SCHEME,
    BestEpoch,
    check_training_data,
    keep_labels,
    restrict_labels,
    seed_everything,
    span_scores,
    strict_f1,
    tag_names,
    to_tags,
)
from projner.ner.fast_head import allowed_tags
from projner.ner.io import read_meta, write_meta
from projner.registry import taggers
from projner.types import Sentence

HEAD_FILE = "head.safetensors"
log = logging.getLogger(__name__)


def _torch():
    try:
        import torch
        import transformers  # noqa: F401
    except ImportError:
        raise ProjnerError(E.E020, package="torch/transformers", hint="projner[ner]") from None
    return torch


@taggers.register("projner.tagger.fast.v1")
class FastTagger:
    backend = "fast"

    def __init__(
        self,
        model: str | os.PathLike | None = None,
        *,
        layers: Iterable[int] | str = (5, 6, 7, 8),
        pooling: str = "first",
        precision: str = "auto",
        max_length: int | None = None,
        hidden: int = 128,
        context: int = 1,
        dropout: float = 0.2,
        crf: bool = True,
        epochs: int = 15,
        lr: float = 2e-3,
        batch_size: int = 64,
        patience: int = 3,
        lr_decay: float = 0.5,
        weight_decay: float = 0.0,
        seed: int = 0,
        device: str = "cpu",
        threads: int | None = None,
        head_threads: int | None = 1,
        cache_dir: str | os.PathLike | None | bool = None,
        eval_batch_size: int = 256,
        batch_tokens: int = 4096,
        progress: bool = True,
    ):
        if isinstance(layers, str):
            try:
                layers = [int(x) for x in layers.split(",") if x.strip()]
            except ValueError:
                raise ProjnerError(E.E018, detail=f"layers {layers!r}: comma-separated integers, e.g. -4,-3,-2,-1") from None
        if (epochs < 1 or batch_size < 1 or lr <= 0 or patience < 1 or hidden < 1 or context < 0 or not 0 <= dropout < 1
                or not 0 < lr_decay <= 1):
            raise ProjnerError(E.E018, detail="epochs, batch_size, patience, hidden >= 1; lr > 0; context >= 0; "
                                              "0 <= dropout < 1; 0 < lr_decay <= 1")
        self.model_name = None if model is None or str(model) == "" else str(model)
        self.params = {
            "layers": [int(x) for x in layers], "pooling": str(pooling), "precision": str(precision),
            "max_length": None if max_length is None else int(max_length), "hidden": int(hidden),
            "context": int(context), "dropout": float(dropout), "crf": bool(crf), "epochs": int(epochs),
            "lr": float(lr), "batch_size": int(batch_size), "patience": int(patience), "lr_decay": float(lr_decay),
            "weight_decay": float(weight_decay),
        }
        self.seed = int(seed)
        self.device_spec = device
        self.threads = threads
        self.head_threads = head_threads
        self.cache_dir = cache_dir
        self.eval_batch_size = int(eval_batch_size)
        self.batch_tokens = int(batch_tokens)
        self.progress = progress
        self._labels: tuple[str, ...] = ()
        self._tags: tuple[str, ...] = ()
        self.encoder = None
        self.head = None
        self.info: dict = {}

    @property
    def labels(self) -> tuple[str, ...]:
        return self._labels

    def _threads(self, head: bool = False):
        from projner.ner.transformer import _torch_threads

        return _torch_threads(self.head_threads if head else self.threads)

    def _make_encoder(self, model, layers):
        from projner.ner.encoder import WordEncoder

        p = self.params
        return WordEncoder(model, layers=layers, pooling=p["pooling"], precision=p["precision"], device=self.device_spec,
                           max_length=p["max_length"], batch_tokens=self.batch_tokens, cache_dir=self.cache_dir,
                           progress=self.progress)

    def _make_head(self):
        from projner.ner.fast_head import Head

        p = self.params
        enc = self.encoder
        return Head(enc.dim, self._tags, groups=len(enc.layers), hidden=p["hidden"], context=p["context"],
                    dropout=p["dropout"], crf=p["crf"], bf16=enc.precision == "bfloat16").to(enc.device)

    def _features(self, sentences: Sequence[Sentence]) -> list[np.ndarray]:
        return self.encoder.embed([s.tokens for s in sentences])

    def _prepared(self, feats: Sequence[np.ndarray]) -> list:
        """Cached float16 vectors → tensors as the head reads them (:meth:`Head.prepare`)."""
        torch = _torch()
        with torch.no_grad():
            return [self.head.prepare(torch.from_numpy(a)) for a in feats]

    def _pad(self, feats: Sequence, idx: Sequence[int], y: Sequence | None = None):
        """A padded batch ``[B, L, dim]`` of prepared vectors, its mask and (with ``y``) its tag ids.

        ``y[i]`` is a tag id array, or (partial labels) a pair (tag ids, ``[L, T]`` allowed-tags
        mask); then the tag ids come with the padded allowed mask (``None`` for a fully known batch)."""
        torch = _torch()
        from torch.nn.utils.rnn import pad_sequence

        rows = [feats[i] for i in idx]
        x = pad_sequence(rows, batch_first=True)
        lengths = torch.tensor([len(r) for r in rows])
        mask = torch.arange(x.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)
        dev = self.encoder.device
        if y is None:
            return x.to(dev), mask.to(dev), None
        ys = [y[i] for i in idx]
        if not any(isinstance(v, tuple) for v in ys):
            return x.to(dev), mask.to(dev), pad_sequence([torch.from_numpy(v) for v in ys], batch_first=True).to(dev)
        ids = [v[0] if isinstance(v, tuple) else v for v in ys]
        k = len(self._tags)
        allowed = pad_sequence([torch.from_numpy(v[1] if isinstance(v, tuple) else np.eye(k, dtype=bool)[v]) for v in ys],
                               batch_first=True)
        tags = pad_sequence([torch.from_numpy(v) for v in ids], batch_first=True)
        return x.to(dev), mask.to(dev), (tags.to(dev), allowed.to(dev))

    # ------------------------------------------------------------------ training

    def fit(self, train: Sequence[Sentence], dev: Sequence[Sentence] | None = None) -> "FastTagger":
        with self._threads():
            return self._fit(train, dev)

    def _fit(self, train: Sequence[Sentence], dev: Sequence[Sentence] | None) -> "FastTagger":
        labels = check_training_data(train, dev)
        self._labels, self._tags = labels, tag_names(labels)
        p = self.params
        t0 = time.perf_counter()
        self.encoder = self._make_encoder(self.model_name, p["layers"])
        train = [s for s in train if len(s)]
        dev = [s for s in dev if len(s)] if dev is not None else None
        xs = self._features(train)
        xd = self._features(dev) if dev else None
        embed_s = time.perf_counter() - t0
        index = {t: i for i, t in enumerate(self._tags)}
        ys: list = [np.array([index[t] for t in to_tags(s)], dtype=np.int64) for s in train]
        ys = [(y, allowed_tags(y, s.unknown, self._tags)) if s.unknown else y for s, y in zip(train, ys)]
        with self._threads(head=True):
            seed_everything(self.seed)
            self.head = self._make_head()
            xs, xd = self._prepared(xs), (self._prepared(xd) if xd else None)  # (frees the float16 arrays)
            return self._train_head(train, dev, xs, xd, ys, embed_s)

    def _train_head(self, train, dev, xs, xd, ys, embed_s: float) -> "FastTagger":
        torch = _torch()
        from projner.ner.transformer import _length_grouped_batches

        p = self.params
        opt = torch.optim.Adam([q for q in self.head.parameters() if q.requires_grad], lr=p["lr"], weight_decay=p["weight_decay"])
        rng = np.random.default_rng(self.seed)
        best, history = BestEpoch(p["patience"], p["lr_decay"]), []
        t1 = time.perf_counter()
        steps = (len(train) + p["batch_size"] - 1) // p["batch_size"]
        bar = progress_bar(total=steps * p["epochs"], desc="fast head", unit="step", disable=not self.progress, leave=False)
        for epoch in range(1, p["epochs"] + 1):
            self.head.train()
            loss_sum = 0.0
            for idx in _length_grouped_batches(rng, [len(x) for x in xs], p["batch_size"]):
                x, mask, y = self._pad(xs, idx, ys)
                y, allowed = y if isinstance(y, tuple) else (y, None)
                loss = self.head.loss(x, y, mask, allowed)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.head.parameters(), 5.0)
                opt.step()
                loss_sum += float(loss.detach())
                bar.update(1)
            rec = {"epoch": epoch, "loss": round(loss_sum / max(1, steps), 4)}
            if xd:
                f1 = strict_f1(dev, self._decode(dev, xd, None, scores=False))
                rec["dev_f1"] = round(f1, 4)
                best.update(epoch, f1, self.head, [opt])
            history.append(rec)
            if best.stop:
                break
        bar.close()
        chosen = best.restore(self.head)
        self.head.eval()
        self.info = {"embed_seconds": round(embed_s, 2), "train_seconds": round(time.perf_counter() - t1, 2),
                     "history": history, "n_train": len(train), "encoder": dict(self.encoder.stats)}
        n_unknown = sum(len(s.unknown) for s in train)
        if n_unknown:
            self.info.update(unknown_tokens=n_unknown, unknown_sentences=sum(1 for s in train if s.unknown),
                             unknown_as="partial" if p["crf"] else "no loss")
            log.info("fast tagger: %d unknown tokens in %d sentences trained as %s", n_unknown,
                     self.info["unknown_sentences"], "partial labels" if p["crf"] else "words without loss")
        if chosen is not None:
            self.info.update(best_epoch=chosen[0], dev_f1=round(chosen[1], 4))
        return self

    # ------------------------------------------------------------------ prediction

    def predict(self, sentences: Sequence[Sentence], *, labels: Iterable[str] | None = None) -> list[Sentence]:
        if self.head is None:
            raise ProjnerError(E.E148)
        wanted = restrict_labels(self._labels, labels)
        with self._threads():
            feats = self._features(sentences)
        with self._threads(head=True):
            return self._decode(sentences, self._prepared(feats), wanted)

    def marginals(self, sentences: Sequence[Sentence], *, tags: Sequence[str] | None = None) -> list[np.ndarray]:
        """Per-word tag probabilities (the CRF's exact marginals): per sentence a ``words × tags``
        float array whose columns follow ``tags`` (default ``O, B-X, I-X, ...`` of :attr:`labels`;
        a tag the model lacks gets 0). Used to average several teachers (self-training)."""
        if self.head is None:
            raise ProjnerError(E.E148)
        cols = tuple(tags) if tags is not None else self._tags
        where = [self._tags.index(t) if t in self._tags else -1 for t in cols]
        out = [np.zeros((len(s), len(cols)), dtype=np.float64) for s in sentences]
        with self._threads():
            feats = self._features(sentences)
        with self._threads(head=True):
            for i, _, marg in self._batches(sentences, self._prepared(feats), scores=True):
                for j, w in enumerate(where):
                    if w >= 0:
                        out[i][:, j] = marg[:, w]
        return out

    def _batches(self, sentences: Sequence[Sentence], feats: Sequence, scores: bool):
        """``(index, tag path, marginals [words × own tags] or None)`` of every non-empty sentence,
        in length-sorted batches of ``eval_batch_size``."""
        torch = _torch()
        was_training = self.head.training
        self.head.eval()
        order = sorted((i for i, s in enumerate(sentences) if len(s)), key=lambda i: len(sentences[i]))
        bs = self.eval_batch_size
        try:
            with torch.no_grad():
                for b0 in range(0, len(order), bs):
                    idx = order[b0 : b0 + bs]
                    x, mask, _ = self._pad(feats, idx)
                    paths, marg = self.head.decode(x, mask, marginals=scores)
                    marg = marg.cpu().numpy() if scores else None
                    for r, i in enumerate(idx):
                        n = len(sentences[i])
                        yield i, paths[r][:n], (marg[r, :n] if scores else None)
        finally:
            if was_training:
                self.head.train()

    def _decode(self, sentences: Sequence[Sentence], feats: Sequence, wanted, scores: bool = True) -> list[Sentence]:
        out: list[Sentence | None] = [s.with_spans(()) if not len(s) else None for s in sentences]
        for i, path, marg in self._batches(sentences, feats, scores):
            tags = [self._tags[k] for k in path]
            m = [dict(zip(self._tags, marg[w].tolist())) for w in range(len(tags))] if scores else None
            out[i] = sentences[i].with_spans(keep_labels(span_scores(tags, m), wanted))
        return out

    # ------------------------------------------------------------------ persistence

    def save(self, path: str | os.PathLike) -> None:
        if self.head is None:
            raise ProjnerError(E.E148)
        from safetensors.torch import save

        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        with atomic_write(p / HEAD_FILE, "wb") as fh:
            fh.write(save({k: v.detach().cpu().contiguous() for k, v in self.head.state_dict().items()}))
        enc = self.encoder
        write_meta(p, self.backend, self._labels, SCHEME, tags=list(self._tags), params=self.params, seed=self.seed,
                   encoder={"path": str(enc.path), "fingerprint": enc.fingerprint, "layers": list(enc.layers),
                            "precision": enc.precision, "window": enc.window, "overlap": enc.overlap, "dim": enc.dim},
                   info=self.info)

    @classmethod
    def load(cls, path: str | os.PathLike, *, encoder: str | os.PathLike | None = None, device: str = "cpu",
             threads: int | None = None, head_threads: int | None = 1, cache_dir: str | os.PathLike | None | bool = None,
             eval_batch_size: int = 256, progress: bool = True) -> "FastTagger":
        from projner.ner.encoder import encoder_fingerprint

        meta = read_meta(path, cls.backend)
        info = meta.get("encoder") or {}
        if not info.get("path") or not info.get("fingerprint"):
            raise ProjnerError(E.E143, file=str(path), detail="meta.json has no encoder pointer (path and fingerprint)")
        enc_path = Path(encoder if encoder is not None else str(info.get("path", ""))).expanduser()
        if not enc_path.is_dir() or not (enc_path / "config.json").is_file():
            raise ProjnerError(E.E151, file=str(path), path=str(enc_path), detail="no such model folder")
        found = encoder_fingerprint(enc_path)
        if found != info.get("fingerprint"):
            raise ProjnerError(E.E152, file=str(path), path=str(enc_path), found=found, expected=info.get("fingerprint"))
        params = dict(meta.get("params", {}))
        params["precision"] = info.get("precision", params.get("precision", "auto"))
        obj = cls(str(enc_path), seed=meta.get("seed", 0), device=device, threads=threads, head_threads=head_threads,
                  cache_dir=cache_dir, eval_batch_size=eval_batch_size, progress=progress, **params)
        obj._labels = tuple(meta["labels"])
        obj._tags = tuple(meta.get("tags") or tag_names(obj._labels))
        obj.info = dict(meta.get("info", {}))
        obj.encoder = obj._make_encoder(str(enc_path), info.get("layers", params["layers"]))
        if obj.encoder.dim != info.get("dim") or obj.encoder.window != info.get("window"):
            raise ProjnerError(E.E156, file=str(Path(path) / HEAD_FILE),
                               detail=f"encoder gives {obj.encoder.dim}-dim vectors in {obj.encoder.window}-subword windows, "
                                      f"the head expects {info.get('dim')} / {info.get('window')}")
        obj.head = obj._make_head()
        hf = Path(path) / HEAD_FILE
        try:
            from safetensors.torch import load_file

            state = load_file(str(hf), device=str(obj.encoder.device))
            obj.head.load_state_dict(state)
        except Exception as exc:  # missing, truncated or mismatched file
            raise ProjnerError(E.E156, file=str(hf), detail=f"{type(exc).__name__}: {str(exc)[:200]}") from None
        obj.head.eval()
        return obj
