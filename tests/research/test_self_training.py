"""Self-training / multi-source teacher–student (projner.research.self_training)."""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from projner.errors import ProjnerError
from projner.ner import CrfTagger
from projner.ner.base import tag_names
from projner.pipeline.cache import Cache, StepRunner, read_sentences
from projner.pipeline.experiment import parse_config, report_folder, run_experiment
from projner.ner.decoding import average_marginals, common_marginals, decode_marginals, viterbi_iob2
from projner.research.self_training import Teacher, pseudo_label_step, select_confident, teacher_label
from projner.types import Sentence, Span
from testutil import valid_iob2

LABELS = ("PER", "ORG", "LOC")
TAGS = tag_names(LABELS)  # O B-PER I-PER B-ORG I-ORG B-LOC I-LOC

NAMES = ["Musa", "Amina", "Bala", "Chidi"]
PLACES = ["Kano", "Lagos", "Abuja", "Accra"]


def _sents(template_words, fill, label):
    out = []
    for k, name in enumerate(fill):
        toks, spans = [], []
        for w in template_words:
            if w == "_":
                spans.append(Span(len(toks), len(toks) + 1, label))
                toks.append(name)
            else:
                toks.append(w)
        out.append(Sentence(tuple(toks), tuple(spans), id=f"{label}{k}"))
    return out


@pytest.fixture(scope="module")
def teachers():
    """Two tiny CRFs: one knows person names, the other place names (trained in about a second)."""
    per = _sents(["_", "ya", "tafi", "gida", "."], NAMES, "PER") * 3 + [Sentence(("ya", "tafi", "."))]
    loc = _sents(["ya", "tafi", "_", "jiya", "."], PLACES, "LOC") * 3 + [Sentence(("ya", "tafi", "."))]
    a = CrfTagger(max_iterations=40, progress=False).fit(per)
    b = CrfTagger(max_iterations=40, progress=False).fit(loc)
    return a, b




# ----------------------------------------------------------------------------- decoding


def test_viterbi_is_the_exact_best_valid_path():
    rng = np.random.default_rng(0)
    tags = tag_names(("PER", "LOC"))
    for _ in range(20):
        m = rng.dirichlet(np.ones(len(tags)) * 0.3, size=4)
        path = viterbi_iob2(m, tags)
        assert valid_iob2(path)
        idx = {t: i for i, t in enumerate(tags)}
        best = max((p for p in itertools.product(tags, repeat=4) if valid_iob2(p)),
                   key=lambda p: sum(np.log(max(m[k, idx[t]], 1e-12)) for k, t in enumerate(p)))
        assert tuple(path) == best


def test_viterbi_repairs_an_invalid_argmax():
    tags = tag_names(("PER",))  # O B-PER I-PER
    m = np.array([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]])  # argmax: O I-PER (invalid)
    path = viterbi_iob2(m, tags)
    assert path == ["B-PER", "I-PER"]  # 0.3*0.8 beats O O (0.05), O B (0.05), B B (0.03)
    spans = decode_marginals(m, tags)
    assert [(s.start, s.end, s.label) for s in spans] == [(0, 2, "PER")]
    assert spans[0].score == pytest.approx((0.3 + 0.8) / 2)


class _Fixed:
    """A test teacher with fixed marginals over its own tag inventory."""

    def __init__(self, labels, rows):
        self.labels = tuple(labels)
        self.rows = rows

    def marginals(self, sentences, *, tags=None):
        own = tag_names(self.labels)
        assert tuple(tags) == own
        return [np.asarray(self.rows, dtype=float) for _ in sentences]


def test_common_marginals_fold_unknown_labels_into_o():
    t = _Fixed(("MISC", "PER"), [[0.2, 0.5, 0.1, 0.15, 0.05]])  # O B-MISC I-MISC B-PER I-PER
    (m,) = common_marginals(t, [Sentence(("x",))], LABELS)
    assert m.shape == (1, len(TAGS))
    assert m[0, TAGS.index("O")] == pytest.approx(0.8)
    assert m[0, TAGS.index("B-PER")] == pytest.approx(0.15)
    assert m[0, TAGS.index("B-LOC")] == 0.0
    assert m.sum() == pytest.approx(1.0)
    with pytest.raises(ProjnerError, match="E240"):
        common_marginals(object(), [Sentence(("x",))], LABELS, name="plain")


