"""The light head of the fast tagger: word vectors → tag scores → constrained IOB2 CRF.

* :class:`Head`: each layer's part of a word vector normalised on its own (a fixed layer norm,
  :meth:`Head.prepare`, applied once per sentence) → linear → GELU, then (``context`` > 0) a residual width-``2·context+1`` convolution over
  neighbouring words → GELU, dropout, linear tag scores. Padding positions are zeroed before the
  convolution, so a sentence's scores do not depend on what it is batched with. With ``bf16``
  the matrix products run in bfloat16 (autocast; the CRF stays in float32).
* :class:`Crf`: a linear-chain CRF over IOB2 tags whose forbidden moves (``I-X`` at the start
  or after anything but ``B-X`` / ``I-X``) score −10⁴: Viterbi decoding always yields valid
  IOB2. ``nll`` trains it, ``marginals`` (forward–backward) give per-word tag probabilities.
  With ``crf=False`` the transition scores stay zero (only the constraints apply): softmax
  training, constrained decoding.
* Partial labels: ``nll(..., allowed=)`` takes a ``[B, L, T]`` bool mask of the tags each word
  may have (one tag for a known word, several for an unknown one; :func:`allowed_tags` builds
  it from :attr:`Sentence.unknown`) and returns ``logZ − logZ_allowed``: the negative log of
  the probability of all valid paths through the allowed tags. Rows with a single allowed tag
  per word use the exact gold path score, so fully labelled data gives the plain ``nll``.
  Softmax heads (``crf=False``) put no loss on words with several allowed tags.
"""

from __future__ import annotations

import contextlib
from typing import Sequence

import numpy as np
import torch
from torch import nn

from projner.ner.decoding import iob2_constraints

FORBIDDEN = -1.0e4


def allowed_tags(gold: Sequence[int], unknown: Sequence[int], tags: Sequence[str]) -> np.ndarray:
    """``[L, T]`` bool: the tags each word may have in training. A known word allows its gold
    tag only; an unknown word allows every tag, except ``I-X`` where the word before is known
    (after a known ``O`` IOB2 forbids it; after a known span it would lengthen a span whose end
    is known). The gold tag of an unknown word (``O``) is not used."""
    out = np.zeros((len(gold), len(tags)), dtype=bool)
    out[np.arange(len(gold)), np.asarray(gold, dtype=np.int64)] = True
    inside = np.array([t.startswith("I-") for t in tags], dtype=bool)
    unk = set(int(i) for i in unknown)
    for i in unk:
        out[i] = True
        if i - 1 not in unk:
            out[i, inside] = False
    return out


