"""Option groups shared by several commands, each declared once.

:func:`option_group` turns one parameter of a typer command into a group of typer options
(inserted in its place, so ``--help`` lists them there) and hands the command one value built
from them. :func:`projector_options` is the group of projector options of ``projner project``,
``projner inspect`` and (a part of it) ``projner scale``.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Sequence

import typer


class _Group:
    def __repr__(self) -> str:
        return "<option group>"


GROUP: Any = _Group()  # the default of a parameter that an option group replaces (never used)


def option_group(param: str, options: Mapping[str, tuple[Any, Any]], build: Callable[..., Any]) -> Callable:
    """A decorator for a typer command: its parameter ``param`` becomes ``options``
    (``{name: (type, typer.Option(...))}``, in this order) and the command receives
    ``build(**their values)`` as ``param``."""

    def decorate(fn: Callable) -> Callable:
        sig = inspect.signature(fn)
        names = list(sig.parameters)
        if param not in names:
            raise TypeError(f"{fn.__name__}() has no parameter {param!r} for the option group")
        clash = sorted(set(options) & set(names))
        if clash:
            raise TypeError(f"{fn.__name__}() already has the options {', '.join(clash)}")
        at = names.index(param)
        group = [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=opt, annotation=tp)
                 for name, (tp, opt) in options.items()]
        params = list(sig.parameters.values())

        @functools.wraps(fn)
        def command(**kwargs: Any) -> Any:
            values = {name: kwargs.pop(name) for name in options}
            return fn(**kwargs, **{param: build(**values)})

        command.__signature__ = sig.replace(parameters=params[:at] + group + params[at + 1:])  # type: ignore[attr-defined]
        hints = {k: v for k, v in fn.__annotations__.items() if k != param}
        command.__annotations__ = {**hints, **{name: tp for name, (tp, _) in options.items()}}
        return command

    return decorate


# name: (type, default, option names, help); --help lists them in this order
_PROJECTOR: dict[str, tuple[Any, Any, tuple[str, ...], str]] = {
    "method": (str, "heuristic", (), "heuristic, or candidate matching: ngram, ner, fusion."),
    "max_gap": (int, 1, (), "Heuristic: largest gap of unaligned words bridged inside a span."),
    "min_ratio": (float, 0.8, (), "Heuristic: keep ranges with len(target)/len(source) >= this (inclusive)."),
    "max_ratio": (Optional[float], None, (), "Heuristic: and <= this (default: no limit)."),
    "keep": (str, "longest", (), "Heuristic: longest (one span per entity) or all passing ranges."),
    "strip_determiners": (bool, False, ("--strip-determiners",), "Drop a leading the/a/an from source entities first."),
    "solver": (str, "greedy", (), "Candidate matching: greedy, bipartite, ilp."),
    "weights": (Optional[str], None, (), "Candidate matching: score weights, e.g. 'align=1,ner=0.5'."),
    "threshold": (Optional[float], None, (), "Candidate matching: minimum score."),
    "max_len": (Optional[int], None, (), "Candidate matching: longest n-gram candidate (default: longest entity + 2, capped)."),
    "ner_model": (Optional[str], None, ("--ner-model",), "Candidate matching: target-side span proposer: capitalisation, or PATH of a saved projner model folder (its predicted spans and probabilities)."),
    "translation": (Optional[str], None, ("--translation",),
                    "Candidate matching: translation score model (lexical: from the alignments)."),
    "unaligned_weight": (Optional[float], None, (),
                         "Candidate matching: weight of unaligned words in the alignment score (0..1)."),
    "ilp_max_vars": (Optional[int], None, (), "Candidate matching: largest ILP before the reported greedy fallback."),
}
PROJECTOR_OPTIONS = tuple(_PROJECTOR)


@dataclass(frozen=True)
class Projector:
    """The projection method and its parameters, from the projector options."""

    method: str
    params: Mapping[str, Any]


def _projector(method: str, **options: Any) -> Projector:
    from projner.project.build import projector_params

    return Projector(method, projector_params(method, **options))


def projector_options(names: Sequence[str] = PROJECTOR_OPTIONS, *, help: Mapping[str, str] | None = None) -> Callable:
    """The projector options ``names`` (``method`` first) in place of a command's ``projector``
    parameter, which receives a :class:`Projector`; ``help`` rewords an option's help text."""
    if not names or names[0] != "method" or set(names) - set(_PROJECTOR):
        raise TypeError(f"projector options start with 'method' and are among {', '.join(_PROJECTOR)}: {names}")
    helps = help or {}
    options = {name: (_PROJECTOR[name][0], typer.Option(_PROJECTOR[name][1], *_PROJECTOR[name][2],
                                                         help=helps.get(name, _PROJECTOR[name][3])))
               for name in names}
    return option_group("projector", options, _projector)
