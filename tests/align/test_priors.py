"""eflomal priors (issue 16): written and read back, taught to a tiny corpus, keyed by content, checked."""

from __future__ import annotations

import json
import random

import pytest
from testutil import run_cli, write_file

from projner.align.eflomal import EflomalAligner
from projner.align.priors import (
    Priors, compute_priors, format_priors, load_priors, parse_priors, sample_indices, sidecar_path, train_priors,
)
from projner.errors import ProjnerError
from projner.fingerprint import make_key
from projner.registry import aligners
from projner.types import Alignment, Link


def dictionary_corpus(n_pairs: int, n_words: int = 150, seed: int = 0):
    """A made-up language pair: every source word has one unrelated target word (no shared
    prefix, no copy), and the target side is shuffled, so position and spelling give nothing away."""
    rng = random.Random(seed)
    letters = "bcdfghjklmnpqrstvwz"
    seen: set[str] = set()
    words: list[str] = []
    while len(words) < 2 * n_words:
        w = "".join(rng.choice(letters) for _ in range(6))
        if w[:4] not in seen:  # distinct after the default 4-character stemming
            seen.add(w[:4])
            words.append(w)
    lex = dict(zip(words[:n_words], words[n_words:]))
    src, tgt, gold = [], [], []
    for _ in range(n_pairs):
        s = rng.sample(words[:n_words], rng.randint(4, 7))
        order = list(range(len(s)))
        rng.shuffle(order)
        t = [lex[s[i]] for i in order]
        src.append(s)
        tgt.append(t)
        gold.append({(i, order.index(i)) for i in range(len(s))})
    return src, tgt, gold


def correct_share(als, gold) -> float:
    return sum(len(a.pairs & g) for a, g in zip(als, gold)) / sum(len(g) for g in gold)


def test_compute_priors_counts_links_jumps_and_fertility_as_eflomal_samples_them():
    fwd = [Alignment((Link(0, 1), Link(1, 0)))]  # target 0 <- source 1, target 1 <- source 0
    rev = [Alignment((Link(0, 1), Link(1, 0)))]
    p = compute_priors([["Haus", "Garten", "x"]], [["jardin", "maison"]], fwd, rev, prefix_len=4)
    assert p.lex == {("haus", "mais"): 1, ("gart", "jard"): 1}  # stemmed as eflomal's vocabulary
    assert p.hmmf == {2: 1, -1: 1, 3: 1}  # -1 -> 1, 1 -> 0, 0 -> end (3)
    assert p.hmmr == {2: 2, -1: 1}  # -1 -> 1, 1 -> 0, 0 -> end (2)
    assert p.ferf == {("haus", 1): 1, ("gart", 1): 1, ("x", 0): 1}  # fertility 0 counted too
    assert p.ferr == {("jard", 1): 1, ("mais", 1): 1}
    assert p.lexr == p.lex  # one-to-one links: both directions agree
    # a compound: forward gives the target word one source word, reverse links both source words to it
    fwd = [Alignment((Link(1, 0),))]
    rev = [Alignment((Link(0, 0), Link(1, 0)))]
    p = compute_priors([["federal", "government"]], [["Bundesregierung"]], fwd, rev, prefix_len=4)
    assert p.lex == {("gove", "bund"): 1} and p.lexr == {("fede", "bund"): 1, ("gove", "bund"): 1}
    assert p.ferf == {("fede", 0): 1, ("gove", 1): 1} and p.ferr == {("bund", 2): 1}


def test_priors_file_written_and_read_back(tmp_path):
    src, tgt, _ = dictionary_corpus(300)
    before = [list(s) for s in src]
    path = tmp_path / "sub" / "x.priors"
    info = train_priors(src, tgt, path, sample=200, n_samplers=1)
    assert src == before  # inputs not mutated
    assert path.is_file() and info.sidecar == sidecar_path(path)
    loaded = load_priors(path, prefix_len=4, suffix_len=0)
    assert loaded.sha256 == info.sha256 and loaded.priors.counts() == dict(info.counts)
    assert parse_priors(format_priors(loaded.priors).encode("utf-8"), "again") == loaded.priors
    rec = json.loads((tmp_path / "sub" / "x.priors.json").read_text(encoding="utf-8"))
    assert rec["pairs"] == 300 and rec["sample"] == {"n": 200, "method": "even", "seed": None}
    assert rec["sha256"] == info.sha256 and rec["params"]["prefix_len"] == 4 and rec["eflomal"]
    assert len(rec["corpus_sha256"]) == 64 and rec["counts"]["lex"] > 100
    assert rec["counts"]["lexr"] > 100 and rec["format"] == 2 and rec["eflomal_format"] is False
    # the default file holds projner's LEXR lines, which eflomal's own reader rejects; with
    # eflomal_format the file is eflomal's (eflomal-align --priors reads it)
    import eflomal

    with open(path, encoding="utf-8") as fh, pytest.raises(Exception):
        eflomal.read_priors(fh)
    plain = tmp_path / "eflomal.priors"
    info2 = train_priors(src, tgt, plain, sample=200, n_samplers=1, eflomal_format=True)
    assert info2.counts["lexr"] == 0 and "LEXR" not in plain.read_text(encoding="utf-8")
    with open(plain, encoding="utf-8") as fh:
        lex, hmmf, hmmr, ferf, ferr = eflomal.read_priors(fh)
    assert len(lex) == info2.counts["lex"] and len(hmmf) == info2.counts["hmmf"] and len(ferr) == info2.counts["ferr"]