def test_multi_source_respects_weights():
    s = [Sentence(("Kano", "ne"))]
    per = _Fixed(("PER",), [[0.1, 0.9, 0.0], [1.0, 0.0, 0.0]])
    loc = _Fixed(("LOC",), [[0.3, 0.7, 0.0], [1.0, 0.0, 0.0]])
    t_per = Teacher("per", "p", lambda: per)
    t_loc = Teacher("loc", "l", lambda: loc)

    def first(w_per, w_loc):
        out = teacher_label([Teacher("per", "p", t_per.load, w_per), Teacher("loc", "l", t_loc.load, w_loc)], s, LABELS)
        return out[0].spans

    assert [(sp.label, round(sp.score, 3)) for sp in first(1.0, 0.0)] == [("PER", 0.9)]
    assert [(sp.label, round(sp.score, 3)) for sp in first(0.0, 1.0)] == [("LOC", 0.7)]
    # equal weights: B-PER 0.45 > B-LOC 0.35 > O 0.2
    assert [(sp.label, round(sp.score, 3)) for sp in first(1.0, 1.0)] == [("PER", 0.45)]
    # LOC weighted up 3:1: B-LOC 0.525 > B-PER 0.225
    assert [sp.label for sp in first(1.0, 3.0)] == ["LOC"]
    with pytest.raises(ProjnerError, match="E241"):
        average_marginals([[np.zeros((1, 3))]], [0.0])


def test_multi_source_with_real_crf_teachers_gives_valid_spans(teachers):
    a, b = teachers
    sents = [Sentence(("Musa", "ya", "tafi", "Kano", "jiya", ".")), Sentence(("Amina", "ya", "tafi", "gida", ".")),
             Sentence(()), Sentence(("ya", "tafi", "Lagos", "jiya", "."))]
    ts = [Teacher("a", "A", lambda: a), Teacher("b", "B", lambda: b)]
    out = teacher_label(ts, sents, LABELS)
    assert [o.tokens for o in out] == [s.tokens for s in sents]
    for o in out:
        ends = [(sp.start, sp.end) for sp in o.spans]
        assert all(0 <= x < y <= len(o) for x, y in ends)
        assert all(ends[i][1] <= ends[i + 1][0] for i in range(len(ends) - 1))
        assert all(sp.label in LABELS and 0.0 <= sp.score <= 1.0 for sp in o.spans)
    # each teacher contributes what it knows
    assert ("PER", "Musa") in {(sp.label, out[0].tokens[sp.start]) for sp in out[0].spans}
    assert ("LOC", "Kano") in {(sp.label, out[0].tokens[sp.start]) for sp in out[0].spans}
    # the CRF's marginals are exact probabilities: the averaged rows sum to 1
    per = [common_marginals(m, sents, LABELS) for m in (a, b)]
    for row in average_marginals(per, [1, 1])[:2]:
        assert np.allclose(row.sum(axis=1), 1.0)


# ----------------------------------------------------------------------------- hard labels


def test_select_confident_counts_and_keep_empty():
    def s(i, *scores):
        return Sentence(("a", "b", "c"), tuple(Span(k, k + 1, "PER", sc) for k, sc in enumerate(scores)), id=str(i))

    data = [s(0, 0.95), s(1, 0.95, 0.5), s(2), s(3), s(4), s(5), s(6, 0.2)]
    kept, st = select_confident(data, 0.9)
    assert [k.id for k in kept] == ["0", "2", "3", "4", "5"]
    assert st["dropped_low_confidence"] == 2 and st["spans_below_threshold"] == 2 and st["out"] == 5
    assert st["with_entities"] == 1 and st["spans"] == 1 and st["spans_PER"] == 1
    kept, st = select_confident(data, 0.9, keep_empty=0.5)
    assert st["dropped_empty"] == 2 and [k.id for k in kept] == ["0", "2", "4"]
    kept, st = select_confident(data, 0.0)
    assert st["out"] == 7 and st["dropped_low_confidence"] == 0
    with pytest.raises(ProjnerError, match="without a score"):
        select_confident([Sentence(("a",), (Span(0, 1, "PER"),))], 0.5)


