"""Dataset paths and readers live in the data layer (projner.data.datasets): nothing above it is
needed to find or read MAFAND-MT, the Bible, CoNLL-2003 or MasakhaNER."""

import pytest

from projner.data import datasets
from projner.data.datasets import ParallelConfig, conll_paths, data_root, load_parallel, require_data
from projner.errors import E, ProjnerError


def _conll(root):
    d = root / "conll2003_en" / "original_iob1"
    d.mkdir(parents=True)
    for name in ("eng.train", "eng.testa"):
        (d / name).write_text("EU B-ORG\nrejects O\n\n", encoding="utf-8")
    return d


def test_conll_paths_default_to_train_and_testa_under_the_data_root(tmp_path):
    d = _conll(tmp_path)
    assert conll_paths(None, None, str(tmp_path)) == (d / "eng.train", d / "eng.testa")


def test_a_given_training_file_has_no_default_dev(tmp_path):
    _conll(tmp_path)
    mine = tmp_path / "mine.conll"
    mine.write_text("Kano B-LOC\n\n", encoding="utf-8")
    assert conll_paths(str(mine), None, str(tmp_path)) == (mine, None)


def test_missing_files_are_e203_naming_the_path(tmp_path):
    with pytest.raises(ProjnerError) as err:
        conll_paths(None, None, str(tmp_path))
    assert err.value.code is E.E203 and str(tmp_path / "conll2003_en" / "original_iob1" / "eng.train") in str(err.value)
    with pytest.raises(ProjnerError) as err:
        datasets.test_path(None, "hau", str(tmp_path))  # not imported by name: pytest would collect it
    assert err.value.code is E.E203 and "hau test set" in str(err.value)
    with pytest.raises(ProjnerError) as err:
        require_data(tmp_path / "nothing.txt", "the thing")
    assert err.value.code is E.E203 and "the thing" in str(err.value)


def test_data_root_prefers_the_argument_then_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PROJNER_DATA", str(tmp_path / "env"))
    assert data_root(str(tmp_path / "arg")) == tmp_path / "arg"
    assert data_root() == tmp_path / "env"


def test_files_parallel_source_is_tokenised_and_drops_empty_pairs(tmp_path):
    (tmp_path / "en.txt").write_text("Musa went to Kano.\n\nHello\n", encoding="utf-8")
    (tmp_path / "xx.txt").write_text("Musa ya je Kano.\nkome\n\n", encoding="utf-8")
    src, tgt = load_parallel(ParallelConfig(kind="files", src=str(tmp_path / "en.txt"), tgt=str(tmp_path / "xx.txt")), "xx")
    assert src == (("Musa", "went", "to", "Kano", "."),) and tgt == (("Musa", "ya", "je", "Kano", "."),)


def test_the_pipeline_config_uses_the_data_layer_parallel_config():
    from projner.pipeline import config

    assert config.ParallelConfig is ParallelConfig
    assert isinstance(config.AlignerConfig(extra=(ParallelConfig(kind="bible"),)).extra[0], ParallelConfig)