class Crf(nn.Module):
    def __init__(self, tags: Sequence[str], learn: bool = True):
        super().__init__()
        n = len(tags)
        start_ok, trans_ok = iob2_constraints(tags)
        self.register_buffer("start_mask", torch.where(torch.from_numpy(start_ok), 0.0, FORBIDDEN))
        self.register_buffer("trans_mask", torch.where(torch.from_numpy(trans_ok), 0.0, FORBIDDEN))
        self.transitions = nn.Parameter(torch.zeros(n, n), requires_grad=learn)
        self.start = nn.Parameter(torch.zeros(n), requires_grad=learn)
        self.end = nn.Parameter(torch.zeros(n), requires_grad=learn)

    def _scores(self):
        return self.start + self.start_mask, self.transitions + self.trans_mask, self.end

    def _alphas(self, em: torch.Tensor, mask: torch.Tensor) -> list[torch.Tensor]:
        start, trans, _ = self._scores()
        a = start + em[:, 0]
        out = [a]
        for t in range(1, em.shape[1]):
            nxt = torch.logsumexp(a.unsqueeze(2) + trans, dim=1) + em[:, t]
            a = torch.where(mask[:, t : t + 1], nxt, a)
            out.append(a)
        return out

    def nll(self, em: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor,
            allowed: torch.Tensor | None = None) -> torch.Tensor:
        """Mean negative log-likelihood of gold ``tags`` ``[B, L]`` (``mask`` marks real words; every row has one).

        With ``allowed`` (``[B, L, T]`` bool, see :func:`allowed_tags`), a row where some real
        word allows several tags scores ``logZ − logZ_allowed`` (partial labels: the marginal
        likelihood of every valid path through the allowed tags); the other rows score their gold
        path exactly as without ``allowed``."""
        start, trans, end = self._scores()
        lengths = mask.sum(1)
        last = tags.gather(1, (lengths - 1).unsqueeze(1)).squeeze(1)
        gold = start[tags[:, 0]] + end[last]
        gold = gold + (em.gather(2, tags.unsqueeze(2)).squeeze(2) * mask).sum(1)
        gold = gold + (trans[tags[:, :-1], tags[:, 1:]] * mask[:, 1:]).sum(1)
        log_z = torch.logsumexp(self._alphas(em, mask)[-1] + end, dim=1)
        if allowed is not None:
            partial = ((allowed.sum(2) > 1) & mask).any(1)
            if bool(partial.any()):
                rows = partial.nonzero().squeeze(1)
                em_a = torch.where(allowed[rows], em[rows], torch.full_like(em[rows], 2 * FORBIDDEN))
                log_za = torch.logsumexp(self._alphas(em_a, mask[rows])[-1] + end, dim=1)
                gold = gold.index_put((rows,), log_za)
        return (log_z - gold).mean()

    def marginals(self, em: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``[B, L, T]`` per-word tag probabilities (rows beyond a sentence's end are meaningless)."""
        _, trans, end = self._scores()
        alphas = self._alphas(em, mask)
        b = end.expand(em.shape[0], -1)
        betas = [b]
        for t in range(em.shape[1] - 1, 0, -1):
            prev = torch.logsumexp(trans + (em[:, t] + b).unsqueeze(1), dim=2)
            b = torch.where(mask[:, t : t + 1], prev, b)
            betas.append(b)
        betas.reverse()
        log_z = torch.logsumexp(alphas[-1] + end, dim=1, keepdim=True)
        return torch.stack([torch.exp(a + bt - log_z) for a, bt in zip(alphas, betas)], dim=1)

    def viterbi(self, em: torch.Tensor, mask: torch.Tensor) -> list[list[int]]:
        start, trans, end = self._scores()
        score = start + em[:, 0]
        back = []
        for t in range(1, em.shape[1]):
            cand = score.unsqueeze(2) + trans
            best, idx = cand.max(dim=1)
            nxt = best + em[:, t]
            m = mask[:, t : t + 1]
            score = torch.where(m, nxt, score)
            back.append(torch.where(m, idx, torch.arange(em.shape[2], device=em.device).expand_as(idx)))
        score = score + end
        lengths = mask.sum(1).tolist()
        last = score.argmax(1).tolist()
        back_np = [bp.cpu().numpy() for bp in back]
        paths = []
        for r, n in enumerate(lengths):
            path = [last[r]]
            for t in range(n - 1, 0, -1):
                path.append(int(back_np[t - 1][r, path[-1]]))
            paths.append(path[::-1])
        return paths


class Head(nn.Module):
    """Tag scores from word vectors made of ``groups`` equal parts (one per encoder layer)."""

    def __init__(self, dim: int, tags: Sequence[str], *, groups: int = 1, hidden: int = 256, context: int = 1,
                 dropout: float = 0.2, crf: bool = True, bf16: bool = False):
        super().__init__()
        if dim % groups:
            raise ValueError(f"{dim}-dim vectors cannot be split into {groups} layers")
        self.groups = int(groups)
        self.drop = nn.Dropout(dropout)
        self.context = int(context)
        self.proj = nn.Linear(dim, hidden)
        self.ctx = nn.Conv1d(hidden, hidden, 2 * context + 1, padding=context) if context else None
        self.out = nn.Linear(hidden, len(tags))
        self.crf = Crf(tags, learn=crf)
        self.use_crf = bool(crf)
        self.bf16 = bool(bf16)

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """Word vectors ``[..., dim]`` as the head reads them: every layer's part normalised on its
        own (a layer norm without parameters: the projection learns the scale), in bfloat16 with
        ``bf16`` and float32 otherwise. Done once per sentence, not once per epoch."""
        shape = x.shape
        d = shape[-1] // self.groups
        y = nn.functional.layer_norm(x.float().reshape(*shape[:-1], self.groups, d), (d,)).reshape(shape)
        return y.to(torch.bfloat16) if self.bf16 else y

    def emissions(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Tag scores ``[B, L, T]`` (float32) of prepared vectors ``x`` (see :meth:`prepare`)."""
        amp = torch.autocast(device_type=x.device.type, dtype=torch.bfloat16) if self.bf16 else contextlib.nullcontext()
        with amp:
            h = nn.functional.gelu(self.proj(x)) * mask.unsqueeze(2)  # padding → 0
            if self.ctx is not None:
                h = h + nn.functional.gelu(self.ctx(h.transpose(1, 2)).transpose(1, 2))
            em = self.out(self.drop(h))
        return em.float()

    def loss(self, x: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor,
             allowed: torch.Tensor | None = None) -> torch.Tensor:
        """Training loss; ``allowed`` (``[B, L, T]`` bool) marks partial labels (see :meth:`Crf.nll`)."""
        em = self.emissions(x, mask)
        if self.use_crf:
            return self.crf.nll(em, tags, mask, allowed)
        known = mask if allowed is None else mask & (allowed.sum(2) <= 1)
        if not bool(known.any()):  # only unknown words: nothing to learn from
            return em.sum() * 0.0
        return nn.functional.cross_entropy(em[known], tags[known])

    def decode(self, x: torch.Tensor, mask: torch.Tensor, marginals: bool = True) -> tuple[list[list[int]], torch.Tensor | None]:
        """Best valid tag paths and (``marginals``) ``[B, L, T]`` per-word tag probabilities
        (CRF marginals; softmax probabilities without CRF)."""
        em = self.emissions(x, mask)
        if self.use_crf:
            return self.crf.viterbi(em, mask), (self.crf.marginals(em, mask) if marginals else None)
        logp = torch.log_softmax(em, dim=-1)
        return self.crf.viterbi(logp, mask), (logp.exp() if marginals else None)
