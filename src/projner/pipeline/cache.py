"""A content-addressed cache for expensive pipeline steps, and a step runner on top of it.

Every step (train a labeller, label a corpus, align, project, train, evaluate) is identified
by a **fingerprint**: the digest of a :class:`projner.fingerprint.Key` holding the step name,
its parameters, the fingerprints / content hashes of its inputs, the **code** the step runs
(its compute function and the project functions it reaches, the modules of the components
it resolves: normalised-AST hashes), the full versioned names of those components
(``projner.aligner.eflomal.v1``), the versions of the **engines** doing the work (eflomal,
python-crfsuite, torch, transformers, spaCy and its pipeline) and projner's version — as the
HF ``datasets`` library fingerprints transforms. Editing a step's code therefore invalidates
that step and, through their inputs, the steps after it, and nothing else. The step's outputs
live in one folder, ``ROOT/<step>/<fingerprint>/``, next to a ``manifest.json`` that lists
every output file with its sha256 and records the whole key (``key``: code hashes, components,
engines).

* Writes are atomic: a step computes into a temporary folder beside its final place, writes
  the manifest last and renames the folder into place. A process killed with SIGKILL leaves
  at most a stray ``.tmp-*`` folder (ignored and cleaned up later), never a half entry, so a
  rerun resumes: finished steps are cache hits and only the rest is recomputed.
* On a hit the manifest is checked: another projner version (``stale``), a missing or
  altered file (``corrupt``) or an unreadable manifest (``corrupt``) is detected, reported in
  :attr:`StepRunner.events` and recomputed.
* On a miss whose parameters and inputs were computed before by other code or engines (the
  last such entry is remembered in ``ROOT/<step>/.index/``), the event is ``stale`` and its
  detail says what changed (``code changed: fn:...``, ``engine eflomal 2.0.0 → 2.0.1``); the
  older entry is left in place (switching back to that code hits it again).

The cache root is, in order: the ``root`` argument, ``$PROJNER_CACHE``, ``~/.cache/projner``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from projner.data.textio import atomic_write
from projner.fingerprint import Key, canon, changes, hash_json, make_key
from projner.types import Alignment, Sentence, Span

logger = logging.getLogger(__name__)
MANIFEST = "manifest.json"
CACHE_FORMAT = 2  # 2: fingerprints and manifests hold the code/engine key
INDEX = ".index"  # ROOT/<step>/.index/<hash of step, params, inputs>.json: the last fingerprint computed
HOOK_ENV = "PROJNER_TEST_STEP_HOOK"  # "STEP:SECONDS[:MARKER]": sleep inside STEP (resumability tests)


def _version() -> str:
    from projner import __version__

    return __version__


def default_cache_root(root: str | os.PathLike | None = None) -> Path:
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get("PROJNER_CACHE")
    if env:
        return Path(env).expanduser()
    return Path("~/.cache/projner").expanduser()


# ----------------------------------------------------------------------------- hashing


_canon = canon  # canonical JSON and hash_json live in projner.fingerprint (re-exported here)


def hash_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def hash_sentences(sentences: Iterable[Sentence]) -> str:
    """Content hash of sentences: tokens, spans (with scores) and ids."""
    h = hashlib.sha256()
    for s in sentences:
        h.update(json.dumps(sentence_to_json(s), ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


def hash_tokens(token_lists: Iterable[Sequence[str]]) -> str:
    h = hashlib.sha256()
    for toks in token_lists:
        h.update("\x1f".join(toks).encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


def fingerprint(step: str, params: Mapping[str, Any], inputs: Mapping[str, str], version: str | None = None, *,
                code: Iterable[Any] = (), components: Iterable[tuple[Any, str]] = (), engines: Iterable[str] = ()) -> str:
    """The digest of the step's :class:`~projner.fingerprint.Key` (see :func:`step_key`)."""
    return step_key(step, params, inputs, code=code, components=components, engines=engines, version=version).digest


