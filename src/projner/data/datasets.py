"""Where the datasets are and how they are read: the data root, parallel corpora (MAFAND-MT, the
Bible, files), CoNLL-2003 English, MasakhaNER 2.0 test sets.

The data root is ``data`` when given, else ``$PROJNER_DATA``, else ``../shared/data``; a missing
file is E203 naming it (:func:`require_data`).
"""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from projner.data.textio import read_lines
from projner.data.tokenize import tokenize
from projner.errors import E, ProjnerError
from projner.types import Sentence

BIBLE_FILES = {"en": "English-KJV.tsv", "swa": "Swahili-NT.tsv", "zul": "Zulu-NT.tsv"}


def data_root(data: str | os.PathLike | None = None) -> Path:
    """``data``, else ``$PROJNER_DATA``, else ``../shared/data`` (relative to the working directory)."""
    if data is not None:
        return Path(data).expanduser()
    return Path(os.environ.get("PROJNER_DATA", "../shared/data")).expanduser()


def require_data(path: Path, what: str) -> Path:
    """``path`` when it exists; E203 naming ``what`` and the path otherwise."""
    if not path.exists():
        raise ProjnerError(E.E203, detail=f"{what}: {path} (set PROJNER_DATA or data:)")
    return path


@dataclass(frozen=True)
class ParallelConfig:
    """Where parallel text comes from.

    ``kind``: ``mafand`` (``mafand_mt/en-LANG/{split}.{en,LANG}``, raw text, tokenised here),
    ``bible`` (``bible/*.tsv`` joined on verse_id; swa, zul), ``files`` (``src``/``tgt``: raw
    one-sentence-a-line text, or pre-tokenised ``.conll``/``.jsonl``), ``translate`` (``src``
    English text translated by the Translator given to
    :func:`projner.pipeline.translate_train.translate_train`).
    """

    kind: str = "mafand"
    splits: tuple[str, ...] = ("train", "dev", "test")
    src: str | None = None
    tgt: str | None = None
    max_pairs: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("mafand", "bible", "files", "translate"):
            raise ProjnerError(E.E202, detail=f"parallel kind {self.kind!r}; known: mafand, bible, files, translate")
        object.__setattr__(self, "splits", tuple(self.splits))


def read_tokenised(path: str | os.PathLike, what: str = "parallel file") -> tuple[tuple[str, ...], ...]:
    """Token lists of a text file: CoNLL/JSONL (by suffix: ``.conll``, ``.conll02``, ``.conll03``,
    ``.jsonl``; tokens NFC, labels ignored) or raw text, one sentence a line (tokenised)."""
    p = require_data(Path(path), what)
    if p.suffix in (".conll", ".jsonl", ".conll02", ".conll03"):
        from projner.data.formats import read_corpus

        return tuple(tuple(unicodedata.normalize("NFC", t) for t in s.tokens) for s in read_corpus(p).sentences)
    return tuple(tuple(tokenize(ln)) for ln in read_lines(p))


def _read_bible(path: Path) -> dict[str, str]:
    out = {}
    for ln in read_lines(path):
        if "\t" in ln:
            vid, text = ln.split("\t", 1)
            out[vid.strip()] = text.strip()
    return out


def load_parallel(cfg: ParallelConfig, lang: str, data: str | None = None) -> tuple[tuple[tuple[str, ...], ...], tuple[tuple[str, ...], ...]]:
    """(English token lists, target token lists) for a parallel source; pairs with an empty side are dropped."""
    root = data_root(data)
    if cfg.kind == "mafand":
        src: list[tuple[str, ...]] = []
        tgt: list[tuple[str, ...]] = []
        for split in cfg.splits:
            d = root / "mafand_mt" / f"en-{lang}"
            s = read_tokenised(require_data(d / f"{split}.en", f"MAFAND-MT {lang} {split}"))
            t = read_tokenised(require_data(d / f"{split}.{lang}", f"MAFAND-MT {lang} {split}"))
            if len(s) != len(t):
                raise ProjnerError(E.E001, a=str(d / f"{split}.en"), na=len(s), b=str(d / f"{split}.{lang}"), nb=len(t))
            src += s
            tgt += t
    elif cfg.kind == "bible":
        if lang not in BIBLE_FILES:
            raise ProjnerError(E.E203, detail=f"no Bible for {lang!r} (have: {', '.join(k for k in BIBLE_FILES if k != 'en')})")
        en = _read_bible(require_data(root / "bible" / BIBLE_FILES["en"], "English Bible"))
        tg = _read_bible(require_data(root / "bible" / BIBLE_FILES[lang], f"{lang} Bible"))
        ids = [v for v in tg if v in en]
        src = [tuple(tokenize(en[v])) for v in ids]
        tgt = [tuple(tokenize(tg[v])) for v in ids]
    elif cfg.kind == "files":
        if not (cfg.src and cfg.tgt):
            raise ProjnerError(E.E202, detail="parallel kind 'files' needs src and tgt")
        src, tgt = list(read_tokenised(cfg.src)), list(read_tokenised(cfg.tgt))
        if len(src) != len(tgt):
            raise ProjnerError(E.E001, a=cfg.src, na=len(src), b=cfg.tgt, nb=len(tgt))
    else:
        raise ProjnerError(E.E202, detail="parallel kind 'translate' is loaded by translate_train() with a Translator")
    keep = [i for i in range(len(src)) if src[i] and tgt[i]]
    if cfg.max_pairs is not None:
        keep = keep[: cfg.max_pairs]
    return tuple(src[i] for i in keep), tuple(tgt[i] for i in keep)


def evenly(items: Sequence[Any], n: int | None) -> list[Any]:
    """At most ``n`` items, evenly spaced (deterministic); all when ``n`` is None or larger."""
    if n is None or n >= len(items):
        return list(items)
    if n <= 0:
        return []
    step = len(items) / n
    return [items[int(k * step)] for k in range(n)]


def test_path(cfg_test: str | None, lang: str, data: str | None, split: str = "test") -> Path:
    """``cfg_test`` when given, else MasakhaNER 2.0 ``masakhaner2/LANG/SPLIT.txt`` under the data root
    (``split``: ``test``, or ``dev`` to choose settings without looking at the test set)."""
    return require_data(Path(cfg_test) if cfg_test else data_root(data) / "masakhaner2" / lang / f"{split}.txt",
                        f"{lang} {split} set")


def conll_paths(train: str | None, dev: str | None, data: str | None) -> tuple[Path, Path | None]:
    """English NER training and dev files: ``train``/``dev`` when given, else CoNLL-2003 ``eng.train``
    and ``eng.testa`` under the data root (no dev by default when ``train`` is given)."""
    root = data_root(data) / "conll2003_en" / "original_iob1"
    train_path = Path(train) if train else root / "eng.train"
    dev_path = Path(dev) if dev else (root / "eng.testa" if not train else None)
    return require_data(train_path, "English NER training data"), (require_data(dev_path, "English NER dev data") if dev_path else None)


def read_labelled(path: Path, label_map: str | None) -> tuple[Sentence, ...]:
    """The labelled sentences of ``path``, mapped with ``label_map`` when given."""
    from projner.data.formats import read_corpus
    from projner.data.labelmaps import load_label_map

    sents = read_corpus(path).sentences
    if label_map:
        sents, _ = load_label_map(label_map).map_sentences(sents)
    return sents
