"""Component registries with versioned names, as in spaCy (``"projner.aligner.eflomal.v1"``).

Every caller builds a component with one function::

    from projner.registry import create
    aligner = create("aligner", "eflomal", sym="intersection")
    aligner.component_name            # 'projner.aligner.eflomal.v1'

``name`` is a short name (``"eflomal"``: the newest version registered for it), a pinned one
(``"eflomal.v1"``) or the full versioned name (``"projner.aligner.eflomal.v1"``); the created
component records the resolved full name in ``component_name``, and :func:`resolve` gives it
without building anything (cache keys use it).

The built-in components are listed in :data:`BUILTINS` (full name → ``"module:factory"``, like
entry points): their modules are imported on first use, so nothing has to be imported first for
its side effect. Third-party and user components register with the decorator::

    @aligners.register("projner.aligner.mine.v1")
    def make_mine(**params): ...

A name is registered once: registering a taken name (a built-in's included) is an error (E046);
a new version gets a new name (``...mine.v2``), and short names then resolve to it.
"""

from __future__ import annotations

import importlib
import re
from typing import Any, Callable, Generic, Mapping, TypeVar

from projner.errors import E, ProjnerError

T = TypeVar("T")
_VERSIONED = re.compile(r"^projner\.(?P<kind>[a-z_]+)\.(?P<short>[a-z0-9_\-]+)\.v(?P<version>\d+)$")
_PINNED = re.compile(r"^(?P<short>[a-z0-9_\-]+)\.v(?P<version>\d+)$")

# full versioned name → "module:factory" of every built-in component (imported on first use)
BUILTINS: Mapping[str, str] = {
    "projner.aligner.eflomal.v1": "projner.align.eflomal:make_eflomal",
    "projner.aligner.neural.v1": "projner.align.neural:make_neural",
    "projner.projector.heuristic.v1": "projner.project.heuristic:make_heuristic",
    "projner.projector.ngram.v1": "projner.project.matching:make_ngram_projector",
    "projner.projector.ner.v1": "projner.project.matching:make_ner_projector",
    "projner.projector.fusion.v1": "projner.project.matching:make_fusion_projector",
    "projner.scorer.alignment.v1": "projner.project.scores:AlignmentScorer",
    "projner.scorer.ner.v1": "projner.project.scores:NERScorer",
    "projner.scorer.translation.v1": "projner.project.scores:TranslationScorer",
    "projner.scorer.string.v1": "projner.project.scores:StringSimilarityScorer",
    "projner.scorer.fusion.v1": "projner.project.scores:FusionScorer",
    "projner.tagger.crf.v1": "projner.ner.crf:CrfTagger",
    "projner.tagger.spacy.v1": "projner.ner.spacy_tagger:SpacyTagger",
    "projner.tagger.transformer.v1": "projner.ner.transformer:TransformerTagger",
    "projner.tagger.fast.v1": "projner.ner.fast:FastTagger",
    "projner.tagger.ensemble.v1": "projner.ner.ensemble:EnsembleTagger",  # seed ensemble of fast heads
    "projner.tagger.pcrf.v1": "projner.ner.partial_crf:PartialCrfTagger",  # CRF trained on partial labels
    "projner.translator.seq2seq.v1": "projner.translate.seq2seq:make_seq2seq_translator",
    "projner.translator.ct2.v1": "projner.translate.ct2:make_ct2_translator",
    "projner.translator.parallel.v1": "projner.translate.parallel:make_parallel_translator",
    "projner.study.morphology.v1": "projner.research.morphology:MorphologyStudy",
    "projner.study.scaling.v1": "projner.research.scaling:Scaling",
    "projner.study.self_training.v1": "projner.research.self_training:SelfTraining",
    "projner.study.source_diversity.v1": "projner.research.source_diversity:SourceDiversity",
    "projner.study.scale_out.v1": "projner.scale.study:ScaleOut",
}


# the extra that installs a kind's optional dependencies (the hint of E020)
EXTRAS: Mapping[str, str] = {"aligner": "neural", "tagger": "ner", "translator": "translate", "study": "all",
                             "projector": "all", "scorer": "all"}


def _owner(factory: Any) -> str:
    return f"{getattr(factory, '__module__', '?')}:{getattr(factory, '__qualname__', type(factory).__name__)}"


