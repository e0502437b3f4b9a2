import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from seqeval.metrics.sequence_labeling import get_entities
from seqeval.scheme import IOB2, IOBES, Entities

from projner.data.schemes import decode, detect_scheme, encode, get_scheme, summarize_repairs
from projner.errors import ProjnerError
from projner.types import Span


def tags_strategy(prefixes: str):
    return st.lists(st.sampled_from(["O"] + [f"{p}-{t}" for p in prefixes for t in ("PER", "LOC")]), max_size=12)


def keys(spans):
    return {s.key for s in spans}


@settings(max_examples=400, deadline=None)
@given(tags_strategy("BI"))
def test_iob2_drop_equals_seqeval_strict(tags):
    ref = {(e.start, e.end, e.tag) for e in Entities([tags], IOB2).entities[0]}
    assert keys(decode(tags, "iob2", "drop").spans) == ref


@settings(max_examples=400, deadline=None)
@given(tags_strategy("BIES"))
def test_bioes_drop_equals_seqeval_strict(tags):
    ref = {(e.start, e.end, e.tag) for e in Entities([tags], IOBES).entities[0]}
    assert keys(decode(tags, "bioes", "drop").spans) == ref


@settings(max_examples=400, deadline=None)
@given(tags_strategy("BI"), st.sampled_from(["iob1", "iob2"]))
def test_begin_policy_equals_conlleval_semantics(tags, scheme):
    # seqeval's default mode follows conlleval: an I- that cannot continue opens a span
    ref = {(t, s, e + 1) for t, s, e in get_entities(tags)}
    assert {(s.label, s.start, s.end) for s in decode(tags, scheme, "begin").spans} == ref


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 3), st.integers(0, 2), st.sampled_from(["PER", "LOC"])), max_size=5),
       st.sampled_from(["iob1", "iob2", "bioes"]))
def test_encode_decode_round_trip(pieces, scheme):
    spans, pos = [], 0
    for length, gap, label in pieces:
        pos += gap
        spans.append(Span(pos, pos + length, label))
        pos += length
    tags = encode(spans, pos + 1, scheme)
    d = decode(tags, scheme, "error")
    assert d.spans == tuple(spans) and d.repairs == ()


def test_iob1_uses_b_only_between_adjacent_same_type():
    spans = [Span(0, 2, "PER"), Span(2, 3, "PER"), Span(3, 4, "LOC")]
    assert encode(spans, 5, "iob1") == ("I-PER", "I-PER", "B-PER", "I-LOC", "O")
    assert encode(spans, 5, "io") == ("I-PER", "I-PER", "I-PER", "I-LOC", "O")
    assert encode(spans, 5, "bioes") == ("B-PER", "E-PER", "S-PER", "S-LOC", "O")


def test_repairs_are_reported_never_silent():
    tags = ["O", "I-PER", "I-PER", "B-LOC", "I-ORG"]
    d = decode(tags, "iob2", "begin")
    assert keys(d.spans) == {(1, 3, "PER"), (3, 4, "LOC"), (4, 5, "ORG")}
    assert summarize_repairs(d.repairs) == {"I_after_O:begins": 1, "type_change:begins": 1}
    dropped = decode(tags, "iob2", "drop")
    assert keys(dropped.spans) == {(3, 4, "LOC")}
    assert summarize_repairs(dropped.repairs) == {"I_after_O:dropped": 2, "type_change:dropped": 1}
    with pytest.raises(ProjnerError, match="E005"):
        decode(tags, "iob2", "error")


def test_bioes_unterminated_span():
    d = decode(["B-PER", "I-PER", "O"], "bioes", "begin")
    assert keys(d.spans) == {(0, 2, "PER")} and d.repairs[0].kind == "unterminated"
    assert decode(["B-PER", "I-PER", "O"], "bioes", "drop").spans == ()
    assert keys(decode(["U-PER", "B-LOC", "L-LOC"], "bilou").spans) == {(0, 1, "PER"), (1, 3, "LOC")}


def test_unknown_tag_and_scheme():
    with pytest.raises(ProjnerError, match="E003"):
        decode(["E-PER"], "iob2")
    with pytest.raises(ProjnerError, match="E003"):
        decode(["PER"], "iob2")
    with pytest.raises(ProjnerError, match="E004"):
        get_scheme("bilbo")


def test_detect_scheme():
    assert detect_scheme([["I-PER", "I-PER", "B-PER", "O", "I-LOC"]]).scheme == "iob1"
    assert detect_scheme([["B-PER", "I-PER", "O", "B-LOC"]]).scheme == "iob2"
    assert detect_scheme([["S-PER", "O", "B-LOC", "E-LOC"]]).scheme == "bioes"
    # a few stray I- openings in an IOB2 corpus (as in MasakhaNER zul) are repairs, not another scheme
    assert detect_scheme([["B-PER", "O"]] * 50 + [["O", "I-PER"]]).scheme == "iob2"
    with pytest.raises(ProjnerError, match="E011.*--scheme"):
        detect_scheme([["B-PER", "O"]] * 5 + [["O", "I-PER"]] * 5, where="x.conll")