def test_sample_indices_even_seeded_and_bad():
    assert sample_indices(10, 5) == [0, 2, 4, 6, 8]
    assert sample_indices(3, 5) == [0, 1, 2] and sample_indices(4, None) == [0, 1, 2, 3]
    seeded = sample_indices(1000, 10, seed=7)
    assert seeded == sample_indices(1000, 10, seed=7) and seeded == sorted(seeded) and len(set(seeded)) == 10
    assert seeded != sample_indices(1000, 10, seed=8)
    with pytest.raises(ProjnerError, match="E112"):
        sample_indices(10, 0)


def test_priors_teach_a_tiny_corpus_the_dictionary_it_cannot_learn_alone(tmp_path):
    src, tgt, gold = dictionary_corpus(2500, seed=1)
    path = tmp_path / "big.priors"
    train_priors(src, tgt, path)
    tiny_s, tiny_t, tiny_g = src[:20], tgt[:20], gold[:20]
    plain, primed = [], []
    for _ in range(2):  # eflomal is unseeded: the margin below holds for every run
        plain.append(correct_share(EflomalAligner(sym="intersection").align(tiny_s, tiny_t), tiny_g))
        aligner = EflomalAligner(sym="intersection", priors=str(path))
        primed.append(correct_share(aligner.align(tiny_s, tiny_t), tiny_g))
        assert aligner.stats["priors_lex_used"] > 50
    assert min(primed) > 0.8, primed
    assert min(primed) - max(plain) > 0.3, (primed, plain)


def _write_priors(path, lex):
    path.write_text(format_priors(Priors(lex=lex, hmmf={1: 5})), encoding="utf-8")


def test_signature_and_cache_keys_follow_the_priors_content(tmp_path):
    path = tmp_path / "p.priors"
    _write_priors(path, {("a", "b"): 3})
    sig1 = EflomalAligner(priors=str(path)).signature()
    keys1 = [make_key("align", doc, {}, components=[(aligners, "eflomal")]).digest for doc in (
        {"name": "eflomal", "params": {"priors": str(path)}},  # a pipeline step's params
        {"aligner": "eflomal", "aligner_params": {"priors": str(path), "sym": "reverse"}},  # a scale-out spec's
    )]
    _write_priors(path, {("a", "b"): 4})  # the same path, new content
    sig2 = EflomalAligner(priors=str(path)).signature()
    keys2 = [make_key("align", doc, {}, components=[(aligners, "eflomal")]).digest for doc in (
        {"name": "eflomal", "params": {"priors": str(path)}},
        {"aligner": "eflomal", "aligner_params": {"priors": str(path), "sym": "reverse"}},
    )]
    assert "priors:" in sig1 and sig1 != sig2 and "priors:" not in EflomalAligner().signature()
    assert keys1[0] != keys2[0] and keys1[1] != keys2[1]
    key = make_key("align", {"name": "eflomal", "params": {"priors": str(path)}}, {}, components=[(aligners, "eflomal")])
    assert key.inputs["file:params.priors"] == load_priors(path).sha256
    # no file parameter: the key is what it was
    assert "file:params.priors" not in make_key("align", {"params": {}}, {}, components=[(aligners, "eflomal")]).inputs


