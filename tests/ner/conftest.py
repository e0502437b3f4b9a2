"""Tiny synthetic NER data: template sentences whose entities are learnable in seconds."""

import random

import pytest

from projner.types import Sentence, Span

PERS = ["Alice", "Bob", "Chidi", "Amina", "Tunde", "Zanele", "Kofi", "Maria"]
LOCS = ["Lagos", "Nairobi", "Paris", "Kano", "Durban", "Accra", "Port Harcourt", "Addis Ababa"]
ORGS = ["Google", "Dangote", "Safaricom", "Unilever", "Reuters"]
TEMPLATES = [
    ["{PER}", "visited", "{LOC}", "yesterday", "."],
    ["{PER}", "works", "for", "{ORG}", "in", "{LOC}", "."],
    ["the", "office", "of", "{ORG}", "is", "in", "{LOC}", "."],
    ["{PER}", "met", "{PER}", "at", "the", "market", "."],
    ["nothing", "happened", "today", "."],
]


def make_toy(n: int, seed: int) -> list[Sentence]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        toks, spans = [], []
        for slot in rng.choice(TEMPLATES):
            if slot.startswith("{"):
                lab = slot[1:-1]
                word = rng.choice({"PER": PERS, "LOC": LOCS, "ORG": ORGS}[lab])
                words = word.split()
                spans.append(Span(len(toks), len(toks) + len(words), lab))
                toks.extend(words)
            else:
                toks.append(slot)
        out.append(Sentence(tuple(toks), tuple(spans), id=f"s{seed}-{i}"))
    return out


@pytest.fixture(scope="session")
def toy_train():
    return make_toy(120, seed=1)


@pytest.fixture(scope="session")
def toy_test():
    return make_toy(40, seed=2)
