"""Keys of computed results: their data and parameters, and the code and engines that computed them.

As the HF ``datasets`` library fingerprints a transform by hashing the function it runs, a
:class:`Key` holds everything a cached result depends on:

* ``kind``: what is computed (a pipeline step name, ``scale-shard``);
* ``params`` and ``inputs``: its parameters, and content hashes / keys of its inputs;
* ``code``: ``{name: hash}`` of the code it runs (below);
* ``components``: the full versioned registry names of the components it uses
  (``projner.aligner.eflomal.v1``, never the short ``eflomal``);
* ``engines``: ``{distribution: version}`` of the libraries doing the work (eflomal,
  python-crfsuite, torch, transformers, spacy and a spaCy pipeline, ctranslate2): from
  :data:`ENGINES` for the component modules, plus any the caller names;
* projner's version and the key format.

Its :attr:`Key.digest` is the sha256 of its canonical JSON document; :meth:`Key.describe`
prints it and :func:`changes` says what differs between two key documents (why a cached result
is stale). Used by the pipeline step cache (:mod:`projner.pipeline.cache`) and the scale-out
shards (:mod:`projner.scale.keys`).

Code is hashed as a **normalised AST**: the source parsed with :mod:`ast`, docstrings removed,
dumped without line or column numbers. Comments, docstrings, blank lines and formatting do not
change a hash; anything else does (a renamed local variable too: conservative). What is hashed:

* a function (``fn:MODULE.QUALNAME``): its own definition and, recursively, the functions it
  reaches through global names, closure cells (not those bound to a parameter of the enclosing
  function: what a caller passes in, e.g. a data loader, is an input, identified by the key's
  ``inputs``, so two callers share a step) and ``from M import name`` statements in its body
  (also functions held in a list, tuple, set or dict there: dispatch tables), as long as they are
  project code (``projner``, or any module outside the standard library and site-packages); the
  module-level constants it reads (``const:MODULE.NAME``: the assignment's AST). Not followed:
  classes, methods called on objects (pass their class or component), third-party code (the
  engines stand for it).
* a module (``module:NAME``): the whole file.
* a component: the module of its registered factory and the modules of the same package that
  module imports, transitively (``projner.ner.crf`` → ``projner.ner.base``, ``projner.ner.io``).
  A class given as code counts the same way (its module and that module's package imports).

Hashes are cached per file until its modification time or size changes.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib
import importlib.metadata
import importlib.util
import json
import os
import sys
import sysconfig
import tokenize
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

KEY_FORMAT = 2

# module -> distributions whose version is part of the key of any result its code computes
ENGINES: dict[str, tuple[str, ...]] = {
    "projner.align.eflomal": ("eflomal",),
    "projner.align.neural": ("torch", "transformers"),
    "projner.ner.crf": ("python-crfsuite",),
    "projner.ner.transformer": ("torch", "transformers"),
    "projner.ner.fast": ("torch", "transformers"),
    "projner.ner.spacy_tagger": ("spacy",),
    "projner.translate.seq2seq": ("torch", "transformers"),
    "projner.translate.ct2": ("ctranslate2", "transformers"),
}
SPACY_PIPELINE = "spacy-pipeline:"  # engine name prefix: the version of an installed pipeline (or folder)


# ----------------------------------------------------------------------------- canonical JSON


def canon(obj: Any) -> Any:
    """A JSON-able canonical form (tuples → lists, paths → strings, dataclasses → dicts, sorted keys)."""
    from dataclasses import asdict, is_dataclass

    if is_dataclass(obj) and not isinstance(obj, type):
        return canon(asdict(obj))
    if isinstance(obj, Mapping):
        return {str(k): canon(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, (list, tuple)):
        return [canon(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted(canon(v) for v in obj)
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, float):
        return repr(obj)
    if obj is None or isinstance(obj, (str, int, bool)):
        return obj
    return repr(obj)


def hash_json(obj: Any) -> str:
    data = json.dumps(canon(obj), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ----------------------------------------------------------------------------- sources


@dataclass
class _Source:
    stat: tuple[int, int]
    tree: ast.Module
    by_line: dict[int, list[ast.AST]]
    assigns: dict[str, list[ast.AST]]
    outer_params: dict[int, frozenset[str]]  # id(function node) -> parameters of the function around it
    hashes: dict[Any, str] = field(default_factory=dict)


_SOURCES: dict[str, _Source] = {}
_THIRD_PARTY = tuple({os.path.realpath(p) for k in ("stdlib", "platstdlib", "purelib", "platlib")
                      if (p := sysconfig.get_paths().get(k))})


def _strip_docstrings(tree: ast.AST) -> None:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]


def _source(path: str) -> _Source | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    stat = (st.st_mtime_ns, st.st_size)
    src = _SOURCES.get(path)
    if src is not None and src.stat == stat:
        return src
    try:
        with tokenize.open(path) as fh:
            tree = ast.parse(fh.read(), filename=path)
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None
    _strip_docstrings(tree)
    by_line: dict[int, list[ast.AST]] = {}
    outer_params: dict[int, frozenset[str]] = {}
    todo: list[tuple[ast.AST, frozenset[str]]] = [(tree, frozenset())]
    while todo:
        parent, params = todo.pop()
        for node in ast.iter_child_nodes(parent):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                lines = {node.lineno}
                if getattr(node, "decorator_list", None):
                    lines.add(node.decorator_list[0].lineno)
                for ln in lines:
                    by_line.setdefault(ln, []).append(node)
                outer_params[id(node)] = params
                a = node.args
                todo.append((node, frozenset(x.arg for x in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg] if x)))
            else:
                todo.append((node, params))
    assigns: dict[str, list[ast.AST]] = {}
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        for t in targets:
            for name in ast.walk(t):
                if isinstance(name, ast.Name):
                    assigns.setdefault(name.id, []).append(node)
    src = _Source(stat, tree, by_line, assigns, outer_params)
    _SOURCES[path] = src
    return src


def _dump(node: ast.AST) -> str:
    return ast.dump(node, annotate_fields=False, include_attributes=False)


def _module_file(module: types.ModuleType | str) -> tuple[str, str | None]:
    if isinstance(module, str):
        mod = sys.modules.get(module)
        if mod is None:
            return module, _spec_origin(module)
        module = mod
    return module.__name__, getattr(module, "__file__", None)


def _spec_origin(name: str) -> str | None:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError, AttributeError):
        return None
    return spec.origin if spec is not None else None


def module_hash(module: types.ModuleType | str) -> tuple[str, str]:
    """(``module:NAME``, hash of the module's normalised AST)."""
    name, path = _module_file(module)
    src = _source(path) if path else None
    if src is None:
        return f"module:{name}", "no-source"
    if "module" not in src.hashes:
        src.hashes["module"] = _sha(_dump(src.tree))
    return f"module:{name}", src.hashes["module"]


def _is_project(fn: Any) -> bool:
    mod = getattr(fn, "__module__", None) or ""
    if mod == "projner" or mod.startswith("projner."):
        return True
    code = getattr(fn, "__code__", None)
    if code is None:
        return False
    path = os.path.realpath(code.co_filename)
    return os.path.isfile(path) and not path.startswith(_THIRD_PARTY)


def _function_hash(fn: types.FunctionType) -> tuple[str, str, list[ast.AST]]:
    """(``fn:MODULE.QUALNAME``, hash, its AST nodes) of one function, from its source (bytecode if none)."""
    code = fn.__code__
    name = f"fn:{fn.__module__}.{fn.__qualname__}"
    src = _source(code.co_filename)
    nodes = []
    if src is not None:
        nodes = [n for n in src.by_line.get(code.co_firstlineno, [])
                 if isinstance(n, ast.Lambda) == (fn.__name__ == "<lambda>")]
    if not nodes:  # no source: the bytecode, its names and constants (without line numbers)
        return name, _sha(repr(_code_parts(code))), []
    key = ("fn", code.co_firstlineno, fn.__name__)
    if key not in src.hashes:
        src.hashes[key] = _sha("\n".join(_dump(n) for n in nodes))
    return name, src.hashes[key], nodes


def _code_parts(code: types.CodeType) -> tuple:
    consts = tuple(_code_parts(c) if isinstance(c, types.CodeType) else repr(c) for c in code.co_consts)
    return code.co_code, code.co_names, code.co_varnames, consts


def _names(code: types.CodeType) -> set[str]:
    out = set(code.co_names)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            out |= _names(c)
    return out


def _callables(obj: Any, depth: int = 0) -> list[types.FunctionType]:
    if isinstance(obj, types.FunctionType):
        return [obj]
    if isinstance(obj, types.MethodType) and isinstance(obj.__func__, types.FunctionType):
        return [obj.__func__]
    if hasattr(obj, "func") and type(obj).__name__ == "partial":
        return _callables(obj.func, depth)
    if depth < 2 and isinstance(obj, (list, tuple, set, frozenset)):
        return [f for x in obj for f in _callables(x, depth + 1)]
    if depth < 2 and isinstance(obj, dict):
        return [f for x in obj.values() for f in _callables(x, depth + 1)]
    return []


def _local_imports(nodes: list[ast.AST], module: str) -> list[Any]:
    """Functions named by ``from M import name`` inside these definitions (M imported to find them)."""
    out = []
    for node in nodes:
        for imp in ast.walk(node):
            if not isinstance(imp, ast.ImportFrom):
                continue
            target = imp.module or ""
            if imp.level:
                base = module.split(".")[: -imp.level]
                target = ".".join(base + ([imp.module] if imp.module else []))
            if not (target == "projner" or target.startswith("projner.") or target.split(".")[0] == module.split(".")[0]):
                continue
            try:
                mod = importlib.import_module(target)
            except ImportError:
                continue
            out += [getattr(mod, a.name, None) for a in imp.names]
    return out


def function_code(*functions: Any) -> dict[str, str]:
    """``{name: hash}`` of these functions and all project code they reach (see the module docstring)."""
    out: dict[str, str] = {}
    todo = [f for fn in functions for f in _callables(fn)]
    seen: set[int] = set()
    while todo:
        fn = todo.pop()
        if id(fn) in seen or not _is_project(fn):
            continue
        seen.add(id(fn))
        name, digest, nodes = _function_hash(fn)
        out[name] = digest if name not in out else _sha("+".join(sorted((out[name], digest))))
        # closure cells, except values the enclosing function was given (its parameters: data
        # loaders and the like are inputs, identified by the key's inputs, not code)
        given = frozenset().union(*(_src_params(fn, n) for n in nodes)) if nodes else frozenset()
        cells = [c.cell_contents for v, c in zip(fn.__code__.co_freevars, fn.__closure__ or ())
                 if v not in given and _cell_full(c)]
        for x in cells + _local_imports(nodes, fn.__module__):
            todo += _callables(x)
        g = fn.__globals__
        src = _source(fn.__code__.co_filename)
        for n in sorted(_names(fn.__code__)):
            if n not in g:
                continue
            val = g[n]
            todo += _callables(val)  # functions, and functions in a module-level list/dict (dispatch tables)
            if src is not None and n in src.assigns and \
                    not isinstance(val, (types.FunctionType, types.MethodType, type, types.ModuleType)):
                out[f"const:{fn.__module__}.{n}"] = _sha("\n".join(_dump(a) for a in src.assigns[n]))
    return out


def _src_params(fn: types.FunctionType, node: ast.AST) -> frozenset[str]:
    src = _source(fn.__code__.co_filename)
    return src.outer_params.get(id(node), frozenset()) if src is not None else frozenset()


def _cell_full(cell) -> bool:
    try:
        cell.cell_contents
    except ValueError:
        return False
    return True


def package_modules(module: types.ModuleType | str) -> list[str]:
    """The module and, transitively, the modules of its own package it imports (anywhere in it)."""
    name = module if isinstance(module, str) else module.__name__
    package = name.rsplit(".", 1)[0] if "." in name else name
    out, todo = [], [name]
    while todo:
        m = todo.pop()
        if m in out:
            continue
        out.append(m)
        _, path = _module_file(m)
        src = _source(path) if path else None
        if src is None:
            continue
        for node in ast.walk(src.tree):
            if isinstance(node, ast.ImportFrom) and not node.level and node.module:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            for t in targets:
                if t.startswith(package + ".") and t not in out and _spec_origin(t) is not None:
                    todo.append(t)
    return sorted(out)


# ----------------------------------------------------------------------------- engines


def engine_version(name: str) -> str:
    """Installed version of a distribution (``absent`` when not installed); ``spacy-pipeline:NAME``:
    the version of a spaCy pipeline package or folder (``meta.json``)."""
    if name.startswith(SPACY_PIPELINE):
        pipe = name[len(SPACY_PIPELINE):]
        meta = Path(pipe).expanduser() / "meta.json"
        if meta.is_file():
            try:
                return str(json.loads(meta.read_text(encoding="utf-8")).get("version", "unknown"))
            except (OSError, ValueError):
                return "unreadable"
        name = pipe
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


# ----------------------------------------------------------------------------- keys


@dataclass(frozen=True)
class Key:
    """Everything a computed result depends on; ``digest`` names it."""

    kind: str
    params: Any
    inputs: Mapping[str, str]
    code: Mapping[str, str]
    components: tuple[str, ...]
    engines: Mapping[str, str]
    version: str

    def document(self) -> dict:
        return {"format": KEY_FORMAT, "kind": self.kind, "params": canon(self.params),
                "inputs": {k: self.inputs[k] for k in sorted(self.inputs)},
                "code": {k: self.code[k] for k in sorted(self.code)}, "components": sorted(self.components),
                "engines": {k: self.engines[k] for k in sorted(self.engines)}, "version": self.version}

    @functools.cached_property
    def digest(self) -> str:  # the fields are immutable: hash the document once
        return hash_json(self.document())

    def describe(self) -> str:
        d = self.document()
        lines = [f"{self.kind} {self.digest}", f"  params     {json.dumps(d['params'], sort_keys=True)}"]
        lines += [f"  input      {k} {v}" for k, v in d["inputs"].items()]
        lines += [f"  component  {c}" for c in d["components"]]
        lines += [f"  engine     {k} {v}" for k, v in d["engines"].items()]
        lines += [f"  code       {k} {v[:16]}" for k, v in d["code"].items()]
        lines.append(f"  projner    {self.version} (key format {KEY_FORMAT})")
        return "\n".join(lines)


def _projner_version() -> str:
    from projner import __version__

    return __version__


def make_key(kind: str, params: Any, inputs: Mapping[str, str], *, code: Iterable[Any] = (),
             components: Iterable[tuple[Any, str]] = (), engines: Iterable[str] = (), version: str | None = None) -> Key:
    """The key of ``kind`` computed with ``params`` from ``inputs`` by ``code`` (functions, modules,
    module names or classes), using ``components`` (``(registry, name)`` pairs, resolved to full
    versioned names) and ``engines`` (distribution names, besides those of :data:`ENGINES`)."""
    hashes: dict[str, str] = {}
    modules: list[str] = []
    fns = []
    for c in code:
        if isinstance(c, (types.ModuleType, str)):
            modules.append(c if isinstance(c, str) else c.__name__)
        elif isinstance(c, type):
            modules += package_modules(c.__module__)
        else:
            fns.append(c)
    full_names = []
    file_params: set[str] = set()
    for registry, name in components:
        full = registry.resolve(name)
        full_names.append(full)
        modules += package_modules(registry.get(full).__module__)
        file_params.update(getattr(registry.get(full), "content_params", ()))
    for m in dict.fromkeys(modules):
        k, v = module_hash(m)
        hashes[k] = v
    hashes.update(function_code(*fns))
    wanted = list(engines) + [e for m in dict.fromkeys(modules) for e in ENGINES.get(m, ())]
    return Key(kind, canon(params), {**inputs, **content_inputs(params, file_params)}, hashes, tuple(sorted(set(full_names))),
               {e: engine_version(e) for e in sorted(set(wanted))}, version or _projner_version())


def content_inputs(params: Any, names: Iterable[str]) -> dict[str, str]:
    """``{"file:KEY.PATH": sha256 or "missing"}`` of each path-valued parameter named in ``names`` (a factory's
    ``content_params``: eflomal's ``priors``) anywhere in ``params``: a file changed in place changes the key."""
    out: dict[str, str] = {}
    todo: list[tuple[str, Any]] = [("", canon(params))] if names else []
    while todo:
        where, obj = todo.pop()
        items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
        for k, v in items:
            path = f"{where}.{k}".lstrip(".")
            if k in names and isinstance(v, str):
                try:
                    out[f"file:{path}"] = hashlib.sha256(Path(v).read_bytes()).hexdigest()
                except OSError:
                    out[f"file:{path}"] = "missing"
            else:
                todo.append((path, v))
    return out


def changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """What differs between two key documents, in words (``code changed: fn:...``, ``engine eflomal 2.0 → 2.1``)."""
    out = []
    if old.get("format") != new.get("format"):
        return [f"key format {old.get('format')} → {new.get('format')}"]
    oc, nc = old.get("code") or {}, new.get("code") or {}
    changed = sorted(k for k in set(oc) & set(nc) if oc[k] != nc[k])
    if changed:
        out.append("code changed: " + ", ".join(changed))
    if set(nc) - set(oc):
        out.append("code added: " + ", ".join(sorted(set(nc) - set(oc))))
    if set(oc) - set(nc):
        out.append("code removed: " + ", ".join(sorted(set(oc) - set(nc))))
    oe, ne = old.get("engines") or {}, new.get("engines") or {}
    for e in sorted(set(oe) | set(ne)):
        if oe.get(e) != ne.get(e):
            out.append(f"engine {e} {oe.get(e, '-')} → {ne.get(e, '-')}")
    if sorted(old.get("components") or []) != sorted(new.get("components") or []):
        out.append(f"components {', '.join(old.get('components') or []) or '-'} → {', '.join(new.get('components') or []) or '-'}")
    for part in ("kind", "params", "inputs", "version"):
        if canon(old.get(part)) != canon(new.get(part)):
            out.append(f"{part} changed" if part != "version" else f"projner {old.get(part)} → {new.get(part)}")
    return out


__all__ = ["ENGINES", "KEY_FORMAT", "Key", "canon", "changes", "content_inputs", "engine_version", "function_code", "hash_json",
           "make_key", "module_hash", "package_modules"]
