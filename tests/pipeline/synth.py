"""A tiny synthetic English ↔ "xx" world for pipeline tests, written to a folder laid out like
the shared data (``conll2003_en/original_iob1``, ``mafand_mt/en-xx``, ``masakhaner2/xx``).

"xx" translates English word by word (same order, "the" dropped, names copied), so gold
alignments are known and written as a Pharaoh file; a dictionary Translator translates xx→en.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

PER = ["John Smith", "Mary Jones", "Ali Musa", "Peter Obi", "Grace Bello", "Aisha Bala", "David Kim", "Sara Lee",
       "Tom Hardy", "Amina Yusuf", "James Brown", "Ruth Okafor"]
ORG = ["United Nations", "Red Cross", "World Bank", "Dangote Group", "Apple", "Shell", "Reuters", "Chelsea"]
LOC = ["Paris", "Lagos", "Kano", "Nairobi", "London", "Ghana", "Abuja", "Texas", "Durban", "Accra"]
LEX = {"visited": "alitembelea", "on": "siku", "monday": "jumatatu", "said": "ilisema", "was": "alikuwa",
       "in": "katika", "works": "anafanya", "for": "kwa", "met": "alikutana", "with": "na", "today": "leo",
       "people": "watu", "of": "wa", "love": "wanapenda", "and": "na", "moved": "alihamia", "to": "kwenda",
       "a": "moja", "reported": "iliripoti", "that": "kwamba", "lives": "anaishi", ".": ".", ",": ","}
TEMPLATES = [
    "{PER} visited {LOC} on Monday .",
    "The {ORG} said {PER} was in {LOC} .",
    "{PER} works for the {ORG} .",
    "{PER} met with {PER} in {LOC} today .",
    "People of {LOC} love {ORG} .",
    "{PER} moved to {LOC} .",
    "{ORG} reported that {PER} lives in {LOC} .",
    "People love Monday .",
]


@dataclass
class Item:
    en: list[str]
    en_tags: list[str]
    xx: list[str]
    xx_tags: list[str]
    links: list[tuple[int, int]]


def make(rng: random.Random) -> Item:
    tpl = rng.choice(TEMPLATES).split()
    en, en_tags, xx, xx_tags, links = [], [], [], [], []
    for w in tpl:
        if w.startswith("{"):
            label = w[1:4]
            name = rng.choice({"PER": PER, "ORG": ORG, "LOC": LOC}[label]).split()
            for k, part in enumerate(name):
                links.append((len(en), len(xx)))
                en.append(part)
                en_tags.append(("B-" if k == 0 else "I-") + label)
                xx.append(part)
                xx_tags.append(("B-" if k == 0 else "I-") + label)
        else:
            en.append(w)
            en_tags.append("O")
            if w.lower() == "the":
                continue
            links.append((len(en) - 1, len(xx)))
            t = LEX[w.lower()]
            xx.append(t.capitalize() if w[0].isupper() and len(xx) == 0 else t)
            xx_tags.append("O")
    return Item(en, en_tags, xx, xx_tags, links)


def _conll(items, which: str) -> str:
    blocks = []
    for it in items:
        toks, tags = (it.en, it.en_tags) if which == "en" else (it.xx, it.xx_tags)
        blocks.append("\n".join(f"{t} {g}" for t, g in zip(toks, tags)))
    return "\n\n".join(blocks) + "\n"


def write_world(root: Path, *, n_conll: int = 150, n_parallel: int = 120, n_test: int = 40, seed: int = 7) -> Path:
    rng = random.Random(seed)
    conll = root / "conll2003_en" / "original_iob1"
    conll.mkdir(parents=True)
    (conll / "eng.train").write_text(_conll([make(rng) for _ in range(n_conll)], "en"), encoding="utf-8")
    (conll / "eng.testa").write_text(_conll([make(rng) for _ in range(30)], "en"), encoding="utf-8")
    par = [make(rng) for _ in range(n_parallel)]
    mt = root / "mafand_mt" / "en-xx"
    mt.mkdir(parents=True)
    half = n_parallel // 2
    for split, chunk in (("train", par[:half]), ("dev", par[half:])):
        (mt / f"{split}.en").write_text("".join(" ".join(it.en).replace(" .", ".") + "\n" for it in chunk), encoding="utf-8")
        (mt / f"{split}.xx").write_text("".join(" ".join(it.xx).replace(" .", ".") + "\n" for it in chunk), encoding="utf-8")
    (root / "links.align").write_text("".join(" ".join(f"{i}-{j}" for i, j in it.links) + "\n" for it in par), encoding="utf-8")
    test = [make(rng) for _ in range(n_test)]
    mk = root / "masakhaner2" / "xx"
    mk.mkdir(parents=True)
    (mk / "test.txt").write_text(_conll(test, "xx"), encoding="utf-8")
    (mk / "train.txt").write_text(_conll([make(rng) for _ in range(80)], "xx"), encoding="utf-8")
    return root


class DictTranslator:
    """xx → en word by word (the Translator interface: ``translate(sentences, src, tgt)``)."""

    def __init__(self) -> None:
        self.back = {v: k for k, v in LEX.items()}
        self.calls = 0

    def signature(self) -> str:
        return "translator:dict-xx-en|v1"

    def translate(self, sentences, src, tgt):
        from types import SimpleNamespace

        self.calls += 1
        out = []
        for s in sentences:
            words = [self.back.get(w.lower(), w) for w in s.split()]
            out.append(SimpleNamespace(text=" ".join(words), score=0.0))
        return out
