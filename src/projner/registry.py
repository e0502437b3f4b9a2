"""Component registries with versioned names, as in spaCy (``"projner.aligner.eflomal.v1"``).

A component is registered under its full versioned name; a short name (``"eflomal"``) resolves
to the newest version registered for it.
"""

from __future__ import annotations

import re
from typing import Callable, Generic, TypeVar

from projner.errors import E, ProjnerError

T = TypeVar("T")
_VERSIONED = re.compile(r"^projner\.(?P<kind>[a-z_]+)\.(?P<short>[a-z0-9_\-]+)\.v(?P<version>\d+)$")


class Registry(Generic[T]):
    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, Callable[..., T]] = {}

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        m = _VERSIONED.match(name)
        if not m or m.group("kind") != self.kind:
            raise ValueError(f"component names look like 'projner.{self.kind}.NAME.vN', got {name!r}")

        def deco(factory: Callable[..., T]) -> Callable[..., T]:
            self._items[name] = factory
            return factory

        return deco

    def resolve(self, name: str) -> str:
        if name in self._items:
            return name
        versions = []
        for full in self._items:
            m = _VERSIONED.match(full)
            if m and m.group("short") == name:
                versions.append((int(m.group("version")), full))
        if not versions:
            raise ProjnerError(E.E017, name=name, registry=self.kind, known=", ".join(self.names()))
        return max(versions)[1]

    def get(self, name: str) -> Callable[..., T]:
        return self._items[self.resolve(name)]

    def create(self, name: str, **params) -> T:
        return self.get(name)(**params)

    def names(self) -> list[str]:
        return sorted(self._items)

    def short_names(self) -> list[str]:
        return sorted({m.group("short") for n in self._items if (m := _VERSIONED.match(n))})


aligners: Registry = Registry("aligner")
projectors: Registry = Registry("projector")
taggers: Registry = Registry("tagger")
translators: Registry = Registry("translator")
scorers: Registry = Registry("scorer")
studies: Registry = Registry("study")