def test_priors_weight_scales_every_alpha_and_is_in_the_signature(tmp_path, monkeypatch):
    pri = Priors(lex={("a", "b"): 3.0}, hmmf={1: 5.0}, hmmr={-1: 2.0}, ferf={("a", 1): 4.0}, ferr={("b", 0): 1.0})
    lex, hmmf, hmmr, ferf, ferr = pri.as_eflomal(2.5)
    assert lex == [("a", "b", 7.5)] and hmmf == {1: 12.5} and hmmr == {-1: 5.0}
    assert ferf == [("a", 1, 10.0)] and ferr == [("b", 0, 2.5)]
    assert pri.as_eflomal() == pri.as_eflomal(1.0) and pri.lex == {("a", "b"): 3.0}  # not mutated
    path = tmp_path / "p.priors"
    path.write_text(format_priors(pri), encoding="utf-8")
    plain, heavy = EflomalAligner(priors=str(path)), EflomalAligner(priors=str(path), priors_weight=4)
    assert "priors-weight" not in plain.signature() and "priors-weight:4" in heavy.signature()
    assert "priors-weight" not in EflomalAligner(priors_weight=4).signature()  # no priors: no effect, not shown
    for bad in (0, -1, float("nan"), float("inf"), "2"):
        with pytest.raises(ProjnerError, match="priors_weight"):
            EflomalAligner(priors=str(path), priors_weight=bad)
    # the file eflomal reads carries the weighted alphas
    import eflomal

    written = []
    real = eflomal.to_eflomal_priors_file
    monkeypatch.setattr(eflomal, "to_eflomal_priors_file", lambda pr, si, ti, fh: (written.append(pr), real(pr, si, ti, fh))[1])
    EflomalAligner(priors=str(path), priors_weight=4, copy_dictionary=False).align([["a", "c"]], [["b", "d"]])
    assert written[0][0] == [("a", "b", 12.0)] and written[0][1] == {1: 20.0}


def test_each_direction_gets_its_own_lexical_table(tmp_path, monkeypatch):
    import eflomal

    pri = Priors(lex={("a", "b"): 3.0}, lexr={("a", "b"): 1.0, ("c", "b"): 2.0}, hmmf={1: 5.0}, hmmr={1: 4.0})
    assert pri.as_eflomal()[0] == [("a", "b", 3.0)]
    assert sorted(pri.as_eflomal(reverse=True)[0]) == [("a", "b", 1.0), ("c", "b", 2.0)]
    no_r = Priors(lex={("a", "b"): 3.0})
    assert no_r.as_eflomal(reverse=True)[0] == [("a", "b", 3.0)]  # eflomal's convention: one table
    path = tmp_path / "p.priors"
    path.write_text(format_priors(pri), encoding="utf-8")
    assert load_priors(path).priors == pri
    written, calls = [], []
    real_w, real_run = eflomal.to_eflomal_priors_file, __import__("projner.align.eflomal", fromlist=["run_child"]).run_child
    monkeypatch.setattr(eflomal, "to_eflomal_priors_file", lambda pr, si, ti, fh: (written.append(pr[0]), real_w(pr, si, ti, fh))[1])

    def spy(args, **kw):
        calls.append(("-f" in args, "-r" in args))
        return real_run(args, **kw)

    monkeypatch.setattr("projner.align.eflomal.run_child", spy)
    src, tgt = [["a", "c", "x"]] * 3, [["b", "y"]] * 3
    al = EflomalAligner(sym="intersection", priors=str(path), copy_dictionary=False)
    al.align(src, tgt)
    assert calls == [(True, False), (False, True)]  # two calls, one per direction
    assert written == [[("a", "b", 3.0)], [("a", "b", 1.0), ("c", "b", 2.0)]]
    assert al.stats["priors_lex_used"] == 3 and al.stats["priors_lexr_used"] == 2
    calls.clear(), written.clear()
    EflomalAligner(sym="reverse", priors=str(path), copy_dictionary=False).align(src, tgt)
    assert calls == [(False, True)] and written == [[("a", "b", 1.0), ("c", "b", 2.0)]]
    calls.clear(), written.clear()
    path.write_text(format_priors(no_r), encoding="utf-8")  # an eflomal-made file: one call, one table
    EflomalAligner(sym="intersection", priors=str(path), copy_dictionary=False).align(src, tgt)
    assert calls == [(True, True)] and written == [[("a", "b", 3.0)]]
    bad = tmp_path / "bad.priors"
    bad.write_text("LEXR\ta\tb\t1\n", encoding="utf-8")
    with pytest.raises(ProjnerError, match="E110.*LEXR lines without LEX"):
        load_priors(bad)


