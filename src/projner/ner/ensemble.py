"""A seed ensemble of fast taggers: several heads trained on the same data with different seeds,
decoded as one (a product of experts).

Projected training data is noisy, and a fast head trained on it moves by several F1 points from
one seed to the next (MasakhaNER 2.0: up to 6 points on one language, BENCHMARKS.md). Averaging
the heads removes most of that variance:

* every member is a :class:`~projner.ner.fast.FastTagger` on the same encoder (same folder
  fingerprint, layers, pooling, precision) and the same tags; the encoder runs once per
  sentence (its cached vectors serve every member);
* decoding averages the members' tag scores (emissions) and their CRF start, transition and end
  scores, and runs the constrained Viterbi and forward–backward on the averages: the geometric
  mean of the members' path distributions, renormalised. Softmax heads (``crf=False``) average
  their log-probabilities instead. Output spans are valid IOB2 and carry scores from the
  averaged model's marginals, as a single fast tagger's do;
* ``fit`` trains ``members`` heads with seeds ``seed, seed+1, ...``; :func:`assemble` builds an
  ensemble folder from fast model folders already trained (the pipeline trains members as
  separate cached steps, so an ensemble of three reuses the single-seed models it contains).

Saved as ``meta.json`` (backend ``ensemble``, the member folders and seeds) plus one fast model
folder per member (``member-0``, ...): no pickle, and a member folder loads on its own.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from projner.errors import E, ProjnerError
from projner.ner.base import SCHEME, keep_labels, restrict_labels, span_scores
from projner.ner.fast import FastTagger, _torch
from projner.ner.io import read_meta, write_meta
from projner.registry import taggers
from projner.types import Sentence

MEMBER_DIR = "member-{}"
#: encoder settings that members must share (their vectors are computed once)
_SHARED = ("path", "fingerprint", "layers", "precision", "window", "overlap", "dim")


def _check_members(metas: Sequence[dict], where: Sequence[str]) -> None:
    """E158 unless every member is a fast tagger with the first one's tags and encoder."""
    if not metas:
        raise ProjnerError(E.E158, detail="no members")
    first = metas[0]
    for meta, name in zip(metas, where):
        if meta.get("backend") != FastTagger.backend:
            raise ProjnerError(E.E158, detail=f"{name} is a {meta.get('backend')!r} model; members must be fast taggers")
        if list(meta.get("tags") or []) != list(first.get("tags") or []):
            raise ProjnerError(E.E158, detail=f"{name} has tags {meta.get('tags')}, {where[0]} has {first.get('tags')}")
        enc, enc0 = meta.get("encoder") or {}, first.get("encoder") or {}
        diff = [k for k in _SHARED if k != "path" and enc.get(k) != enc0.get(k)]
        if diff:
            raise ProjnerError(E.E158, detail=f"{name} differs from {where[0]} in its encoder's {', '.join(diff)}")
        pool = (meta.get("params") or {}).get("pooling"), (first.get("params") or {}).get("pooling")
        crf = (meta.get("params") or {}).get("crf"), (first.get("params") or {}).get("crf")
        if pool[0] != pool[1] or crf[0] != crf[1]:
            raise ProjnerError(E.E158, detail=f"{name} differs from {where[0]} in pooling or crf")


def assemble(path: str | os.PathLike, members: Sequence[str | os.PathLike]) -> dict:
    """Write an ensemble folder at ``path`` from trained fast model folders (copied, in order);
    returns its ``meta.json`` content. E158 when the members do not fit together."""
    dirs = [Path(m) for m in members]
    metas = [dict(read_meta(d)) for d in dirs]
    _check_members(metas, [str(d) for d in dirs])
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    names = []
    for k, d in enumerate(dirs):
        name = MEMBER_DIR.format(k)
        shutil.rmtree(out / name, ignore_errors=True)
        shutil.copytree(d, out / name)
        names.append(name)
    first = metas[0]
    return write_meta(out, EnsembleTagger.backend, first["labels"], SCHEME, tags=list(first.get("tags") or []),
                      members=names, seeds=[m.get("seed", 0) for m in metas],
                      info={"members": [m.get("info", {}) for m in metas]})