def test_pseudo_label_step_is_cached(teachers, tmp_path):
    a, _ = teachers
    runner = StepRunner(Cache(tmp_path / "c"))
    toks = [("Musa", "ya", "tafi", "gida", "."), ("ya", "tafi", "."), ("Bala", "ya", "tafi", "gida", ".")]
    e1 = pseudo_label_step(runner, [Teacher("a", "A", lambda: a)], toks, labels=LABELS, threshold=0.5, keep_empty=1.0)
    e2 = pseudo_label_step(runner, [Teacher("a", "A", lambda: a)], toks, labels=LABELS, threshold=0.5, keep_empty=1.0)
    assert e1.fingerprint == e2.fingerprint and [ev.status for ev in runner.events] == ["miss", "hit"]
    got = read_sentences(e1.file("pseudo.jsonl"))
    assert ("PER", "Musa") in {(sp.label, s.tokens[sp.start]) for s in got for sp in s.spans}
    e3 = pseudo_label_step(runner, [Teacher("a", "A", lambda: a)], toks, labels=LABELS, threshold=1.0, keep_empty=1.0)
    assert e3.fingerprint != e1.fingerprint
    st = json.loads(e3.file("stats.json").read_text())
    assert st["dropped_low_confidence"] == 2 and st["out"] == 1


# ----------------------------------------------------------------------------- unlabelled text


def test_unlabelled_tokens_of_each_source(tmp_path):
    from projner.data.unlabelled import source_available, unlabelled_tokens

    d = tmp_path / "masakhaner2" / "xx"
    d.mkdir(parents=True)
    (d / "train.txt").write_text("Mu\u0300sa B-PER\nya O\n\nKano B-LOC\n", encoding="utf-8")
    mt = tmp_path / "mafand_mt" / "en-xx"
    mt.mkdir(parents=True)
    (mt / "train.en").write_text("Musa went home .\n\nHe slept .\n", encoding="utf-8")
    (mt / "train.xx").write_text("Musa ya tafi gida .\nBa komai\nYa yi barci .\n", encoding="utf-8")
    for split, text in (("dev", "Sannu ."), ("test", "Yau .")):
        (mt / f"{split}.en").write_text("Hello .\n", encoding="utf-8")
        (mt / f"{split}.xx").write_text(text + "\n", encoding="utf-8")
    # labels discarded, tokens NFC
    assert unlabelled_tokens("masakhaner-train", "xx", str(tmp_path)) == (("M\u00f9sa", "ya"), ("Kano",))
    # the target side of the parallel text (a pair with an empty side is not text of either)
    assert unlabelled_tokens("mafand", "xx", str(tmp_path)) == (
        ("Musa", "ya", "tafi", "gida", "."), ("Ya", "yi", "barci", "."), ("Sannu", "."), ("Yau", "."))
    with pytest.raises(ProjnerError, match="E203.*masakhaner2/yy/train.txt"):
        unlabelled_tokens("masakhaner-train", "yy", str(tmp_path))
    with pytest.raises(ProjnerError, match="no Bible for 'xx'"):
        unlabelled_tokens("bible", "xx", str(tmp_path))
    with pytest.raises(ProjnerError, match="unknown unlabelled source 'news'"):
        unlabelled_tokens("news", "xx", str(tmp_path))
    assert source_available("bible", "swa") and not source_available("bible", "hau") and source_available("mafand", "hau")


# ----------------------------------------------------------------------------- the study


