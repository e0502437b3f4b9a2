"""Inflection tables, morphological perturbation and the morphology study (issue 8, item 1)."""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
from pathlib import Path

import pytest

from projner.data.sigmorphon import InflectionEntry, InflectionTable
from projner.errors import ProjnerError
from projner.evaluate.bootstrap import paired_drop_ci
from projner.research.morphology import MorphologyStudy, changed_subset
from projner.research.perturb import augment_sentences, match_case, perturb
from projner.types import Sentence, Span

TABLE = [
    ("sema", "alisema", "V;PST;3;SG"),
    ("sema", "anasema", "V;PRS;3;SG"),
    ("sema", "wanasema", "V;PRS;3;PL"),
    ("enda", "alienda", "V;PST;3;SG"),
    ("enda", "wataenda", "V;FUT;3;PL"),
    ("ona", "aliona", "V;PST;3;SG"),  # only one form: in the table but not covered
    ("nairobi", "nairobi", "N;SG"),
    ("nairobi", "nairobini", "N;LOC"),
]


def _table() -> InflectionTable:
    return InflectionTable(tuple(InflectionEntry(*e) for e in TABLE))


SENTS = (
    Sentence(("Juma", "alisema", "kwamba", "Nairobi", "ni", "mji", "."), (Span(0, 1, "PER"), Span(3, 4, "LOC")), "s1"),
    Sentence(("WANASEMA", "watu", "wataenda", "aliona", "."), (), "s2"),
    Sentence(("Anasema", "Nairobi", "Kenya", "alienda", "."), (Span(1, 3, "LOC"),), "s3"),
)


def _write(path: Path, rows, crlf: bool = False) -> Path:
    nl = "\r\n" if crlf else "\n"
    path.write_bytes(nl.join("\t".join(r) for r in rows).encode("utf-8") + nl.encode())
    return path


# ----------------------------------------------------------------------------- the table


def test_load_crlf_covered_multiword_and_indexes(tmp_path):
    trn = _write(tmp_path / "xx.trn", TABLE[:4] + [("lala phansi", "ngilala phansi", "V;PRS")], crlf=True)
    dev = _write(tmp_path / "xx.dev", TABLE[3:] + [TABLE[0]])
    cov = _write(tmp_path / "xx.covered.tst", [("sema", "V;FUT;3;SG"), ("enda", "V;PST;1;SG")])
    t = InflectionTable.load([trn, dev, cov])
    assert len(t.entries) == len(TABLE)
    assert dict(t.skipped) == {"blank": 0, "covered_no_form": 2, "duplicate": 2, "multiword_form": 1}
    assert t.lemmas_of("ALISEMA") == ("sema",) and "Alisema" in t and "x" not in t
    assert t.forms_of("sema") == (("alisema", "V;PST;3;SG"), ("anasema", "V;PRS;3;SG"), ("wanasema", "V;PRS;3;PL"))
    assert t.alternatives("Alisema") == ("anasema", "wanasema")
    assert t.alternatives("aliona") == ()
    assert not any(e.form.endswith("\r") or e.features.endswith("\r") for e in t.entries)
    assert t.stats()["lemmas"] == 4 and t.fingerprint() == _table().fingerprint()


@pytest.mark.parametrize("line, fname, detail", [
    ("sema\talisema", "xx.trn", "expected 3 tab-separated fields"),
    ("sema\talisema\tV\textra", "xx.dev", "found 4"),
    ("sema\t\tV", "xx.trn", "empty form"),
    ("sema\talisema\tV", "xx.covered.tst", "expected 2 tab-separated fields"),
])
def test_malformed_line_names_file_and_line(tmp_path, line, fname, detail):
    p = tmp_path / fname
    p.write_bytes(b"ona\taliona\tV\r\n" + line.encode() + b"\r\n" if fname != "xx.covered.tst"
                  else b"ona\tV\r\n" + line.encode() + b"\r\n")
    with pytest.raises(ProjnerError, match=detail) as ei:
        InflectionTable.load([p])
    assert ei.value.code.name == "E220" and ei.value.file == str(p) and ei.value.line == 2


def test_empty_or_missing_table(tmp_path):
    cov = _write(tmp_path / "xx.covered.tst", [("sema", "V")])
    with pytest.raises(ProjnerError, match="no usable"):
        InflectionTable.load([cov])
    with pytest.raises(ProjnerError, match="no such file"):
        InflectionTable.load([tmp_path / "nope.trn"])


