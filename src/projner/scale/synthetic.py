"""A synthetic English → "xx" parallel corpus of any size, with gold target entities and gold links.

Used by the scale-out benchmark and study (millions of pairs without shipping data). "xx" is a
made-up language: template units are translated phrase by phrase, some templates reorder units,
English "the" has no counterpart, and names are copied. Names are drawn from a few thousand
generated person, organisation and place names, so an aligner has a real vocabulary to learn
(names occur a handful of times per 100k pairs, function words everywhere).

Everything is deterministic for a seed; files are written atomically:

* ``src.conll``: English tokens with IOB2 tags (the labelled source),
* ``tgt.txt``: xx tokens, one sentence per line (the target to project onto),
* ``gold.conll``: xx tokens with the gold IOB2 tags (to score the projection),
* ``links.pharaoh``: the gold word alignment (to run projection alone, or score an aligner).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from projner.data.textio import atomic_write

_ONSETS = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "ch", "sh", "th", "kw", "br", "tr"]
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ou", "ia"]
_CODAS = ["", "", "", "n", "r", "s", "l", "m", "k"]

# English phrase -> xx phrase (words separated by spaces; "" = no counterpart)
LEX = {
    "visited": "alitembelea", "on": "siku", "Monday": "jumatatu", "Friday": "ijumaa", "said": "ilisema",
    "was": "alikuwa", "in": "katika", "works": "anafanya", "for": "kwa", "met": "alikutana", "with": "na",
    "today": "leo", "people": "watu", "of": "wa", "love": "wanapenda", "and": "na", "moved": "alihamia",
    "to": "kwenda", "reported": "iliripoti", "that": "kwamba", "lives": "anaishi", ".": ".", ",": ",",
    "the": "", "new": "mpya", "office": "ofisi", "opened": "ilifungua", "a": "moja", "yesterday": "jana",
    "president": "rais", "is": "ni", "announced": "ilitangaza", "plan": "mpango", "signed": "walisaini",
    "agreement": "makubaliano", "the agreement": "makubaliano", "a new office": "ofisi mpya moja",
    "a new plan": "mpango mpya", "on Monday": "siku ya jumatatu", "on Friday": "siku ya ijumaa",
    "of the": "wa", "for the": "kwa",
}

# (units, xx order): units are English phrases or slots {PER} {ORG} {LOC}; the xx sentence
# takes the units in ``order`` (a permutation), each translated through LEX
TEMPLATES: list[tuple[list[str], list[int]]] = [
    (["{PER}", "visited", "{LOC}", "on Monday", "."], [0, 1, 3, 2, 4]),
    (["the", "{ORG}", "said", "{PER}", "was", "in", "{LOC}", "."], [0, 1, 2, 3, 4, 5, 6, 7]),
    (["{PER}", "works", "for the", "{ORG}", "."], [0, 1, 2, 3, 4]),
    (["{PER}", "met", "with", "{PER}", "in", "{LOC}", "today", "."], [6, 0, 1, 2, 3, 4, 5, 7]),
    (["people", "of", "{LOC}", "love", "{ORG}", "."], [0, 1, 2, 3, 4, 5]),
    (["{PER}", "moved", "to", "{LOC}", "yesterday", "."], [4, 0, 1, 2, 3, 5]),
    (["{ORG}", "reported", "that", "{PER}", "lives", "in", "{LOC}", "."], [0, 1, 2, 3, 4, 5, 6, 7]),
    (["{ORG}", "opened", "a new office", "in", "{LOC}", "on Friday", "."], [0, 1, 2, 5, 3, 4, 6]),
    (["the", "president", "of the", "{ORG}", "is", "{PER}", "."], [1, 2, 3, 4, 5, 6, 0]),
    (["{ORG}", "announced", "a new plan", "for", "{LOC}", "."], [0, 1, 2, 3, 4, 5]),
    (["{ORG}", "and", "{ORG}", "signed", "the agreement", "."], [0, 1, 2, 3, 4, 5]),
    (["people", "love", "Monday", "."], [0, 1, 2, 3]),
]


def _word(rng: random.Random, syllables: int) -> str:
    return "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS) for _ in range(syllables)).capitalize()


def name_pools(seed: int = 0, n_per: int = 3000, n_org: int = 800, n_loc: int = 1200) -> dict[str, list[str]]:
    """Generated names: persons ``First Last``, organisations of 1–3 words, places of 1–2 words."""
    rng = random.Random(f"names:{seed}")
    firsts = sorted({_word(rng, rng.randint(2, 3)) for _ in range(n_per // 4)})
    lasts = sorted({_word(rng, rng.randint(2, 3)) for _ in range(n_per // 3)})
    per = sorted({f"{rng.choice(firsts)} {rng.choice(lasts)}" for _ in range(n_per)})
    org = sorted({" ".join(_word(rng, rng.randint(1, 3)) for _ in range(rng.randint(1, 3))) for _ in range(n_org)})
    loc = sorted({" ".join(_word(rng, rng.randint(2, 3)) for _ in range(rng.choice((1, 1, 1, 2)))) for _ in range(n_loc)})
    return {"PER": per, "ORG": org, "LOC": loc}


@dataclass(frozen=True)
class Pair:
    en: tuple[str, ...]
    en_tags: tuple[str, ...]
    xx: tuple[str, ...]
    xx_tags: tuple[str, ...]
    links: tuple[tuple[int, int], ...]


def make_pair(rng: random.Random, pools: dict[str, list[str]]) -> Pair:
    units, order = TEMPLATES[rng.randrange(len(TEMPLATES))]
    # each unit: (en words, en tags, xx words, xx tags)
    done = []
    for u in units:
        if u.startswith("{"):
            label = u[1:4]
            words = rng.choice(pools[label]).split()
            tags = [("B-" if k == 0 else "I-") + label for k in range(len(words))]
            done.append((words, tags, words, tags))
        else:
            en = u.split()
            xx = LEX[u].split() if u in LEX else [w for e in en for w in LEX[e].split()]
            done.append((en, ["O"] * len(en), xx, ["O"] * len(xx)))
    en_tok: list[str] = []
    en_tags: list[str] = []
    en_start = []
    for words, tags, _, _ in done:
        en_start.append(len(en_tok))
        en_tok += words
        en_tags += tags
    xx_tok: list[str] = []
    xx_tags: list[str] = []
    links: list[tuple[int, int]] = []
    for k in order:
        en_w, _, xx_w, tags = done[k]
        base = len(xx_tok)
        xx_tok += xx_w
        xx_tags += tags
        if len(en_w) == len(xx_w):
            links += [(en_start[k] + i, base + i) for i in range(len(en_w))]
        else:
            links += [(en_start[k] + i, base + j) for i in range(len(en_w)) for j in range(len(xx_w))]
    if en_tok and en_tok[0][0].islower():
        en_tok[0] = en_tok[0].capitalize()
    if xx_tok and xx_tok[0][0].islower():
        xx_tok[0] = xx_tok[0].capitalize()
    return Pair(tuple(en_tok), tuple(en_tags), tuple(xx_tok), tuple(xx_tags), tuple(sorted(links)))


@dataclass(frozen=True)
class SyntheticCorpus:
    folder: Path
    n_pairs: int
    seed: int

    @property
    def src(self) -> Path:
        return self.folder / "src.conll"

    @property
    def tgt(self) -> Path:
        return self.folder / "tgt.txt"

    @property
    def gold(self) -> Path:
        return self.folder / "gold.conll"

    @property
    def links(self) -> Path:
        return self.folder / "links.pharaoh"


def write_synthetic(folder: str | Path, n_pairs: int, *, seed: int = 0) -> SyntheticCorpus:
    """Write (or reuse, when complete) an ``n_pairs`` corpus for ``seed`` in ``folder``.

    A ``done`` marker naming size and seed is written last; a folder without it is rewritten.
    """
    out = SyntheticCorpus(Path(folder), n_pairs, seed)
    marker = out.folder / "done"
    stamp = f"projner-synthetic:1|pairs:{n_pairs}|seed:{seed}\n"
    if marker.is_file() and marker.read_text(encoding="utf-8") == stamp:
        return out
    rng = random.Random(f"pairs:{seed}")
    pools = name_pools(seed)
    out.folder.mkdir(parents=True, exist_ok=True)
    with atomic_write(out.src) as fs, atomic_write(out.tgt) as ft, atomic_write(out.gold) as fg, atomic_write(out.links) as fl:
        for _ in range(n_pairs):
            p = make_pair(rng, pools)
            fs.write("".join(f"{w}\t{t}\n" for w, t in zip(p.en, p.en_tags)) + "\n")
            ft.write(" ".join(p.xx) + "\n")
            fg.write("".join(f"{w}\t{t}\n" for w, t in zip(p.xx, p.xx_tags)) + "\n")
            fl.write(" ".join(f"{i}-{j}" for i, j in p.links) + "\n")
    with atomic_write(marker) as fh:
        fh.write(stamp)
    return out