def test_config_validation():
    ok = parse_config({"study": "self_training", "languages": ["swa"], "teachers": ["projection+transfer"],
                       "unlabelled": ["mafand", "bible"], "rounds": 2})
    ids = [r.run_id for r in ok.runs()]
    assert ids == ["swa__transfer", "swa__projection", "swa__projection+transfer__mafand__r1",
                   "swa__projection+transfer__mafand__r2", "swa__projection+transfer__bible__r1",
                   "swa__projection+transfer__bible__r2"]
    hau = parse_config({"study": "self_training", "languages": ["hau"], "unlabelled": ["bible"], "rounds": 1})
    assert [r.run_id for r in hau.runs()] == ["hau__transfer", "hau__projection"]  # no Hausa Bible
    for bad, msg in [({"teachers": ["projection+oracle"]}, "teachers\\[0\\]: unknown teacher"),
                     ({"unlabelled": ["news"]}, "unlabelled\\[0\\]: unknown unlabelled source"),
                     ({"threshold": 1.5}, "threshold: must be in"),
                     ({"combine": {"transfer": -1}}, "combine.transfer: must be in"),
                     ({"student": {"backend": "svm"}}, "student.backend"),
                     ({"teacher": {"model": {"backend": "svm"}}}, "teacher.model.backend"),
                     ({"teacher": {"method": {"method": "heuristic", "filter": "most"}}}, "teacher.method.filter"),
                     ({"teacher": {"aligner": {"params": {}}}}, "teacher.aligner.name: required"),
                     ({"teacher": {"translator": {}}}, "teacher.translator: unknown key")]:
        with pytest.raises(ProjnerError, match=msg):
            parse_config({"study": "self_training", "languages": ["swa"], **bad})


def test_default_teacher_is_the_crf_pipeline():
    """Without ``teacher:`` the projection teacher is the CRF pipeline the study always used."""
    from projner.pipeline.config import AlignerConfig, LabellerConfig, ModelConfig, ProjectionConfig, TranslateTrainConfig
    from projner.data.datasets import ParallelConfig
    from projner.pipeline.experiment import labeller_from, translate_train_config
    from projner.research.self_training import _params

    tp = _params({})["teacher"]
    got = translate_train_config("hau", parallel=tp["parallel"], aligner=tp["aligner"], method=tp["method"], model=tp["model"],
                                 labeller=labeller_from(tp["labeller"]), labels=("PER", "ORG", "LOC"), data="D")
    want = TranslateTrainConfig(lang="hau", parallel=ParallelConfig(kind="mafand"),
                                labeller=LabellerConfig(backend="crf", label_map="conll->per-org-loc"), aligner=AlignerConfig(),
                                projection=ProjectionConfig(method="heuristic", strip_determiners=True, filter="complete"),
                                model=ModelConfig(backend="crf"), labels=("PER", "ORG", "LOC"), data="D")
    assert got == want
    # a partial ``teacher:`` replaces only the parts it names
    tp = _params({"teacher": {"model": {"backend": "fast"}}})["teacher"]
    assert tp["model"] == {"backend": "fast"} and tp["labeller"]["backend"] == "crf"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pipeline"))
    from synth import write_world

    root = write_world(tmp_path_factory.mktemp("stworld"), n_conll=120, n_parallel=100, n_test=30)
    mt = root / "mafand_mt" / "en-xx"
    # the study reads all three MAFAND splits: a one-line test split
    (mt / "test.en").write_text("People love Monday .\n", encoding="utf-8")
    (mt / "test.xx").write_text("Watu wanapenda jumatatu .\n", encoding="utf-8")
    return root