# ----------------------------------------------------------------------------- perturbation


def test_match_case():
    assert match_case("Alisema", "anasema") == "Anasema"
    assert match_case("ALISEMA", "anasema") == "ANASEMA"
    assert match_case("alisema", "Anasema") == "anasema"
    assert match_case("A", "wa") == "Wa"


def test_rate_zero_is_identity_and_counts_coverage():
    t = _table()
    out, st = perturb(SENTS, t, 0.0, seed=1)
    assert out == SENTS and all(a is b for a, b in zip(out, SENTS))
    # covered: alisema, Nairobi(ent), WANASEMA, wataenda, Anasema, Nairobi(ent), alienda; aliona is in table only
    assert (st.tokens, st.entity_tokens, st.in_table, st.covered, st.covered_in_entities) == (17, 4, 8, 7, 2)
    assert st.replaced == 0 and st.sentences_changed == 0


def test_rate_one_replaces_every_covered_token_keeping_labels_and_case():
    t = _table()
    before = [dataclasses.astuple(s) for s in SENTS]
    out, st = perturb(SENTS, t, 1.0, seed=3)
    assert [dataclasses.astuple(s) for s in SENTS] == before  # input untouched
    assert st.replaced == st.covered == 7 and st.replaced_in_entities == 2 and st.sentences_changed == 3
    for a, b in zip(SENTS, out):
        assert len(a.tokens) == len(b.tokens) and a.spans == b.spans and a.id == b.id
        for x, y in zip(a.tokens, b.tokens):
            if t.alternatives(x):
                assert y.lower() != x.lower() and y.lower() in t.alternatives(x)
                assert match_case(x, y) == y  # capitalisation pattern kept
            else:
                assert x == y
    assert out[1].tokens[0] in ("ALISEMA", "ANASEMA") and out[1].tokens[3] == "aliona"
    assert out[0].tokens[3] == "Nairobini" and out[2].tokens[0][0].isupper()


def test_rates_are_nested_deterministic_and_seeded():
    t = _table()
    a1, s1 = perturb(SENTS, t, 0.5, seed=7)
    a2, _ = perturb(SENTS, t, 0.5, seed=7)
    assert a1 == a2 and s1.replaced == 4  # round(0.5 * 7)
    full, _ = perturb(SENTS, t, 1.0, seed=7)
    changed = {(i, j) for i, (x, y) in enumerate(zip(SENTS, a1)) for j in range(len(x)) if x.tokens[j] != y.tokens[j]}
    for i, j in changed:  # same positions get the same form at a higher rate
        assert full[i].tokens[j] == a1[i].tokens[j]
    outs = {tuple(perturb(SENTS, t, 0.5, seed=s)[0]) for s in range(12)}
    assert len(outs) > 1


def test_entity_options():
    t = _table()
    out, st = perturb(SENTS, t, 1.0, seed=0, inside_entities=False)
    assert st.eligible == 5 and st.replaced_in_entities == 0 and out[0].tokens[3] == "Nairobi"
    out, st = perturb(SENTS, t, 1.0, seed=0, only_entities=True)
    assert st.replaced == st.replaced_in_entities == 2 and out[1] is SENTS[1]
    with pytest.raises(ProjnerError, match="only_entities"):
        perturb(SENTS, t, 1.0, seed=0, inside_entities=False, only_entities=True)
    for bad in (-0.1, 1.5, "0.5", float("nan")):
        with pytest.raises(ProjnerError, match="rate"):
            perturb(SENTS, t, bad, seed=0)


def test_augment_add_and_replace():
    t = _table()
    summary: dict = {}
    out = augment_sentences(SENTS, t, rate=1.0, copies=2, mode="add", seed=5, summary=summary)
    assert out[:3] == SENTS and len(out) == 3 + 3 + 3 and summary["added"] == 6
    assert all(o.spans == s.spans for o, s in zip(out[3:6], SENTS))
    out = augment_sentences(SENTS, t, rate=1.0, copies=1, mode="replace", seed=5)
    assert len(out) == 3 and out != SENTS
    with pytest.raises(ProjnerError, match="mode"):
        augment_sentences(SENTS, t, rate=1.0, copies=1, mode="both", seed=5)


