"""Issue 14 around projection: one signature builder in the core, and weight tuning that scores
without projection importing evaluation (the layer rule itself: tests/test_architecture.py)."""

from __future__ import annotations

from pathlib import Path

import projner

SRC = Path(projner.__file__).resolve().parent


def test_signature_is_core_and_shared():
    from projner.evaluate import Signature as from_evaluate
    from projner.project.heuristic import component_signature as from_heuristic
    from projner.project.matching import component_signature as from_project
    from projner.signature import Signature, component_signature

    assert from_evaluate is Signature and from_project is component_signature and from_heuristic is component_signature
    assert not (SRC / "evaluate" / "signature.py").exists()


def test_project_scored_leaves_the_projector_alone():
    from projner.project.matching import CandidateProjector
    from projner.types import Alignment, ParallelPair, Sentence, Span

    src = Sentence(("John", "saw", "Paris"), (Span(0, 1, "PER"), Span(2, 3, "LOC")))
    tgt = Sentence(("Juan", "vio", "París"))
    pair = ParallelPair(src, tgt, Alignment.from_pairs([(0, 0), (1, 1), (2, 2)]))
    proj = CandidateProjector("ngram", "greedy")
    scored = proj.score_pairs([pair])
    projections, stats = proj.project_scored(scored)
    assert proj.stats is None  # only project() records its run
    assert [(s.start, s.end, s.label) for s in projections[0].spans] == [(0, 1, "PER"), (2, 3, "LOC")]
    assert stats.n_entities == 2 and stats.n_projected == 2
    assert [p.spans for p in proj.project([pair])] == [projections[0].spans] and proj.stats.n_projected == 2
