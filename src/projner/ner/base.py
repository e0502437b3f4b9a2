"""The tagger interface shared by every NER backend, and helpers they all use.

A tagger is trained on (or wraps a pretrained model for) whole sentences:

* ``fit(train, dev=None) -> self`` learns from :class:`~projner.types.Sentence` spans;
* ``predict(sentences, labels=None) -> list[Sentence]`` returns new sentences with the same
  tokens and ids and predicted spans, each with ``score`` = the span's probability estimated
  from per-token marginals (see :func:`span_scores`);
* ``save(dir)`` / ``Cls.load(dir)`` use safe formats only (JSON, safetensors, crfsuite's own
  model file) plus a ``meta.json`` naming projner's version, the backend, labels and scheme.

Internally every backend works in IOB2, whatever scheme the input file used: spans are the
interchange format and :func:`projner.data.schemes.encode` / ``decode`` convert.
"""

from __future__ import annotations

import random
from typing import Iterable, Protocol, Sequence, runtime_checkable

import numpy as np

from projner.data.schemes import OUTSIDE, decode, encode
from projner.errors import E, ProjnerError
from projner.types import Sentence, Span

SCHEME = "iob2"
#: the tagger backends projner trains (the others wrap pretrained labellers or saved folders)
TRAINABLE_BACKENDS = ("crf", "transformer", "fast", "pcrf")


@runtime_checkable
class Tagger(Protocol):
    """What the pipeline needs from any NER backend."""

    backend: str

    @property
    def labels(self) -> tuple[str, ...]: ...

    def fit(self, train: Sequence[Sentence], dev: Sequence[Sentence] | None = None) -> "Tagger": ...

    def predict(self, sentences: Sequence[Sentence], *, labels: Iterable[str] | None = None) -> list[Sentence]: ...

    def save(self, path) -> None: ...


# ----------------------------------------------------------------------------- checks


def entity_labels(sentences: Iterable[Sentence]) -> set[str]:
    return {s.label for sent in sentences for s in sent.spans}


def check_training_data(train: Sequence[Sentence], dev: Sequence[Sentence] | None = None) -> tuple[str, ...]:
    """The sorted entity labels of ``train``; clear errors for empty data or dev/train label mismatch."""
    if len(train) == 0:
        raise ProjnerError(E.E140, detail="no sentences")
    if sum(len(s) for s in train) == 0:
        raise ProjnerError(E.E140, detail=f"{len(train)} sentences but no tokens")
    labels = entity_labels(train)
    if not labels:
        raise ProjnerError(E.E140, detail=f"{len(train)} sentences but not one entity span")
    if dev is not None:
        extra = entity_labels(dev) - labels
        if extra:
            raise ProjnerError(E.E141, extra=", ".join(sorted(extra)), known=", ".join(sorted(labels)))
    return tuple(sorted(labels))


def unknown_as_o(train: Sequence[Sentence], backend: str) -> dict:
    """For a tagger without partial-label training: count the words of unknown tag
    (:attr:`Sentence.unknown`) it trains as ``O`` and say so (a warning), never silently.
    Returns the counts for the tagger's ``info`` (empty when there are none)."""
    n_tok = sum(len(s.unknown) for s in train)
    if not n_tok:
        return {}
    import logging

    n_sent = sum(1 for s in train if s.unknown)
    logging.getLogger(__name__).warning(
        "%s backend: %d words of unknown tag in %d training sentences are trained as O "
        "(the fast and pcrf backends train them as partial labels)", backend, n_tok, n_sent)
    return {"unknown_tokens": n_tok, "unknown_sentences": n_sent, "unknown_as": "O"}


class BestEpoch:
    """Dev-based model selection of the torch taggers' epoch loops: keep the weights of the best
    dev epoch, multiply every optimiser's learning rate by ``lr_decay`` after an epoch without
    improvement, and stop after ``patience`` such epochs."""

    def __init__(self, patience: int, lr_decay: float):
        self.patience, self.lr_decay = patience, lr_decay
        self.f1, self.epoch, self.bad, self.state = -1.0, 0, 0, None

    def update(self, epoch: int, f1: float, module, optimizers) -> None:
        if f1 > self.f1:
            self.f1, self.epoch, self.bad = f1, epoch, 0
            self.state = {k: v.detach().clone() for k, v in module.state_dict().items()}
        else:
            self.bad += 1
            for opt in optimizers:
                for group in opt.param_groups:
                    group["lr"] *= self.lr_decay

    @property
    def stop(self) -> bool:
        return self.bad >= self.patience

    def restore(self, module) -> tuple[int, float] | None:
        """Load the best weights into ``module``; (best epoch, its dev F1), or None without dev."""
        if self.state is None:
            return None
        module.load_state_dict(self.state)
        return self.epoch, self.f1


def restrict_labels(model_labels: Sequence[str], wanted: Iterable[str] | None) -> frozenset[str] | None:
    """``None`` (keep all) or the requested subset; labels the model does not know raise E142."""
    if wanted is None:
        return None
    wanted = frozenset(wanted)
    unknown = wanted - set(model_labels)
    if unknown:
        raise ProjnerError(E.E142, unknown=", ".join(sorted(unknown)), known=", ".join(model_labels))
    return wanted


def tag_names(labels: Sequence[str]) -> tuple[str, ...]:
    """IOB2 tag inventory for entity labels: ``O, B-X, I-X, ...`` (stable order)."""
    out = [OUTSIDE]
    for lab in labels:
        out += [f"B-{lab}", f"I-{lab}"]
    return tuple(out)


def to_tags(sent: Sentence) -> tuple[str, ...]:
    return encode(sent.spans, len(sent), SCHEME)


# ----------------------------------------------------------------------------- decoding


def span_scores(tags: Sequence[str], marginals: Sequence[dict[str, float]] | None) -> tuple[Span, ...]:
    """Decode IOB2 ``tags`` into spans whose score is the product of the marginal probabilities
    of the span's own tags (``B-X`` then ``I-X`` ...) times the probability that the next token
    does not continue it (1 − P(I-X) there).

    This treats positions as independent given the marginals, an approximation of the exact
    span probability under the CRF / softmax model; it lies in [0, 1], equals 1 only for a
    certain span, and shrinks with uncertain boundaries. Invalid sequences (``I-`` after ``O``)
    are repaired by beginning a span, as when reading files.
    """
    spans = decode(tags, SCHEME, "begin").spans
    if marginals is None:
        return spans
    out = []
    for s in spans:
        p = 1.0
        for k in range(s.start, s.end):
            p *= marginals[k].get(tags[k], 0.0)
        if s.end < len(tags):
            p *= 1.0 - marginals[s.end].get(f"I-{s.label}", 0.0)
        out.append(s.with_score(float(min(1.0, max(0.0, p)))))
    return tuple(out)


def keep_labels(spans: Iterable[Span], wanted: frozenset[str] | None) -> tuple[Span, ...]:
    return tuple(spans) if wanted is None else tuple(s for s in spans if s.label in wanted)


# ----------------------------------------------------------------------------- misc


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and (when installed) torch."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    try:
        import torch
    except ImportError:  # pragma: no cover
        return
    torch.manual_seed(seed)


def strict_f1(gold: Sequence[Sentence], pred: Sequence[Sentence]) -> float:
    """Micro strict span F1 (used for early stopping; reports use :mod:`projner.evaluate`)."""
    tp = fp = fn = 0
    for g, p in zip(gold, pred, strict=True):
        gk = {s.key for s in g.spans}
        pk = {s.key for s in p.spans}
        tp += len(gk & pk)
        fp += len(pk - gk)
        fn += len(gk - pk)
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0
