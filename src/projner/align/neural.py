"""Neural word alignment from the contextual embeddings of any transformers encoder
(SimAlign-style ArgMax / IterMax / Match, and AWESoME's softmax threshold).

How a corpus is aligned:

1. every distinct sentence of both sides is tokenised once with the fast tokenizer
   (``is_split_into_words=True``; ``word_ids`` give each word's subwords). A word that
   tokenises into zero subwords (a lone zero-width or control character) gets the unknown
   token, so that every word has a vector (counted as ``zero_subword_words``);
2. sentences are sorted by length and encoded many at a time; the encoder is loaded with only
   ``layer`` transformer layers, so nothing above the chosen layer runs. On the CPU, BERT-style
   encoders run packed (no padding rows in the matrix products, fused oneDNN kernels; see
   :mod:`projner.align.neural_encoder`, which also handles ``precision``). Sentences longer than
   the model's limit are cut into overlapping windows (each subword takes its vector from the
   window where it sits most centrally); nothing is ever truncated (``windowed_sentences``);
3. subword vectors are pooled per word (``first`` subword or ``mean``), or kept as subwords
   (``pooling="subword"``: SimAlign's default, links between subwords become word links);
4. per pair a similarity matrix gives the links: ArgMax, IterMax, Match (Hungarian) on
   ``(cos + 1) / 2``, or softmax on dot products with a threshold (AWESoME). The link score is
   that similarity (or the mean of the two softmax probabilities).

Pooled vectors can be cached on disk (``cache_dir``) as ``.npy`` files keyed by a hash of the
sentence's tokens and of everything that determines them (model, layer, pooling, window,
precision; :mod:`projner.align.neural_cache`).
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from projner.align.base import check_parallel
from projner.align.neural_cache import EmbeddingCache
from projner.align.neural_encoder import PRECISIONS, build_runner, load_encoder, model_fingerprint
from projner.models.encoders import cpu_model, native_bf16
from projner.align.neural_methods import (
    METHODS,
    argmax_align,
    cosine_sim,
    itermax_align,
    match_align,
    softmax_align,
)
from projner.errors import E, ProjnerError
from projner.registry import aligners
from projner.types import Alignment, Link

POOLINGS = ("first", "mean", "subword")
Tokens = Sequence[str]


@dataclass
class Encoded:
    """One sentence's vectors: ``units`` rows (words, or subwords with ``unit_word``)."""

    units: np.ndarray
    unit_word: np.ndarray  # word index of each unit


