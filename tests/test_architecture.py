"""The architecture rules of src/projner, enforced (issue 14).

* Layers import only downward: core (types, errors, registry, signature, fingerprint) → data →
  models → align, ner, translate → project → evaluate → pipeline → research, scale, inspect → cli.
  Every import counts: module level, inside functions, ``from . import``. Packages on one layer
  do not import each other.
* No module is longer than 500 lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "projner"

CORE = ("__init__", "__main__", "types", "errors", "registry", "signature", "fingerprint", "log", "resources")
LAYERS: tuple[tuple[str, ...], ...] = (
    CORE,
    ("data",),
    ("models",),
    ("align", "ner", "translate"),
    ("project",),
    ("evaluate",),
    ("pipeline",),
    ("research", "scale", "inspect"),
    ("cli",),
)
LAYER = {unit: i for i, units in enumerate(LAYERS) for unit in units}
MAX_LINES = 500


def _unit(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "projner":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def _module_name(path: Path, root: Path = SRC) -> tuple[str, str]:
    """(module, package) of a file under ``root`` (the ``projner`` folder)."""
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
        return ".".join(parts), ".".join(parts)
    return ".".join(parts), ".".join(parts[:-1])


def _imports(path: Path, root: Path = SRC) -> list[tuple[int, str]]:
    module, package = _module_name(path, root)
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.append((node.lineno, target))
            # ``from projner import x`` names a unit too
            if target == "projner":
                out += [(node.lineno, f"projner.{a.name}") for a in node.names if not a.name.startswith("_")]
        elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) in (
            "import_module", "__import__",
        ) and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            out.append((node.lineno, node.args[0].value))
    return out


def layer_violations(root: Path = SRC) -> list[str]:
    bad = []
    for path in sorted(root.rglob("*.py")):
        me = _unit(_module_name(path, root)[0])
        if me not in LAYER:
            bad.append(f"{path.relative_to(root)}: package {me!r} has no layer")
            continue
        for lineno, target in _imports(path, root):
            other = _unit(target)
            if other is None or other == me or target == "projner":
                continue
            if other not in LAYER:
                bad.append(f"{path.relative_to(root)}:{lineno}: imports {target} (no layer)")
            elif LAYER[other] > LAYER[me] or (LAYER[other] == LAYER[me] and LAYER[me] != 0):
                bad.append(f"{path.relative_to(root)}:{lineno}: {me} (layer {LAYER[me]}) imports {target} (layer {LAYER[other]})")
    return bad


def test_layers_import_only_downward():
    bad = layer_violations()
    assert not bad, "imports against the layer order:\n" + "\n".join(bad)


def test_no_module_over_500_lines():
    long = [f"{p.relative_to(SRC)}: {n} lines" for p in sorted(SRC.rglob("*.py"))
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES]
    assert not long, f"modules over {MAX_LINES} lines:\n" + "\n".join(long)


def test_the_checker_sees_violations(tmp_path):
    """The rule can fail: an upward import inside a function is found."""
    pkg = tmp_path / "projner"
    (pkg / "data").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "data" / "__init__.py").write_text("")
    (pkg / "data" / "x.py").write_text("def f():\n    from projner.pipeline import cache\n    from ..cli import main\n")
    (pkg / "types.py").write_text("from projner.data import x\n")
    bad = layer_violations(pkg)
    assert any("data/x.py:2" in b and "projner.pipeline" in b for b in bad)
    assert any("data/x.py:3" in b and "projner.cli" in b for b in bad)
    assert any(b.startswith("types.py:1") for b in bad)


@pytest.mark.parametrize("target", ["projner.research.self_training", "projner.scale.study"])
def test_siblings_on_one_layer_are_violations(tmp_path, target):
    pkg = tmp_path / "projner"
    (pkg / "inspect").mkdir(parents=True)
    (pkg / "inspect" / "v.py").write_text(f"import {target}\n")
    assert any("inspect/v.py:1" in b for b in layer_violations(pkg))