def test_study_end_to_end_and_resume(world, tmp_path):
    cfg = parse_config({"study": "self_training", "languages": ["xx"], "teachers": ["projection", "projection+transfer"],
                        "unlabelled": ["mafand", "masakhaner-train"], "rounds": 2, "threshold": 0.5,
                        "round_teachers": "student+original", "student": {"backend": "crf", "params": {"max_iterations": 30}}})
    out = run_experiment(cfg, tmp_path / "res", cache=str(tmp_path / "cache"), data=str(world), verbose=False)
    recs = {p.stem: json.loads(p.read_text()) for p in (out / "runs").glob("*.json")}
    assert set(recs) == {r.run_id for r in cfg.runs()}
    assert all(r["status"] == "ok" for r in recs.values()), [r.get("error") for r in recs.values()]
    st = recs["xx__projection+transfer__mafand__r1"]
    assert st["label"] == "student r1 (projection+transfer → mafand)"
    assert st["pseudo"]["in"] == 101 and st["pseudo"]["out"] + st["pseudo"]["dropped_low_confidence"] + st["pseudo"]["dropped_empty"] == 101
    assert st["signature"] and 0.0 <= st["f1"] <= 1.0
    assert recs["xx__projection+transfer__mafand__r2"]["round_teachers"] == ["student r1", "projection", "transfer"]
    assert recs["xx__projection__masakhaner-train__r1"]["n_unlabelled"] == 80
    # the synthetic language is easy: students learn it from pseudo-labels
    assert recs["xx__projection__mafand__r1"]["f1"] > 0.5
    md = (out / "self_training.md").read_text()
    assert "## xx" in md and "student r2 (projection → masakhaner-train)" in md
    assert (out / "self_training_rounds.png").is_file() and (out / "results.md").is_file()
    # rerun: nothing recomputed, records untouched
    runner_dir = tmp_path / "cache"
    before = {p: p.stat().st_mtime_ns for p in (out / "runs").glob("*.json")}
    run_experiment(cfg, out, cache=str(runner_dir), data=str(world), verbose=False)
    assert {p: p.stat().st_mtime_ns for p in (out / "runs").glob("*.json")} == before
    meta = json.loads((out / "experiment.json").read_text())
    assert meta["cache_summary"].get("miss", 0) == 0
    (out / "self_training.md").unlink()
    report_folder(out)
    assert (out / "self_training.md").is_file()


def test_study_with_another_teacher_pipeline_and_student(world, tmp_path, monkeypatch):
    """``teacher:`` chooses the projection teacher's pipeline, ``student:`` any trainable backend."""
    raw = {"study": "self_training", "languages": ["xx"], "teachers": ["projection", "projection+transfer"],
           "unlabelled": ["masakhaner-train"], "rounds": 1, "threshold": 0.5, "include_projected": True,
           "teacher": {"method": {"method": "heuristic", "filter": "none"}, "model": {"backend": "pcrf", "params": {"epochs": 3}}},
           "student": {"backend": "pcrf", "params": {"epochs": 3}}}
    cfg = parse_config(raw)
    out = run_experiment(cfg, tmp_path / "res", cache=str(tmp_path / "cache"), data=str(world), verbose=False)
    recs = {p.stem: json.loads(p.read_text()) for p in (out / "runs").glob("*.json")}
    assert all(r["status"] == "ok" for r in recs.values()), [r.get("error") for r in recs.values()]
    assert recs["xx__projection"]["model"] == "pcrf" and recs["xx__transfer"]["model"] == "crf"
    assert "tagger:pcrf" in recs["xx__projection"]["signature"] or "pcrf" in recs["xx__projection"]["signature"]
    for rid in ("xx__projection__masakhaner-train__r1", "xx__projection+transfer__masakhaner-train__r1"):
        st = recs[rid]
        # the student trains on the projected sentences plus the kept pseudo-labelled ones
        assert st["n_train"] == recs["xx__projection"]["info"]["n_train"] + st["pseudo"]["out"]
        assert "pcrf" in st["signature"] and st["f1"] > 0.5
    # a round added later reuses the recorded teacher (its cache entries), never a new projection
    import projner.research.self_training as st_mod

    def no_new_projection(*a, **k):
        raise AssertionError("the projection teacher was rebuilt")

    monkeypatch.setattr(st_mod, "translate_train", no_new_projection)
    run_experiment(parse_config({**raw, "rounds": 2}), tmp_path / "res", cache=str(tmp_path / "cache"), data=str(world), verbose=False)
    r2 = json.loads((out / "runs" / "xx__projection__masakhaner-train__r2.json").read_text())
    assert r2["status"] == "ok" and r2["round_teachers"] == ["student r1"]
    assert r2["n_train"] == recs["xx__projection"]["info"]["n_train"] + r2["pseudo"]["out"]


@pytest.mark.parametrize("exc, recorded", [(OSError(28, "No space left on device"), True),
                                           (TypeError("a bug"), False)])
