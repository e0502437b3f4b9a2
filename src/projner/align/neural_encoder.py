"""The encoder behind :class:`projner.align.neural.NeuralAligner`: loading a transformers
encoder (checked to be an encoder with a fast tokenizer), choosing its precision, and running it.

Two ways of running it, same vectors (up to float rounding):

* **packed** (CPU, BERT-style layers: BERT, RoBERTa, XLM-R, e5, ...): the model's own embedding
  module, then the first ``layer`` transformer layers re-implemented on *packed* tokens (the
  sentences of a batch concatenated, no padding rows) for every matrix product, with a padded view
  only inside attention. Query, key and value are one matrix product; on oneDNN builds the weights
  are pre-packed once and bias, GELU and the residual additions are fused into the products. It is
  checked against the transformers forward pass on a probe batch when the aligner is built and
  is switched off (``fast_path = False`` afterwards) if they disagree.
* **transformers**: the model's forward pass on padded batches (any other model, CUDA).

Precisions: ``float32``; ``bfloat16`` (weights and activations in bf16; on the CPU only where it
has native bf16 units, AVX512-BF16 or AMX-BF16 — elsewhere it falls back to float32 with a
warning, and the aligner's signature says so); ``int8`` (``torch.ao.quantization.quantize_dynamic``
on the Linear layers: int8 weights per output channel; activations quantised on the fly, per
token on the packed path, per batch on the transformers path; CPU only).
"""

from __future__ import annotations

import contextlib
import hashlib
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from projner.errors import E, ProjnerError
from projner.models.encoders import encoder_fingerprint, quiet_transformers

PRECISIONS = ("float32", "bfloat16", "int8")


@dataclass
class Loaded:
    tok: Any
    model: Any
    config: Any
    name: str  # resolved path or hub id
    layer: int  # non-negative
    n_layers: int