@pytest.mark.parametrize("text,line,needle", [
    ("LEX\ta\tb\t1\nLEX\ta\tb\n", 2, "4 TAB-separated fields"),
    ("HMMF\t1\t2\nFOO\t1\t2\n", 2, "unknown kind"),
    ("LEX\ta\tb\tmany\n", 1, "alpha 'many' is not a number"),
    ("LEX\ta\tb\t1\n\nHMMR\t1.5\t2\n", 3, "jump '1.5' is not an integer"),
    ("FERF\tw\t-1\t2\n", 1, "fertility must be >= 0"),
    ("LEX\ta\tb\t-1\n", 1, "finite number >= 0"),
    ("LEX\ta\tb\tnan\n", 1, "finite number >= 0"),
    ("LEX\ta b\tc\t1\n", 1, "white space"),
    ("LEX\ta\tb\t1\n \n", 2, "white space"),
])
def test_bad_priors_file_is_e110_with_file_and_line(tmp_path, text, line, needle):
    path = write_file(tmp_path, "bad.priors", text)
    with pytest.raises(ProjnerError) as err:
        EflomalAligner(priors=str(path))
    assert err.value.code.name == "E110" and err.value.line == line and needle in str(err.value)
    assert f"{path}:{line}:" in str(err.value)


def test_empty_or_missing_priors_file(tmp_path):
    with pytest.raises(ProjnerError, match="E110.*no priors"):
        load_priors(write_file(tmp_path, "empty.priors", ""))
    with pytest.raises(ProjnerError, match="E040"):
        EflomalAligner(priors=str(tmp_path / "none.priors"))


def test_sidecar_checks_stemming_and_content(tmp_path):
    src, tgt, _ = dictionary_corpus(120)
    path = tmp_path / "s.priors"
    train_priors(src, tgt, path, n_samplers=1, prefix_len=0)
    assert EflomalAligner(priors=str(path), prefix_len=0).signature()
    with pytest.raises(ProjnerError, match="E111.*prefix_len 0.*uses 4"):
        EflomalAligner(priors=str(path))  # made with whole words, used with 4-character stems
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("LEX\tzz\tyy\t1\n")  # edited after it was made: the sidecar no longer describes it
    with pytest.raises(ProjnerError, match="E113") as err:
        EflomalAligner(priors=str(path), prefix_len=0)
    assert err.value.file == sidecar_path(path)
    write_file(tmp_path, "s.priors.json", "{not json")
    with pytest.raises(ProjnerError, match="E113"):
        load_priors(path)


def test_train_priors_on_nothing_is_e112(tmp_path):
    with pytest.raises(ProjnerError, match="E112"):
        train_priors([], [], tmp_path / "x.priors")


def test_cli_align_priors_then_align_with_them(tmp_path, capsys):
    src, tgt, _ = dictionary_corpus(400, seed=2)
    a = write_file(tmp_path, "a.txt", "\n".join(" ".join(x) for x in src) + "\n")
    b = write_file(tmp_path, "b.txt", "\n".join(" ".join(x) for x in tgt) + "\n")
    pri = tmp_path / "ab.priors"
    code, _, err = run_cli(["align-priors", str(a), str(b), "-o", str(pri), "--sample", "300", "--samplers", "1"], capsys)
    assert code == 0, err
    assert pri.is_file() and "300 of 400 pairs" in err and json.loads((tmp_path / "ab.priors.json").read_text())["pairs"] == 400
    out = tmp_path / "o.al"
    code, _, err = run_cli(["align", "--src", str(a), "--tgt", str(b), "--out", str(out), "--samplers", "1",
                            "--priors", str(pri)], capsys)
    assert code == 0, err
    assert f"priors:{load_priors(pri).sha256[:16]}" in err and "priors_lex_used=" in err
    assert len(out.read_text().splitlines()) == 400 and "priors-weight" not in err
    code, _, err = run_cli(["align", "--src", str(a), "--tgt", str(b), "--out", str(out), "--samplers", "1",
                            "--priors", str(pri), "--priors-weight", "4"], capsys)
    assert code == 0 and "priors-weight:4" in err, err
    code, _, err = run_cli(["align", "--src", str(a), "--tgt", str(b), "--out", str(out), "--priors", str(pri),
                            "--priors-weight", "0"], capsys)
    assert code == 2 and "priors_weight must be" in err
    code, _, err = run_cli(["align", "--src", str(a), "--tgt", str(b), "--out", str(out), "--stem", "0",
                            "--priors", str(pri)], capsys)
    assert code == 2 and "E111" in err
    code, _, err = run_cli(["align", "--src", str(a), "--tgt", str(b), "--out", str(out), "--aligner", "neural",
                            "--priors", str(pri)], capsys)
    assert code == 2 and "priors are for the eflomal aligner" in err
