import pytest

from projner.errors import E, ProjnerError
from projner.evaluate.tuning import tune_weights
from projner.project.base import Outcome
from projner.project.candidates import CapitalisationModel
from projner.project.matching import CandidateProjector, build_projector, project_sentences
from projner.project.scores import CharOverlapTranslation
from projner.registry import projectors
from projner.types import Alignment, ParallelPair, Sentence, Span


def mk(src, tgt, links, spans, tgt_spans=(), scores=None):
    return ParallelPair(
        Sentence(tuple(src.split()), tuple(spans)),
        Sentence(tuple(tgt.split()), tuple(tgt_spans)),
        Alignment.from_pairs(links, scores),
    )


# "Bank" is linked to "Banco" and "Central" (p=1); "Central" only to "Central" (p=0.6).
BANK = mk(
    "Central Bank report",
    "informe Banco Central",
    [(0, 2), (1, 1), (1, 2), (2, 0)],
    [Span(0, 1, "ORG"), Span(1, 2, "ORG")],
    scores=[0.6, 1.0, 1.0, 1.0],
)


COMPOUND = mk(
    "the Member States and John Smith agree",
    "die Mitgliedstaaten und John Smith stimmen zu",
    [(0, 0), (1, 1), (2, 1), (3, 2), (4, 3), (5, 4), (6, 5), (6, 6)],
    [Span(1, 3, "ORG"), Span(4, 6, "PER")],
)


@pytest.mark.parametrize("solver", ["greedy", "bipartite", "ilp"])
def test_projects_compound_and_names(solver):
    proj = CandidateProjector("ngram", solver)
    (pr,) = proj.project([COMPOUND])
    assert [s.key for s in pr.spans] == [(1, 2, "ORG"), (3, 5, "PER")]
    assert [e.outcome for e in pr.entities] == [Outcome.PROJECTED, Outcome.PROJECTED]
    assert pr.entities[0].target.score == pytest.approx(1.0)
    assert solver in pr.entities[0].detail
    assert proj.stats.n_projected == 2 and proj.stats.n_entities == 2


def test_greedy_and_ilp_differ_on_a_sentence_and_stats_report_the_gap():
    g = CandidateProjector("ngram", "greedy", max_len=2, weighted_links=True)
    i = CandidateProjector("ngram", "ilp", max_len=2, weighted_links=True)
    (pg,), (pi,) = g.project([BANK]), i.project([BANK])
    assert i.stats.optimum == pytest.approx(i.stats.objective)
    assert i.stats.greedy_objective == pytest.approx(g.stats.objective)
    assert i.stats.optimum >= i.stats.greedy_objective
    assert i.stats.to_dict()["solve_ms_median"] >= 0
    # "Bank" -> [Banco Central] scores (1+1+1)/3 = 1 (ties with [Banco], longer wins) and goes
    # first (1 > 0.6): "Central" loses. The ILP gives Bank [Banco] and Central [Central].
    assert [s.key for s in pg.spans] == [(1, 3, "ORG")]
    assert [s.key for s in pi.spans] == [(1, 2, "ORG"), (2, 3, "ORG")]
    assert i.stats.n_greedy_below_optimum == 1 and i.stats.gap > 0
    lost = pg.entities[0]
    assert lost.outcome is Outcome.NO_CANDIDATE and lost.detail.startswith("conflict")


def test_bad_inputs_empty_target_long_entity_below_threshold():
    empty = ParallelPair(Sentence(("Obama",), (Span(0, 1, "PER"),)), Sentence(()), Alignment())
    long = mk("the United Nations Economic Commission for Europe", "CEPE", [(4, 0)], [Span(1, 7, "ORG")])
    weak = mk("Mr Prodi said", "dijo el señor Prodi", [(2, 0)], [Span(1, 2, "PER")])
    none = mk("nothing here", "nada aquí", [(0, 0)], [])
    proj = CandidateProjector("ngram", "ilp", threshold=0.25)
    out = proj.project([empty, long, weak, none])
    assert out[0].entities[0].outcome is Outcome.NO_CANDIDATE and out[0].entities[0].detail == "empty target sentence"
    assert out[1].spans[0].key == (0, 1, "ORG")  # 6-word entity onto 1 word: (1 + 1) / 7 >= 0.25
    assert out[2].entities[0].detail.startswith("below threshold")
    assert out[3] == out[3].__class__((), ())
    ev = proj.stats.events
    assert ev["pair_without_candidates"] == 1 and ev["entity_longer_than_target"] == 2


def test_ner_method_with_a_real_small_model():
    pair = mk("Mr Prodi met Mr Ahern", "el señor Prodi se reunió con el señor Ahern", [(1, 2), (4, 8)], [Span(1, 2, "PER"), Span(4, 5, "PER")])
    proj = CandidateProjector("ner", "ilp", ner_model=CapitalisationModel())
    (pr,) = proj.project([pair])
    assert [s.key for s in pr.spans] == [(2, 3, "PER"), (8, 9, "PER")]
    assert "model:CapitalisationModel" in proj.signature()
    named = CandidateProjector("ner", "ilp", ner_model="capitalisation")
    assert named.project([pair])[0].spans == pr.spans
    with pytest.raises(ProjnerError) as ei:
        CandidateProjector("ner", ner_model="bert")
    assert ei.value.code is E.E123