@dataclass
class NeuralAligner:
    model: str
    layer: int = 7  # best mean Europarl F1 for e5-small (layers 6-8 within 0.5 points; BENCHMARKS.md)
    method: str = "itermax"
    pooling: str = "mean"
    batch_size: int = 32  # pairs per forward pass (2 * batch_size sentences)
    device: str | None = None
    max_length: int | None = None
    window_overlap: int | None = None  # subwords shared by consecutive windows (default: a quarter)
    cache_dir: str | os.PathLike | None = None
    softmax_threshold: float = 1e-3
    itermax_rounds: int = 2
    progress: bool = False
    # "float32"; "bfloat16" (CPU: only with native bf16 units, else float32 with a warning);
    # "int8" (dynamic int8 quantisation of the Linear layers, CPU). See neural_encoder.
    precision: str = "float32"
    # speed switches, for benchmarks only (they do not change the links beyond float noise)
    stop_at_layer: bool = True  # build the encoder with only `layer` layers
    sort_by_length: bool = True  # batch sequences of similar length together
    fast_path: bool = True  # packed CPU encoder for BERT-style models (neural_encoder)
    stats: Counter = field(default_factory=Counter, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ProjnerError(E.E103, method=self.method, known=", ".join(METHODS))
        if self.pooling not in POOLINGS:
            raise ProjnerError(E.E104, pooling=self.pooling, known=", ".join(POOLINGS))
        if self.batch_size < 1:
            raise ProjnerError(E.E018, detail=f"batch_size must be >= 1, not {self.batch_size}")
        if not (0.0 < self.softmax_threshold < 1.0):
            raise ProjnerError(E.E018, detail=f"softmax_threshold must be in (0, 1), not {self.softmax_threshold}")
        if self.precision not in PRECISIONS:
            raise ProjnerError(E.E018, detail=f"precision must be one of {', '.join(PRECISIONS)}, not {self.precision!r}")
        if self.itermax_rounds < 1:
            raise ProjnerError(E.E018, detail=f"itermax_rounds must be >= 1, not {self.itermax_rounds}")
        self._load()

    # ------------------------------------------------------------------ loading
    def _load(self) -> None:
        try:
            import torch
        except ImportError as exc:
            raise ProjnerError(E.E020, package=str(exc.name), hint="projner[neural]") from None
        self._torch = torch
        loaded = load_encoder(self.model, self.layer, self.stop_at_layer)
        tok, config = loaded.tok, loaded.config
        self._layer, self._n_layers, self._name = loaded.layer, loaded.n_layers, loaded.name
        self._device = torch.device(self.device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self._tok = tok
        self._model = loaded.model
        # special tokens around one sequence, found by tokenising a dummy word
        probe = tok([["a"]], is_split_into_words=True, add_special_tokens=True)
        ids, wids = probe["input_ids"][0], probe.word_ids(0)
        first = wids.index(0)
        last = len(wids) - 1 - wids[::-1].index(0)
        self._prefix = list(ids[:first])
        self._suffix = list(ids[last + 1 :])
        self._unk = tok.unk_token_id if tok.unk_token_id is not None else (tok.pad_token_id or 0)
        self._pad = tok.pad_token_id if tok.pad_token_id is not None else 0
        limit = int(getattr(config, "max_position_embeddings", 512) or 512)
        tmax = getattr(tok, "model_max_length", None)
        if isinstance(tmax, int) and 0 < tmax < 100_000:
            limit = min(limit, tmax)
        if self.max_length is not None:
            if self.max_length > limit:
                raise ProjnerError(E.E018, detail=f"max_length {self.max_length} exceeds the model limit {limit}")
            limit = self.max_length
        n_special = len(self._prefix) + len(self._suffix)
        if limit - n_special < 2:
            raise ProjnerError(E.E018, detail=f"max_length {limit} leaves no room for subwords ({n_special} special tokens)")
        self._window = limit - n_special
        ov = self.window_overlap if self.window_overlap is not None else self._window // 4
        if not (0 <= ov < self._window):
            raise ProjnerError(E.E018, detail=f"window_overlap must be in [0, {self._window}), not {ov}")
        self._overlap = ov
        # precision actually used: bf16 on a CPU without native bf16 is slower than float32
        self._precision = self.precision
        self._precision_note = ""
        if self.precision == "bfloat16" and self._device.type == "cpu" and not native_bf16():
            self._precision, self._precision_note = "float32", "[bfloat16-requested:cpu-lacks-native-bf16]"
            self.stats["bf16_fallback"] += 1
            warnings.warn(
                f"precision='bfloat16' requested, but this CPU ({cpu_model()}) has no native bf16 units "
                "(avx512_bf16 / amx_bf16): bf16 would be slower than float32 here, so float32 is used",
                RuntimeWarning,
                stacklevel=3,
            )
        probe_rows = [self._prefix + [self._unk] + self._suffix, self._prefix + [self._unk] * 3 + self._suffix]
        self._runner, self.encoder_path = build_runner(
            loaded, self._device, self._precision, fast_path=self.fast_path, probe=probe_rows, pad=self._pad
        )
        self._fingerprint = model_fingerprint(self._name)
        self._cache = None
        if self.cache_dir is not None:
            parts = [self._fingerprint, self._layer, self.pooling, self._window, self._overlap, self._precision]
            self._cache = EmbeddingCache(self.cache_dir, parts, self.stats)

    @property
    def n_layers(self) -> int:
        return self._n_layers

    def signature(self) -> str:
        import transformers

        extra = f"|threshold:{self.softmax_threshold:g}" if self.method == "softmax" else ""
        extra += f"|rounds:{self.itermax_rounds}" if self.method == "itermax" else ""
        prec = self._precision + ("(dynamic-qint8-linear)" if self._precision == "int8" else "") + self._precision_note
        return (
            f"aligner:neural|model:{Path(self._name).name}@{self._fingerprint[:8]}|layer:{self._layer}"
            f"|method:{self.method}|pooling:{self.pooling}{extra}|window:{self._window}/{self._overlap}|precision:{prec}"
            f"|transformers-{transformers.__version__}"
        )

    # ------------------------------------------------------------------ tokenising
    def _subwords(self, sents: Sequence[Tokens]) -> list[tuple[list[int], list[int]]]:
        """Per sentence: (content subword ids, word index of each subword)."""
        out: list[tuple[list[int], list[int]]] = []
        chunk = 512
        for s in range(0, len(sents), chunk):
            batch = [list(t) for t in sents[s : s + chunk]]
            enc = self._tokenize(batch)
            for b, words in enumerate(batch):
                ids = enc["input_ids"][b]
                wids = enc.word_ids(b)
                by_word: list[list[int]] = [[] for _ in words]
                for tid, w in zip(ids, wids):
                    if w is not None:
                        by_word[w].append(tid)
                flat: list[int] = []
                owner: list[int] = []
                for w, sub in enumerate(by_word):
                    if not sub:
                        self.stats["zero_subword_words"] += 1
                        sub = [self._unk]
                    flat.extend(sub)
                    owner.extend([w] * len(sub))
                out.append((flat, owner))
        return out

    def _tokenize(self, batch: list[list[str]]):
        # long sentences are windowed later: silence the "longer than the maximum" warning
        import transformers

        prev = transformers.logging.get_verbosity()
        transformers.logging.set_verbosity_error()
        try:
            return self._tok(batch, is_split_into_words=True, add_special_tokens=False)
        finally:
            transformers.logging.set_verbosity(prev)

    def _windows(self, n: int) -> list[tuple[int, int]]:
        w = self._window
        if n <= w:
            return [(0, n)]
        step = w - self._overlap
        starts = list(range(0, n - w, step)) + [n - w]
        return [(a, a + w) for a in starts]

    # ------------------------------------------------------------------ encoding
    def _encode_subwords(self, seqs: list[list[int]]) -> list[np.ndarray]:
        """Contextual vectors (at ``layer``) of each sequence's content subwords."""
        torch = self._torch
        pieces: list[tuple[int, int, int]] = []  # (sequence, window start, window end)
        for i, ids in enumerate(seqs):
            wins = self._windows(len(ids))
            if len(wins) > 1:
                self.stats["windowed_sentences"] += 1
            pieces.extend((i, a, b) for a, b in wins)
        order = list(range(len(pieces)))
        if self.sort_by_length:
            order.sort(key=lambda k: -(pieces[k][2] - pieces[k][1]))
        win_vecs: dict[int, np.ndarray] = {}
        per_batch = 2 * self.batch_size
        batches = [order[s : s + per_batch] for s in range(0, len(order), per_batch)]
        it = batches
        if self.progress and len(batches) > 1:
            from projner.log import progress_bar

            it = progress_bar(batches, desc="encoding", unit="batch", leave=False)
        np_ = len(self._prefix)
        with torch.inference_mode():
            for batch in it:
                rows = [self._prefix + seqs[pieces[k][0]][pieces[k][1] : pieces[k][2]] + self._suffix for k in batch]
                lengths = [len(r) for r in rows]
                ids = torch.full((len(rows), max(lengths)), self._pad, dtype=torch.long)
                for r, row in enumerate(rows):
                    ids[r, : len(row)] = torch.tensor(row, dtype=torch.long)
                vecs = self._runner.encode(ids, lengths)
                self.stats["forward_passes"] += 1
                for r, k in enumerate(batch):
                    win_vecs[k] = vecs[r][np_ : np_ + pieces[k][2] - pieces[k][1]]
        # stitch windows: each subword from the window where it is most central
        result: list[np.ndarray] = []
        k = 0
        for i, ids in enumerate(seqs):
            wins = self._windows(len(ids))
            if len(wins) == 1:
                result.append(win_vecs[k])
                k += 1
                continue
            centres = np.array([(a + b - 1) / 2.0 for a, b in wins])
            pos = np.arange(len(ids))
            best = np.abs(pos[:, None] - centres[None, :]).argmin(axis=1)
            vec = np.empty((len(ids), win_vecs[k].shape[1]), dtype=np.float32)
            for w, (a, _b) in enumerate(wins):
                sel = pos[best == w]
                vec[sel] = win_vecs[k + w][sel - a]
            result.append(vec)
            k += len(wins)
        return result

    # ------------------------------------------------------------------ public
    def embed(self, sents: Sequence[Tokens]) -> list[Encoded]:
        """Pooled vectors for each sentence (identical sentences are encoded once)."""
        keys = [tuple(s) for s in sents]
        unique = list(dict.fromkeys(k for k in keys if k))
        subs = dict(zip(unique, self._subwords(unique)))
        done: dict[tuple[str, ...], Encoded] = {}
        todo: list[tuple[str, ...]] = []
        for k in unique:
            arr = self._cache.get(k) if self._cache is not None else None
            flat, owner = subs[k]
            expected = len(flat) if self.pooling == "subword" else len(k)
            if arr is not None and arr.ndim == 2 and arr.shape[0] == expected:
                self.stats["cache_hits"] += 1
                done[k] = Encoded(arr, np.asarray(owner) if self.pooling == "subword" else np.arange(len(k)))
            else:
                todo.append(k)
        if todo:
            if self._cache is not None:
                self.stats["cache_misses"] += len(todo)
            vecs = self._encode_subwords([subs[k][0] for k in todo])
            for k, v in zip(todo, vecs):
                enc = pool_words(Encoded(v, np.asarray(subs[k][1], dtype=np.int64)), self.pooling)
                done[k] = enc
                if self._cache is not None:
                    self._cache.put(k, enc.units)
        empty = Encoded(np.zeros((0, 0), dtype=np.float32), np.zeros(0, dtype=np.int64))
        return [done[k] if k else empty for k in keys]

    def align(self, src: Sequence[Tokens], tgt: Sequence[Tokens]) -> list[Alignment]:
        check_parallel(src, tgt)
        for side, sents in (("source", src), ("target", tgt)):
            for i, s in enumerate(sents):
                if isinstance(s, (str, bytes)) or not all(isinstance(t, str) for t in s):
                    raise ProjnerError(E.E105, detail=f"{side} sentence {i + 1} is {type(s).__name__} {str(s)[:40]!r}, not a list of str")
        self.stats["pairs"] += len(src)
        keep = [i for i in range(len(src)) if len(src[i]) and len(tgt[i])]
        self.stats["empty_pairs"] += len(src) - len(keep)
        embedded = self.embed([src[i] for i in keep] + [tgt[i] for i in keep])
        out = [Alignment()] * len(src)
        n = len(keep)
        with _one_blas_thread():  # many tiny matrices: BLAS threads only add overhead
            for k, i in enumerate(keep):
                out[i] = self.align_vectors(embedded[k], embedded[n + k])
        return out

    def align_vectors(self, s: Encoded, t: Encoded) -> Alignment:
        """Links between two encoded sentences with this aligner's method."""
        return align_units(s, t, self.method, threshold=self.softmax_threshold, rounds=self.itermax_rounds)


def _one_blas_thread():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def pool_words(enc: Encoded, pooling: str) -> Encoded:
    """Word vectors from subword-level units (``pooling`` = ``first`` or ``mean``)."""
    if pooling == "subword":
        return enc
    if pooling not in POOLINGS:
        raise ProjnerError(E.E104, pooling=pooling, known=", ".join(POOLINGS))
    own = np.asarray(enc.unit_word, dtype=np.int64)
    n_words = int(own.max()) + 1 if len(own) else 0
    starts = np.searchsorted(own, np.arange(n_words), side="left")
    if pooling == "first":
        return Encoded(enc.units[starts], np.arange(n_words))
    sums = np.add.reduceat(enc.units, starts, axis=0) if n_words else enc.units[:0]
    counts = np.diff(np.append(starts, len(own)))
    return Encoded((sums / counts[:, None]).astype(np.float32), np.arange(n_words))


def align_units(s: Encoded, t: Encoded, method: str, *, threshold: float = 1e-3, rounds: int = 2) -> Alignment:
    """Word links between two encoded sentences: ArgMax / IterMax / Match on ``(cos + 1) / 2``
    or softmax on dot products; unit links (subwords) become links of their words, keeping the
    highest score."""
    if method == "softmax":
        dot = s.units.astype(np.float32) @ t.units.astype(np.float32).T
        links, score = softmax_align(dot, threshold)
    else:
        score = cosine_sim(s.units, t.units)
        if method == "argmax":
            links = argmax_align(score)
        elif method == "itermax":
            links = itermax_align(score, max_count=rounds)
        elif method == "match":
            links = match_align(score)
        else:
            raise ProjnerError(E.E103, method=method, known=", ".join(METHODS))
    ii, jj = np.nonzero(links)
    return Alignment(tuple(Link(int(s.unit_word[a]), int(t.unit_word[b]), float(score[a, b])) for a, b in zip(ii, jj)))


@aligners.register("projner.aligner.neural.v1")
def make_neural(**params: Any) -> NeuralAligner:
    if params.get("model") is None:
        from projner.models.prepare import default_e5_dir

        default = default_e5_dir()
        if not default.exists():
            raise ProjnerError(
                E.E101, model=str(default), detail="no --model given and e5-small is not prepared: run `projner models prepare e5-small`"
            )
        params["model"] = str(default)
    return NeuralAligner(**params)
