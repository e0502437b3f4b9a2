from projner.data.formats import write_corpus
from projner.data.schemes import encode
from projner.evaluate.transfer import in_language, model_transfer
from projner.types import Sentence, Span


def _fake_root(tmp_path, toy_train, toy_test):
    """A PROJNER_DATA-shaped folder: CoNLL-2003-like English (IOB1, MISC) and one 'language'."""
    conll = tmp_path / "conll2003_en" / "original_iob1"
    conll.mkdir(parents=True)
    misc = Sentence(("the", "Olympics", "ended", "."), (Span(1, 2, "MISC"),))
    for split, sents in (("train", list(toy_train) + [misc] * 5), ("testa", toy_test[:10])):
        with open(conll / f"eng.{split}", "w", encoding="utf-8") as fh:
            for s in sents:
                for tok, tag in zip(s.tokens, encode(s.spans, len(s), "iob1")):
                    fh.write(f"{tok} NN O {tag}\n")
                fh.write("\n")
    lang = tmp_path / "masakhaner2" / "xyz"
    lang.mkdir(parents=True)
    date = Sentence(("Alice", "visited", "Kano", "in", "May", "."), (Span(0, 1, "PER"), Span(2, 3, "LOC"), Span(4, 5, "DATE")))
    write_corpus(lang / "test.txt", list(toy_test) + [date], fmt="conll", sep=" ")
    write_corpus(lang / "train.txt", list(toy_train) + [date] * 10, fmt="conll", sep=" ")
    write_corpus(lang / "dev.txt", list(toy_test[:5]) + [date], fmt="conll", sep=" ")
    return tmp_path


def test_model_transfer_and_upper_bound(tmp_path, toy_train, toy_test):
    root = _fake_root(tmp_path, toy_train, toy_test)
    res = model_transfer(langs=["xyz"], data=root, backend="crf", max_iterations=40, progress=False)
    r = res["xyz"]
    assert r.n_sentences == len(toy_test) + 1
    assert r.f1_pol > 0.9
    assert r.f1_all < r.f1_pol  # the English model never predicts DATE
    assert r.scores["all"]["per_type"]["DATE"]["tp"] == 0
    assert "MISC" not in r.scores["all"]["per_type"]
    tagger, up = in_language("xyz", data=root, backend="crf", max_iterations=40, progress=False)
    assert "DATE" in tagger.labels and up.scores["all"]["per_type"]["DATE"]["tp"] == 1
