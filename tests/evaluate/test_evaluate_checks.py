"""Issue 13: evaluation compares tokens, and its signature states how each side was read."""

import json

import pytest

from projner.data.formats import ReadOptions, read_corpus
from projner.errors import E, ProjnerError
from projner.evaluate import evaluate_spans
from projner.evaluate.alignment import parse_gold_line
from projner.signature import reading_fields, side_value
from projner.pipeline.files import evaluate_files
from projner.types import Sentence, Span


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_tokens_are_compared_and_the_error_names_both_lines(tmp_path):
    g = read_corpus(write(tmp_path, "g.conll", "Ada\tB-PER\nsings\tO\n\nBob\tB-PER\nruns\tO\n"))
    p = read_corpus(write(tmp_path, "p.jsonl", '{"tokens": ["Ada", "sings"], "ner_tags": ["B-PER", "O"]}\n'
                          '{"tokens": ["Bob", "XXX"], "ner_tags": ["B-PER", "O"]}\n'))
    with pytest.raises(ProjnerError) as exc:
        evaluate_spans(g.sentences, p.sentences, gold_name="g.conll", pred_name="p.jsonl", gold_lines=g.lines, pred_lines=p.lines)
    err = exc.value
    assert err.code is E.E016 and err.file == "g.conll" and err.line == 4
    assert "sentence 2 (gold g.conll:4, pred p.jsonl:2), word 2: 'runs' in gold, 'XXX' in pred" in str(err)
    # without lines the names are still given
    with pytest.raises(ProjnerError, match=r"E016.*sentence 2 .*'runs'"):
        evaluate_spans(g.sentences, p.sentences)


def test_all_tokens_replaced_no_longer_scores_one():
    gold = [Sentence(("Ada", "sings"), (Span(0, 1, "PER"),))]
    pred = [Sentence(("XXX", "XXX"), (Span(0, 1, "PER"),))]
    with pytest.raises(ProjnerError, match="E016"):
        evaluate_spans(gold, pred)


def test_tokens_equal_after_nfc_are_equal():
    gold = [Sentence(("Cafe\u0301",), (Span(0, 1, "LOC"),))]
    pred = [Sentence(("Caf\u00e9",), (Span(0, 1, "LOC"),))]
    assert evaluate_spans(gold, pred).f1 == 1.0


def test_signature_states_what_the_readers_found(tmp_path):
    g = write(tmp_path, "g.iob1", "Peter\tI-PER\nBlack\tI-PER\nParis\tB-PER\n\nx\tO\ny\tI-LOC\n")
    p = write(tmp_path, "p.conll", "Peter\tB-PER\nBlack\tI-PER\nParis\tB-PER\n\nx\tO\ny\tB-LOC\n")
    scores, _ = evaluate_files(str(g), str(p))
    assert scores.f1 == 1.0
    assert "|scheme:gold=iob1,pred=iob2|mode:strict|repair:begin|" in scores.signature
    scores, _ = evaluate_files(str(p), str(p), options=ReadOptions(repair="drop"))
    assert "|scheme:iob2|mode:strict|repair:drop|" in scores.signature
    assert reading_fields() == {"scheme": "spans", "repair": "none"}
    assert side_value("iob2", "iob2") == "iob2" and side_value("iob2", "spans") == "gold=iob2,pred=spans"
    # an explicit statement by the caller still wins
    assert "scheme:bioes|" in evaluate_spans([Sentence(("a",))], [Sentence(("a",))], scheme="bioes").signature


def test_repairs_per_file_are_in_the_json(tmp_path):
    g = write(tmp_path, "g.conll", "a\tB-PER\nb\tO\n\nc\tO\nd\tB-LOC\n")
    p = write(tmp_path, "p.conll", "a\tB-PER\nb\tO\n\nc\tO\nd\tI-LOC\n")
    scores, _ = evaluate_files(str(g), str(p), options=ReadOptions(scheme="iob2"))
    d = json.loads(json.dumps(scores.to_dict()))
    assert d["repairs"] == {"gold": {}, "pred": {"I_after_O:begins": 1}}
    assert d["inputs"]["pred"]["path"] == str(p) and d["inputs"]["gold"]["repair_policy"] == "begin"


def test_translate_train_evaluate_step_signs_with_the_gold_reading(tmp_path):
    from projner.pipeline.cache import Cache, StepRunner
    from projner.pipeline.steps import evaluate_step

    test = write(tmp_path, "test.txt", "Ada I-PER\nsings O\n\nBob I-PER\nLovelace I-PER\nB-side B-PER\n")  # IOB1

    class Tagger:
        labels = ("PER",)

        def predict(self, sents, labels=None):
            return [s.with_spans([Span(0, 1, "PER")]) for s in sents]

    runner = StepRunner(Cache(tmp_path / "cache"))
    ev = evaluate_step(runner, ("toy-model", lambda: Tagger()), test, ["PER"])
    d = json.loads(ev.file("scores.json").read_text(encoding="utf-8"))
    assert "|scheme:gold=iob1,pred=spans|mode:strict|repair:gold=begin,pred=none|" in d["signature"]
    assert d["inputs"]["gold"]["scheme"] == "iob1" and "pred" not in d["inputs"]


@pytest.mark.parametrize("line", ["0-\u00b2", "\u00b9p0"])
def test_gold_alignment_indices_are_ascii_digits(line):
    with pytest.raises(ProjnerError, match=r"E012.*gold.align:3"):
        parse_gold_line(line, path="gold.align", lineno=3)
