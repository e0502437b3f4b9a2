"""A projner tagger as the NER-candidate source of candidate matching (``--method ner|fusion``).

:class:`TaggerCandidates` wraps any tagger with ``predict(sentences, labels=...)`` (a saved
projner model folder through :func:`projner.ner.io.load_tagger`, or any object with that
method) as a :class:`~projner.project.candidates.CandidateModel`: the candidates are the
tagger's predicted spans with their probabilities (``Span.score``; none counts as 1). With
``floor`` set and a tagger that exposes token marginals (``marginals(sentences, tags=...)``,
e.g. the CRF), the k-best alternatives come too: every span of every label whose
marginal-based span score (:func:`~projner.ner.base.span_scores`' product, for any start and
end) is at least ``floor``, up to ``max_len`` words. A tagger without marginals gives its
predicted spans only.

:func:`candidate_model` resolves a ``ner_model`` parameter: a model object, a built-in name
(``capitalisation``) or a model folder.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from projner.errors import E, ProjnerError
from projner.signature import component_signature
from projner.types import Sentence, Span

DEFAULT_MAX_ALT_LEN = 8
_FOLDER_DIGESTS: dict[tuple, str] = {}


def folder_digest(folder: str | os.PathLike) -> str:
    """SHA-256 (16 hex digits) of the relative names and contents of a model folder's files (not
    of its location or file times); computed once per process for unchanged files."""
    p = Path(folder)
    files = sorted(f for f in p.rglob("*") if f.is_file() and not any(part.startswith(".") for part in f.relative_to(p).parts))
    memo = (str(p.resolve()),) + tuple((str(f.relative_to(p)), f.stat().st_size, f.stat().st_mtime_ns) for f in files)
    if memo not in _FOLDER_DIGESTS:
        h = hashlib.sha256()
        for f in files:
            h.update(str(f.relative_to(p)).replace(os.sep, "/").encode("utf-8") + b"\0")
            with open(f, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
            h.update(b"\0")
        _FOLDER_DIGESTS[memo] = h.hexdigest()[:16]
    return _FOLDER_DIGESTS[memo]


class TaggerCandidates:
    """Candidate spans from a tagger (see the module docstring).

    ``labels``: only these types are proposed (default: all the tagger's); ``floor``: also the
    marginal-based alternatives scoring at least this (None: predicted spans only);
    ``max_len``: longest alternative; ``name``: what the signature calls the model (a folder's
    name and content digest, or the tagger's class).
    """

    def __init__(self, tagger: Any, *, labels: Iterable[str] | None = None, floor: float | None = None,
                 max_len: int = DEFAULT_MAX_ALT_LEN, name: str | None = None):
        if not callable(getattr(tagger, "predict", None)):
            raise ProjnerError(E.E135, model=type(tagger).__name__, detail="it has no predict(sentences, labels=...) method")
        if floor is not None and (isinstance(floor, bool) or not isinstance(floor, (int, float)) or not 0.0 < floor <= 1.0):
            raise ProjnerError(E.E135, model=type(tagger).__name__, detail=f"floor must be in (0, 1], got {floor!r}")
        if isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 1:
            raise ProjnerError(E.E135, model=type(tagger).__name__, detail=f"max_len must be a positive integer, got {max_len!r}")
        self.tagger = tagger
        self.labels = None if labels is None else tuple(sorted(set(labels)))
        self.floor = None if floor is None else float(floor)
        self.max_len = max_len
        self.name = name or type(tagger).__name__

    @classmethod
    def from_path(cls, path: str | os.PathLike, **kw: Any) -> "TaggerCandidates":
        """A saved projner model folder (``meta.json`` …), loaded by :func:`projner.ner.io.load_tagger`."""
        from projner.ner.io import load_tagger, read_meta

        p = Path(path).expanduser()
        meta = read_meta(p)  # E143/E144 when it is not a (compatible) projner model
        overrides = {"progress": False} if meta.get("backend") == "crf" else {}
        name = f"{meta.get('backend')}:{p.name}@{folder_digest(p)}"
        return cls(load_tagger(p, **overrides), name=kw.pop("name", name), **kw)

    @property
    def _own_labels(self) -> tuple[str, ...] | None:
        own = getattr(self.tagger, "labels", None)
        return None if own is None else tuple(own)

    def _wanted(self) -> list[str] | None:
        own = self._own_labels
        if self.labels is None:
            return None if own is None else list(own)
        return [x for x in self.labels if own is None or x in own]

    def predict_spans(self, sentences: Sequence[Sequence[str]]) -> list[list[Span]]:
        batch = [Sentence(tuple(t)) for t in sentences]
        wanted = self._wanted()
        pred = list(self.tagger.predict(batch, labels=wanted))
        if len(pred) != len(batch):
            raise ProjnerError(E.E135, model=self.name, detail=f"predict returned {len(pred)} sentences for {len(batch)}")
        out: list[list[Span]] = []
        for i, (s, p) in enumerate(zip(batch, pred)):
            if not isinstance(p, Sentence) or tuple(p.tokens) != s.tokens:
                raise ProjnerError(E.E135, model=self.name, detail=f"sentence {i + 1}: predict returned other tokens")
            out.append([sp for sp in p.spans if wanted is None or sp.label in wanted])
        if self.floor is not None and callable(getattr(self.tagger, "marginals", None)) and wanted:
            from projner.ner.decoding import common_marginals

            margs = common_marginals(self.tagger, batch, wanted, name=self.name)
            out = [_merge(spans, alternatives(m, wanted, self.floor, self.max_len)) for spans, m in zip(out, margs)]
        return out

    def signature(self) -> str:
        return component_signature("candidates", "tagger", model=self.name, labels=self.labels, floor=self.floor,
                                   max_len=self.max_len if self.floor is not None else None)


def alternatives(marginals, labels: Sequence[str], floor: float, max_len: int) -> list[Span]:
    """Every span ``[i, j)`` of every label X whose score P(B-X at i) · Π P(I-X inside) ·
    (1 − P(I-X at j)) is at least ``floor`` (the :func:`~projner.ner.base.span_scores` product),
    from marginals over the IOB2 tags ``O, B-X, I-X …`` of ``labels`` (rows: tokens), at most
    ``max_len`` words."""
    from projner.ner.base import tag_names

    tags = tag_names(tuple(labels))
    col = {t: k for k, t in enumerate(tags)}
    n = len(marginals)
    out = []
    for lab in labels:
        b, inside = col[f"B-{lab}"], col[f"I-{lab}"]
        for i in range(n):
            p = float(marginals[i][b])
            for j in range(i + 1, min(n, i + max_len) + 1):
                if p < floor:
                    break
                cont = float(marginals[j][inside]) if j < n else 0.0
                score = p * (1.0 - cont)
                if score >= floor:
                    out.append(Span(i, j, lab, min(1.0, max(0.0, score))))
                p *= cont
    return out


def _merge(predicted: Sequence[Span], extra: Sequence[Span]) -> list[Span]:
    best: dict[tuple[int, int, str], Span] = {}
    for s in list(predicted) + list(extra):
        prev = best.get(s.key)
        if prev is None or (1.0 if s.score is None else s.score) > (1.0 if prev.score is None else prev.score):
            best[s.key] = s
    return [best[k] for k in sorted(best)]


def candidate_model(spec: Any, builtins: Mapping[str, Any]) -> Any:
    """A ``ner_model`` parameter as a candidate model: an object with ``predict_spans`` as it is,
    a name of ``builtins`` built, a tagger object wrapped, a model folder loaded (E123 otherwise)."""
    if spec is None or callable(getattr(spec, "predict_spans", None)):
        return spec
    if isinstance(spec, (str, os.PathLike)):
        s = str(spec)
        if s in builtins:
            return builtins[s]()
        if Path(s).expanduser().is_dir():
            return TaggerCandidates.from_path(s)
        needs = f"a CandidateModel object, a saved projner model folder or one of: {', '.join(builtins)}"
        if s == "labeller":
            needs += " ('labeller' means the configured labeller only in translate-train and translate-test)"
        raise ProjnerError(E.E123, name="ner_model", needs=needs + f"; {s!r} is none of these")
    if callable(getattr(spec, "predict", None)):
        return TaggerCandidates(spec)
    raise ProjnerError(E.E123, name="ner_model", needs="a predict_spans(list of token lists) method")
