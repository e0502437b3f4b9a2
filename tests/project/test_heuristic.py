import pytest

from projner.errors import ProjnerError
from projner.project.base import Outcome
from projner.project.heuristic import HeuristicProjector
from projner.types import Alignment, ParallelPair, Sentence, Span


def pair(n_src, n_tgt, spans, links):
    return ParallelPair(Sentence(tuple(f"s{i}" for i in range(n_src)), tuple(spans)),
                        Sentence(tuple(f"t{j}" for j in range(n_tgt))), Alignment.from_pairs(links))


def test_ratio_threshold_is_inclusive():
    # a 5-word entity projected onto 4 words: ratio 0.8 is kept (a strict '>' would drop it)
    p = pair(5, 5, [Span(0, 5, "ORG")], [(0, 0), (1, 1), (2, 2), (3, 3), (4, 3)])
    (proj,) = HeuristicProjector().project([p])
    assert proj.spans == (Span(0, 4, "ORG"),) and proj.entities[0].outcome is Outcome.PROJECTED
    (proj,) = HeuristicProjector(min_ratio=0.81).project([p])
    assert proj.spans == () and proj.entities[0].outcome is Outcome.LENGTH_RATIO


def test_gap_merging():
    p = pair(2, 6, [Span(0, 2, "PER")], [(0, 1), (1, 3)])  # target 1 and 3: a gap of one word
    assert HeuristicProjector(max_gap=1).project([p])[0].spans == (Span(1, 4, "PER"),)
    # with no gap allowed: two 1-word ranges, ratio 0.5 each -> dropped
    out = HeuristicProjector(max_gap=0).project([p])[0]
    assert out.spans == () and out.entities[0].outcome is Outcome.LENGTH_RATIO


def test_no_links_and_types_carried_and_no_mutation():
    p = pair(3, 3, [Span(0, 1, "LOC"), Span(2, 3, "MISC")], [(2, 0)])
    out = HeuristicProjector().project([p])[0]
    assert out.spans == (Span(0, 1, "MISC"),)
    assert [e.outcome for e in out.entities] == [Outcome.NO_LINKS, Outcome.PROJECTED]
    assert p.tgt.spans == ()  # the input pair is untouched


def test_overlap_policy_prefers_more_support_and_counts_loser():
    # entity A (2 words) -> target 0-1 with 2 links; entity B (1 word) -> target 1 with 1 link
    p = pair(3, 3, [Span(0, 2, "ORG"), Span(2, 3, "PER")], [(0, 0), (1, 1), (2, 1)])
    out = HeuristicProjector().project([p])[0]
    assert out.spans == (Span(0, 2, "ORG"),)
    assert out.entities[1].outcome is Outcome.OVERLAP_LOST


def test_keep_longest_vs_all_and_strip_determiners():
    p = pair(1, 5, [Span(0, 1, "PER")], [(0, 0), (0, 3)])
    assert HeuristicProjector().project([p])[0].spans == (Span(0, 1, "PER"),)
    assert HeuristicProjector(keep="all").project([p])[0].spans == (Span(0, 1, "PER"), Span(3, 4, "PER"))
    the = ParallelPair(Sentence(("the", "Council")), Sentence(("Rat",)), Alignment.from_pairs([(1, 0)]))
    assert HeuristicProjector().project([the])[0].spans == ()  # 1/2 < 0.8
    the = ParallelPair(Sentence(("the", "Council"), (Span(0, 2, "ORG"),)), Sentence(("Rat",)), Alignment.from_pairs([(1, 0)]))
    assert HeuristicProjector().project([the])[0].spans == ()
    assert HeuristicProjector(strip_determiners=True).project([the])[0].spans == (Span(0, 1, "ORG"),)


def test_bad_parameters():
    with pytest.raises(ProjnerError, match="E018"):
        HeuristicProjector(keep="some")
    with pytest.raises(ProjnerError, match="E018"):
        HeuristicProjector(min_ratio=0.8, max_ratio=0.5)
