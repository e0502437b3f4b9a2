"""Neural word alignment from the contextual embeddings of any transformers encoder
(SimAlign-style ArgMax / IterMax / Match, and AWESoME's softmax threshold).

How a corpus is aligned:

1. every distinct sentence of both sides is tokenised once with the fast tokenizer
   (``is_split_into_words=True``; ``word_ids`` give each word's subwords). A word that
   tokenises into zero subwords (a lone zero-width or control character) gets the unknown
   token, so that every word has a vector (counted as ``zero_subword_words``);
2. sentences are sorted by length and encoded many at a time; the encoder is loaded with only
   ``layer`` transformer layers, so nothing above the chosen layer runs. Sentences longer than
   the model's limit are cut into overlapping windows (each subword takes its vector from the
   window where it sits most centrally); nothing is ever truncated (``windowed_sentences``);
3. subword vectors are pooled per word (``first`` subword or ``mean``), or kept as subwords
   (``pooling="subword"``: SimAlign's default, links between subwords become word links);
4. per pair a similarity matrix gives the links: ArgMax, IterMax, Match (Hungarian) on
   ``(cos + 1) / 2``, or softmax on dot products with a threshold (AWESoME). The link score is
   that similarity (or the mean of the two softmax probabilities).

Pooled vectors can be cached on disk (``cache_dir``) as ``.npy`` files keyed by a hash of the
sentence's tokens and of everything that determines them (model, layer, pooling, window).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from projner.align.base import check_parallel
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
CACHE_VERSION = 1


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
    batch_size: int = 32
    device: str | None = None
    max_length: int | None = None
    window_overlap: int | None = None  # subwords shared by consecutive windows (default: a quarter)
    cache_dir: str | os.PathLike | None = None
    softmax_threshold: float = 1e-3
    itermax_rounds: int = 2
    progress: bool = False
    precision: str = "float32"  # or "bfloat16": autocast the encoder (faster on CPUs with AVX512-BF16/AMX; links may differ slightly)
    # speed switches, for benchmarks only (they do not change the links beyond float noise)
    stop_at_layer: bool = True  # build the encoder with only `layer` layers
    sort_by_length: bool = True  # batch sequences of similar length together
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
        if self.precision not in ("float32", "bfloat16"):
            raise ProjnerError(E.E018, detail=f"precision must be float32 or bfloat16, not {self.precision!r}")
        if self.itermax_rounds < 1:
            raise ProjnerError(E.E018, detail=f"itermax_rounds must be >= 1, not {self.itermax_rounds}")
        self._load()

    # ------------------------------------------------------------------ loading
    def _load(self) -> None:
        try:
            import torch
            import transformers
            from transformers import AutoConfig, AutoModel, AutoTokenizer
        except ImportError as exc:
            raise ProjnerError(E.E020, package=str(exc.name), hint="projner[neural]") from None
        self._torch = torch
        name = str(self.model)
        local = Path(name).expanduser()
        if local.exists():
            if not local.is_dir() or not (local / "config.json").exists():
                raise ProjnerError(E.E101, model=name, detail="not a model folder (no config.json)")
            name = str(local.resolve())
        prev = transformers.logging.get_verbosity()
        bars = transformers.utils.logging.is_progress_bar_enabled()
        transformers.logging.set_verbosity_error()
        transformers.utils.logging.disable_progress_bar()
        try:
            try:
                config = AutoConfig.from_pretrained(name)
            except Exception as exc:  # hub unreachable, malformed config, unknown model type
                raise ProjnerError(E.E101, model=self.model, detail=f"cannot read its config ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None
            if getattr(config, "is_encoder_decoder", False):
                raise ProjnerError(E.E101, model=self.model, detail=f"{config.model_type} is an encoder-decoder; an encoder is needed")
            from transformers.models.auto.modeling_auto import (
                MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
                MODEL_FOR_MASKED_LM_MAPPING_NAMES,
                MODEL_MAPPING_NAMES,
            )

            mt = config.model_type
            if mt not in MODEL_MAPPING_NAMES:
                raise ProjnerError(E.E101, model=self.model, detail=f"model type {mt!r} has no transformers base model")
            if mt in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES and mt not in MODEL_FOR_MASKED_LM_MAPPING_NAMES:
                raise ProjnerError(E.E101, model=self.model, detail=f"{mt} is a decoder-only (causal) model; an encoder is needed")
            n_layers = getattr(config, "num_hidden_layers", None)
            if not isinstance(n_layers, int):
                raise ProjnerError(E.E101, model=self.model, detail="its config has no num_hidden_layers")
            layer = self.layer + n_layers + 1 if self.layer < 0 else self.layer
            if not (0 <= layer <= n_layers):
                raise ProjnerError(E.E102, layer=self.layer, model=self.model, n_layers=n_layers)
            self._layer = layer
            self._n_layers = n_layers
            try:
                tok = AutoTokenizer.from_pretrained(name)
            except Exception as exc:
                raise ProjnerError(E.E101, model=self.model, detail=f"cannot load its tokenizer ({type(exc).__name__})") from None
            if not getattr(tok, "is_fast", False):
                raise ProjnerError(E.E107, model=self.model, detail=f"{type(tok).__name__}")
            # stop the encoder at the chosen layer: build it with only `layer` transformer layers
            if self.stop_at_layer:
                config.num_hidden_layers = layer
            try:
                model = AutoModel.from_pretrained(name, config=config)
            except Exception as exc:
                raise ProjnerError(E.E101, model=self.model, detail=f"cannot load its weights ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None
        finally:
            transformers.logging.set_verbosity(prev)
            if bars:
                transformers.utils.logging.enable_progress_bar()
        dev = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        self._device = torch.device(dev)
        model.eval().to(self._device)
        self._tok = tok
        self._model = model
        self._name = name
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
        # does the truncated model really stop at `layer`? (a model ignoring the config would not)
        with torch.inference_mode():
            x = torch.tensor([self._prefix + [self._unk] + self._suffix], device=self._device)
            out = model(input_ids=x, attention_mask=torch.ones_like(x), output_hidden_states=True)
        hs = getattr(out, "hidden_states", None)
        self._pick_hidden = bool(hs) and len(hs) != layer + 1  # (no hidden states at all: a 0-layer model)
        if self._pick_hidden and len(hs) <= layer:
            raise ProjnerError(E.E102, layer=self.layer, model=self.model, n_layers=len(hs) - 1)
        self._fingerprint = self._model_fingerprint(name)

    @staticmethod
    def _model_fingerprint(name: str) -> str:
        h = hashlib.sha256(name.encode())
        p = Path(name)
        if p.is_dir():
            for f in sorted(p.iterdir()):
                if f.is_file() and f.suffix in (".json", ".safetensors", ".bin", ".model", ".txt"):
                    st = f.stat()
                    h.update(f"{f.name}:{st.st_size}:{int(st.st_mtime)}".encode())
                    if f.suffix == ".json":
                        h.update(f.read_bytes())
        return h.hexdigest()[:16]

    @property
    def n_layers(self) -> int:
        return self._n_layers

    def signature(self) -> str:
        import transformers

        extra = f"|threshold:{self.softmax_threshold:g}" if self.method == "softmax" else ""
        extra += f"|rounds:{self.itermax_rounds}" if self.method == "itermax" else ""
        return (
            f"aligner:neural|model:{Path(self._name).name}@{self._fingerprint[:8]}|layer:{self._layer}"
            f"|method:{self.method}|pooling:{self.pooling}{extra}|window:{self._window}/{self._overlap}|precision:{self.precision}"
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
            from tqdm import tqdm

            it = tqdm(batches, desc="encoding", unit="batch", leave=False)
        np_, ns_ = len(self._prefix), len(self._suffix)
        with torch.inference_mode():
            for batch in it:
                rows = [self._prefix + seqs[pieces[k][0]][pieces[k][1] : pieces[k][2]] + self._suffix for k in batch]
                width = max(len(r) for r in rows)
                ids = torch.full((len(rows), width), self._pad, dtype=torch.long)
                mask = torch.zeros((len(rows), width), dtype=torch.long)
                for r, row in enumerate(rows):
                    ids[r, : len(row)] = torch.tensor(row, dtype=torch.long)
                    mask[r, : len(row)] = 1
                ids, mask = ids.to(self._device), mask.to(self._device)
                amp = (
                    torch.autocast(device_type=self._device.type, dtype=torch.bfloat16)
                    if self.precision == "bfloat16"
                    else contextlib.nullcontext()
                )
                with amp:
                    if self._pick_hidden:
                        out = self._model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
                        hidden = out.hidden_states[self._layer]
                    else:
                        hidden = self._model(input_ids=ids, attention_mask=mask).last_hidden_state
                hidden = hidden.float().cpu().numpy()
                self.stats["forward_passes"] += 1
                for r, k in enumerate(batch):
                    n = len(rows[r]) - np_ - ns_
                    win_vecs[k] = hidden[r, np_ : np_ + n]
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

    def _pool(self, vec: np.ndarray, owner: list[int], n_words: int) -> Encoded:
        return pool_words(Encoded(vec, np.asarray(owner, dtype=np.int64)), self.pooling)

    # ------------------------------------------------------------------ cache
    def _cache_key(self, tokens: tuple[str, ...]) -> str:
        h = hashlib.sha256()
        h.update(
            json.dumps(
                [CACHE_VERSION, self._fingerprint, self._layer, self.pooling, self._window, self._overlap, self.precision, list(tokens)],
                ensure_ascii=False,
            ).encode("utf-8")
        )
        return h.hexdigest()

    def _cache_path(self, key: str) -> Path:
        return Path(self.cache_dir).expanduser() / key[:2] / f"{key}.npy"

    def _cache_get(self, tokens: tuple[str, ...]) -> np.ndarray | None:
        if self.cache_dir is None:
            return None
        p = self._cache_path(self._cache_key(tokens))
        if not p.exists():
            return None
        try:
            arr = np.load(p, allow_pickle=False)
        except (ValueError, OSError):
            self.stats["cache_unreadable"] += 1
            return None
        return arr

    def _cache_put(self, tokens: tuple[str, ...], arr: np.ndarray) -> None:
        if self.cache_dir is None:
            return
        p = self._cache_path(self._cache_key(tokens))
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".", suffix=".npy.tmp", dir=str(p.parent))
            with os.fdopen(fd, "wb") as fh:
                np.save(fh, np.ascontiguousarray(arr), allow_pickle=False)
            os.replace(tmp, p)
        except OSError as exc:
            raise ProjnerError(E.E108, path=str(self.cache_dir), detail=str(exc)) from None

    # ------------------------------------------------------------------ public
    def embed(self, sents: Sequence[Tokens]) -> list[Encoded]:
        """Pooled vectors for each sentence (identical sentences are encoded once)."""
        keys = [tuple(s) for s in sents]
        unique = list(dict.fromkeys(k for k in keys if k))
        subs = dict(zip(unique, self._subwords(unique)))
        done: dict[tuple[str, ...], Encoded] = {}
        todo: list[tuple[str, ...]] = []
        for k in unique:
            arr = self._cache_get(k)
            flat, owner = subs[k]
            expected = len(flat) if self.pooling == "subword" else len(k)
            if arr is not None and arr.ndim == 2 and arr.shape[0] == expected:
                self.stats["cache_hits"] += 1
                done[k] = Encoded(arr, np.asarray(owner) if self.pooling == "subword" else np.arange(len(k)))
            else:
                todo.append(k)
        if todo:
            if self.cache_dir is not None:
                self.stats["cache_misses"] += len(todo)
            vecs = self._encode_subwords([subs[k][0] for k in todo])
            for k, v in zip(todo, vecs):
                enc = self._pool(v, subs[k][1], len(k))
                done[k] = enc
                self._cache_put(k, enc.units)
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