def test_drop_interval_and_changed_subset():
    gold = [Sentence(("a", "b"), (Span(0, 1, "PER"),)), Sentence(("c",), (Span(0, 1, "LOC"),))] * 10
    worse = [g.unlabelled() if i % 2 == 0 else g for i, g in enumerate(gold)]
    assert paired_drop_ci(gold, gold, gold, ["PER", "LOC"]) == [0.0, 0.0]
    lo, hi = paired_drop_ci(gold, gold, worse, ["PER", "LOC"], seed=1)
    assert 0 < lo <= hi <= 1
    sub = changed_subset(gold, gold, worse, [0, 1, 2], ["PER", "LOC"])
    assert sub["n"] == 3 and sub["f1_rate0"] == 1.0 and sub["f1"] < 1.0 and sub["prediction_changed"] == 10


# ----------------------------------------------------------------------------- the study


def test_study_config_validation():
    from projner.pipeline.experiment import parse_config

    cfg = parse_config({"study": "morphology", "languages": ["swa"], "rates": [0.5]})
    assert cfg.study == "projner.study.morphology.v1"
    ids = [r.run_id for r in cfg.runs()]
    assert ids[:3] == ["swa__transfer__r0.00", "swa__projection__r0.00", "swa__augmented__r0.00"] and len(ids) == 6
    cfg = parse_config({"study": "morphology", "languages": ["swa"], "augment": None, "models": ["transfer", "augmented"]})
    assert [r.run_id for r in cfg.runs()][:1] == ["swa__transfer__r0.00"] and len(cfg.runs()) == 4
    with pytest.raises(ProjnerError, match=r"rates\[0\]: must be in"):
        parse_config({"study": "morphology", "languages": ["swa"], "rates": [2]})
    with pytest.raises(ProjnerError, match=r"augment.mode: unknown augmentation mode"):
        parse_config({"study": "morphology", "languages": ["swa"], "augment": {"mode": "x"}})
    with pytest.raises(ProjnerError, match=r"models\[0\]: unknown model"):
        parse_config({"study": "morphology", "languages": ["swa"], "models": ["gold"]})


