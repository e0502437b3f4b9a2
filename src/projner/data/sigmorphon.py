"""SIGMORPHON 2020 task 0 inflection tables (``lemma<TAB>form<TAB>features``).

An :class:`InflectionTable` indexes form → lemmas and lemma → (form, features), so that for a
word form seen in a sentence its lemma and the lemma's other forms can be looked up. Matching
is case-insensitive (``form.lower()`` after NFC). Multi-word forms (``ngilala phansi``) cannot
replace one token: they are skipped and counted, as are the lines of ``*.covered.tst`` files
(lemma and features, no form), blank lines and duplicates. Files live under
``DATA/sigmorphon2020/LANG.SPLIT`` (:data:`TABLE_SPLITS`).
"""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Iterable, Mapping, Sequence

from projner.data.textio import read_lines
from projner.errors import E, ProjnerError
from projner.fingerprint import hash_json

TABLE_SPLITS = ("trn", "dev", "gold.tst", "covered.tst")


@dataclass(frozen=True)
class InflectionEntry:
    lemma: str
    form: str
    features: str


def _key(form: str) -> str:
    return unicodedata.normalize("NFC", form).lower()


@dataclass(frozen=True)
class InflectionTable:
    """Inflection entries with indexes form → lemmas and lemma → (form, features).

    Build with :meth:`load` (files) or directly from entries; ``skipped`` counts lines that
    were read but not indexed (``covered_no_form``, ``multiword_form``, ``blank``,
    ``duplicate``).
    """

    entries: tuple[InflectionEntry, ...]
    sources: tuple[str, ...] = ()
    skipped: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "entries", tuple(self.entries))
        object.__setattr__(self, "sources", tuple(self.sources))
        object.__setattr__(self, "skipped", MappingProxyType(dict(sorted(self.skipped.items()))))
        by_form: dict[str, list[str]] = {}
        by_lemma: dict[str, list[tuple[str, str]]] = {}
        for e in self.entries:
            k = _key(e.form)
            if e.lemma not in by_form.setdefault(k, []):
                by_form[k].append(e.lemma)
            if (e.form, e.features) not in by_lemma.setdefault(e.lemma, []):
                by_lemma[e.lemma].append((e.form, e.features))
        object.__setattr__(self, "_by_form", MappingProxyType({k: tuple(v) for k, v in by_form.items()}))
        object.__setattr__(self, "_by_lemma", MappingProxyType({k: tuple(v) for k, v in by_lemma.items()}))

    # -- loading

    @classmethod
    def load(cls, paths: Iterable[str | Path]) -> "InflectionTable":
        """Read SIGMORPHON files (CRLF tolerated). Lines need 3 tab-separated non-empty fields,
        except in ``*.covered.tst`` files (2 fields: lemma, features; counted, not indexed).
        A malformed line raises E220 naming file and line."""
        entries: list[InflectionEntry] = []
        seen: set[tuple[str, str, str]] = set()
        skipped = {"covered_no_form": 0, "multiword_form": 0, "blank": 0, "duplicate": 0}
        sources = []
        for path in paths:
            p = Path(path)
            if not p.is_file():
                raise ProjnerError(E.E222, file=str(p), detail="no such file")
            sources.append(str(p))
            covered = p.name.endswith("covered.tst")
            want = 2 if covered else 3
            for i, ln in enumerate(read_lines(p, allow_empty=True), 1):
                if not ln.strip():
                    skipped["blank"] += 1
                    continue
                fields = [f.strip() for f in ln.split("\t")]
                if len(fields) != want:
                    what = "lemma<TAB>features" if covered else "lemma<TAB>form<TAB>features"
                    raise ProjnerError(E.E220, file=str(p), line=i,
                                       detail=f"expected {want} tab-separated fields ({what}), found {len(fields)}")
                if not all(fields):
                    names = ("lemma", "features") if covered else ("lemma", "form", "features")
                    empty = [n for n, f in zip(names, fields) if not f]
                    raise ProjnerError(E.E220, file=str(p), line=i, detail=f"empty {', '.join(empty)}")
                if covered:
                    skipped["covered_no_form"] += 1
                    continue
                lemma, form, feats = (unicodedata.normalize("NFC", f) for f in fields)
                if any(c.isspace() for c in form):
                    skipped["multiword_form"] += 1
                    continue
                if (lemma, form, feats) in seen:
                    skipped["duplicate"] += 1
                    continue
                seen.add((lemma, form, feats))
                entries.append(InflectionEntry(lemma, form, feats))
        if not entries:
            raise ProjnerError(E.E222, file=", ".join(sources) or None, detail="no usable lemma/form entries")
        return cls(tuple(entries), tuple(sources), skipped)

    # -- queries

    def lemmas_of(self, form: str) -> tuple[str, ...]:
        """Lemmas having ``form`` (case-insensitive)."""
        return self._by_form.get(_key(form), ())  # type: ignore[attr-defined]

    def forms_of(self, lemma: str) -> tuple[tuple[str, str], ...]:
        """(form, features) pairs of ``lemma``, in table order."""
        return self._by_lemma.get(lemma, ())  # type: ignore[attr-defined]

    def alternatives(self, form: str) -> tuple[str, ...]:
        """Other forms (lower-cased, sorted, distinct) of the lemmas of ``form``."""
        k = _key(form)
        alts = {_key(f) for lemma in self.lemmas_of(form) for f, _ in self.forms_of(lemma)}
        alts.discard(k)
        return tuple(sorted(alts))

    def __contains__(self, form: object) -> bool:
        return isinstance(form, str) and _key(form) in self._by_form  # type: ignore[attr-defined]

    @property
    def lemmas(self) -> tuple[str, ...]:
        return tuple(self._by_lemma)  # type: ignore[attr-defined]

    @property
    def n_forms(self) -> int:
        return len(self._by_form)  # type: ignore[attr-defined]

    def fingerprint(self) -> str:
        return hash_json([[e.lemma, e.form, e.features] for e in self.entries])

    def stats(self) -> dict[str, Any]:
        return {"entries": len(self.entries), "lemmas": len(self.lemmas), "forms": self.n_forms,
                "skipped": dict(self.skipped), "sources": list(self.sources)}


def language_table(root: str | os.PathLike, lang: str, splits: Sequence[str] = TABLE_SPLITS) -> InflectionTable:
    """The table of ``lang`` from ``ROOT/sigmorphon2020/LANG.SPLIT`` for each of ``splits``;
    E203 lists the missing files."""
    d = Path(root) / "sigmorphon2020"
    paths = [d / f"{lang}.{s}" for s in splits]
    missing = [str(x) for x in paths if not x.is_file()]
    if missing:
        raise ProjnerError(E.E203, detail=f"inflection table files missing: {', '.join(missing)} (set PROJNER_DATA or data:)")
    return InflectionTable.load(paths)