class Registry(Generic[T]):
    """The components of one kind: registered factories plus the lazily imported built-ins."""

    def __init__(self, kind: str, builtins: Mapping[str, str] = BUILTINS):
        self.kind = kind
        self._items: dict[str, Callable[..., T]] = {}
        self._lazy: dict[str, str] = {n: t for n, t in builtins.items() if n.split(".")[1] == kind}

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """A decorator registering a factory under the full versioned ``name`` (E047 if malformed)."""
        m = _VERSIONED.match(name)
        if not m or m.group("kind") != self.kind:
            raise ProjnerError(E.E047, name=name, kind=self.kind)

        def deco(factory: Callable[..., T]) -> Callable[..., T]:
            current = self._items.get(name)
            if current is not None and current is not factory:
                raise ProjnerError(E.E046, name=name, registry=self.kind, owner=_owner(current))
            builtin = self._lazy.get(name)
            if current is None and builtin is not None and builtin.split(":")[0] != getattr(factory, "__module__", None):
                raise ProjnerError(E.E046, name=name, registry=self.kind, owner=builtin)
            self._items[name] = factory
            return factory

        return deco

    def resolve(self, name: str) -> str:
        """The full versioned name for a short (newest version), pinned (``eflomal.v1``) or full name."""
        known = self._known()
        if name in known:
            return name
        pinned = _PINNED.match(name)
        if pinned:
            full = f"projner.{self.kind}.{name}"
            if full in known:
                return full
        else:
            versions = [(int(m.group("version")), full) for full in known
                        if (m := _VERSIONED.match(full)) and m.group("short") == name]
            if versions:
                return max(versions)[1]
        raise ProjnerError(E.E017, name=name, registry=self.kind, known=", ".join(self.names()) or "-")

    def knows(self, name: object) -> bool:
        """Whether ``name`` resolves (a short, pinned or full name of this registry)."""
        try:
            return isinstance(name, str) and bool(self.resolve(name))
        except ProjnerError:
            return False

    def get(self, name: str) -> Callable[..., T]:
        """The factory of ``name`` (a built-in's module is imported now, once)."""
        full = self.resolve(name)
        if full not in self._items:
            module, attr = self._lazy[full].split(":")
            mod = _import(module, self.kind)
            if full not in self._items:  # a built-in module that does not use the decorator
                self.register(full)(getattr(mod, attr))
        return self._items[full]

    def create(self, name: str, **params: Any) -> T:
        """The component ``name`` built with ``params``; it records its full name in ``component_name``."""
        full = self.resolve(name)
        obj = self.get(full)(**params)
        _record(obj, full)
        return obj

    def module(self, name: str) -> str:
        """The module that defines the factory of ``name`` (known for a built-in without importing it)."""
        full = self.resolve(name)
        if full in self._items:
            return self._items[full].__module__
        return self._lazy[full].split(":")[0]

    def names(self) -> list[str]:
        return sorted(self._known())

    def short_names(self) -> list[str]:
        return sorted({m.group("short") for n in self._known() if (m := _VERSIONED.match(n))})

    def _known(self) -> set[str]:
        return set(self._items) | set(self._lazy)


def is_missing_optional(exc: ImportError) -> bool:
    """True when ``exc`` says a third-party package is absent (not a bug in projner)."""
    name = getattr(exc, "name", None)
    return bool(name) and name.split(".")[0] != "projner"


def _import(module: str, kind: str):
    """Import a built-in component's module; a missing (or broken) third-party package is E020."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if not is_missing_optional(exc):
            raise  # a bug in projner, not a missing package
        raise ProjnerError(E.E020, package=exc.name.split(".")[0], hint=f"projner[{EXTRAS.get(kind, 'all')}]") from exc


def _record(obj: Any, full: str) -> None:
    """Set ``component_name`` on a created component (frozen dataclasses included)."""
    try:
        object.__setattr__(obj, "component_name", full)
    except (AttributeError, TypeError):  # a component with __slots__ and no room for it
        pass


aligners: Registry = Registry("aligner")
projectors: Registry = Registry("projector")
taggers: Registry = Registry("tagger")
translators: Registry = Registry("translator")
scorers: Registry = Registry("scorer")
studies: Registry = Registry("study")

REGISTRIES: Mapping[str, Registry] = {r.kind: r for r in (aligners, projectors, taggers, translators, scorers, studies)}


def registry(kind: str) -> Registry:
    """The registry of a component kind (``aligner``, ``projector``, ``tagger``, ``translator``, ``scorer``, ``study``)."""
    try:
        return REGISTRIES[kind]
    except KeyError:
        raise ProjnerError(E.E048, kind=kind, known=", ".join(REGISTRIES)) from None


def resolve(kind: str, name: str) -> str:
    """The full versioned name ``name`` resolves to: ``resolve("aligner", "eflomal")`` → ``projner.aligner.eflomal.v1``."""
    return registry(kind).resolve(name)


def create(kind: str, name: str, **params: Any) -> Any:
    """Build component ``name`` of ``kind`` with ``params``; its ``component_name`` is the resolved full name."""
    return registry(kind).create(name, **params)


def get(kind: str, name: str) -> Callable[..., Any]:
    """The factory (function or class) of component ``name`` of ``kind``."""
    return registry(kind).get(name)


def factory_module(kind: str, name: str) -> str:
    """The module defining the factory of ``name`` (for code fingerprints), without importing a built-in."""
    return registry(kind).module(name)
