"""The project step with partial-label rules (ProjectionConfig.unknown): projected.jsonl holds
unknown tokens, the counts land in stats.json, and the rules are part of the cache key."""

import json

import pytest

from projner.errors import E, ProjnerError
from projner.pipeline.cache import Cache, StepRunner, read_sentences, write_alignments, write_sentences
from projner.pipeline.config import ProjectionConfig
from projner.pipeline.experiment import RunSpec, parse_config, pipeline_config
from projner.pipeline.steps import project_step
from projner.types import Alignment, Sentence, Span

# English labelled by the "labeller" (scores as a CRF gives them) and its word-by-word "xx" side;
# "Bello" was missed by the labeller, "Kano Pillars" scored low
SRC = (
    Sentence(("Musa", "met", "Bello", "in", "Lagos", "."), (Span(0, 1, "PER", 0.95), Span(4, 5, "LOC", 0.9))),
    Sentence(("Kano", "Pillars", "won", "."), (Span(0, 2, "ORG", 0.3),)),
)
TGT = (("Musa", "alikutana", "na", "Bello", "katika", "Lagos", "."), ("Kano", "Pillars", "ilishinda", "."))
ALS = (Alignment.from_pairs([(0, 0), (1, 1), (2, 3), (3, 4), (4, 5), (5, 6)]), Alignment.from_pairs([(0, 0), (1, 1), (2, 2), (3, 3)]))


@pytest.fixture
def chain(tmp_path):
    runner = StepRunner(Cache(tmp_path / "cache"))

    def labelled_compute(out):
        write_sentences(out / "labelled.jsonl", SRC)
        return {}

    def aligned_compute(out):
        write_alignments(out / "links.align", ALS)
        return {}

    labelled = runner.run("label", {"test": "unknown"}, {}, labelled_compute)
    aligned = runner.run("align", {"test": "unknown"}, {}, aligned_compute)
    return runner, labelled, aligned


def test_project_step_with_caps_writes_unknown_tokens_and_counts(chain):
    runner, labelled, aligned = chain
    entry = project_step(runner, ProjectionConfig(unknown=("caps",)), labelled, TGT, aligned)
    got = read_sentences(entry.file("projected.jsonl"))
    assert got[0].unknown == (3,) and [sp.label for sp in got[0].spans] == ["PER", "LOC"]
    stats = json.loads(entry.file("stats.json").read_text(encoding="utf-8"))
    assert stats["unknown"]["by_rule"]["caps"] == {"tokens": 1, "sentences": 1}
    assert stats["unknown"]["tokens_kept"] == sum(len(s.unknown) for s in got) == 1
    plain = project_step(runner, ProjectionConfig(), labelled, TGT, aligned)
    assert all(s.unknown == () for s in read_sentences(plain.file("projected.jsonl")))
    assert "unknown" not in json.loads(plain.file("stats.json").read_text(encoding="utf-8"))


def test_unknown_rules_change_the_cache_key(chain):
    runner, labelled, aligned = chain
    fps = {}
    for rules, score in [((), 0.5), (("caps",), 0.5), (("caps", "low-score"), 0.5), (("caps", "low-score"), 0.4)]:
        fps[rules, score] = project_step(runner, ProjectionConfig(unknown=rules, unknown_score=score), labelled, TGT, aligned).fingerprint
    assert len(set(fps.values())) == 4
    again = project_step(runner, ProjectionConfig(unknown=("caps",)), labelled, TGT, aligned)
    assert again.fingerprint == fps[("caps",), 0.5] and runner.events[-1].status == "hit"
    # the score is no parameter without the low-score rule
    other_score = project_step(runner, ProjectionConfig(unknown=("caps",), unknown_score=0.2), labelled, TGT, aligned)
    assert other_score.fingerprint == fps[("caps",), 0.5]


def test_low_score_entities_become_unknown_and_pass_the_complete_filter(chain):
    runner, labelled, aligned = chain
    cfg = ProjectionConfig(filter="complete", unknown=("low-score",))
    got = read_sentences(project_step(runner, cfg, labelled, TGT, aligned).file("projected.jsonl"))
    assert len(got) == 2 and got[1].spans == () and got[1].unknown == (0, 1)
    # without the rule the low-score entity is projected as an ORG
    plain = read_sentences(project_step(runner, ProjectionConfig(filter="complete"), labelled, TGT, aligned).file("projected.jsonl"))
    assert plain[1].spans == (Span(0, 2, "ORG"),)


def test_rules_are_validated_in_the_config_and_the_experiment_schema():
    with pytest.raises(ProjnerError) as ei:
        ProjectionConfig(unknown=("capz",))
    assert ei.value.code is E.E202 and "did you mean 'caps'" in str(ei.value)
    with pytest.raises(ProjnerError) as ei:
        ProjectionConfig(unknown_score=1.5)
    assert ei.value.code is E.E202
    base = {"grid": {"languages": ["xx"], "methods": ["p"]}, "aligners": {}, "parallel": {}, "models": {}}
    with pytest.raises(ProjnerError) as ei:
        parse_config({**base, "methods": {"p": {"method": "heuristic", "unknown": ["caps", "edge"]}}}, "cfg.yaml")
    assert "methods.p.unknown[1]: unknown partial-label rule 'edge'" in str(ei.value)
    cfg = parse_config({**base, "methods": {"p": {"method": "heuristic", "unknown": ["unprojected", "caps"], "unknown_score": 0.3}}})
    proj = pipeline_config(cfg, RunSpec("xx", "projection", "mafand", "eflomal", "p", "crf")).projection
    assert proj.unknown == ("unprojected", "caps") and proj.unknown_score == 0.3
