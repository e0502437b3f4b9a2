import pytest

from projner.align.eflomal import vote
from projner.align.symmetrize import symmetrize
from projner.errors import ProjnerError
from projner.types import Alignment


def A(*pairs):
    return Alignment.from_pairs(pairs)


# forward (src->tgt model: each target word has <= 1 source word) and reverse (each source word <= 1 target)
FWD = A((0, 0), (1, 1), (1, 2), (3, 3), (4, 3))
REV = A((0, 0), (1, 1), (2, 2), (3, 4), (4, 3))


def test_intersection_and_union():
    assert symmetrize(FWD, REV, "intersection").pairs == {(0, 0), (1, 1), (4, 3)}
    assert symmetrize(FWD, REV, "union").pairs == FWD.pairs | REV.pairs


def test_grow_diag_adds_neighbours_covering_unaligned_words():
    # (1,2) neighbours (1,1) and target 2 is unaligned; (2,2) neighbours (1,1) diagonally, source 2 unaligned;
    # (3,3) neighbours (4,3) and source 3 is unaligned -> added; then (3,4): source 3 now aligned, target 4 not -> added
    gd = symmetrize(FWD, REV, "grow-diag")
    assert gd.pairs == {(0, 0), (1, 1), (1, 2), (2, 2), (4, 3), (3, 3), (3, 4)}


def test_final_and_requires_both_words_unaligned():
    fwd = A((0, 0), (2, 1))
    rev = A((0, 0), (2, 2))
    # intersection {(0,0)}; (2,1)/(2,2) are not neighbours of (0,0)
    assert symmetrize(fwd, rev, "grow-diag").pairs == {(0, 0)}
    # final: (2,1) covers unaligned src 2 -> added; then (2,2): src 2 aligned but tgt 2 not -> added ("or")
    assert symmetrize(fwd, rev, "grow-diag-final").pairs == {(0, 0), (2, 1), (2, 2)}
    # final-and: (2,1) both unaligned -> added; (2,2) src 2 already aligned -> not added
    assert symmetrize(fwd, rev, "grow-diag-final-and").pairs == {(0, 0), (2, 1)}


def test_scores_carried_and_unknown_method():
    fwd = Alignment.from_pairs([(0, 0)], [0.4])
    rev = Alignment.from_pairs([(0, 0)], [0.9])
    assert symmetrize(fwd, rev, "intersection").links[0].score == 0.9
    with pytest.raises(ProjnerError, match="E018"):
        symmetrize(fwd, rev, "grow")


def test_vote_keeps_majority_links():
    v = vote([A((0, 0), (1, 1)), A((0, 0)), A((0, 0), (1, 1), (2, 2))])
    assert v.pairs == {(0, 0), (1, 1)}
    assert [round(l.score, 3) for l in v.links] == [1.0, 0.667]
