"""Training-data filters (projner.project.filters) and the one list of English determiners."""

from projner.project.filters import DETERMINERS, downsample_empty, strip_leading_determiners
from projner.types import Alignment, Link, ParallelPair, Sentence, Span


def test_every_projector_strips_the_same_determiners():
    from projner.project import heuristic, scores

    assert heuristic.DETERMINERS is DETERMINERS and scores.DETERMINERS is DETERMINERS
    assert scores.AlignmentScorer().determiners is DETERMINERS


def test_filter_and_heuristic_projector_strip_a_leading_determiner_alike():
    from projner.project.heuristic import HeuristicProjector

    src = Sentence(("The", "Kano", "Pillars", "won"), (Span(0, 3, "ORG"),))
    tgt = Sentence(("The", "Kano", "Pillars", "sun", "ci"))
    stripped, n = strip_leading_determiners([src])
    assert n == 1 and stripped[0].spans == (Span(1, 3, "ORG"),) and src.spans == (Span(0, 3, "ORG"),)
    links = Alignment(tuple(Link(i, i) for i in range(3)))
    proj = HeuristicProjector(strip_determiners=True).project([ParallelPair(src, tgt, links)])[0]
    assert [(sp.start, sp.end) for sp in proj.spans] == [(1, 3)]


def test_downsample_empty_keeps_every_sentence_with_entities():
    sents = [Sentence(("a",), (Span(0, 1, "PER"),)) if i % 3 == 0 else Sentence(("b",)) for i in range(9)]
    kept, dropped = downsample_empty(sents, 0.5)
    assert sum(1 for s in kept if s.spans) == 3 and dropped == 6 - sum(1 for s in kept if not s.spans)
    assert sum(1 for s in kept if not s.spans) == 3


def test_prefixed_names_look_like_names_even_first_in_the_sentence():
    from projner.project.filters import looks_like_name

    toks = ("uKaunda", "uthe", "eThekwini", "kuhle", "Mxolisi", "wasePitoli", "iPhone", "e", "ANC")
    flags = [looks_like_name(toks, i) for i in range(len(toks))]
    assert flags == [True, False, True, False, True, True, True, False, False]
    # a plain capitalised first word is still not a name by its case
    assert not looks_like_name(("Umuntu", "uhamba"), 0)
