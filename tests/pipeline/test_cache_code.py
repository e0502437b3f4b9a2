"""Cache keys cover code, components and engines (projner.fingerprint): a code change is never a stale hit."""

from __future__ import annotations

import importlib.util
import json
import os
import sys

import pytest

import projner.fingerprint as F
from projner.pipeline.cache import Cache, StepRunner

STEPS_A = '''"""Step A: writes what helper() says."""


def helper():
    return "a1"


def unrelated():
    return 0


def step_a(runner):
    def compute(out):
        (out / "a.txt").write_text(helper(), encoding="utf-8")

    return runner.run("a", {"p": 1}, {}, compute)
'''

STEPS_B = '''
def step_b(runner, a):
    def compute(out):
        (out / "b.txt").write_text(a.file("a.txt").read_text(encoding="utf-8") + "+b", encoding="utf-8")

    return runner.run("b", {}, {"a": a.fingerprint}, compute)


def step_c(runner):
    def compute(out):
        (out / "c.txt").write_text("c", encoding="utf-8")

    return runner.run("c", {}, {}, compute)
'''


def _load(path, name, monkeypatch):
    """(Re)import a module from its file, as a fresh module object under ``name``."""
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, mod)
    spec.loader.exec_module(mod)
    return mod


def _edit(path, text):
    st = os.stat(path)
    path.write_text(text, encoding="utf-8")
    later = st.st_mtime_ns + 10**9  # a new modification time even on coarse clocks
    os.utime(path, ns=(later, later))