def test_teacher_failures_are_recorded_but_bugs_propagate(tmp_path, monkeypatch, exc, recorded):
    import projner.research.self_training as st
    from projner.errors import E

    def no_data(*args, **kwargs):
        raise ProjnerError(E.E203, detail="no data here")

    def broken(self, *args, **kwargs):
        raise exc

    monkeypatch.setattr(st, "model_transfer_run", no_data)
    monkeypatch.setattr(st, "translate_train", no_data)
    monkeypatch.setattr(st.SelfTraining, "_teachers", broken)
    cfg = parse_config({"study": "self_training", "languages": ["xx"], "teachers": ["projection"],
                        "unlabelled": ["mafand"], "rounds": 1})
    res = tmp_path / "res"
    if not recorded:  # a programming error is not turned into a run record
        with pytest.raises(TypeError, match="a bug"):
            run_experiment(cfg, res, cache=str(tmp_path / "cache"), data=str(tmp_path), verbose=False)
        assert not (res / "runs" / "xx__projection__mafand__r1.json").exists()
        return
    out = run_experiment(cfg, res, cache=str(tmp_path / "cache"), data=str(tmp_path), verbose=False)
    recs = {p.stem: json.loads(p.read_text()) for p in (out / "runs").glob("*.json")}
    assert recs["xx__transfer"]["status"] == "error" and "no data here" in recs["xx__transfer"]["error"]
    student = recs["xx__projection__mafand__r1"]
    assert student["status"] == "error" and student["error"].startswith("teachers unavailable: OSError")
    assert "No space left on device" in student["error"]


# ----------------------------------------------------------------------------- soft-label student


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    """A randomly initialised 2-layer BERT with a WordPiece vocabulary of the toy words."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    pytest.importorskip("tokenizers")
    from tinymodels import build_tiny_bert

    words = NAMES + PLACES + ["ya", "tafi", "gida", "jiya", "."]
    return build_tiny_bert(tmp_path_factory.mktemp("st-bert"), [" ".join(words)] * 5, vocab_size=120)


def test_soft_student_lowers_kl_to_averaged_teachers(teachers, tiny_bert, tmp_path):
    from projner.ner.io import load_tagger
    from projner.ner.soft_student import SoftStudent
    from projner.research.self_training import soft_targets

    a, b = teachers
    sents = []
    for k in range(16):
        n, pl = NAMES[k % 4], PLACES[(k // 4) % 4]
        sents.append(Sentence((n, "ya", "tafi", pl, "jiya", ".") if k % 2 else (n, "ya", "tafi", "gida", "."), id=str(k)))
    ts = [Teacher("a", "A", lambda: a, 1.0), Teacher("b", "B", lambda: b, 1.0)]
    targets = soft_targets(ts, sents, LABELS)
    assert all(t.shape == (len(s), len(TAGS)) and np.allclose(t.sum(axis=1), 1) for s, t in zip(sents, targets))
    # KL of the targets to a uniform distribution (a randomly initialised head is close to it)
    uniform_kl = float(np.mean([(t * np.log(np.clip(t, 1e-12, 1) * len(TAGS))).sum(axis=1).mean() for t in targets]))
    st = SoftStudent(tiny_bert, epochs=8, lr=5e-3, batch_size=8, device="cpu", seed=0, threads=1, progress=False)
    st.fit_soft(sents, targets, LABELS)
    hist = [h["kl"] for h in st.info["history"]]
    assert hist[-1] < 0.5 * hist[0]
    kl = st.kl_to(sents, targets)
    assert kl < 0.5 * uniform_kl
    m = st.marginals(sents[:2])
    assert m[0].shape == (len(sents[0]), len(TAGS)) and np.allclose(m[0].sum(axis=1), 1, atol=1e-5)
    # saved as a plain transformer tagger; its predictions carry scored spans
    st.save(tmp_path / "soft")
    again = load_tagger(tmp_path / "soft", progress=False, device="cpu", threads=1)
    pred = again.predict([Sentence(("Musa", "ya", "tafi", "Kano", "jiya", "."))])
    assert all(sp.label in LABELS and 0 < sp.score <= 1 for sp in pred[0].spans)
    with pytest.raises(ProjnerError, match="E241"):
        st.fit_soft(sents[:2], targets[:1], LABELS)
