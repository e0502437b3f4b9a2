"""A Europarl-like synthetic corpus for the inspector tests: every verdict occurs, deterministically.

Each pair has filler words aligned one-to-one plus one entity case, cycling through:
correct (projected, correct vs gold), compound (2 words → 1: length_ratio + missed),
no_links (+ missed), wrong_type, wrong_boundary, spurious (projected, no gold).
"""

from __future__ import annotations

import random
from pathlib import Path

FILLER_EN = "the council has decided that we should support this proposal in the coming year because it matters".split()
FILLER_DE = "der rat hat beschlossen dass wir diesen vorschlag im kommenden jahr unterstützen sollten weil es zählt".split()
CASES = ("correct", "compound", "no_links", "wrong_type", "wrong_boundary", "spurious")


def _conll(tokens, tags) -> str:
    return "".join(f"{t}\t{g}\n" for t, g in zip(tokens, tags)) + "\n"


def make_pair(k: int, rng: random.Random):
    case = CASES[k % len(CASES)]
    n = rng.randint(6, 14)
    pre = [rng.choice(FILLER_EN) for _ in range(n)]
    pre_de = [rng.choice(FILLER_DE) for _ in range(n)]
    post = [rng.choice(FILLER_EN) for _ in range(3)]
    post_de = [rng.choice(FILLER_DE) for _ in range(3)]
    links = [(i, i) for i in range(n)]
    if case == "compound":
        ent, ent_de, lab, gold_lab = ["Member", "States"], ["Mitgliedstaaten"], "ORG", "ORG"
        ent_links = [(n, n), (n + 1, n)]
    elif case == "no_links":
        ent, ent_de, lab, gold_lab = ["Barnier"], ["Barnier"], "PER", "PER"
        ent_links = []
    else:
        ent, ent_de = ["European", "Commission"], ["Europäische", "Kommission"]
        lab = "ORG"
        gold_lab = "MISC" if case == "wrong_type" else "ORG"
        ent_links = [(n, n), (n + 1, n + 1)]
    src = pre + ent + post + ["."]
    tgt = pre_de + ent_de + post_de + ["."]
    src_tags = ["O"] * n + [f"B-{lab}"] + [f"I-{lab}"] * (len(ent) - 1) + ["O"] * (len(post) + 1)
    gold_tags = ["O"] * n + [f"B-{gold_lab}"] + [f"I-{gold_lab}"] * (len(ent_de) - 1) + ["O"] * (len(post_de) + 1)
    if case == "wrong_boundary":  # gold also takes the next word
        gold_tags[n + len(ent_de)] = f"I-{gold_lab}"
    if case == "spurious":
        gold_tags = ["O"] * len(tgt)
    m_src, m_tgt = n + len(ent), n + len(ent_de)
    links += ent_links + [(m_src + i, m_tgt + i) for i in range(len(post) + 1)]
    return case, (src, src_tags), (tgt, gold_tags), links


def write_fixture(folder: Path, n_pairs: int = 800, seed: int = 7, scores: bool = False) -> dict[str, Path]:
    """Write en.conll, de.conll (target gold), de.align; return their paths and the cases."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    en, de, al, cases = [], [], [], []
    for k in range(n_pairs):
        case, s, t, links = make_pair(k, rng)
        cases.append(case)
        en.append(_conll(*s))
        de.append(_conll(*t))
        if scores:
            al.append(" ".join(f"{i}-{j}:{rng.uniform(0.2, 1.0):.3f}" for i, j in links))
        else:
            al.append(" ".join(f"{i}-{j}" for i, j in links))
    paths = {"src": folder / "en.conll", "tgt": folder / "de.conll", "align": folder / "de.align"}
    paths["src"].write_text("".join(en), encoding="utf-8")
    paths["tgt"].write_text("".join(de), encoding="utf-8")
    paths["align"].write_text("\n".join(al) + "\n", encoding="utf-8")
    return {**paths, "cases": cases}  # type: ignore[dict-item]
