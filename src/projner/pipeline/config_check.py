"""Deep checks of an experiment config, run by ``projner experiment run`` (with or without ``--dry-run``)
before anything runs.

:func:`projner.pipeline.experiment.parse_config` checks the config's shape and stops at the first
error. The checks here go further and collect *every* problem: component parameters against the
component's signature (``prefix_len: four`` is not an integer, ``sym: intersectoin`` is not a
symmetrisation: did you mean ``intersection``?), unknown parameter names, the data folder, the
languages against the data folder's MasakhaNER languages, the parallel data of each language, and
the files a config names. Each problem names its key path and, for a config file, the line of that
key (:func:`yaml_lines`).
"""

from __future__ import annotations

import difflib
import inspect
import os
import typing
from collections.abc import Mapping as AbcMapping
from collections.abc import Sequence as AbcSequence
from pathlib import Path
from typing import Any, Mapping, Sequence

from projner.errors import E, ProjnerError
from projner.data.datasets import data_root
from projner.ner.base import TRAINABLE_BACKENDS

Problem = tuple[str, str]  # (key path, what is wrong)


# ----------------------------------------------------------------------------- yaml lines


def yaml_lines(text: str) -> dict[str, int]:
    """1-based line of every key path in a YAML document (``grid.aligners[1]``, ``aligners.efl.params.sym``);
    a mapping entry's line is its key's. Empty when the text is not YAML."""
    import yaml

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    out: dict[str, int] = {}

    def walk(node, path: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                key = f"{path}.{k.value}" if path else str(k.value)
                out.setdefault(key, k.start_mark.line + 1)
                walk(v, key)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                key = f"{path}[{i}]"
                out.setdefault(key, item.start_mark.line + 1)
                walk(item, key)

    if root is not None:
        out[""] = root.start_mark.line + 1
        walk(root, "")
    return out


def line_of(lines: Mapping[str, int], path: str) -> int | None:
    """The line of ``path``, or of its nearest ancestor in ``lines``."""
    p = path
    while p:
        if p in lines:
            return lines[p]
        cut = max(p.rfind("."), p.rfind("["))
        p = p[:cut] if cut > 0 else ""
    return None


# ----------------------------------------------------------------------------- values and signatures


def did_you_mean(value: Any, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(str(value), [str(k) for k in known], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _eval_annotation(ann: Any, module: str) -> Any:
    if not isinstance(ann, str):
        return ann
    import sys

    glb = dict(vars(sys.modules[module])) if module in sys.modules else {}
    try:
        return eval(ann, {"typing": typing, **glb})  # noqa: S307 - annotations of projner's own classes
    except Exception:  # a TYPE_CHECKING-only name: no type check for this parameter
        return None


def _fits(v: Any, tp: Any) -> bool:
    if tp is None or tp is Any or tp is inspect.Parameter.empty:
        return True
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Union or type(tp).__name__ == "UnionType":
        return any(_fits(v, a) for a in args)
    if origin is typing.Literal:
        return v in args
    if tp is type(None):
        return v is None
    if tp is bool:
        return isinstance(v, bool)
    if tp is int:
        return isinstance(v, int) and not isinstance(v, bool)
    if tp is float:
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if tp is str:
        return isinstance(v, str)
    if tp is os.PathLike:
        return isinstance(v, (str, os.PathLike))
    base = origin or tp
    if isinstance(base, type):
        if issubclass(base, (str, bytes)):
            return isinstance(v, base)
        if issubclass(base, AbcMapping):
            return isinstance(v, dict)
        if issubclass(base, AbcSequence):
            return isinstance(v, (list, tuple))
        return isinstance(v, base)
    return True


def _type_text(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is typing.Union or type(tp).__name__ == "UnionType":
        return " or ".join(dict.fromkeys(_type_text(a) for a in typing.get_args(tp)))
    if origin is typing.Literal:
        return "one of " + ", ".join(map(repr, typing.get_args(tp)))
    names = {int: "an integer", float: "a number", bool: "true/false", str: "a string", type(None): "null"}
    if tp in names:
        return names[tp]
    base = origin or tp
    if isinstance(base, type) and issubclass(base, AbcMapping):
        return "a mapping"
    if isinstance(base, type) and issubclass(base, AbcSequence) and not issubclass(base, str):
        return "a list"
    return getattr(base, "__name__", str(base))


def _value_text(v: Any) -> str:
    kind = {bool: "true/false", int: "an integer", float: "a number", str: "a string", list: "a list",
            dict: "a mapping", type(None): "null"}.get(type(v), type(v).__name__)
    return kind if isinstance(v, (list, dict)) or v is None else f"{kind} ({v!r})"


def _parses_as_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _component_class(factory: Any) -> type | None:
    if isinstance(factory, type):
        return factory
    ann = getattr(factory, "__annotations__", {}).get("return")
    tp = _eval_annotation(ann, getattr(factory, "__module__", ""))
    return tp if isinstance(tp, type) else None


def _signature(cls: type) -> tuple[dict[str, Any], bool]:
    """({parameter: annotation}, takes **kwargs) of ``cls(...)``."""
    try:
        sig = inspect.signature(cls)
    except (TypeError, ValueError):
        return {}, True
    params: dict[str, Any] = {}
    var_kw = False
    for name, p in sig.parameters.items():
        if p.kind is p.VAR_KEYWORD:
            var_kw = True
        elif p.kind is not p.VAR_POSITIONAL:
            params[name] = _eval_annotation(p.annotation, cls.__module__)
    return params, var_kw


def _enums() -> dict[tuple[str, str], Sequence[str]]:
    """Enumerated parameter values per (component, parameter); a component that cannot load is skipped."""
    out: dict[tuple[str, str], Sequence[str]] = {}
    try:
        from projner.align.symmetrize import SYM_METHODS

        out[("aligner:eflomal", "sym")] = SYM_METHODS
    except ImportError:  # pragma: no cover
        pass
    try:
        from projner.align.neural import POOLINGS
        from projner.align.neural_methods import METHODS

        out.update({("aligner:neural", "method"): METHODS, ("aligner:neural", "pooling"): POOLINGS,
                    ("aligner:neural", "precision"): ("float32", "bfloat16")})
    except ImportError:
        pass
    out[("projector:heuristic", "keep")] = ("longest", "all")
    try:
        from projner.project.matching import BUILTIN_MODELS
        from projner.project.solvers import SOLVERS

        for m in ("ngram", "ner", "fusion"):
            out.update({(f"projector:{m}", "solver"): SOLVERS, (f"projector:{m}", "align_mode"): ("words", "links"),
                        (f"projector:{m}", "on_fail"): ("greedy", "error"), (f"projector:{m}", "ner_model"): tuple(BUILTIN_MODELS) + ("labeller",),
                        (f"projector:{m}", "translation_scorer"): ("lexical",)})
    except ImportError:
        pass
    return out


# (component, parameter) that the pipeline sets itself: not allowed in a config
RESERVED = {"aligner": ("extra_src", "extra_tgt"), "projector": ("method",), "tagger": ()}
# components whose constructor is cheap and loads nothing: built once to catch range errors too
CHEAP = {"aligner:eflomal", "projector:heuristic"}


def check_params(kind: str, name: str, params: Mapping[str, Any], path: str, enums=None) -> list[Problem]:
    """Problems of ``params`` for the registered component ``kind``/``name`` (aligner, projector, tagger)."""
    from projner import registry

    reg = registry.registry(kind)
    try:
        full = reg.resolve(name)  # a short or a pinned name (eflomal, eflomal.v1)
        cls = _component_class(reg.get(full))
    except ProjnerError:
        return []  # an unknown name is reported by the schema check; a missing optional package leaves it unchecked
    if cls is None:
        return []
    sig, var_kw = _signature(cls)
    enums = _enums() if enums is None else enums
    comp = f"{kind}:{full.split('.')[2]}"
    known = [k for k in sig if k not in RESERVED[kind]]
    problems: list[Problem] = []
    good = {}
    for key, value in params.items():
        where = f"{path}.{key}"
        n_before = len(problems)
        if key in RESERVED[kind]:
            problems.append((where, f"{key!r} is set by the pipeline, not by the config"))
            continue
        if key not in sig:
            if not var_kw:
                problems.append((where, f"unknown parameter of {kind} {name!r}{did_you_mean(key, known)}; known: {', '.join(known)}"))
            continue
        choices = enums.get((comp, key))
        if key == "ner_model" and isinstance(value, str) and Path(value).expanduser().is_dir():
            choices = None  # a saved model folder (projner.project.tagger_candidates)
        if choices is not None and isinstance(value, str) and value not in choices:
            problems.append((where, f"unknown value {value!r}{did_you_mean(value, choices)}; known: {', '.join(choices)}"))
        elif not _fits(value, sig[key]):
            hint = ""
            if isinstance(value, str) and _fits(1.0, sig[key]) and _parses_as_float(value):
                hint = " (YAML reads 5e-5 as text: write 5.0e-5 or 0.00005)"
            problems.append((where, f"expected {_type_text(sig[key])}, got {_value_text(value)}{hint}"))
        elif key == "model" and isinstance(value, str):
            from projner.data.paths import missing_model_folder

            missing = missing_model_folder(value)
            if missing:
                problems.append((where, missing))
        if len(problems) == n_before:
            good[key] = value
    if comp in CHEAP:  # range checks of the constructor, on the parameters that passed the checks above
        try:
            cls(**good)
        except ProjnerError as exc:
            problems.append((path, str(exc)))
        except (TypeError, ValueError) as exc:
            problems.append((path, f"{type(exc).__name__}: {exc}"))
    return problems


# ----------------------------------------------------------------------------- the whole config


def _data_root(cfg, data: str | None) -> tuple[Path, str]:
    """(data folder, where it came from) as the runner resolves it (:func:`data_root`)."""
    given = data if data is not None else getattr(cfg, "data", None)
    if given is not None:
        origin = "--data" if data is not None else "data"
    else:
        origin = "$PROJNER_DATA" if "PROJNER_DATA" in os.environ else "the default data folder"
    return data_root(given), origin


def _file_problem(path: str, value: str | None, what: str) -> list[Problem]:
    if value is None:
        return []
    p = Path(value).expanduser()
    if p.is_dir():
        return [(path, f"{what} {value} is a directory, not a file")]
    if not p.exists():
        return [(path, f"{what} {value} does not exist")]
    return []


def check_experiment(cfg, *, data: str | None = None, languages: Sequence[str] | None = None,
                     lines: Mapping[str, int] | None = None) -> list[Problem]:
    """Every problem of a parsed config that would make a run fail, as (key path, detail).

    ``lines``: :func:`yaml_lines` of the config file (tells ``grid:`` as one mapping from a list).
    """
    from projner.pipeline.experiment import ExperimentConfig

    problems: list[Problem] = []
    root, origin = _data_root(cfg, data)
    data_path = "data" if origin == "data" else origin
    if not isinstance(cfg, ExperimentConfig):  # a research study: only an explicitly named data folder is checked
        if origin in ("--data", "data") and not root.is_dir():
            problems.append((data_path, f"data folder {root} does not exist"))
        return problems
    enums = _enums()
    for name, al in cfg.aligners.items():
        path = f"aligners.{name}"
        if al["name"] == "pharaoh":
            if not al.get("file"):
                problems.append((path, "aligner 'pharaoh' needs file: (precomputed Pharaoh links)"))
            problems += _file_problem(f"{path}.file", al.get("file"), "alignment file")
        else:
            problems += check_params("aligner", al["name"], al.get("params", {}), f"{path}.params", enums)
    for name, me in cfg.methods.items():
        problems += check_params("projector", me["method"], me.get("params", {}), f"methods.{name}.params", enums)
        if me.get("transfer_unknown") is not None and not me["transfer_unknown"] < (me.get("transfer") or 0.0):
            problems.append((f"methods.{name}.transfer_unknown", f"must be below transfer (now {me.get('transfer')})"))
    for name, mo in cfg.models.items():
        problems += check_params("tagger", mo["backend"], mo.get("params", {}), f"models.{name}.params", enums)
        if (mo.get("ensemble") or 1) > 1 and mo["backend"] != "fast":
            problems.append((f"models.{name}.ensemble", f"only the fast backend forms seed ensembles, not {mo['backend']!r}"))
    conv = getattr(cfg, "conventions", None)
    if conv and conv != "dev":
        problems += _file_problem("conventions", conv, "span conventions file")
    for name, pa in cfg.parallel.items():
        if pa["kind"] == "files":
            for key in ("src", "tgt"):
                if not pa.get(key):
                    problems.append((f"parallel.{name}", f"parallel kind 'files' needs {key}:"))
                problems += _file_problem(f"parallel.{name}.{key}", pa.get(key), "parallel text")
    lab = cfg.labeller
    backend = lab.get("backend", "crf")
    if backend in TRAINABLE_BACKENDS:
        problems += check_params("tagger", backend, lab.get("params", {}), "labeller.params", enums)
        for key in ("train", "dev"):
            problems += _file_problem(f"labeller.{key}", lab.get(key), f"labeller {key} file")
    elif not backend.startswith("spacy:") and not Path(backend).expanduser().is_dir():
        problems.append(("labeller.backend", f"{backend!r} is neither {', '.join(TRAINABLE_BACKENDS)}, spacy:NAME nor an existing model folder"))
    problems += _check_data(cfg, root, origin, data_path, languages, lines or {})
    return problems


def _check_data(cfg, root: Path, origin: str, data_path: str, languages: Sequence[str] | None,
                lines: Mapping[str, int]) -> list[Problem]:
    from projner.data.datasets import BIBLE_FILES

    problems: list[Problem] = []
    all_langs = [lang for g in cfg.grid for lang in g["languages"]]
    for lang in languages or []:
        if lang not in all_langs:
            problems.append(("--langs", f"language {lang!r} is not in the config's grid{did_you_mean(lang, all_langs)}; grid languages: {', '.join(dict.fromkeys(all_langs))}"))
    if not root.is_dir():
        hint = "" if origin == "--data" else " (set data:, --data or PROJNER_DATA)"
        return problems + [(data_path, f"data folder {root} does not exist{hint}")]
    lab = cfg.labeller
    if lab.get("backend", "crf") in TRAINABLE_BACKENDS and not lab.get("train"):
        conll = root / "conll2003_en" / "original_iob1" / "eng.train"
        if not conll.is_file():
            problems.append(("labeller", f"the labeller's English training data {conll} does not exist"))
    ner = root / "masakhaner2"
    known = sorted(p.name for p in ner.iterdir() if p.is_dir()) if ner.is_dir() else []
    if not ner.is_dir():
        problems.append((data_path, f"{ner} does not exist (MasakhaNER 2.0: the test data of every language)"))
    seen: set[tuple[str, str]] = set()
    for gi, g in enumerate(cfg.grid):
        gp = f"grid[{gi}]" if len(cfg.grid) > 1 or "grid[0]" in lines else "grid"
        for li, lang in enumerate(g["languages"]):
            lp = f"{gp}.languages[{li}]"
            if languages is not None and lang not in languages:
                continue
            if known and lang not in known:
                problems.append((lp, f"unknown language {lang!r}{did_you_mean(lang, known)}; MasakhaNER languages in {ner}: {', '.join(known)}"))
                continue
            scored = f"{cfg.eval_split}.txt"
            if known and not (ner / lang / scored).is_file():
                problems.append((lp, f"{ner / lang / scored} does not exist"))
            if getattr(cfg, "conventions", None) == "dev" and known and not (ner / lang / "dev.txt").is_file():
                problems.append(("conventions", f"{ner / lang / 'dev.txt'} (to learn span conventions from) does not exist"))
            for par in g.get("parallel", ["mafand"]):
                pa = cfg.parallel[par]
                names = [par] + list(pa.get("align_extra", []))
                for al in g.get("aligners", ["eflomal"]):
                    names += list(cfg.aligners[al].get("extra", []))
                for n in dict.fromkeys(names):
                    kind = cfg.parallel[n]["kind"]
                    if (n, lang) in seen:
                        continue
                    seen.add((n, lang))
                    if kind == "mafand" and not (root / "mafand_mt" / f"en-{lang}").is_dir():
                        problems.append((lp, f"no MAFAND-MT data for {lang!r} (parallel {n!r}): {root / 'mafand_mt' / f'en-{lang}'} does not exist"))
                    elif kind == "bible" and lang not in BIBLE_FILES:
                        problems.append((lp, f"no Bible for {lang!r} (parallel {n!r}; have: {', '.join(k for k in BIBLE_FILES if k != 'en')})"))
    return problems


def validate_experiment(cfg, *, data: str | None = None, languages: Sequence[str] | None = None) -> None:
    """Raise E044 listing every problem of :func:`check_experiment`, each with the config's file and line."""
    source = getattr(cfg, "source", None)
    lines: dict[str, int] = {}
    if source:
        try:
            lines = yaml_lines(Path(source).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            lines = {}
    problems = check_experiment(cfg, data=data, languages=languages, lines=lines)
    if not problems:
        return
    text = []
    for path, detail in problems:
        in_file = source is not None and not path.startswith(("--", "$", "the default"))
        line = line_of(lines, path) if in_file else None
        where = (f"{source}:{line}: " if line else f"{source}: ") if in_file else ""
        text.append(f"\n  {where}{path}: {detail}")
    raise ProjnerError(E.E044, file=source, n=len(problems), detail="".join(text))


def with_line(exc: ProjnerError, text: str) -> ProjnerError:
    """``exc`` (an E200 schema error naming a key path) with the line of that path in the YAML ``text``."""
    if exc.code is not E.E200 or exc.line is not None:
        return exc
    line = line_of(yaml_lines(text), str(exc.fields.get("path", "")))
    return exc if line is None else ProjnerError(exc.code, file=exc.file, line=line, **exc.fields)
