import pytest

from projner.data.labelmaps import load_label_map
from projner.errors import ProjnerError
from projner.types import Sentence, Span


def test_ontonotes_to_conll_is_pure():
    lm = load_label_map("ontonotes->conll")
    sent = Sentence(tuple("abcdef"), (Span(0, 1, "PERSON"), Span(1, 2, "GPE"), Span(2, 3, "NORP"), Span(3, 4, "DATE"), Span(4, 5, "FAC")))
    (out,), counts = lm.map_sentences([sent])
    assert [s.key for s in out.spans] == [(0, 1, "PER"), (1, 2, "LOC"), (2, 3, "MISC"), (4, 5, "LOC")]
    assert counts["DATE->O"] == 1
    assert len(sent.spans) == 5  # input untouched


def test_masakhaner_map_drops_misc_keeps_date():
    lm = load_label_map("ontonotes->masakhaner")
    assert lm.target("NORP") == "O" and lm.target("DATE") == "DATE" and lm.target("GPE") == "LOC"
    assert load_label_map("conll->masakhaner").labels == ("DATE", "LOC", "ORG", "PER")


def test_map_from_files_and_errors(tmp_path):
    (tmp_path / "m.txt").write_text("# comment\nPERSON PER\n* O\n")
    lm = load_label_map(str(tmp_path / "m.txt"))
    assert lm.target("PERSON") == "PER" and lm.target("ANYTHING") == "O"
    (tmp_path / "m.json").write_text('{"A": "B"}')
    assert load_label_map(str(tmp_path / "m.json")).target("A") == "B"
    with pytest.raises(ProjnerError, match="E015"):
        load_label_map(str(tmp_path / "m.json")).target("C")
    (tmp_path / "bad.txt").write_text("PERSON\n")
    with pytest.raises(ProjnerError, match=r"E015.*bad.txt:1"):
        load_label_map(str(tmp_path / "bad.txt"))
    with pytest.raises(ProjnerError, match="E014"):
        load_label_map("nope->never")
