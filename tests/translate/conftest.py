"""Session fixtures: a tiny NLLB-style MT model whose weights are constructed, not trained (see tiny_mt.py)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def tiny_mt_dir(tmp_path_factory):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from tiny_mt import build_tiny_mt

    path = tmp_path_factory.mktemp("tiny-mt")
    build_tiny_mt(path)
    return path


@pytest.fixture(scope="session")
def tiny_translator(tiny_mt_dir):
    from projner.translate.seq2seq import Seq2SeqTranslator

    return Seq2SeqTranslator(str(tiny_mt_dir), beam=2, batch_size=4, device="cpu")


@pytest.fixture(scope="session")
def tiny_ct2_dir(tiny_mt_dir, tmp_path_factory):
    pytest.importorskip("ctranslate2")
    from projner.translate.ct2 import convert_transformers

    return convert_transformers(str(tiny_mt_dir), tmp_path_factory.mktemp("tiny-ct2") / "model")
