import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from synth import write_world  # noqa: E402


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> Path:
    """A tiny synthetic data folder laid out like the shared data (language 'xx')."""
    return write_world(tmp_path_factory.mktemp("world"))