def test_fusion_with_string_and_translation_recovers_misaligned_names():
    # the aligner linked "Nikitin" to "acusar"; the copied name is found by the string scores
    pair = mk("accuse Alexander Nikitin", "acusar a Alexander Nikitin", [(0, 0), (2, 0)], [Span(1, 3, "PER")])
    ngram = CandidateProjector("ngram", "greedy", threshold=0.2).project([pair])[0]
    assert ngram.spans[0].key == (0, 1, "PER")
    fused = CandidateProjector("fusion", "greedy", weights="align=0.3,string=0.4,translation=0.3", translation_scorer=CharOverlapTranslation())
    assert fused.project([pair])[0].spans[0].key == (2, 4, "PER")


def test_lexical_translation_scorer_from_the_pairs():
    proj = CandidateProjector("fusion", "greedy", weights="align=0.5,translation=0.5", translation_scorer="lexical")
    (pr,) = proj.project([COMPOUND])
    assert pr.spans[1].key == (3, 5, "PER")
    assert "lexical" in proj.signature()


def test_configuration_errors():
    cases = [
        (dict(method="magic"), E.E121),
        (dict(solver="magic"), E.E122),
        (dict(method="ner"), E.E123),
        (dict(weights="align=1,ner=1"), E.E123),
        (dict(weights="align=1,translation=1"), E.E123),
        (dict(weights="align=one"), E.E120),
        (dict(threshold=-1), E.E128),
        (dict(threshold="high"), E.E128),
        (dict(max_len=0), E.E128),
        (dict(on_fail="ignore"), E.E128),
        (dict(ner_model=object(), method="fusion"), E.E123),
    ]
    for kw, code in cases:
        with pytest.raises(ProjnerError) as ei:
            CandidateProjector(**kw)
        assert ei.value.code is code, kw
    with pytest.raises(ProjnerError) as ei:
        CandidateProjector().project([("not", "a pair")])
    assert ei.value.code is E.E128


def test_ilp_size_limit_falls_back_and_is_reported():
    proj = CandidateProjector("ngram", "ilp", max_vars=1, max_len=2, weighted_links=True)
    proj.project([BANK])
    assert proj.stats.events["ilp_fallback_greedy"] == 1
    assert "E124" in proj.stats.fallback_messages[0] and "sentence 1" in proj.stats.fallback_messages[0]
    with pytest.raises(ProjnerError):
        CandidateProjector("ngram", "ilp", max_vars=1, weighted_links=True, on_fail="error").project([BANK])


def test_registry_build_projector_signature():
    p = projectors.create("ngram", solver="ilp")
    assert isinstance(p, CandidateProjector) and p.method == "ngram" and p.solver == "ilp"
    assert projectors.resolve("fusion") == "projner.projector.fusion.v1"
    assert projectors.resolve("ner") == "projner.projector.ner.v1"
    b = build_projector("fusion", "bipartite", "align=2,string=1", 0.4, max_len=5)
    sig = b.signature()
    for part in ("method:fusion", "solver:bipartite", "weights:align=2,string=1", "threshold:0.4", "ngram<=5"):
        assert part in sig
    assert build_projector("ngram").threshold == 0.3


def test_tune_weights_on_dev():
    pair = mk("accuse Alexander Nikitin", "acusar a Alexander Nikitin", [(0, 0), (2, 0)], [Span(1, 3, "PER")])
    gold = pair.tgt.with_spans([Span(2, 4, "PER")])
    proj = CandidateProjector("fusion", "greedy", threshold=0.2)
    golds = [gold, COMPOUND.tgt.with_spans([Span(1, 2, "ORG"), Span(3, 5, "PER")])]
    tuned, results = tune_weights(proj, [pair, COMPOUND], golds, step=0.25)
    assert len(results) == 5  # align=1, 0.75/0.25, ..., string=1
    by_w = {r["weights"]: r["f1"] for r in results}
    assert by_w["align=1,string=0"] < 1.0 and by_w["align=0,string=1"] < 1.0  # each alone fails somewhere
    assert max(by_w.values()) == 1.0 and tuned.weights == {"align": 0.25, "string": 0.75}
    assert project_sentences(tuned, [pair])[0].spans[0].key == (2, 4, "PER")
    assert proj.weights == {"align": 0.7, "string": 0.3}  # the original is unchanged
    with pytest.raises(ProjnerError) as ei:
        tune_weights(proj, [], [])
    assert ei.value.code is E.E126
    with pytest.raises(ProjnerError):
        tune_weights(proj, [pair], [])


def test_pairs_are_not_mutated():
    before = (COMPOUND.src, COMPOUND.tgt, COMPOUND.alignment)
    CandidateProjector("fusion", "ilp").project([COMPOUND])
    assert (COMPOUND.src, COMPOUND.tgt, COMPOUND.alignment) == before
