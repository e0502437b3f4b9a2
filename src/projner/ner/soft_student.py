"""A transformer tagger trained on soft targets: per-word tag distributions instead of tags.

:class:`SoftStudent` is a :class:`~projner.ner.transformer.TransformerTagger` (same
tokenisation, sliding windows, batching, freezing and training loop) whose loss is the KL
divergence from the targets to its first-subword softmax, averaged over words. crfsuite cannot
train on soft targets, so this is the student of soft-label teacher–student distillation
(:mod:`projner.research.self_training`). It is saved and loaded as a plain transformer tagger.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from projner.errors import E, ProjnerError
from projner.ner.base import tag_names
from projner.ner.decoding import EPS
from projner.ner.transformer import TransformerTagger, _torch, _torch_threads
from projner.types import Sentence


class SoftStudent(TransformerTagger):
    """A transformer student trained on soft targets (KL divergence, first subword)."""

    def fit_soft(self, sentences: Sequence[Sentence], targets: Sequence[np.ndarray], labels: Sequence[str]) -> "SoftStudent":
        """Train on ``targets[k]``: a ``[words, tags]`` distribution over the IOB2 tags of ``labels``
        for sentence ``k``; ``info.history`` records the mean KL per epoch (``kl``)."""
        with _torch_threads(self.threads):
            return self._fit_soft(sentences, targets, tuple(labels))

    def _fit_soft(self, sentences: Sequence[Sentence], targets: Sequence[np.ndarray], labels: tuple[str, ...]) -> "SoftStudent":
        torch = _torch()
        tags = tag_names(labels)
        if len(sentences) != len(targets):
            raise ProjnerError(E.E241, detail=f"{len(sentences)} sentences but {len(targets)} target arrays")
        for k, (s, t) in enumerate(zip(sentences, targets)):
            if np.asarray(t).shape != (len(s), len(tags)):
                raise ProjnerError(E.E241, detail=f"sentence {k}: targets of shape {np.asarray(t).shape}, need {(len(s), len(tags))}")
        self._init_model(labels)
        tgt = [np.asarray(t, dtype=np.float32) for t in targets]
        windows = self._windows(sentences)

        def kl_loss(ws):
            logits = self.model(**self._batch(ws)).logits
            target = torch.zeros_like(logits)
            mask = torch.zeros(logits.shape[:2], dtype=logits.dtype, device=logits.device)
            for r, w in enumerate(ws):
                target[r, w.first] = torch.as_tensor(tgt[w.sent][w.start : w.end], device=logits.device)
                mask[r, w.first] = 1.0
            logq = torch.log_softmax(logits.float(), dim=-1)
            kl = (target * (torch.log(target.clamp_min(EPS)) - logq)).sum(-1)
            return (kl * mask).sum() / mask.sum().clamp_min(1.0)

        self._train(windows, kl_loss, n_train=len(sentences), loss_name="kl", digits=5)
        self.model.eval()
        self.info["objective"] = "kl-soft-targets"
        return self

    def marginals(self, sentences: Sequence[Sentence], *, tags: Sequence[str] | None = None) -> list[np.ndarray]:
        """Per-word softmax distributions over ``tags`` (default: the model's own; a tag the
        model does not know gets 0); first subword, the most central window wins."""
        if self.model is None:
            raise ProjnerError(E.E148)
        with _torch_threads(self.threads):
            probs = self._word_probs(sentences)
        cols = tuple(tags) if tags is not None else self._tags
        idx = {t: i for i, t in enumerate(self._tags)}
        out = []
        for s, pm in zip(sentences, probs):
            m = np.zeros((len(s), len(cols)))
            for j, t in enumerate(cols):
                if t in idx and pm is not None:
                    m[:, j] = pm[:, idx[t]]
            out.append(m)
        return out

    def kl_to(self, sentences: Sequence[Sentence], targets: Sequence[np.ndarray]) -> float:
        """Mean per-token KL(target ‖ student) on ``sentences``."""
        marg = self.marginals(sentences)
        tot, n = 0.0, 0
        for t, q in zip(targets, marg):
            t = np.asarray(t, dtype=np.float64)
            tot += float((t * (np.log(np.clip(t, EPS, 1)) - np.log(np.clip(q, EPS, 1)))).sum())
            n += len(t)
        return tot / max(1, n)