@taggers.register("projner.tagger.ensemble.v1")
class EnsembleTagger:
    """``members`` fast taggers with seeds ``seed, seed+1, ...``; other keyword arguments go to
    every :class:`~projner.ner.fast.FastTagger` (``model``, ``layers``, ``epochs``, ...)."""

    backend = "ensemble"

    def __init__(self, model: str | os.PathLike | None = None, *, members: int = 3, seed: int = 0,
                 progress: bool = True, **params):
        if int(members) < 1:
            raise ProjnerError(E.E018, detail=f"members must be >= 1, not {members}")
        self.n_members = int(members)
        self.seed = int(seed)
        self.model_name = model
        self.progress = progress
        self.member_params = dict(params)
        FastTagger(model, seed=self.seed, progress=progress, **params)  # checks the parameters now, not after training
        self.members: list[FastTagger] = []
        self._crf = None
        self.info: dict = {}

    @classmethod
    def of(cls, members: Sequence[FastTagger]) -> "EnsembleTagger":
        """An ensemble of fast taggers already trained or loaded (E158 when they do not fit together)."""
        if any(m.head is None for m in members):
            raise ProjnerError(E.E148)
        metas = [{"backend": m.backend, "tags": list(m._tags), "params": m.params,
                  "encoder": {"fingerprint": m.encoder.fingerprint, "layers": list(m.encoder.layers),
                              "precision": m.encoder.precision, "window": m.encoder.window,
                              "overlap": m.encoder.overlap, "dim": m.encoder.dim}} for m in members]
        _check_members(metas, [f"member {k}" for k in range(len(members))])
        obj = cls.__new__(cls)
        obj.n_members, obj.seed, obj.model_name, obj.progress = len(members), members[0].seed, None, members[0].progress
        obj.member_params, obj.members, obj._crf = {}, list(members), None
        obj.info = {"members": [dict(m.info) for m in members]}
        return obj

    @property
    def labels(self) -> tuple[str, ...]:
        return self.members[0].labels if self.members else ()

    @property
    def seeds(self) -> list[int]:
        return [m.seed for m in self.members]

    # ------------------------------------------------------------------ training

    def fit(self, train: Sequence[Sentence], dev: Sequence[Sentence] | None = None) -> "EnsembleTagger":
        self.members = []
        for k in range(self.n_members):
            m = FastTagger(self.model_name, seed=self.seed + k, progress=self.progress, **self.member_params)
            self.members.append(m.fit(train, dev))
        self._crf = None
        self.info = {"members": [dict(m.info) for m in self.members]}
        return self

    # ------------------------------------------------------------------ prediction

    def _combined_crf(self):
        """A CRF whose start, transition and end scores are the members' averages."""
        if self._crf is None:
            torch = _torch()
            from projner.ner.fast_head import Crf

            heads = [m.head for m in self.members]
            crf = Crf(self.members[0]._tags, learn=False).to(heads[0].crf.transitions.device)
            with torch.no_grad():
                for name in ("transitions", "start", "end"):
                    getattr(crf, name).copy_(torch.stack([getattr(h.crf, name) for h in heads]).mean(0))
            self._crf = crf.eval()
        return self._crf

    def _decode_batch(self, x, mask, scores: bool):
        torch = _torch()
        crf = self._combined_crf()
        ems = [m.head.emissions(x, mask) for m in self.members]
        if self.members[0].head.use_crf:
            em = torch.stack(ems).mean(0)
            return crf.viterbi(em, mask), (crf.marginals(em, mask) if scores else None)
        em = torch.stack([torch.log_softmax(e, dim=-1) for e in ems]).mean(0)
        return crf.viterbi(em, mask), (torch.softmax(em, dim=-1) if scores else None)

    def _batches(self, sentences: Sequence[Sentence], scores: bool):
        """``(index, tag path, marginals or None)`` of every non-empty sentence (cf. FastTagger)."""
        torch = _torch()
        if not self.members or any(m.head is None for m in self.members):
            raise ProjnerError(E.E148)
        first = self.members[0]
        with first._threads():
            feats = first._features(sentences)
        with first._threads(head=True):
            feats = first._prepared(feats)
            for m in self.members:
                m.head.eval()
            order = sorted((i for i, s in enumerate(sentences) if len(s)), key=lambda i: len(sentences[i]))
            bs = first.eval_batch_size
            with torch.no_grad():
                for b0 in range(0, len(order), bs):
                    idx = order[b0 : b0 + bs]
                    x, mask, _ = first._pad(feats, idx)
                    paths, marg = self._decode_batch(x, mask, scores)
                    marg = marg.cpu().numpy() if scores else None
                    for r, i in enumerate(idx):
                        n = len(sentences[i])
                        yield i, paths[r][:n], (marg[r, :n] if scores else None)

    def predict(self, sentences: Sequence[Sentence], *, labels: Iterable[str] | None = None) -> list[Sentence]:
        wanted = restrict_labels(self.labels, labels)
        tags = self.members[0]._tags if self.members else ()
        out: list[Sentence | None] = [s.with_spans(()) if not len(s) else None for s in sentences]
        for i, path, marg in self._batches(sentences, scores=True):
            seq = [tags[k] for k in path]
            m = [dict(zip(tags, marg[w].tolist())) for w in range(len(seq))]
            out[i] = sentences[i].with_spans(keep_labels(span_scores(seq, m), wanted))
        return out

    def marginals(self, sentences: Sequence[Sentence], *, tags: Sequence[str] | None = None) -> list[np.ndarray]:
        """Per-word tag probabilities of the averaged model (columns as in
        :meth:`FastTagger.marginals`)."""
        own = self.members[0]._tags if self.members else ()
        cols = tuple(tags) if tags is not None else own
        where = [own.index(t) if t in own else -1 for t in cols]
        out = [np.zeros((len(s), len(cols)), dtype=np.float64) for s in sentences]
        for i, _, marg in self._batches(sentences, scores=True):
            for j, w in enumerate(where):
                if w >= 0:
                    out[i][:, j] = marg[:, w]
        return out

    # ------------------------------------------------------------------ persistence

    def save(self, path: str | os.PathLike) -> None:
        if not self.members or any(m.head is None for m in self.members):
            raise ProjnerError(E.E148)
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        names = []
        for k, m in enumerate(self.members):
            names.append(MEMBER_DIR.format(k))
            m.save(p / names[-1])
        first = self.members[0]
        write_meta(p, self.backend, first.labels, SCHEME, tags=list(first._tags), members=names, seeds=self.seeds,
                   info=self.info)

    @classmethod
    def load(cls, path: str | os.PathLike, **overrides) -> "EnsembleTagger":
        """Load every member with :meth:`FastTagger.load` (``overrides``: its keyword arguments,
        e.g. ``encoder=`` for a moved encoder)."""
        meta = read_meta(path, cls.backend)
        names = meta.get("members")
        if not isinstance(names, list) or not names:
            raise ProjnerError(E.E143, file=str(Path(path) / "meta.json"), detail="an ensemble without a members list")
        members = []
        for name in names:
            d = Path(path) / str(name)
            if Path(str(name)).name != str(name) or not d.is_dir():
                raise ProjnerError(E.E143, file=str(d), detail="a member folder named in meta.json is missing")
            members.append(FastTagger.load(d, **overrides))
        obj = cls.of(members)
        obj.info = dict(meta.get("info", {}))
        return obj