def step_key(step: str, params: Mapping[str, Any], inputs: Mapping[str, str], *, code: Iterable[Any] = (),
             components: Iterable[tuple[Any, str]] = (), engines: Iterable[str] = (), version: str | None = None) -> Key:
    """The key of a step: ``components`` are ``(kind, name)`` pairs (``("aligner", "eflomal")``; kind
    one of :data:`COMPONENT_KINDS`, or a registry) resolved to full versioned names."""
    return make_key(step, params, inputs, code=code, components=[resolve_component(k, n) for k, n in components],
                    engines=engines, version=version)


COMPONENT_KINDS = ("aligner", "tagger", "projector", "translator", "scorer")


def resolve_component(kind: Any, name: str) -> tuple[Any, str]:
    """(registry, name) for a component kind (the registry imports a built-in's module when asked)."""
    from projner import registry

    return (registry.registry(kind), name) if isinstance(kind, str) else (kind, name)


# ----------------------------------------------------------------------------- serialisation


def sentence_to_json(s: Sentence) -> dict:
    d: dict[str, Any] = {"tokens": list(s.tokens), "spans": [[sp.start, sp.end, sp.label, sp.score] for sp in s.spans]}
    if s.id is not None:
        d["id"] = s.id
    if s.unknown:
        d["unknown"] = list(s.unknown)
    return d


def sentence_from_json(d: Mapping[str, Any]) -> Sentence:
    spans = tuple(Span(int(a), int(b), str(lab), None if sc is None else float(sc)) for a, b, lab, sc in d["spans"])
    return Sentence(tuple(d["tokens"]), spans, d.get("id"), tuple(d.get("unknown", ())))


def write_sentences(path: str | os.PathLike, sentences: Iterable[Sentence]) -> None:
    """Lossless JSONL (tokens, spans with scores, ids): the cache's sentence format."""
    with atomic_write(path) as fh:
        for s in sentences:
            fh.write(json.dumps(sentence_to_json(s), ensure_ascii=False, separators=(",", ":")))
            fh.write("\n")


def read_sentences(path: str | os.PathLike) -> tuple[Sentence, ...]:
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                out.append(sentence_from_json(json.loads(line)))
    return tuple(out)


def write_alignments(path: str | os.PathLike, alignments: Iterable[Alignment]) -> None:
    from projner.data.formats import write_pharaoh

    write_pharaoh(path, list(alignments), scores=True)


def read_alignments(path: str | os.PathLike) -> tuple[Alignment, ...]:
    from projner.data.formats import read_pharaoh

    return read_pharaoh(path)


# ----------------------------------------------------------------------------- the cache


@dataclass(frozen=True)
class Entry:
    step: str
    fingerprint: str
    path: Path
    manifest: Mapping[str, Any]

    def file(self, name: str) -> Path:
        return self.path / name

    @property
    def key(self) -> str:
        return f"{self.step}:{self.fingerprint}"


@dataclass(frozen=True)
class Event:
    """What happened to one step: ``hit``, ``miss``, ``corrupt`` or ``stale`` (then recomputed).

    ``seconds``: spent now; ``computed``: what computing the entry took when it was computed (a
    hit's figure comes from its manifest, None for entries written before manifests recorded it),
    so a report rebuilt from the cache still says what each result cost."""

    step: str
    fingerprint: str
    status: str
    seconds: float = 0.0
    detail: str = ""
    computed: float | None = None

    def to_dict(self) -> dict:
        return {"step": self.step, "fingerprint": self.fingerprint[:16], "status": self.status,
                "seconds": round(self.seconds, 2), "detail": self.detail,
                "computed": None if self.computed is None else round(self.computed, 2)}


def _files_under(folder: Path) -> list[str]:
    out = []
    for dirpath, _, files in os.walk(folder):
        for f in files:
            rel = os.path.relpath(os.path.join(dirpath, f), folder)
            if rel != MANIFEST:
                out.append(rel.replace(os.sep, "/"))
    return sorted(out)


