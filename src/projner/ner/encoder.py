"""Word vectors from a frozen transformers encoder, computed once per sentence and cached.

:class:`WordEncoder` turns token lists into ``(words, len(layers) × hidden)`` ``float16``
arrays: the hidden states of a few layers, concatenated, pooled per word.

1. Sentences are tokenised with the fast tokenizer (``is_split_into_words``); a word with no
   subword (a lone control character) gets the unknown token, so every word has a vector
   (counted as ``zero_subword_words``). Identical sentences are encoded once.
2. The encoder is built with only ``max(layers)`` transformer layers (nothing above runs) and,
   with ``precision="bfloat16"``, autocast to bfloat16 (``auto``: bfloat16 where the CPU has
   native bfloat16 instructions (AVX512-BF16 / AMX) or the GPU supports it, else float32).
3. A sentence longer than the model limit is cut into overlapping windows of subwords, and
   every subword takes its vectors from the window where it sits most centrally: nothing is
   truncated (counted as ``windowed_sentences``). Sequences are sorted by length and batched
   up to ``batch_tokens`` subwords.
4. Subwords are pooled per word (``first`` subword or ``mean``).

Vectors are cached in an :class:`~projner.ner.embedcache.EmbeddingStore` keyed by the
encoder's content fingerprint (:func:`encoder_fingerprint`: independent of where the folder
lies), layers, pooling, precision, windowing and library versions. ``stats`` counts
``forward_passes``, ``encoded_sentences``, ``cache_hits`` and ``cache_misses``.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from projner.errors import E, ProjnerError
from projner.models.encoders import encoder_fingerprint, native_bf16, quiet_transformers
from projner.ner.embedcache import STORE_DTYPE, EmbeddingStore, default_root

POOLINGS = ("first", "mean")
PRECISIONS = ("auto", "float32", "bfloat16")
FORMAT = 1  # bump when the way vectors are computed changes


def resolve_encoder(model: str | os.PathLike | None) -> Path:
    """The local folder of an encoder: ``model`` itself, a hub name's cached snapshot, or (None)
    the prepared e5-small (``projner models prepare e5-small``)."""
    if model is None or str(model) == "":
        from projner.models.prepare import default_e5_dir

        p = default_e5_dir()
        if not (p / "config.json").is_file():
            raise ProjnerError(E.E154, model=str(p), detail="no model given and e5-small is not prepared: run `projner models prepare e5-small`")
        return p.resolve()
    from projner.data.paths import missing_model_folder

    missing = missing_model_folder(str(model))  # a path-like name is a folder, never a hub id
    if missing:
        raise ProjnerError(E.E154, model=str(model), detail=missing)
    p = Path(str(model)).expanduser()
    if p.exists():
        if not p.is_dir() or not (p / "config.json").is_file():
            raise ProjnerError(E.E154, model=str(model), detail="not a model folder (no config.json)")
        return p.resolve()
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(str(model))).resolve()
    except Exception as exc:  # not cached offline, unknown name, no network
        raise ProjnerError(E.E154, model=str(model), detail=f"no such folder, and not a usable hub name ({type(exc).__name__})") from None


def _native_bf16(device) -> bool:
    import torch

    return bool(torch.cuda.is_bf16_supported()) if device.type == "cuda" else native_bf16()


class WordEncoder:
    """Frozen encoder → cached per-word vectors (see the module docstring)."""

    def __init__(self, model: str | os.PathLike | None = None, *, layers: Iterable[int] = (5, 6, 7, 8),
                 pooling: str = "first", precision: str = "auto", device: str = "cpu", max_length: int | None = None,
                 window_overlap: int | None = None, batch_tokens: int = 4096, cache_dir: str | os.PathLike | None | bool = None,
                 progress: bool = False):
        if pooling not in POOLINGS:
            raise ProjnerError(E.E018, detail=f"pooling {pooling!r}; known: {', '.join(POOLINGS)}")
        if precision not in PRECISIONS:
            raise ProjnerError(E.E018, detail=f"precision {precision!r}; known: {', '.join(PRECISIONS)}")
        if batch_tokens < 1:
            raise ProjnerError(E.E018, detail=f"batch_tokens must be >= 1, not {batch_tokens}")
        try:
            import torch
            import transformers
        except ImportError as exc:
            raise ProjnerError(E.E020, package=str(exc.name), hint="projner[ner]") from None
        self._torch = torch
        self.path = resolve_encoder(model)
        self.pooling = pooling
        self.progress = progress
        self.batch_tokens = int(batch_tokens)
        self.stats: Counter = Counter()
        self.device = torch.device("cuda" if device == "auto" and torch.cuda.is_available() else ("cpu" if device == "auto" else device))
        self.precision = ("bfloat16" if _native_bf16(self.device) else "float32") if precision == "auto" else precision
        self._load(transformers, list(layers), max_length, window_overlap)
        self.fingerprint = encoder_fingerprint(self.path)
        self.dim = len(self.layers) * self.hidden
        self.store: EmbeddingStore | None = None
        if cache_dir is not False and cache_dir != "":
            root = default_root() if cache_dir is None or cache_dir is True else Path(cache_dir)
            self.store = EmbeddingStore(root, self.namespace(), self.dim)

    # ------------------------------------------------------------------ loading

    def _load(self, transformers, layers: list[int], max_length: int | None, window_overlap: int | None) -> None:
        from transformers import AutoConfig, AutoModel, AutoTokenizer

        name = str(self.path)
        with quiet_transformers():
            try:
                config = AutoConfig.from_pretrained(name)
            except Exception as exc:
                raise ProjnerError(E.E154, model=name, detail=f"cannot read its config ({type(exc).__name__})") from None
            n = getattr(config, "num_hidden_layers", None)
            if getattr(config, "is_encoder_decoder", False) or not isinstance(n, int):
                raise ProjnerError(E.E154, model=name, detail="not an encoder with num_hidden_layers")
            resolved = [la + n + 1 if la < 0 else la for la in layers]
            if not resolved or any(not 0 <= la <= n for la in resolved) or len(set(resolved)) != len(resolved):
                raise ProjnerError(E.E153, layers=list(layers), model=name, n_layers=n)
            self.layers = tuple(resolved)
            try:
                tok = AutoTokenizer.from_pretrained(name)
            except Exception as exc:
                raise ProjnerError(E.E154, model=name, detail=f"cannot load its tokenizer ({type(exc).__name__})") from None
            if not getattr(tok, "is_fast", False):
                raise ProjnerError(E.E154, model=name, detail="a fast tokenizer (word_ids) is needed")
            config.num_hidden_layers = max(1, max(self.layers))  # nothing above the top layer used runs
            try:
                model = AutoModel.from_pretrained(name, config=config)
            except Exception as exc:
                raise ProjnerError(E.E154, model=name, detail=f"cannot load its weights ({type(exc).__name__}: {str(exc)[:200]})") from None
        self._model = model.eval().to(self.device)
        for p in self._model.parameters():
            p.requires_grad_(False)
        self._tok = tok
        self.hidden = int(config.hidden_size)
        probe = tok([["a"]], is_split_into_words=True, add_special_tokens=True)
        ids, wids = probe["input_ids"][0], probe.word_ids(0)
        first, last = wids.index(0), len(wids) - 1 - wids[::-1].index(0)
        self._prefix, self._suffix = list(ids[:first]), list(ids[last + 1 :])
        self._unk = tok.unk_token_id if tok.unk_token_id is not None else 0
        self._pad = tok.pad_token_id if tok.pad_token_id is not None else 0
        limit = int(getattr(config, "max_position_embeddings", 512) or 512)
        if getattr(config, "model_type", "") in ("roberta", "xlm-roberta", "camembert"):
            limit -= 2  # positions start after padding_idx
        tmax = getattr(tok, "model_max_length", None)
        if isinstance(tmax, int) and 0 < tmax < 100_000:
            limit = min(limit, tmax)
        if max_length is not None:
            limit = min(limit, int(max_length))
        self.window = limit - len(self._prefix) - len(self._suffix)
        if self.window < 2:
            raise ProjnerError(E.E018, detail=f"max_length {limit} leaves no room for subwords")
        self.overlap = self.window // 4 if window_overlap is None else int(window_overlap)
        if not 0 <= self.overlap < self.window:
            raise ProjnerError(E.E018, detail=f"window_overlap must be in [0, {self.window}), not {self.overlap}")

    def namespace(self) -> dict:
        """Everything that determines the vectors (the cache namespace)."""
        import transformers

        return {"format": FORMAT, "encoder": self.fingerprint, "layers": list(self.layers), "pooling": self.pooling,
                "precision": self.precision, "window": self.window, "overlap": self.overlap, "device": self.device.type,
                "torch": self._torch.__version__, "transformers": transformers.__version__}

    # ------------------------------------------------------------------ encoding

    def _subwords(self, sents: Sequence[tuple[str, ...]]) -> list[tuple[list[int], list[int]]]:
        """Per sentence: content subword ids and the word index of each."""
        import transformers

        out = []
        prev = transformers.logging.get_verbosity()
        transformers.logging.set_verbosity_error()  # long sentences are windowed, not truncated
        try:
            for c in range(0, len(sents), 1000):
                batch = [list(s) for s in sents[c : c + 1000]]
                enc = self._tok(batch, is_split_into_words=True, add_special_tokens=False)
                for b, words in enumerate(batch):
                    by_word: list[list[int]] = [[] for _ in words]
                    for tid, w in zip(enc["input_ids"][b], enc.word_ids(b)):
                        if w is not None:
                            by_word[w].append(tid)
                    flat, owner = [], []
                    for w, sub in enumerate(by_word):
                        if not sub:
                            self.stats["zero_subword_words"] += 1
                            sub = [self._unk]
                        flat += sub
                        owner += [w] * len(sub)
                    out.append((flat, owner))
        finally:
            transformers.logging.set_verbosity(prev)
        return out

    def _windows(self, n: int) -> list[tuple[int, int]]:
        w = self.window
        if n <= w:
            return [(0, n)]
        step = w - self.overlap
        return [(a, a + w) for a in list(range(0, n - w, step)) + [n - w]]

    def _forward(self, rows: list[list[int]]) -> np.ndarray:
        torch = self._torch
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), self._pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for r, row in enumerate(rows):
            ids[r, : len(row)] = torch.tensor(row, dtype=torch.long)
            mask[r, : len(row)] = 1
        amp = (torch.autocast(device_type=self.device.type, dtype=torch.bfloat16) if self.precision == "bfloat16"
               else contextlib.nullcontext())
        with torch.inference_mode(), amp:
            out = self._model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device), output_hidden_states=True)
            hs = out.hidden_states
            if len(hs) <= max(self.layers):
                raise ProjnerError(E.E153, layers=list(self.layers), model=str(self.path), n_layers=len(hs) - 1)
            x = torch.cat([hs[la] for la in self.layers], dim=-1)
        self.stats["forward_passes"] += 1
        return x.float().cpu().numpy()

    def _encode(self, subs: list[tuple[list[int], list[int]]]) -> list[np.ndarray]:
        """Pooled float16 word vectors of each (subwords, owners) sequence."""
        pieces = []  # (sequence, start, end)
        for i, (ids, _) in enumerate(subs):
            wins = self._windows(len(ids))
            self.stats["windowed_sentences"] += len(wins) > 1
            pieces += [(i, a, b) for a, b in wins]
        order = sorted(range(len(pieces)), key=lambda k: -(pieces[k][2] - pieces[k][1]))
        batches, cur = [], []
        for k in order:
            if cur and (len(cur) + 1) * (pieces[cur[0]][2] - pieces[cur[0]][1] + 2) > self.batch_tokens:
                batches.append(cur)
                cur = []
            cur.append(k)
        if cur:
            batches.append(cur)
        it = batches
        if self.progress and len(batches) > 1:
            from projner.log import progress_bar

            it = progress_bar(batches, desc="encoding", unit="batch", leave=False)
        vecs: dict[int, np.ndarray] = {}
        np_ = len(self._prefix)
        for batch in it:
            rows = [self._prefix + subs[pieces[k][0]][0][pieces[k][1] : pieces[k][2]] + self._suffix for k in batch]
            hidden = self._forward(rows)
            for r, k in enumerate(batch):
                vecs[k] = hidden[r, np_ : np_ + pieces[k][2] - pieces[k][1]]
        out, k = [], 0
        for ids, owner in subs:
            wins = self._windows(len(ids))
            if len(wins) == 1:
                sub = vecs[k]
            else:  # every subword from the window where it is most central
                centres = np.array([(a + b - 1) / 2.0 for a, b in wins])
                pos = np.arange(len(ids))
                best = np.abs(pos[:, None] - centres[None, :]).argmin(axis=1)
                sub = np.empty((len(ids), self.dim), dtype=np.float32)
                for w, (a, _b) in enumerate(wins):
                    sel = pos[best == w]
                    sub[sel] = vecs[k + w][sel - a]
            k += len(wins)
            out.append(self._pool(sub, np.asarray(owner, dtype=np.int64)))
        self.stats["encoded_sentences"] += len(subs)
        return out

    def _pool(self, sub: np.ndarray, owner: np.ndarray) -> np.ndarray:
        n = int(owner[-1]) + 1
        starts = np.searchsorted(owner, np.arange(n), side="left")
        if self.pooling == "first":
            return sub[starts].astype(STORE_DTYPE)
        counts = np.diff(np.append(starts, len(owner)))
        return (np.add.reduceat(sub, starts, axis=0) / counts[:, None]).astype(STORE_DTYPE)

    # ------------------------------------------------------------------ public

    def embed(self, sents: Sequence[Sequence[str]], *, chunk: int = 2000) -> list[np.ndarray]:
        """``(words, dim)`` float16 vectors per sentence (an empty sentence: ``(0, dim)``).

        Cached sentences are read from the store; the others are encoded (sorted by length, in
        chunks of ``chunk`` sentences, each chunk stored as soon as it is done, so an interrupted
        run keeps what it finished)."""
        keys = [tuple(s) for s in sents]
        for i, k in enumerate(keys):
            if not all(isinstance(t, str) for t in k):
                raise ProjnerError(E.E105, detail=f"sentence {i + 1} has a token that is not a str")
        unique = list(dict.fromkeys(k for k in keys if k))
        done: dict[tuple[str, ...], np.ndarray] = {}
        todo = []
        for k in unique:
            arr = self.store.get(k) if self.store is not None else None
            if arr is None:
                todo.append(k)
            else:
                done[k] = arr
        if self.store is not None:
            self.stats["cache_hits"] += len(done)
            self.stats["cache_misses"] += len(todo)
        todo.sort(key=len)
        for c in range(0, len(todo), chunk):
            part = todo[c : c + chunk]
            for k, arr in zip(part, self._encode(self._subwords(part))):
                done[k] = arr
                if self.store is not None:
                    self.store.put(k, arr)
        empty = np.zeros((0, self.dim), dtype=STORE_DTYPE)
        return [done[k] if k else empty for k in keys]
