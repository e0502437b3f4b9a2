"""Issue 14: the transfer baselines find their data as every other reader does
(:func:`projner.data.datasets.data_root`: ``data``, else ``$PROJNER_DATA``, else ``../shared/data``
relative to the working directory)."""

from __future__ import annotations

from projner.data import datasets
from projner.evaluate import transfer


def _write_split(root, lang="yor", split="test"):
    path = root / "masakhaner2" / lang / f"{split}.txt"
    path.parent.mkdir(parents=True)
    path.write_text("Ade B-PER\nlo O\n\n", encoding="utf-8")
    return path


def test_transfer_uses_the_one_data_root():
    assert transfer.data_root is datasets.data_root


def test_the_default_data_root_is_relative_to_the_working_directory(tmp_path, monkeypatch):
    _write_split(tmp_path / "shared" / "data")
    (tmp_path / "main").mkdir()
    monkeypatch.chdir(tmp_path / "main")
    monkeypatch.delenv("PROJNER_DATA", raising=False)
    sents = transfer.masakhaner_split("yor", "test")
    assert [s.tokens for s in sents] == [("Ade", "lo")] and sents[0].spans[0].label == "PER"


def test_the_environment_then_the_argument_win(tmp_path, monkeypatch):
    _write_split(tmp_path / "env")
    _write_split(tmp_path / "arg", split="dev")
    monkeypatch.setenv("PROJNER_DATA", str(tmp_path / "env"))
    assert len(transfer.masakhaner_split("yor", "test")) == 1
    assert len(transfer.masakhaner_split("yor", "dev", data=tmp_path / "arg")) == 1