class Cache:
    """Folders of step outputs keyed by fingerprint, each with a checksummed manifest."""

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = default_cache_root(root)

    def entry_dir(self, step: str, fp: str) -> Path:
        return self.root / step / fp

    def check(self, step: str, fp: str) -> tuple[str, Entry | None, str]:
        """(status, entry, detail): ``hit``, ``miss``, ``stale`` or ``corrupt``."""
        d = self.entry_dir(step, fp)
        if not d.exists():
            return "miss", None, ""
        mp = d / MANIFEST
        try:
            manifest = json.loads(mp.read_text(encoding="utf-8"))
            if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
                raise ValueError("manifest has no file list")
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            return "corrupt", None, f"unreadable manifest ({exc.__class__.__name__})"
        if manifest.get("version") != _version() or manifest.get("format") != CACHE_FORMAT:
            return "stale", None, f"written by projner {manifest.get('version')} (cache format {manifest.get('format')})"
        if manifest.get("fingerprint") != fp or manifest.get("step") != step:
            return "corrupt", None, "manifest names another step or fingerprint"
        for name, digest in manifest["files"].items():
            f = d / name
            if not f.is_file():
                return "corrupt", None, f"missing file {name}"
            if hash_file(f) != digest:
                return "corrupt", None, f"checksum mismatch in {name}"
        return "hit", Entry(step, fp, d, manifest), ""

    def put(self, step: str, fp: str, compute: Callable[[Path], Any], *, params: Any = None,
            inputs: Mapping[str, str] | None = None, key: Key | None = None) -> Entry:
        """Run ``compute(tmp_dir)`` (it writes its outputs there), checksum, then rename into place."""
        final = self.entry_dir(step, fp)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{fp[:12]}-", dir=str(final.parent)))
        try:
            t0 = time.perf_counter()
            extra = compute(tmp)
            manifest = {
                "format": CACHE_FORMAT, "step": step, "fingerprint": fp, "version": _version(),
                "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "seconds": round(time.perf_counter() - t0, 2),
                "params": _canon(params),
                "inputs": dict(inputs or {}), "key": key.document() if key is not None else None,
                "info": _canon(extra) if extra is not None else None,
                "files": {name: hash_file(tmp / name) for name in _files_under(tmp)},
            }
            with atomic_write(tmp / MANIFEST) as fh:
                json.dump(manifest, fh, indent=1, ensure_ascii=False)
            if final.exists():
                shutil.rmtree(final)
            os.replace(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return Entry(step, fp, final, manifest)

    def _index(self, step: str, params: Any, inputs: Mapping[str, str]) -> Path:
        return self.root / step / INDEX / f"{hash_json({'step': step, 'params': params, 'inputs': dict(inputs)})}.json"

    def previous(self, step: str, params: Any, inputs: Mapping[str, str], fp: str) -> tuple[str, dict] | None:
        """(fingerprint, key document) of the last entry computed for these parameters and inputs
        by other code or engines (None when there is none, or it is gone)."""
        try:
            old = json.loads(self._index(step, params, inputs).read_text(encoding="utf-8"))["fingerprint"]
            if old == fp:
                return None
            man = json.loads((self.entry_dir(step, old) / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return (old, man["key"]) if isinstance(man, dict) and isinstance(man.get("key"), dict) else None

    def remember(self, step: str, params: Any, inputs: Mapping[str, str], fp: str) -> None:
        path = self._index(step, params, inputs)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path) as fh:
            json.dump({"fingerprint": fp}, fh)

    def discard(self, step: str, fp: str) -> None:
        shutil.rmtree(self.entry_dir(step, fp), ignore_errors=True)

    def clean_tmp(self, older_than_s: float = 3600.0) -> int:
        """Remove ``.tmp-*`` folders left by killed runs (older than ``older_than_s``)."""
        n = 0
        if not self.root.exists():
            return 0
        now = time.time()
        for step_dir in self.root.iterdir():
            if not step_dir.is_dir():
                continue
            for d in step_dir.glob(".tmp-*"):
                if now - d.stat().st_mtime > older_than_s:
                    shutil.rmtree(d, ignore_errors=True)
                    n += 1
        return n


def _test_hook(step: str) -> None:
    spec = os.environ.get(HOOK_ENV)
    if not spec:
        return
    parts = spec.split(":")
    if parts[0] != step:
        return
    if len(parts) > 2:
        Path(":".join(parts[2:])).write_text(step, encoding="utf-8")
    time.sleep(float(parts[1]))


@dataclass
class StepRunner:
    """Runs steps through a :class:`Cache` and records what happened (``events``)."""

    cache: Cache = field(default_factory=Cache)
    log: Callable[[str], None] | None = None
    events: list[Event] = field(default_factory=list)

    @classmethod
    def at(cls, root: str | os.PathLike | None = None, *, verbose: bool = False) -> "StepRunner":
        log = logger.info if verbose else None  # stderr through projner.log (the CLI's --quiet hides it)
        return cls(Cache(root), log)

    def key(self, step: str, params: Mapping[str, Any], inputs: Mapping[str, str],
            compute: Callable[[Path], Any] | None = None, *, code: Iterable[Any] = (),
            components: Iterable[tuple[Any, str]] = (), engines: Iterable[str] = ()) -> Key:
        """The :class:`~projner.fingerprint.Key` :meth:`run` uses (``print(key.describe())`` shows it)."""
        return step_key(step, params, inputs, code=([compute] if compute is not None else []) + list(code),
                        components=components, engines=engines)

    def run(self, step: str, params: Mapping[str, Any], inputs: Mapping[str, str],
            compute: Callable[[Path], Any], *, code: Iterable[Any] = (),
            components: Iterable[tuple[Any, str]] = (), engines: Iterable[str] = ()) -> Entry:
        """The cached entry of ``step`` for these parameters and inputs, computed when needed.

        ``inputs`` maps names to content hashes or fingerprints of earlier entries. The key also
        holds the code of ``compute`` (and the project functions it reaches), of ``code`` (more
        functions, modules, module names or classes), the modules and full versioned names of
        ``components`` (``("aligner", "eflomal")`` pairs) and the versions of their engines and
        of ``engines`` (see :mod:`projner.fingerprint`).
        """
        key = self.key(step, params, inputs, compute, code=code, components=components, engines=engines)
        fp = key.digest
        status, entry, detail = self.cache.check(step, fp)
        if status == "hit":
            assert entry is not None
            took = entry.manifest.get("seconds")
            self._record(Event(step, fp, "hit", computed=float(took) if isinstance(took, (int, float)) else None))
            return entry
        if status in ("stale", "corrupt"):
            self._record(Event(step, fp, status, detail=detail + "; recomputing"))
            self.cache.discard(step, fp)
        elif (prev := self.cache.previous(step, key.params, inputs, fp)) is not None:
            what = "; ".join(changes(prev[1], key.document())) or "key changed"
            self._record(Event(step, fp, "stale", detail=f"{what} (was {prev[0][:12]}); recomputing"))
        t0 = time.perf_counter()

        def wrapped(tmp: Path) -> Any:
            _test_hook(step)
            return compute(tmp)

        entry = self.cache.put(step, fp, wrapped, params=params, inputs=inputs, key=key)
        self.cache.remember(step, key.params, inputs, fp)
        # computed: the manifest's figure, so this run and a later cache hit report the same seconds
        self._record(Event(step, fp, "miss", time.perf_counter() - t0, computed=entry.manifest["seconds"]))
        return entry

    def _record(self, ev: Event) -> None:
        self.events.append(ev)
        if self.log is not None:
            extra = f" {ev.seconds:.1f}s" if ev.seconds else ""
            detail = f" ({ev.detail})" if ev.detail else ""
            self.log(f"[cache] {ev.status:7s} {ev.step} {ev.fingerprint[:12]}{extra}{detail}")

    def summary(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for ev in self.events:
            out[ev.status] = out.get(ev.status, 0) + 1
        return out


