"""Token classification with any Hugging Face encoder (``AutoModelForTokenClassification``).

* **First-subword labelling**: a word's tag is predicted from its first subword; the other
  subwords are ignored in the loss (label −100) and at prediction time.
* **Sliding windows, no silent truncation**: a sentence longer than the model limit is cut
  into overlapping windows of whole words (``stride`` subwords of overlap); each word takes its
  prediction from the window where it sits furthest from an edge. A single word longer than a
  whole window keeps only its first subwords (its label comes from the first one anyway).
* Training: AdamW with linear warm-up/decay, gradient clipping, optional freezing of the
  embeddings (``freeze_embeddings``; implied by ``freeze_layers`` > 0; with a 250k-word
  multilingual vocabulary this makes CPU steps many times faster) and of the lowest
  ``freeze_layers`` encoder layers, seeded shuffling; with a dev set,
  strict span F1 is measured after every epoch, the best epoch's weights are kept and training
  stops after ``patience`` epochs without improvement.
* Saved as ``model/`` (``save_pretrained``: safetensors weights, config, tokenizer) plus
  ``meta.json``. Span scores come from the per-word softmax marginals.

``model`` is a local folder or a hub name; with ``HF_HUB_OFFLINE=1`` only local files are used.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from projner.errors import E, ProjnerError
from projner.log import progress_bar
from projner.ner.base import SCHEME, check_training_data, keep_labels, restrict_labels, seed_everything
from projner.ner.base import span_scores, strict_f1, tag_names, to_tags, unknown_as_o
from projner.ner.io import read_meta, write_meta
from projner.registry import taggers
from projner.types import Sentence

MODEL_DIR = "model"


def _torch():
    try:
        import torch
        import transformers  # noqa: F401
    except ImportError:
        raise ProjnerError(E.E020, package="torch/transformers", hint="projner[ner]") from None
    return torch


@contextlib.contextmanager
def _torch_threads(n: int | None):
    """Use ``n`` intra-op CPU threads inside the block (small models run fastest on one)."""
    torch = _torch()
    if not n:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


class _Window:
    """Words ``[start, end)`` of sentence ``sent`` as one model input."""

    __slots__ = ("sent", "start", "end", "input_ids", "first")

    def __init__(self, sent: int, start: int, end: int, input_ids: list[int], first: list[int]):
        self.sent, self.start, self.end, self.input_ids, self.first = sent, start, end, input_ids, first


def _length_grouped_batches(rng: np.random.Generator, lengths: Sequence[int], batch_size: int,
                            group: int = 50) -> list[np.ndarray]:
    """Shuffled batches of similar lengths (less padding, same expected gradient).

    The shuffled order is cut into groups of ``group`` batches; each group is sorted by length
    and cut into batches; the batches are shuffled again. Every index appears exactly once, and
    the result depends only on ``rng``'s state.
    """
    order = rng.permutation(len(lengths))
    lens = np.asarray(lengths)
    batches: list[np.ndarray] = []
    span = batch_size * group
    for g0 in range(0, len(order), span):
        chunk = order[g0 : g0 + span]
        chunk = chunk[np.argsort(-lens[chunk], kind="stable")]
        batches.extend(chunk[b0 : b0 + batch_size] for b0 in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


@taggers.register("projner.tagger.transformer.v1")
class TransformerTagger:
    backend = "transformer"

    def __init__(
        self,
        model: str = "",
        *,
        device: str = "auto",
        epochs: int = 3,
        lr: float = 5e-5,
        batch_size: int = 16,
        eval_batch_size: int = 64,
        max_length: int | None = None,
        stride: int = 32,
        freeze_layers: int = 0,
        freeze_embeddings: bool = False,
        weight_decay: float = 0.01,
        warmup: float = 0.1,
        patience: int = 2,
        seed: int = 0,
        threads: int | None = None,
        progress: bool = True,
    ):
        if not model:
            raise ProjnerError(E.E018, detail="the transformer backend needs model=<encoder folder or hub name>")
        if epochs < 1 or batch_size < 1 or lr <= 0 or stride < 0 or freeze_layers < 0 or patience < 1:
            raise ProjnerError(E.E018, detail="epochs, batch_size, patience >= 1; lr > 0; stride, freeze_layers >= 0")
        self.model_name = os.path.expanduser(str(model)) if str(model).startswith("~") else str(model)
        self.device_spec = device
        self.params = {
            "epochs": int(epochs), "lr": float(lr), "batch_size": int(batch_size), "max_length": max_length,
            "stride": int(stride), "freeze_layers": int(freeze_layers),
            "freeze_embeddings": bool(freeze_embeddings), "weight_decay": float(weight_decay),
            "warmup": float(warmup), "patience": int(patience),
        }
        self.eval_batch_size = int(eval_batch_size)
        self.seed = int(seed)
        self.threads = threads
        self.progress = progress
        self._labels: tuple[str, ...] = ()
        self._tags: tuple[str, ...] = ()
        self.model = None
        self.tokenizer = None
        self.info: dict = {}

    # ------------------------------------------------------------------ setup

    @property
    def labels(self) -> tuple[str, ...]:
        return self._labels

    @property
    def device(self):
        torch = _torch()
        if self.device_spec == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device_spec)

    def _load_tokenizer(self, name: str):
        from transformers import AutoTokenizer

        from projner.data.paths import missing_model_folder

        missing = missing_model_folder(name)  # a path-like name is a folder, never a hub id
        if missing:
            raise ProjnerError(E.E149, name=name, detail=missing)
        try:
            tok = AutoTokenizer.from_pretrained(name)
        except (OSError, ValueError) as exc:
            raise ProjnerError(E.E149, name=name, detail=str(exc).splitlines()[0]) from None
        if not getattr(tok, "is_fast", False):
            raise ProjnerError(E.E149, name=name, detail="a fast (Rust) tokenizer is needed for word alignment")
        return tok

    def _max_len(self) -> int:
        limit = self.params["max_length"]
        cfg = self.model.config
        pos = getattr(cfg, "max_position_embeddings", None) or 512
        # RoBERTa-style models reserve padding_idx + 1 positions
        if getattr(cfg, "model_type", "") in ("roberta", "xlm-roberta", "camembert"):
            pos -= 2
        tmax = getattr(self.tokenizer, "model_max_length", None)
        cands = [pos] + ([tmax] if tmax and tmax < 100_000 else []) + ([int(limit)] if limit else [])
        return int(min(cands))

    def _freeze(self) -> None:
        k = self.params["freeze_layers"]
        base = self.model.base_model
        if self.params["freeze_embeddings"] or k > 0:
            emb = getattr(base, "embeddings", None)
            if emb is None:
                raise ProjnerError(E.E018, detail=f"cannot find the embeddings to freeze in {type(base).__name__}")
            for p in emb.parameters():
                p.requires_grad_(False)
        if k == 0:
            return
        layers = None
        for path in (("encoder", "layer"), ("transformer", "layer"), ("layers",), ("encoder", "layers")):
            obj = base
            for attr in path:
                obj = getattr(obj, attr, None)
                if obj is None:
                    break
            if obj is not None:
                layers = obj
                break
        if layers is None:
            raise ProjnerError(E.E018, detail=f"cannot find encoder layers to freeze in {type(base).__name__}")
        if k > len(layers):
            raise ProjnerError(E.E018, detail=f"freeze_layers={k} but the model has {len(layers)} layers")
        for mod in layers[:k]:
            for p in mod.parameters():
                p.requires_grad_(False)

    # ------------------------------------------------------------------ encoding

    def _specials(self) -> tuple[list[int], list[int]]:
        """The special tokens the tokenizer puts before and after a single sequence."""
        enc = self.tokenizer(["a"], is_split_into_words=True, add_special_tokens=True)
        ids, wids = enc["input_ids"], enc.word_ids()
        first = next(i for i, w in enumerate(wids) if w is not None)
        last = max(i for i, w in enumerate(wids) if w is not None)
        return list(ids[:first]), list(ids[last + 1 :])

    def _windows(self, sentences: Sequence[Sentence]) -> list[_Window]:
        tok = self.tokenizer
        head, tail = self._specials()
        budget = self._max_len() - len(head) - len(tail)
        if budget < 1:
            raise ProjnerError(E.E018, detail=f"max_length {self._max_len()} leaves no room for words")
        stride = min(self.params["stride"], budget // 2)
        prefix = len(head)
        unk = tok.unk_token_id if tok.unk_token_id is not None else 0
        nonempty = [i for i, s in enumerate(sentences) if len(s)]
        windows: list[_Window] = []
        chunk = 1000
        for c0 in range(0, len(nonempty), chunk):
            idx = nonempty[c0 : c0 + chunk]
            # whole sentences are tokenised first and cut into windows below: no "longer than the
            # maximum" warning, since nothing is truncated or fed to the model at this length
            enc = tok([list(sentences[i].tokens) for i in idx], is_split_into_words=True, add_special_tokens=False,
                      verbose=False)
            for b, si in enumerate(idx):
                n = len(sentences[si])
                pieces: list[list[int]] = [[] for _ in range(n)]
                for tid, wid in zip(enc["input_ids"][b], enc.word_ids(b)):
                    if wid is not None:
                        pieces[wid].append(tid)
                pieces = [(p or [unk])[:budget] for p in pieces]
                lens = [len(p) for p in pieces]
                start = 0
                while start < n:
                    end, used = start, 0
                    while end < n and used + lens[end] <= budget:
                        used += lens[end]
                        end += 1
                    ids, first = [], []
                    for w in range(start, end):
                        first.append(prefix + len(ids))
                        ids.extend(pieces[w])
                    windows.append(_Window(si, start, end, head + ids + tail, first))
                    if end >= n:
                        break
                    nxt, ctx = end, 0
                    while nxt - 1 > start and ctx + lens[nxt - 1] <= stride:
                        nxt -= 1
                        ctx += lens[nxt]
                    start = nxt
        return windows

    def _batch(self, windows: Sequence[_Window], labels: Sequence[np.ndarray] | None = None):
        torch = _torch()
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        L = max(len(w.input_ids) for w in windows)
        ids = torch.full((len(windows), L), pad, dtype=torch.long)
        mask = torch.zeros((len(windows), L), dtype=torch.long)
        lab = torch.full((len(windows), L), -100, dtype=torch.long) if labels is not None else None
        for r, w in enumerate(windows):
            ids[r, : len(w.input_ids)] = torch.tensor(w.input_ids, dtype=torch.long)
            mask[r, : len(w.input_ids)] = 1
            if lab is not None:
                lab[r, w.first] = torch.as_tensor(labels[w.sent][w.start : w.end], dtype=torch.long)
        dev = self.device
        out = {"input_ids": ids.to(dev), "attention_mask": mask.to(dev)}
        if lab is not None:
            out["labels"] = lab.to(dev)
        return out

    # ------------------------------------------------------------------ training

    def fit(self, train: Sequence[Sentence], dev: Sequence[Sentence] | None = None) -> "TransformerTagger":
        with _torch_threads(self.threads):
            return self._fit(train, dev)

    def _fit(self, train: Sequence[Sentence], dev: Sequence[Sentence] | None) -> "TransformerTagger":
        labels = check_training_data(train, dev)
        self._init_model(labels)
        index = {t: i for i, t in enumerate(self._tags)}
        y = [np.array([index[t] for t in to_tags(s)], dtype=np.int64) for s in train]
        windows = self._windows(train)
        self._train(windows, lambda ws: self.model(**self._batch(ws, y)).loss, n_train=len(train), dev=dev)
        self.info.update(unknown_as_o(train, "transformer"))
        return self

    def _init_model(self, labels: tuple[str, ...]) -> None:
        """Seed, load the tokenizer and the encoder with a fresh head over ``labels``' IOB2 tags, freeze."""
        from transformers import AutoModelForTokenClassification

        tags = tag_names(labels)
        seed_everything(self.seed)
        self.tokenizer = self._load_tokenizer(self.model_name)
        try:
            self.model = AutoModelForTokenClassification.from_pretrained(
                self.model_name, num_labels=len(tags), id2label=dict(enumerate(tags)),
                label2id={t: i for i, t in enumerate(tags)}, ignore_mismatched_sizes=True,
            )
        except (OSError, ValueError) as exc:
            raise ProjnerError(E.E149, name=self.model_name, detail=str(exc).splitlines()[0]) from None
        self._labels, self._tags = labels, tags
        self.model.to(self.device)
        self._freeze()

    def _train(self, windows: Sequence[_Window], batch_loss: Callable[[list[_Window]], object], *, n_train: int,
               dev: Sequence[Sentence] | None = None, loss_name: str = "loss", digits: int = 4) -> "TransformerTagger":
        """The training loop: ``batch_loss(windows)`` is the loss of one batch (the hook for other
        objectives, e.g. soft targets); AdamW, linear warm-up/decay, clipping, length-grouped
        seeded batches; with ``dev``, early stopping on strict span F1 and the best epoch kept.
        ``info.history`` records the mean loss per epoch under ``loss_name`` (rounded to ``digits``)."""
        torch = _torch()
        from transformers import get_linear_schedule_with_warmup

        p = self.params
        steps_per_epoch = (len(windows) + p["batch_size"] - 1) // p["batch_size"]
        total = steps_per_epoch * p["epochs"]
        params = [q for q in self.model.parameters() if q.requires_grad]
        decay = [q for q in params if q.ndim >= 2]
        no_decay = [q for q in params if q.ndim < 2]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": p["weight_decay"]},
                                 {"params": no_decay, "weight_decay": 0.0}], lr=p["lr"])
        sched = get_linear_schedule_with_warmup(opt, int(p["warmup"] * total), total)
        rng = np.random.default_rng(self.seed)
        best_f1, best_state, best_epoch, bad = -1.0, None, 0, 0
        history = []
        t0 = time.perf_counter()
        bar = progress_bar(total=total, desc="transformer train", unit="step", disable=not self.progress, leave=False)
        for epoch in range(1, p["epochs"] + 1):
            self.model.train()
            loss_sum = 0.0
            for idx in _length_grouped_batches(rng, [len(w.input_ids) for w in windows], p["batch_size"]):
                loss = batch_loss([windows[i] for i in idx])
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                opt.step()
                sched.step()
                opt.zero_grad(set_to_none=True)
                loss_sum += float(loss.detach())
                bar.update(1)
                bar.set_postfix(epoch=epoch, loss=f"{float(loss.detach()):.3f}")
            rec = {"epoch": epoch, loss_name: round(loss_sum / max(1, steps_per_epoch), digits)}
            if dev is not None and len(dev):
                f1 = strict_f1(dev, self.predict(dev))
                rec["dev_f1"] = round(f1, 4)
                if f1 > best_f1:
                    best_f1, best_epoch, bad = f1, epoch, 0
                    best_state = {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()}
                else:
                    bad += 1
            history.append(rec)
            if bad >= p["patience"]:
                break
        bar.close()
        if best_state is not None:
            self.model.load_state_dict(best_state)
        self.info = {"train_seconds": round(time.perf_counter() - t0, 2), "history": history,
                     "n_train": n_train, "n_windows": len(windows)}
        if best_state is not None:
            self.info.update(best_epoch=best_epoch, dev_f1=round(best_f1, 4))
        return self

    # ------------------------------------------------------------------ prediction

    def predict(self, sentences: Sequence[Sentence], *, labels: Iterable[str] | None = None) -> list[Sentence]:
        if self.model is None:
            raise ProjnerError(E.E148)
        with _torch_threads(self.threads):
            return self._predict(sentences, labels)

    def _predict(self, sentences: Sequence[Sentence], labels: Iterable[str] | None) -> list[Sentence]:
        wanted = restrict_labels(self._labels, labels)
        out = []
        for s, pm in zip(sentences, self._word_probs(sentences)):
            if pm is None:
                out.append(s.with_spans(()))
                continue
            best = pm.argmax(axis=1)
            tags = [self._tags[k] for k in best]
            marg = [{t: float(pm[w, k]) for k, t in enumerate(self._tags)} for w in range(len(s))]
            out.append(s.with_spans(keep_labels(span_scores(tags, marg), wanted)))
        return out

    def _word_probs(self, sentences: Sequence[Sentence]) -> list[np.ndarray | None]:
        """Per sentence, the softmax over tags of each word's first subword ``[words, tags]``
        (None for an empty sentence); a word in several windows takes the most central one."""
        torch = _torch()
        windows = self._windows(sentences)
        probs: list[np.ndarray | None] = [None] * len(sentences)
        centrality: list[np.ndarray | None] = [None] * len(sentences)
        for i, s in enumerate(sentences):
            if len(s):
                probs[i] = np.zeros((len(s), len(self._tags)), dtype=np.float64)
                centrality[i] = np.full(len(s), -1, dtype=np.int64)
        order = sorted(range(len(windows)), key=lambda k: len(windows[k].input_ids))
        was_training = self.model.training
        self.model.eval()
        bs = self.eval_batch_size
        with torch.no_grad():
            for b0 in progress_bar(range(0, len(order), bs), desc="transformer tag", unit="batch",
                           disable=not self.progress or len(order) < 20 * bs, leave=False):
                ws = [windows[k] for k in order[b0 : b0 + bs]]
                logits = self.model(**self._batch(ws)).logits
                pr = torch.softmax(logits.float(), dim=-1).cpu().numpy()
                for r, w in enumerate(ws):
                    pos = np.arange(w.start, w.end)
                    cen = np.minimum(pos - w.start, w.end - 1 - pos)
                    better = cen > centrality[w.sent][w.start : w.end]
                    rows = pr[r, w.first][better]
                    probs[w.sent][pos[better]] = rows
                    centrality[w.sent][pos[better]] = cen[better]
        if was_training:
            self.model.train()
        return probs

    # ------------------------------------------------------------------ persistence

    def save(self, path: str | os.PathLike) -> None:
        if self.model is None:
            raise ProjnerError(E.E148)
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(p / MODEL_DIR, safe_serialization=True)
        self.tokenizer.save_pretrained(p / MODEL_DIR)
        write_meta(p, self.backend, self._labels, SCHEME, tags=list(self._tags), base_model=self.model_name,
                   params=self.params, seed=self.seed, info=self.info)

    @classmethod
    def load(cls, path: str | os.PathLike, *, device: str = "auto", progress: bool = True,
             eval_batch_size: int = 64, threads: int | None = None) -> "TransformerTagger":
        from transformers import AutoModelForTokenClassification

        meta = read_meta(path, cls.backend)
        mdir = Path(path) / MODEL_DIR
        if not (mdir / "config.json").is_file():
            raise ProjnerError(E.E143, file=str(path), detail=f"{MODEL_DIR}/config.json is missing")
        params = dict(meta.get("params", {}))
        obj = cls(str(meta.get("base_model") or mdir), device=device, progress=progress,
                  eval_batch_size=eval_batch_size, seed=meta.get("seed", 0), threads=threads, **params)
        obj.tokenizer = obj._load_tokenizer(str(mdir))
        try:
            obj.model = AutoModelForTokenClassification.from_pretrained(str(mdir))
        except (OSError, ValueError) as exc:
            raise ProjnerError(E.E149, name=str(mdir), detail=str(exc).splitlines()[0]) from None
        obj.model.to(obj.device)
        obj.model.eval()
        obj._labels = tuple(meta["labels"])
        obj._tags = tuple(meta.get("tags") or tag_names(obj._labels))
        if obj.model.config.num_labels != len(obj._tags):
            raise ProjnerError(E.E143, file=str(path), detail=f"model has {obj.model.config.num_labels} outputs for {len(obj._tags)} tags")
        obj.info = dict(meta.get("info", {}))
        return obj
