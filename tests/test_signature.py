"""Issue 14: one signature builder for every component and score (``kind:name|key:value|...``),
and the ``projner-project:1`` prefix added in one place."""

from __future__ import annotations

import re
from pathlib import Path

from projner import __version__
from projner.signature import PROJECT, component_signature, nest, project_signature

SRC = Path(__file__).resolve().parents[1] / "src" / "projner"
# kind:name, then key:value fields; a nested signature is bracketed and may hold '|'
FORM = re.compile(r"^[a-z]+:[^|()]+(\|[a-z0-9-]+:([^|()]|\([^()]*\))*)*$")


def test_component_signature_formats_values_one_way():
    sig = component_signature("aligner", "toy-1.0", model=3, ratio=0.50, copy_dict=True, seeded=False,
                              labels=["PER", "LOC"], skipped=None, translator=nest("translator:x|beam:4"))
    assert sig == "aligner:toy-1.0|model:3|ratio:0.5|copy-dict:yes|seeded:no|labels:LOC,PER|translator:(translator:x|beam:4)"
    assert FORM.match(sig)


def test_project_prefix_and_version_are_added_once_in_one_place():
    assert project_signature("method:heuristic|gap:1") == f"{PROJECT}|method:heuristic|gap:1|version:{__version__}"
    users = sorted(str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if "projner-project:" in p.read_text(encoding="utf-8"))
    assert users == ["signature.py"]


def test_every_component_signs_in_the_one_form(tmp_path):
    from projner.align.eflomal import EflomalAligner
    from projner.project.heuristic import HeuristicProjector
    from projner.project.matching import build_projector
    from projner.project.multisource import CombineConfig
    from projner.project.scores import AlignmentScorer, FusionScorer, NERScorer
    from projner.translate.parallel import ParallelFileTranslator

    (tmp_path / "a.en").write_text("a\n", encoding="utf-8")
    (tmp_path / "a.sw").write_text("b\n", encoding="utf-8")
    sigs = {
        "eflomal": EflomalAligner().signature(),
        "heuristic": HeuristicProjector().signature(),
        "matching": build_projector("fusion", "greedy", "align=1,string=0.5", 0.3).signature(),
        "combine": CombineConfig().signature(),
        "scores": FusionScorer({"align": AlignmentScorer(), "ner": NERScorer()}, {"align": 1.0, "ner": 0.5}).signature(),
        "parallel": ParallelFileTranslator(str(tmp_path / "a.en"), str(tmp_path / "a.sw")).signature(),
    }
    for name, sig in sigs.items():
        assert FORM.match(sig), (name, sig)
        assert PROJECT not in sig and "version:" not in sig, (name, sig)  # the prefix is added where a projection is signed
    # the printed fields the docs show are unchanged (EXPERIMENTS.md)
    assert sigs["heuristic"] == "method:heuristic|gap:1|ratio:>=0.8,<=none|keep:longest|strip-det:no"
    assert re.match(r"aligner:eflomal-[^|]+\|model:3\|sym:reverse\|samplers:3\|runs:1\|stem:4,0\|extra:0\|copy-dict:yes\|", sigs["eflomal"])
    assert sigs["matching"].startswith("method:fusion|solver:greedy|") and "|scores:(score:align|mode:" in sigs["matching"]
    assert sigs["scores"].startswith("score:fusion|parts:1*(score:align|") and "+0.5*(score:ner|alpha:1.15)" in sigs["scores"]