@pytest.fixture
def steps(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    pa, pb = tmp_path / "code" / "projner_test_steps_a.py", tmp_path / "code" / "projner_test_steps_b.py"
    pa.parent.mkdir()
    pa.write_text(STEPS_A, encoding="utf-8")
    pb.write_text(STEPS_B, encoding="utf-8")

    def run(runner):
        a = _load(pa, "projner_test_steps_a", monkeypatch)
        b = _load(pb, "projner_test_steps_b", monkeypatch)
        ea = a.step_a(runner)
        eb = b.step_b(runner, ea)
        ec = b.step_c(runner)
        return ea, eb, ec

    return pa, run


def _statuses(runner, start):
    return [(ev.step, ev.status) for ev in runner.events[start:]]


def test_editing_a_steps_code_invalidates_it_and_its_dependents_only(tmp_path, steps):
    pa, run = steps
    r = StepRunner(Cache(tmp_path / "cache"))
    run(r)
    assert _statuses(r, 0) == [("a", "miss"), ("b", "miss"), ("c", "miss")]
    run(r)
    assert _statuses(r, 3) == [("a", "hit"), ("b", "hit"), ("c", "hit")]

    # comments, docstrings, formatting and functions the step does not reach do not count
    cosmetic = STEPS_A.replace('"""Step A: writes what helper() says."""', '"""Step A, reworded."""') \
        .replace('    return "a1"', '    # the value\n    return (\n        "a1"\n    )') \
        .replace("    return 0", "    return 42")
    _edit(pa, cosmetic)
    run(r)
    assert _statuses(r, 6) == [("a", "hit"), ("b", "hit"), ("c", "hit")]

    # a change to code the step runs (a helper it calls): that step is stale, its dependent recomputed
    _edit(pa, cosmetic.replace('"a1"', '"a2"'))
    ea, eb, ec = run(r)
    assert _statuses(r, 9) == [("a", "stale"), ("a", "miss"), ("b", "miss"), ("c", "hit")]
    stale = r.events[9]
    assert "code changed: fn:projner_test_steps_a.helper" in stale.detail and "recomputing" in stale.detail
    assert eb.file("b.txt").read_text(encoding="utf-8") == "a2+b"
    man = json.loads((ea.path / "manifest.json").read_text(encoding="utf-8"))
    assert set(man["key"]["code"]) >= {"fn:projner_test_steps_a.step_a.<locals>.compute", "fn:projner_test_steps_a.helper"}
    assert "fn:projner_test_steps_a.unrelated" not in man["key"]["code"]
    run(r)
    assert _statuses(r, 13) == [("a", "hit"), ("b", "hit"), ("c", "hit")]


def test_key_is_printable_and_names_components_and_engines(tmp_path, monkeypatch):
    from projner.registry import aligners

    r = StepRunner(Cache(tmp_path))

    def compute(out):
        (out / "x.txt").write_text("x", encoding="utf-8")

    key = r.key("align", {"sym": "x"}, {"src": "h"}, compute, components=[("aligner", "eflomal")])
    assert key.components == ("projner.aligner.eflomal.v1",)
    assert "module:projner.align.eflomal" in key.code and "module:projner.align.base" in key.code
    assert key.engines == {"eflomal": F.engine_version("eflomal")}
    text = key.describe()
    assert key.digest in text and "component  projner.aligner.eflomal.v1" in text and "engine     eflomal" in text

    e1 = r.run("align", {"sym": "x"}, {"src": "h"}, compute, components=[("aligner", "eflomal")])
    assert e1.fingerprint == key.digest
    man = json.loads((e1.path / "manifest.json").read_text(encoding="utf-8"))
    assert man["key"]["components"] == ["projner.aligner.eflomal.v1"] and "eflomal" in man["key"]["engines"]

    # a new version of the component: "eflomal" resolves to it, so the key changes
    monkeypatch.setitem(aligners._items, "projner.aligner.eflomal.v2", lambda **kw: None)
    r.run("align", {"sym": "x"}, {"src": "h"}, compute, components=[("aligner", "eflomal")])
    assert [ev.status for ev in r.events] == ["miss", "stale", "miss"]
    assert "components projner.aligner.eflomal.v1 → projner.aligner.eflomal.v2" in r.events[1].detail
    # the explicit v1 still names the first entry
    assert r.run("align", {"sym": "x"}, {"src": "h"}, compute,
                 components=[("aligner", "projner.aligner.eflomal.v1")]).path == e1.path
    assert r.events[-1].status == "hit"


def test_engine_version_change_invalidates(tmp_path, monkeypatch):
    r = StepRunner(Cache(tmp_path))
    calls = []

    def compute(out):
        calls.append(1)
        (out / "m.txt").write_text("m", encoding="utf-8")

    r.run("train", {}, {}, compute, components=[("tagger", "crf")])
    r.run("train", {}, {}, compute, components=[("tagger", "crf")])
    real = F.engine_version
    monkeypatch.setattr(F, "engine_version", lambda name: "99.0" if name == "python-crfsuite" else real(name))
    r.run("train", {}, {}, compute, components=[("tagger", "crf")])
    assert [ev.status for ev in r.events] == ["miss", "hit", "stale", "miss"] and len(calls) == 2
    assert f"engine python-crfsuite {real('python-crfsuite')} → 99.0" in r.events[2].detail
    # explicitly named engines count too
    r.run("other", {}, {}, compute, engines=["spacy-pipeline:" + str(tmp_path / "pipe")])
    (tmp_path / "pipe").mkdir()
    (tmp_path / "pipe" / "meta.json").write_text(json.dumps({"version": "3.1.0"}), encoding="utf-8")
    r.run("other", {}, {}, compute, engines=["spacy-pipeline:" + str(tmp_path / "pipe")])
    assert r.events[-2].status == "stale" and "→ 3.1.0" in r.events[-2].detail


def test_translate_train_steps_record_their_components(world, tmp_path):
    """The pipeline's call sites pass the components they resolve: full versioned names and engines in every manifest."""
    from test_translate_train import _cfg

    from projner.pipeline.translate_train import translate_train

    r = StepRunner(Cache(tmp_path / "cache"))
    res = translate_train(_cfg(world), runner=r)

    def key(step):
        man = json.loads((tmp_path / "cache" / step / res.steps[step] / "manifest.json").read_text(encoding="utf-8"))
        return man["key"]

    assert key("labeller")["components"] == key("train")["components"] == ["projner.tagger.crf.v1"]
    assert "python-crfsuite" in key("train")["engines"] and "module:projner.ner.crf" in key("train")["code"]
    assert key("project")["components"] == ["projner.projector.heuristic.v1"]
    assert key("align")["components"] == []  # pharaoh links: no aligner runs
    assert any(k.startswith("fn:projner.pipeline.") and k.endswith(".project_step.<locals>.compute") for k in key("project")["code"])
    # what the step's own function imports to do its work is code (followed); what callers pass in is not
    assert any(k.endswith(".project_corpora") for k in key("project")["code"])
    assert not any("<lambda>" in k for k in key("train")["code"])


def _train_like(runner, load):
    def compute(out):
        (out / "d.txt").write_text(load(), encoding="utf-8")

    return runner.run("t", {}, {"data": "h"}, compute)


def test_what_callers_pass_in_is_an_input_not_code(tmp_path):
    """Two callers with their own data loaders for the same input share the step (as the scaling study
    shares translate-train's steps); the loaders' data is identified by the inputs."""
    r = StepRunner(Cache(tmp_path))
    e1 = _train_like(r, lambda: "x")
    e2 = _train_like(r, lambda: "x" if True else "never")
    assert e1.path == e2.path and [ev.status for ev in r.events] == ["miss", "hit"]


TABLES = '''
LIMIT = 3


def double(x):
    return 2 * x


def triple(x):
    return 3 * x


TABLE = {"double": double, "triple": triple}


def work(name):
    return TABLE[name](LIMIT)
'''


def test_code_hash_follows_dispatch_tables_and_constants(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    path = tmp_path / "projner_test_tables.py"
    path.write_text(TABLES, encoding="utf-8")

    def key():
        mod = _load(path, "projner_test_tables", monkeypatch)
        return F.make_key("k", {}, {}, code=[mod.work])

    base = key()
    assert {"fn:projner_test_tables.work", "fn:projner_test_tables.triple", "const:projner_test_tables.LIMIT",
            "const:projner_test_tables.TABLE"} <= set(base.code)
    for old, new, what in [("return 3 * x", "return 4 * x", "fn:projner_test_tables.triple"),
                           ("LIMIT = 3", "LIMIT = 5", "const:projner_test_tables.LIMIT")]:
        _edit(path, TABLES.replace(old, new))
        k = key()
        assert k.digest != base.digest and F.changes(base.document(), k.document()) == [f"code changed: {what}"]
    _edit(path, TABLES.replace("LIMIT = 3", "LIMIT = (\n    3  # the limit\n)"))
    assert key().digest == base.digest
