"""Shared helpers for benchmarks: data location, tokenisation of raw text, markdown tables."""

from __future__ import annotations

import os
import platform
import statistics
from pathlib import Path
from typing import Sequence

from projner.data.tokenize import tokenize  # noqa: F401  (raw MAFAND/Bible text)


def data_dir(arg: str | None = None) -> Path:
    d = Path(arg or os.environ.get("PROJNER_DATA", "../shared/data"))
    if not d.exists():
        raise SystemExit(f"data folder {d} not found: set PROJNER_DATA or pass --data")
    return d



def machine() -> str:
    return f"{os.cpu_count()}-core CPU, {platform.machine()}, Python {platform.python_version()}"


def mean_sd(xs: Sequence[float]) -> str:
    if len(xs) == 1:
        return f"{xs[0]:.3f}"
    return f"{statistics.mean(xs):.3f} ± {statistics.pstdev(xs):.3f}"


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)
