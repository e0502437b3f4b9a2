import random

import pytest

from projner.align.eflomal import EflomalAligner
from projner.errors import ProjnerError
from projner.registry import aligners


def toy_corpus(n=300, seed=0):
    """A synthetic 'language pair' where target word = source word + 'x', with reordering of one slot."""
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(40)]
    src, tgt = [], []
    for _ in range(n):
        s = rng.sample(vocab, rng.randint(3, 7))
        t = [w + "x" for w in s]
        src.append(s)
        tgt.append(t)
    return src, tgt


def test_eflomal_recovers_word_translations():
    src, tgt = toy_corpus()
    al = EflomalAligner(sym="intersection").align(src, tgt)
    gold = {(i, i) for i in range(7)}
    correct = sum(len(a.pairs & gold) for a in al)
    total = sum(len(s) for s in src)
    assert correct / total > 0.9


def test_extra_text_trains_but_is_not_returned_and_empty_pairs():
    src, tgt = toy_corpus(200)
    req_src, req_tgt = [["w1", "w2"], [], ["w3"]], [["w1x", "w2x"], ["w5x"], ["w3x"]]
    aligner = EflomalAligner(sym="grow-diag-final-and", extra_src=src, extra_tgt=tgt)
    al = aligner.align(req_src, req_tgt)
    assert len(al) == 3 and al[1].pairs == frozenset()
    assert al[0].pairs == {(0, 0), (1, 1)} and al[2].pairs == {(0, 0)}
    assert aligner.stats["empty_pairs"] == 1 and aligner.stats["extra_pairs_used"] == 200
    assert "extra:200" in aligner.signature() and "seeded:no" in aligner.signature()


def test_runs_vote_and_registry():
    src, tgt = toy_corpus(150)
    a = aligners.create("eflomal", sym="intersection", runs=3)
    al = a.align(src, tgt)
    assert all(0.5 < l.score <= 1.0 for x in al for l in x.links)
    assert aligners.resolve("eflomal") == "projner.aligner.eflomal.v1"


def test_mismatched_lengths_and_bad_params():
    with pytest.raises(ProjnerError, match="E001"):
        EflomalAligner().align([["a"]], [])
    with pytest.raises(ProjnerError, match="E018"):
        EflomalAligner(sym="nope")


def test_copy_dictionary_pairs():
    from projner.align.eflomal import copy_pairs

    assert copy_pairs([["Merkel", "said", "1999", "EU"]], [["merkel", "sagte", "1999", "EU"]]) == ["Merkel", "EU"]
    # each distinct word once, whatever its frequency
    assert copy_pairs([["EU", "x"], ["eu"]], [["EU"], ["EU"]]) == ["EU"]
    a = EflomalAligner(copy_dictionary=False)
    assert "copy-dict:no" in a.signature()


def test_one_directional_symmetrisation_runs_one_direction():
    src, tgt = toy_corpus(120)
    a = EflomalAligner(sym="intersection")
    fwd, rev = a.align_directional(src, tgt, reverse=False)
    assert any(len(x) for x in fwd) and not any(len(x) for x in rev)
    al = EflomalAligner(sym="reverse").align(src, tgt)
    # reverse links each source word to at most one target word
    assert all(len({l.tgt for l in x.links if l.src == i}) <= 1 for x in al for i in range(8))
    assert sum(len(x) for x in al) > 0
