"""Facts about the host and about encoder folders, shared by the aligner and the taggers.

* :func:`native_bf16`, :func:`cpu_model`: what this CPU can do (bf16 only pays where it is native).
* :func:`encoder_fingerprint`: a content hash of an encoder folder, independent of its location
  and of file times (memoised per process for unchanged files).
* :func:`quiet_transformers`: transformers without its info logs and progress bars.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

def native_bf16(cpuinfo: str | Path = "/proc/cpuinfo") -> bool:
    """True when the CPU has native bf16 arithmetic (flags ``avx512_bf16`` or ``amx_bf16``).

    Read from ``/proc/cpuinfo`` (Linux); elsewhere from torch's own CPU probe when it has one."""
    try:
        text = Path(cpuinfo).read_text(errors="replace")
    except OSError:
        text = ""
    for line in text.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[-1].split())
            return bool(flags & {"avx512_bf16", "amx_bf16"})
    try:  # not Linux: torch knows (private helpers, present in torch >= 2.1)
        import torch

        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except Exception:  # pragma: no cover - depends on the torch build
        return False


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), or the platform's description."""
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine() or "unknown CPU"


_WEIGHT_SUFFIXES = (".json", ".safetensors", ".bin", ".model", ".txt")
_FINGERPRINTS: dict[tuple, str] = {}


def encoder_fingerprint(folder: str | os.PathLike) -> str:
    """SHA-256 (first 16 hex digits) of the names and contents of the files that define an encoder
    folder (config, tokenizer and weight files: ``*.json``, ``*.safetensors``, ``*.bin``,
    ``*.model``, ``*.txt``). It does not depend on the folder's location or on file times;
    computed once per process for unchanged files."""
    p = Path(folder)
    files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix in _WEIGHT_SUFFIXES and not f.name.startswith("."))
    stats = [f.stat() for f in files]
    stamp = tuple((f.name, st.st_size, st.st_mtime_ns) for f, st in zip(files, stats))
    memo = (str(p.resolve()), stamp)
    if memo in _FINGERPRINTS:
        return _FINGERPRINTS[memo]
    h = hashlib.sha256()
    for f, st in zip(files, stats):
        h.update(f"{f.name}\0{st.st_size}\0".encode())
        with f.open("rb") as fh:
            while block := fh.read(1 << 22):
                h.update(block)
    fp = h.hexdigest()[:16]
    _FINGERPRINTS[memo] = fp
    return fp


@contextlib.contextmanager
def quiet_transformers():
    """transformers at error verbosity, its progress bars off, for the duration of the block."""
    import transformers

    prev = transformers.logging.get_verbosity()
    bars = transformers.utils.logging.is_progress_bar_enabled()
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    try:
        yield
    finally:
        transformers.logging.set_verbosity(prev)
        if bars:
            transformers.utils.logging.enable_progress_bar()