def load_encoder(model: str, layer: int, stop_at_layer: bool) -> Loaded:
    """Tokenizer and model (with only ``layer`` transformer layers when ``stop_at_layer``)."""
    try:
        import transformers  # noqa: F401
        from transformers import AutoConfig, AutoModel, AutoTokenizer
    except ImportError as exc:
        raise ProjnerError(E.E020, package=str(exc.name), hint="projner[neural]") from None
    name = str(model)
    local = Path(name).expanduser()
    from projner.data.paths import missing_model_folder

    missing = missing_model_folder(name)  # a path-like name is a folder, never a hub id
    if missing:
        raise ProjnerError(E.E101, model=name, detail=missing)
    if local.exists():
        if not local.is_dir() or not (local / "config.json").exists():
            raise ProjnerError(E.E101, model=name, detail="not a model folder (no config.json)")
        name = str(local.resolve())
    with quiet_transformers():
        try:
            config = AutoConfig.from_pretrained(name)
        except Exception as exc:  # hub unreachable, malformed config, unknown model type
            raise ProjnerError(E.E101, model=model, detail=f"cannot read its config ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None
        if getattr(config, "is_encoder_decoder", False):
            raise ProjnerError(E.E101, model=model, detail=f"{config.model_type} is an encoder-decoder; an encoder is needed")
        from transformers.models.auto.modeling_auto import (
            MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
            MODEL_FOR_MASKED_LM_MAPPING_NAMES,
            MODEL_MAPPING_NAMES,
        )

        mt = config.model_type
        if mt not in MODEL_MAPPING_NAMES:
            raise ProjnerError(E.E101, model=model, detail=f"model type {mt!r} has no transformers base model")
        if mt in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES and mt not in MODEL_FOR_MASKED_LM_MAPPING_NAMES:
            raise ProjnerError(E.E101, model=model, detail=f"{mt} is a decoder-only (causal) model; an encoder is needed")
        n_layers = getattr(config, "num_hidden_layers", None)
        if not isinstance(n_layers, int):
            raise ProjnerError(E.E101, model=model, detail="its config has no num_hidden_layers")
        real = layer + n_layers + 1 if layer < 0 else layer
        if not (0 <= real <= n_layers):
            raise ProjnerError(E.E102, layer=layer, model=model, n_layers=n_layers)
        try:
            tok = AutoTokenizer.from_pretrained(name)
        except Exception as exc:
            raise ProjnerError(E.E101, model=model, detail=f"cannot load its tokenizer ({type(exc).__name__})") from None
        if not getattr(tok, "is_fast", False):
            raise ProjnerError(E.E107, model=model, detail=f"{type(tok).__name__}")
        if stop_at_layer:  # build the encoder with only `layer` transformer layers
            config.num_hidden_layers = real
        try:
            net = AutoModel.from_pretrained(name, config=config)
        except Exception as exc:
            raise ProjnerError(E.E101, model=model, detail=f"cannot load its weights ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None
    net.eval()
    return Loaded(tok, net, config, name, real, n_layers)


def model_fingerprint(name: str) -> str:
    """A folder's content fingerprint (:func:`~projner.models.encoders.encoder_fingerprint`), or a hub id's hash."""
    if Path(name).is_dir():
        return encoder_fingerprint(name)
    return hashlib.sha256(name.encode()).hexdigest()[:16]


def quantize_int8(module, *, inplace: bool = False):
    """``module`` with every ``nn.Linear`` replaced by a dynamically quantised int8 one
    (``torch.ao.quantization.quantize_dynamic``, int8 weights per output channel)."""
    import torch

    engines = torch.backends.quantized.supported_engines
    if not any(e in engines for e in ("x86", "fbgemm", "onednn", "qnnpack")):
        raise ProjnerError(E.E109, precision="int8", detail=f"this torch build has no quantised engine ({engines})")
    spec = {torch.nn.Linear: torch.ao.quantization.per_channel_dynamic_qconfig}
    with warnings.catch_warnings():  # torch.ao.quantization is deprecated in favour of torchao
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(module, spec, dtype=torch.qint8, inplace=inplace)


# ---------------------------------------------------------------------- packed CPU path
def _onednn_ok() -> bool:
    import torch

    return bool(
        torch.backends.mkldnn.is_available()
        and hasattr(torch.ops.mkldnn, "_linear_pointwise")
        and hasattr(torch.ops.mkldnn, "_reorder_linear_weight")
    )


class _Linear:
    """``x @ W.T + b``, optionally followed by exact (erf) GELU or plus a residual, in one of three
    kinds: ``onednn`` (pre-packed weight, fused post-ops), ``torch`` (``F.linear``) or ``int8``.

    ``int8`` is a ``quantize_dynamic`` Linear (int8 weights per output channel) fed with rows
    scaled to max-abs 1 and the product scaled back, plus one constant row holding +1 and -1: the
    dynamic activation scale is then the same for every batch, so each token is quantised on
    its own scale (per token, not per batch: a batch's largest activation does not coarsen the
    others, and links do not depend on which sentences share a batch)."""

    def __init__(self, weight, bias, dtype, kind: str):
        import torch

        self.kind = kind
        w = weight.detach()
        b = bias.detach() if bias is not None else torch.zeros(w.shape[0])
        if kind == "int8":
            lin = torch.nn.Linear(w.shape[1], w.shape[0], bias=False)
            with torch.no_grad():
                lin.weight.copy_(w)
            self.mod = quantize_int8(torch.nn.Sequential(lin.eval()))[0]
            self.b = b.float().clone()
            self.range_row = torch.zeros((1, w.shape[1]))
            self.range_row[0, 0], self.range_row[0, -1] = 1.0, -1.0
            return
        self.b = b.to(dtype).contiguous()
        w = w.to(dtype).contiguous()
        self.w = torch.ops.mkldnn._reorder_linear_weight(w, 1024) if kind == "onednn" else w

    def __call__(self, x):
        import torch
        import torch.nn.functional as F

        if self.kind == "onednn":
            return torch.ops.mkldnn._linear_pointwise(x, self.w, self.b, "none", [], "")
        if self.kind == "int8":
            return self._int8(x)
        return F.linear(x, self.w, self.b)

    def _int8(self, x, residual=None):
        import torch

        r = torch.linalg.vector_norm(x, float("inf"), dim=1, keepdim=True).clamp_min_(1e-12)
        scaled = x.new_empty((x.shape[0] + 1, x.shape[1]))
        torch.div(x, r, out=scaled[:-1])
        scaled[-1:] = self.range_row
        y = self.mod(scaled)[:-1]
        out = torch.addcmul(self.b, y, r)
        return out if residual is None else out.add_(residual)

    def gelu(self, x):
        import torch
        import torch.nn.functional as F

        if self.kind == "onednn":
            return torch.ops.mkldnn._linear_pointwise(x, self.w, self.b, "gelu", [], "none")
        return F.gelu(self(x))

    def add(self, x, residual):
        import torch

        if self.kind == "onednn":
            return torch.ops.mkldnn._linear_pointwise.binary(x, residual, self.w, self.b, "add")
        if self.kind == "int8":
            return self._int8(x, residual)
        return self(x) + residual


def _is_bert_like(layer) -> bool:
    import torch

    nn = torch.nn
    try:
        sa, ao = layer.attention.self, layer.attention.output
        parts = (sa.query, sa.key, sa.value, ao.dense, layer.intermediate.dense, layer.output.dense)
        norms = (ao.LayerNorm, layer.output.LayerNorm)
        heads, size = int(sa.num_attention_heads), int(sa.attention_head_size)
    except (AttributeError, TypeError, ValueError):
        return False
    return (
        all(type(p) is nn.Linear and p.bias is not None for p in parts)
        and all(type(n) is nn.LayerNorm for n in norms)
        and heads * size == sa.query.out_features
        and not getattr(layer, "is_decoder", False)
        and not hasattr(layer, "crossattention")
        and not getattr(sa, "is_causal", False)
        and callable(getattr(layer.intermediate, "intermediate_act_fn", None))
    )


class _Layer:
    def __init__(self, layer, dtype, kind: str, exact_gelu: bool):
        import torch

        sa, ao = layer.attention.self, layer.attention.output
        self.heads, self.size = int(sa.num_attention_heads), int(sa.attention_head_size)
        self.scale = float(getattr(sa, "scaling", self.size**-0.5))
        qkv_w = torch.cat([sa.query.weight, sa.key.weight, sa.value.weight])
        qkv_b = torch.cat([sa.query.bias, sa.key.bias, sa.value.bias])
        self.qkv = _Linear(qkv_w, qkv_b, dtype, kind)
        self.out = _Linear(ao.dense.weight, ao.dense.bias, dtype, kind)
        self.up = _Linear(layer.intermediate.dense.weight, layer.intermediate.dense.bias, dtype, kind)
        self.down = _Linear(layer.output.dense.weight, layer.output.dense.bias, dtype, kind)
        self.act = None if exact_gelu else layer.intermediate.intermediate_act_fn
        self.norms = [
            (n.weight.detach().to(dtype), n.bias.detach().to(dtype), float(n.eps))
            for n in (ao.LayerNorm, layer.output.LayerNorm)
        ]

    def __call__(self, x, n_seq: int, width: int, rows, mask):
        """One layer on packed tokens ``x`` [T, D]; ``rows`` maps them into the [n_seq, width] grid
        (None when no sequence is padded)."""
        import torch.nn.functional as F

        d = x.shape[1]
        qkv = self.qkv(x)
        if rows is not None:
            grid = qkv.new_zeros((n_seq * width, qkv.shape[1]))
            grid.index_copy_(0, rows, qkv)
            qkv = grid
        q, k, v = qkv.view(n_seq, width, 3, self.heads, self.size).permute(2, 0, 3, 1, 4).unbind(0)
        att = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=self.scale)
        att = att.transpose(1, 2).reshape(n_seq * width, d)
        if rows is not None:
            att = att.index_select(0, rows)
        (w1, b1, e1), (w2, b2, e2) = self.norms
        x = F.layer_norm(self.out.add(att, x), (d,), w1, b1, e1)
        h = self.up.gelu(x) if self.act is None else self.act(self.up(x))
        return F.layer_norm(self.down.add(h, x), (d,), w2, b2, e2)


class PackedEncoder:
    """The first layers of a BERT-style encoder on packed tokens (see the module docstring)."""

    def __init__(self, model, layer: int, run_layers: int, precision: str, kind: str):
        import torch

        self.dtype = torch.bfloat16 if precision == "bfloat16" else torch.float32
        self.kind = "int8" if precision == "int8" else kind
        self.layer = layer
        exact = getattr(model.config, "hidden_act", None) == "gelu"
        self.embeddings = model.embeddings
        self.layers = [_Layer(m, self.dtype, self.kind, exact) for m in model.encoder.layer[:run_layers]]

    @staticmethod
    def applicable(model, run_layers: int) -> bool:
        enc = getattr(model, "encoder", None)
        layers = getattr(enc, "layer", None)
        return (
            hasattr(model, "embeddings")
            and layers is not None
            and len(layers) >= run_layers
            and all(_is_bert_like(m) for m in list(layers)[:run_layers])
        )

    def encode(self, ids, lengths: Sequence[int]) -> list[np.ndarray]:
        """Vectors (float32) of every token of each row of ``ids`` [n, width] (pad after ``lengths``)."""
        import torch

        n_seq, width = ids.shape
        lens = torch.as_tensor(list(lengths))
        valid = torch.arange(width)[None, :] < lens[:, None]
        padded = bool((lens < width).any())
        x = self.embeddings(input_ids=ids).reshape(n_seq * width, -1)
        rows = valid.reshape(-1).nonzero().squeeze(1) if padded else None
        if rows is not None:
            x = x.index_select(0, rows)
        x = x.to(self.dtype).contiguous()
        mask = valid[:, None, None, :] if padded else None
        out = x if self.layer == 0 else None
        for i, layer in enumerate(self.layers, start=1):
            x = layer(x, n_seq, width, rows, mask)
            if i == self.layer:
                out = x
        vec = out.float().numpy()
        return np.split(vec, np.cumsum(list(lengths))[:-1])


class HFEncoder:
    """The transformers forward pass on padded batches (hidden state ``layer``)."""

    def __init__(self, model, layer: int, pick_hidden: bool, precision: str, device):
        self.model, self.layer, self.pick_hidden = model, layer, pick_hidden
        self.precision, self.device = precision, device

    def encode(self, ids, lengths: Sequence[int]) -> list[np.ndarray]:
        import torch

        width = ids.shape[1]
        mask = (torch.arange(width)[None, :] < torch.as_tensor(list(lengths))[:, None]).long()
        ids, mask = ids.to(self.device), mask.to(self.device)
        amp = (
            torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
            if self.precision == "bfloat16"
            else contextlib.nullcontext()
        )
        with amp:
            if self.pick_hidden:
                hidden = self.model(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states[self.layer]
            else:
                hidden = self.model(input_ids=ids, attention_mask=mask).last_hidden_state
        hidden = hidden.float().cpu().numpy()
        return [hidden[r, :n] for r, n in enumerate(lengths)]


def build_runner(loaded: Loaded, device, precision: str, *, fast_path: bool, probe: list[list[int]], pad: int):
    """The encoder runner for ``precision`` (already resolved) and a note on what runs:
    ``(runner, "packed-onednn" | "packed-torch" | "transformers")``."""
    import torch

    model = loaded.model
    layer = loaded.layer
    if precision == "int8" and device.type != "cpu":
        raise ProjnerError(E.E109, precision="int8", detail=f"dynamic int8 quantisation runs on the CPU only, not {device.type}")
    model.to(device)
    run_layers = len(model.encoder.layer) if hasattr(model, "encoder") and hasattr(model.encoder, "layer") else layer
    # does the model really stop at `layer`? (a model ignoring the config would not)
    with torch.inference_mode():
        x = torch.tensor([probe[0]], device=device)
        out = model(input_ids=x, attention_mask=torch.ones_like(x), output_hidden_states=True)
    hs = getattr(out, "hidden_states", None)
    pick_hidden = bool(hs) and len(hs) != layer + 1  # (no hidden states at all: a 0-layer model)
    if pick_hidden and len(hs) <= layer:
        raise ProjnerError(E.E102, layer=layer, model=loaded.name, n_layers=len(hs) - 1)
    hf = HFEncoder(model, layer, pick_hidden, precision, device)
    if not fast_path or device.type != "cpu" or not PackedEncoder.applicable(model, run_layers):
        if precision == "int8":
            hf.model = quantize_int8(model, inplace=True)
        return hf, "transformers"
    kind = "onednn" if _onednn_ok() else "torch"
    # check the packed float32 path against the transformers forward pass on a padded probe batch
    lens = [len(p) for p in probe]
    ids = torch.full((len(probe), max(lens)), pad, dtype=torch.long)
    for r, p in enumerate(probe):
        ids[r, : len(p)] = torch.tensor(p, dtype=torch.long)
    with torch.inference_mode():
        ref = HFEncoder(model, layer, pick_hidden, "float32", device).encode(ids, lens)
        try:
            check = PackedEncoder(model, layer, run_layers, "float32", kind)
            got = check.encode(ids, lens)
        except RuntimeError:  # a kernel this build or CPU lacks: use the transformers forward pass
            got = []
    scale = max(1.0, max(float(np.abs(r).max()) for r in ref))
    if len(got) != len(ref) or not all(g.shape == r.shape and float(np.abs(g - r).max()) <= 1e-3 * scale for g, r in zip(got, ref)):
        if precision == "int8":
            hf.model = quantize_int8(model, inplace=True)
        return hf, "transformers"
    packed = check if precision == "float32" else PackedEncoder(model, layer, run_layers, precision, kind)
    return packed, ("packed-int8" if precision == "int8" else f"packed-{kind}")
