"""Small helpers shared by the tests (importable because tests/conftest.py puts tests/ on sys.path)."""

from __future__ import annotations

from pathlib import Path

from projner.cli.main import main


def run_cli(argv, capsys):
    """Run the ``projner`` CLI in-process: (exit status, stdout, stderr), as a shell would see them."""
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def write_file(tmp_path: Path, name: str, text: str | bytes) -> Path:
    """Write ``text`` (str as UTF-8 without newline translation, or bytes) to ``tmp_path/name``."""
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8", newline="")
    return p


def valid_iob2(tags) -> bool:
    """No ``I-X`` without a ``B-X``/``I-X`` before it."""
    prev = "O"
    for t in tags:
        if t.startswith("I-") and prev[2:] != t[2:]:
            return False
        prev = t
    return True