@pytest.fixture()
def xx_world(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pipeline"))
    try:
        from synth import write_world
    finally:
        sys.path.pop(0)
    root = write_world(tmp_path / "data", n_conll=80, n_parallel=60, n_test=24)
    sm = root / "sigmorphon2020"
    sm.mkdir()
    rows = [("tembelea", "alitembelea", "V;PST"), ("tembelea", "anatembelea", "V;PRS"),
            ("sema", "ilisema", "V;PST"), ("sema", "inasema", "V;PRS"),
            ("ishi", "anaishi", "V;PRS"), ("ishi", "aliishi", "V;PST"),
            ("lagos", "lagos", "N"), ("lagos", "lagosi", "N;LOC")]
    _write(sm / "xx.trn", rows[:4], crlf=True)
    _write(sm / "xx.dev", rows[4:6])
    _write(sm / "xx.gold.tst", rows[6:])
    _write(sm / "xx.covered.tst", [("sema", "V;FUT")])
    return root


def test_study_end_to_end_tiny(xx_world, tmp_path, monkeypatch):
    from projner.pipeline.experiment import parse_config, report_folder, run_experiment
    from projner.data.datasets import ParallelConfig
    from projner.pipeline.config import AlignerConfig, LabellerConfig, ModelConfig

    fast = {"max_iterations": 30}
    standard = MorphologyStudy.standard_config

    def cfg(lang, labels, data):
        base = standard(lang, labels, data)
        return dataclasses.replace(base, parallel=ParallelConfig(splits=("train", "dev")),
                                   labeller=LabellerConfig(params=fast), model=ModelConfig(params=fast),
                                   aligner=AlignerConfig(name="pharaoh", file=str(xx_world / "links.align")))

    monkeypatch.setattr(MorphologyStudy, "standard_config", staticmethod(cfg))
    conf = parse_config({"study": "morphology", "languages": ["xx"], "rates": [0.0, 1.0],
                         "augment": {"rate": 1.0, "copies": 1}})
    out = run_experiment(conf, tmp_path / "res", cache=str(tmp_path / "cache"), data=str(xx_world), verbose=False)
    runs = {p.stem: json.loads(p.read_text()) for p in (out / "runs").glob("*.json")}
    assert sorted(runs) == sorted(r.run_id for r in conf.runs()) and len(runs) == 6
    assert all(r["status"] == "ok" for r in runs.values()), [r.get("error") for r in runs.values()]
    r0, r1 = runs["xx__projection__r0.00"], runs["xx__projection__r1.00"]
    assert r0["lang"] == "xx@0" and r1["lang"] == "xx@1" and r1["rate"] == 1.0
    assert r0["info"]["f1_original_test"] == pytest.approx(r0["f1"])  # rate 0 = the original test set
    assert r1["coverage"]["replaced"] == r1["coverage"]["covered"] > 0 and r1["coverage"]["covered_in_entities"] > 0
    assert runs["xx__augmented__r0.00"]["info"]["augment_stats"]["added"] > 0
    ch = r1["changed_sentences"]
    assert ch["n"] == r1["coverage"]["sentences_changed"] > 0 and 0 <= ch["prediction_changed"] <= ch["n"]
    assert "changed_sentences" not in r0 and "F1 there @0" in (out / "morphology.md").read_text()
    assert len(r1["drop_ci95"]) == 2 and r1["drop_ci95"][0] <= r1["drop_ci95"][1]
    orig = (out / "perturbed" / "xx" / "test_r0.00.conll").read_text()
    pert = (out / "perturbed" / "xx" / "test_r1.00.conll").read_text()
    assert orig != pert and [ln.split("\t")[-1] for ln in orig.splitlines()] == [ln.split("\t")[-1] for ln in pert.splitlines()]
    md = (out / "morphology.md").read_text()
    assert "projection-trained CRF" in md and "recovered" in md and (out / "morphology_f1.png").is_file()
    assert "| model transfer (CRF on English) |" in (out / "results.md").read_text()
    # resume: nothing is re-evaluated; the report is rebuilt from the records alone
    mtimes = {p.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*.json")}
    run_experiment(conf, tmp_path / "res", cache=str(tmp_path / "cache"), data=str(xx_world), verbose=False)
    assert mtimes == {p.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*.json")}
    (out / "morphology.md").unlink()
    report_folder(out)
    assert (out / "morphology.md").is_file()


def test_study_missing_table_gives_error_records(xx_world, tmp_path):
    from projner.pipeline.experiment import parse_config, run_experiment

    data = tmp_path / "d2"
    shutil.copytree(xx_world, data)
    (data / "sigmorphon2020" / "xx.dev").unlink()
    conf = parse_config({"study": "morphology", "languages": ["xx"], "rates": [0.5], "models": ["transfer"]})
    out = run_experiment(conf, tmp_path / "res", cache=str(tmp_path / "cache"), data=str(data), verbose=False)
    recs = [json.loads(p.read_text()) for p in (out / "runs").glob("*.json")]
    assert len(recs) == 2 and all(r["status"] == "error" and "xx.dev" in r["error"] for r in recs)
    assert "Errors:" in (out / "morphology.md").read_text()


@pytest.mark.parametrize("exc, recorded", [(OSError(28, "No space left on device"), True),
                                           (TypeError("a bug"), False)])
def test_study_records_data_errors_but_propagates_bugs(xx_world, tmp_path, monkeypatch, exc, recorded):
    from projner.pipeline.experiment import parse_config, run_experiment

    def broken(self, *args, **kwargs):
        raise exc

    monkeypatch.setattr(MorphologyStudy, "_model", broken)
    conf = parse_config({"study": "morphology", "languages": ["xx"], "rates": [0.5], "models": ["transfer"]})
    if not recorded:  # a programming error is not turned into an error record
        with pytest.raises(TypeError, match="a bug"):
            run_experiment(conf, tmp_path / "res", cache=str(tmp_path / "cache"), data=str(xx_world), verbose=False)
        assert not list((tmp_path / "res" / "runs").glob("*.json"))
        return
    out = run_experiment(conf, tmp_path / "res", cache=str(tmp_path / "cache"), data=str(xx_world), verbose=False)
    recs = [json.loads(p.read_text()) for p in (out / "runs").glob("*.json")]
    assert len(recs) == 2 and all(r["status"] == "error" and "No space left" in r["error"] for r in recs)
