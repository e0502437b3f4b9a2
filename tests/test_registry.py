"""Issue 14: one ``registry.create(kind, name)``; built-ins found through a table, not import side
effects; a name registered once; short names resolve to the newest version, pinned ones to theirs."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from projner import registry
from projner.errors import E, ProjnerError
from projner.registry import BUILTINS, Registry, create, resolve

SRC = Path(__file__).resolve().parents[1] / "src" / "projner"


def _fresh(code: str) -> str:
    """Run ``code`` in a fresh interpreter (nothing imported yet) and return its stdout."""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    return res.stdout


def test_create_needs_no_import_for_its_side_effect():
    out = _fresh(
        "import sys\n"
        "from projner.registry import create, factory_module\n"
        "before = 'projner.align.eflomal' in sys.modules\n"
        "print(factory_module('aligner', 'neural'), 'projner.align.neural' in sys.modules)\n"
        "a = create('aligner', 'eflomal', sym='intersection')\n"
        "print(before, type(a).__name__, a.component_name, a.sym)\n"
    )
    assert out.splitlines() == [
        "projner.align.neural False",  # the module of a factory is known without importing it
        "False EflomalAligner projner.aligner.eflomal.v1 intersection",
    ]


def test_every_table_entry_is_the_factory_its_module_registers_under_that_name():
    for full, target in BUILTINS.items():
        kind = full.split(".")[1]
        module, attr = target.split(":")
        factory = registry.get(kind, full)
        assert factory is getattr(importlib.import_module(module), attr), full
        # the module's own decorator registered exactly this factory under this name
        assert registry.registry(kind)._items[full] is factory, full
        assert registry.factory_module(kind, full) == module == factory.__module__


def test_every_registration_in_src_is_in_the_table():
    """A built-in registered by a decorator but missing from the table would only exist after an import."""
    found = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "register"
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                found.add(node.args[0].value)
    assert found and found == set(BUILTINS)


def test_no_import_only_for_its_registration_side_effect():
    """``import projner.X  # noqa: F401`` (a module imported for what importing it registers) is gone."""
    builtin_modules = {t.split(":")[0] for t in BUILTINS.values()} | {"projner.ner", "projner.translate"}
    offenders = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                offenders += [f"{path.relative_to(SRC)}:{node.lineno} {a.name}" for a in node.names
                              if a.name in builtin_modules and a.asname is None]
    assert not offenders, offenders


def test_short_pinned_and_full_names_resolve():
    assert resolve("aligner", "eflomal") == "projner.aligner.eflomal.v1"
    assert resolve("aligner", "eflomal.v1") == "projner.aligner.eflomal.v1"
    assert resolve("aligner", "projner.aligner.eflomal.v1") == "projner.aligner.eflomal.v1"
    assert create("projector", "heuristic.v1", max_gap=2).component_name == "projner.projector.heuristic.v1"
    # Registry.create is the same thing, through one registry
    p = registry.projectors.create("heuristic", keep="all")
    assert p.keep == "all" and p.component_name == "projner.projector.heuristic.v1"


def test_short_name_is_the_newest_version_and_a_pin_keeps_the_old_one():
    reg = Registry("aligner", builtins={})
    reg.register("projner.aligner.toy.v1")(lambda **kw: {"v": 1, **kw})
    reg.register("projner.aligner.toy.v10")(lambda **kw: {"v": 10, **kw})
    reg.register("projner.aligner.toy.v2")(lambda **kw: {"v": 2, **kw})
    assert reg.resolve("toy") == "projner.aligner.toy.v10"  # numeric, not text order
    assert reg.create("toy.v2", x=1) == {"v": 2, "x": 1}
    assert reg.short_names() == ["toy"] and reg.knows("toy.v1") and not reg.knows("toy.v3")


def test_unknown_version_or_name_lists_the_known_ones():
    for name in ("eflomal.v9", "projner.aligner.eflomal.v9", "eflomall"):
        with pytest.raises(ProjnerError) as ei:
            create("aligner", name)
        assert ei.value.code is E.E017
        assert "projner.aligner.eflomal.v1" in str(ei.value) and "projner.aligner.neural.v1" in str(ei.value)
    with pytest.raises(ProjnerError) as ei:
        create("aligners", "eflomal")
    assert ei.value.code is E.E048 and "aligner, projector" in str(ei.value)


def test_registering_a_taken_name_is_an_error():
    reg = Registry("tagger", builtins={})

    def first(**kw):
        return "first"

    reg.register("projner.tagger.twice.v1")(first)
    reg.register("projner.tagger.twice.v1")(first)  # the same factory again (a module imported twice): fine
    with pytest.raises(ProjnerError) as ei:
        reg.register("projner.tagger.twice.v1")(lambda **kw: "second")
    assert ei.value.code is E.E046 and "first" in str(ei.value)
    assert reg.create("twice") == "first"  # not overwritten
    # a built-in's name is taken too, whether its module was imported yet or not
    with pytest.raises(ProjnerError) as ei:
        registry.aligners.register("projner.aligner.eflomal.v1")(lambda **kw: None)
    assert ei.value.code is E.E046 and "projner.align.eflomal" in str(ei.value)
    with pytest.raises(ProjnerError) as ei:
        registry.studies.register("projner.study.morphology.v1")(lambda **kw: None)
    assert ei.value.code is E.E046


def test_malformed_names_are_refused():
    for bad in ("eflomal", "projner.aligner.eflomal", "projner.tagger.eflomal.v1", "projner.aligner.Eflomal.v1"):
        with pytest.raises(ProjnerError) as ei:
            registry.aligners.register(bad)
        assert ei.value.code is E.E047


def test_missing_third_party_package_of_a_builtin_is_E020(tmp_path, monkeypatch):
    (tmp_path / "projner_k_needs_missing.py").write_text("import projner_k_absent_pkg\n\ndef make(**kw):\n    return kw\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    reg = Registry("translator", builtins={"projner.translator.needy.v1": "projner_k_needs_missing:make"})
    assert reg.names() == ["projner.translator.needy.v1"]  # listed before anything is imported
    with pytest.raises(ProjnerError) as ei:
        reg.create("needy")
    assert ei.value.code is E.E020 and "projner_k_absent_pkg" in str(ei.value) and "projner[translate]" in str(ei.value)


def test_a_study_config_may_pin_a_version():
    from projner.pipeline.experiment import parse_config

    cfg = parse_config({"study": "scale_out.v1", "sizes": [40], "num_cpus": [2], "aligners": [{"name": "pharaoh"}]})
    assert cfg.study == "projner.study.scale_out.v1"
    with pytest.raises(ProjnerError, match="unknown study 'scale_out.v7'"):
        parse_config({"study": "scale_out.v7"})


def test_an_experiment_config_may_pin_an_aligner_version():
    from projner.pipeline.experiment import parse_config

    base = {"aligners": {"efl": {"name": "eflomal.v1", "params": {"sym": "intersection"}}},
            "grid": {"languages": ["xx"], "aligners": ["efl"]}}
    cfg = parse_config(base)
    assert cfg.aligners["efl"]["name"] == "eflomal.v1"
    with pytest.raises(ProjnerError, match="unknown aligner 'eflomal.v2'"):
        parse_config({**base, "aligners": {"efl": {"name": "eflomal.v2"}}})
    # and its parameters are checked as eflomal's (by the config check of `experiment run --check`)
    from projner.pipeline.config_check import check_params

    problems = check_params("aligner", "eflomal.v1", {"sym": "intersectoin"}, "aligners.efl.params")
    assert problems and "unknown value 'intersectoin'" in problems[0][1]
