import dataclasses

import pytest

from projner.errors import ProjnerError
from projner.pipeline.cache import Cache, StepRunner
from projner.pipeline.translate_test import TranslateTestConfig, translate_test
from projner.data.datasets import evenly, load_parallel
from projner.data.tokenize import tokenize
from projner.pipeline.config import (
    AlignerConfig,
    LabellerConfig,
    ModelConfig,
    ParallelConfig,
    ProjectionConfig,
    TranslateTrainConfig,
)
from projner.pipeline.translate_train import gold_run, model_transfer_run, translate_train
from projner.project.filters import filter_projected, strip_leading_determiners
from projner.types import Sentence, Span
from synth import DictTranslator

PAR = ParallelConfig(splits=("train", "dev"))
FAST = {"max_iterations": 40}
LAB = LabellerConfig(params=FAST)


def _cfg(world, **kw):
    base = TranslateTrainConfig(lang="xx", parallel=PAR, data=str(world), labeller=LAB, model=ModelConfig(params=FAST),
                                aligner=AlignerConfig(name="pharaoh", file=str(world / "links.align")))
    return dataclasses.replace(base, **kw)


def test_tokenize_and_nfc():
    assert tokenize("Ali (greetings) went to U.S.-based co-op's 3,000.") == [
        "Ali", "(", "greetings", ")", "went", "to", "U", ".", "S", ".", "-", "based", "co-op's", "3", ",", "000", "."]
    assert tokenize("O\u0301la") == ["\u00d3la"]  # combining accent composed


def test_strip_leading_determiners_and_filter():
    s = Sentence(("the", "United", "Nations", "and", "The", "x"), (Span(0, 3, "ORG"), Span(4, 5, "LOC")))
    out, n = strip_leading_determiners([s])
    assert n == 1 and out[0].spans == (Span(1, 3, "ORG"), Span(4, 5, "LOC"))
    assert s.spans[0] == Span(0, 3, "ORG")  # input untouched
    a, b, c = Sentence(("a",), (Span(0, 1, "PER"),)), Sentence(("b",)), Sentence(("c",))
    kept, st = filter_projected([a, b, c], [1, 1, 0], [1, 0, 0], "complete")
    assert kept == (a, c) and st["dropped_incomplete"] == 1
    kept, st = filter_projected([a, b, c], [1, 1, 0], [1, 0, 0], "any")
    assert kept == (a,) and st["dropped_no_entity"] == 2
    kept, st = filter_projected([a, b, c], [1, 0, 0], [1, 0, 0], "none", keep_empty=0.5)
    assert kept == (a, b) and st["dropped_empty"] == 1
    assert evenly(list(range(10)), 3) == [0, 3, 6] and evenly([1, 2], None) == [1, 2]


def test_load_parallel_mafand_and_files(world, tmp_path):
    src, tgt = load_parallel(PAR, "xx", str(world))
    assert len(src) == len(tgt) == 120 and src[0][-1] == "."
    (tmp_path / "s.txt").write_text("Hello world .\n\nA b\n", encoding="utf-8")
    (tmp_path / "t.txt").write_text("Habari dunia .\nx\n\n", encoding="utf-8")
    s, t = load_parallel(ParallelConfig(kind="files", src=str(tmp_path / "s.txt"), tgt=str(tmp_path / "t.txt")), "xx")
    assert s == (("Hello", "world", "."),) and t == (("Habari", "dunia", "."),)  # pairs with an empty side dropped
    with pytest.raises(ProjnerError, match="E203"):
        load_parallel(ParallelConfig(kind="bible"), "xx", str(world))
    with pytest.raises(ProjnerError, match="E202"):
        ParallelConfig(kind="nope")


def test_translate_train_end_to_end_and_cache(world, tmp_path):
    cfg = _cfg(world)
    frozen = dataclasses.asdict(cfg)
    r = StepRunner(Cache(tmp_path / "cache"))
    res = translate_train(cfg, runner=r)
    assert dataclasses.asdict(cfg) == frozen  # not mutated
    assert res.f1 > 0.9 and res.system == "projection"
    assert "system:projection" in res.signature and "labels:LOC,ORG,PER" in res.signature
    assert res.info["projection"]["projection"]["projection_rate"] == 1.0
    assert set(res.steps) == {"labeller", "label", "align", "project", "train", "evaluate"}
    assert {e.status for e in r.events} == {"miss"}
    r2 = StepRunner(Cache(tmp_path / "cache"))
    again = translate_train(cfg, runner=r2)
    assert {e.status for e in r2.events} == {"hit"} and again == res
    # a changed projection parameter reuses labeller, labels and alignments
    r3 = StepRunner(Cache(tmp_path / "cache"))
    translate_train(_cfg(world, projection=ProjectionConfig(filter="complete")), runner=r3)
    assert [e.status for e in r3.events] == ["hit", "hit", "hit", "miss", "miss", "miss"]
    # projection + English
    comb = translate_train(_cfg(world, model=ModelConfig(params=FAST, add_english=True, english_max=50)), runner=r3)
    assert comb.system == "projection+english" and comb.info["n_train"] == 120 + 50


def test_translate_train_with_eflomal_and_baselines(world, tmp_path):
    r = StepRunner(Cache(tmp_path / "cache"))
    res = translate_train(_cfg(world, aligner=AlignerConfig(params={"sym": "intersection", "prefix_len": 4})), runner=r)
    assert res.f1 > 0.6 and "eflomal" in res.info["align_signature"]
    tr = model_transfer_run("xx", LAB, data=str(world), runner=r)
    gold = gold_run("xx", ModelConfig(params=FAST), data=str(world), runner=r)
    assert tr.system == "transfer" and gold.system == "gold" and gold.f1 > 0.8
    assert 0.0 < tr.f1 <= 1.0


def test_translate_train_from_mt(world, tmp_path):
    # English text "translated" into xx by reversing the dictionary translator
    from synth import LEX

    class EnToXx:
        def translate(self, sentences, src, tgt):
            from types import SimpleNamespace
            return [SimpleNamespace(text=" ".join(LEX.get(w.lower(), w) for w in s.split() if w.lower() != "the"), score=0.0)
                    for s in sentences]

    en = world / "mafand_mt" / "en-xx" / "train.en"
    cfg = _cfg(world, parallel=ParallelConfig(kind="translate", src=str(en)),
               aligner=AlignerConfig(params={"sym": "intersection"}))
    r = StepRunner(Cache(tmp_path / "cache"))
    res = translate_train(cfg, runner=r, translator=EnToXx())
    assert res.f1 > 0.5 and r.events[0].step == "translate"
    with pytest.raises(ProjnerError, match="Translator"):
        translate_train(cfg, runner=StepRunner(Cache(tmp_path / "c2")))


def test_translate_test(world, tmp_path):
    r = StepRunner(Cache(tmp_path / "cache"))
    tr = DictTranslator()
    cfg = TranslateTestConfig(lang="xx", data=str(world), labeller=LAB, aligner=AlignerConfig(params={"sym": "intersection"}, extra=(PAR,)))
    res, pred = translate_test(cfg, tr, runner=r)
    assert res.system == "translate-test" and res.f1 > 0.6 and len(pred) == res.n_test == 40
    assert res.info["translator"] == "translator:dict-xx-en|v1"
    res2, pred2 = translate_test(cfg, tr, runner=r)
    assert tr.calls == 1 and pred2 == pred  # translations come from the cache
    with pytest.raises(ProjnerError, match="E202"):
        TranslateTestConfig(lang="xx", projection=ProjectionConfig(filter="complete"))


def test_translator_failures_are_reported(world, tmp_path):
    class Short:
        def translate(self, sentences, src, tgt):
            return []

    cfg = TranslateTestConfig(lang="xx", data=str(world), labeller=LAB)
    with pytest.raises(ProjnerError, match="E205"):
        translate_test(cfg, Short(), runner=StepRunner(Cache(tmp_path)))


class BothWays:
    """xx ↔ en word by word (names copied): back-translation for the refinement step."""

    def __init__(self):
        from synth import LEX

        self.to_xx = dict(LEX)
        self.to_en = {v: k for k, v in LEX.items()}
        self.calls = []

    def signature(self):
        return "translator:dict-both|v1"

    def translate(self, sentences, src, tgt):
        from types import SimpleNamespace

        self.calls.append((src, tgt))
        table = self.to_en if tgt == "en" else self.to_xx
        return [SimpleNamespace(text=" ".join(table.get(w.lower(), w) for w in s.split() if not (tgt != "en" and w.lower() == "the")),
                                score=0.0) for s in sentences]


def test_translate_test_with_back_translation_refinement(world, tmp_path):
    r = StepRunner(Cache(tmp_path / "cache"))
    tr = BothWays()
    base = TranslateTestConfig(lang="xx", data=str(world), labeller=LAB, aligner=AlignerConfig(params={"sym": "intersection"}))
    cfg = dataclasses.replace(base, aligner=AlignerConfig(params={"sym": "intersection"}, back_translation="fill"))
    res, pred = translate_test(cfg, tr, runner=r)
    assert ("xx", "en") in tr.calls and ("en", "xx") in tr.calls
    bt = res.info["back_translation"]
    assert bt["mode"] == "fill" and bt["back_side"] == "target" and bt["refined_links"] >= bt["direct_links"]
    assert any(ev.step == "refine" for ev in r.events)
    assert res.f1 > 0.6
    n = len(tr.calls)
    res2, pred2 = translate_test(cfg, tr, runner=r)
    assert len(tr.calls) == n and pred2 == pred  # everything cached, refinement included
    with pytest.raises(ProjnerError, match="back_translation"):
        AlignerConfig(back_translation="sometimes")


def test_translate_train_back_translation_needs_translator(world, tmp_path):
    cfg = _cfg(world, aligner=AlignerConfig(params={"sym": "intersection"}, back_translation="fill"))
    with pytest.raises(ProjnerError, match="needs a Translator"):
        translate_train(cfg, runner=StepRunner(Cache(tmp_path / "c")))
    res = translate_train(cfg, runner=StepRunner(Cache(tmp_path / "c2")), translator=BothWays())
    assert res.info["back_translation"]["back_side"] == "source" and res.f1 > 0.5


def test_complete_caps_filter_drops_sentences_with_stray_names():
    from projner.project.filters import stray_capitalised

    ok = Sentence(tuple("Musa ya je Kano .".split()), (Span(0, 1, "PER"), Span(3, 4, "LOC")))
    stray = Sentence(tuple("Musa ya je Kano .".split()), (Span(0, 1, "PER"),))
    after_stop = Sentence(tuple("Ya je . Sai ya dawo".split()), ())
    acronym_like = Sentence(tuple("ya je NNPC".split()), ())
    assert not stray_capitalised(ok) and stray_capitalised(stray)
    assert not stray_capitalised(after_stop) and not stray_capitalised(acronym_like)
    kept, st = filter_projected([ok, stray, after_stop], [2, 1, 0], [2, 1, 0], "complete-caps")
    assert kept == (ok, after_stop) and st["dropped_capitalised"] == 1 and st["out"] == 2
    kept2, st2 = filter_projected([ok, stray, after_stop], [2, 2, 0], [2, 1, 0], "complete")
    assert kept2 == (ok, after_stop) and "dropped_capitalised" not in st2
    with pytest.raises(ProjnerError, match="complete-caps"):
        ProjectionConfig(filter="capitals")


# ----------------------------------------------------------------------------- self-training after training


def test_self_training_after_translate_train(world, tmp_path):
    from projner.pipeline.cache import read_sentences
    from projner.pipeline.config import SelfTrainConfig

    text = tmp_path / "unlabelled.txt"  # the target side of the synthetic parallel text, as raw lines
    lines = (world / "mafand_mt" / "en-xx" / "train.xx").read_text(encoding="utf-8").splitlines()
    text.write_text("\n".join(lines[:60]) + "\n\n\n", encoding="utf-8")  # two empty lines at the end
    runner = StepRunner(Cache(tmp_path / "cache"))
    plain = translate_train(_cfg(world), runner=runner)
    st = SelfTrainConfig(unlabelled=f"file:{text}", threshold=0.5, keep_empty=1.0, rounds=2)
    res = translate_train(_cfg(world, self_train=st), runner=runner)
    # the teacher is the plain run's model (same cache entry), the result the last student
    assert res.info["teacher"]["f1"] == plain.f1 and res.steps["teacher_train"] == plain.steps["train"]
    rounds = res.info["self_training"]
    assert [r["round"] for r in rounds] == [1, 2] and res.steps["train"] == rounds[-1]["steps"]["train"]
    assert res.f1 == rounds[-1]["f1"] and "self-training" in res.system and "|round:2|threshold:0.5|unlabelled:file:unlabelled.txt|" in res.signature
    for r in rounds:
        ps = r["pseudo"]
        assert r["unlabelled"] == {"sentences_read": 62, "empty_skipped": 2, "used": 60}
        assert ps["in"] == 60 and ps["out"] + ps["dropped_low_confidence"] + ps["dropped_empty"] == 60
        # the student trains on the teacher's data plus the kept pseudo-labelled sentences
        assert r["n_train"] == plain.info["n_train"] + ps["out"]
        pseudo = read_sentences(runner.cache.root / "self_training_label" / r["steps"]["pseudo"] / "pseudo.jsonl")
        assert all(sp.score is None or sp.score >= 0.5 for s in pseudo for sp in s.spans)
    assert rounds[1]["steps"]["pseudo"] != rounds[0]["steps"]["pseudo"]  # round 2 is taught by round 1's student
    # the synthetic language is easy: the student stays good
    assert res.f1 > 0.5
    # rerun: everything from the cache
    before = runner.cache.root.stat().st_mtime_ns
    again = translate_train(_cfg(world, self_train=st), runner=runner)
    assert again.f1 == res.f1 and again.steps == res.steps and runner.cache.root.stat().st_mtime_ns == before


@pytest.mark.parametrize("kw, msg", [({"threshold": 1.5}, "threshold must be"), ({"rounds": 0}, "rounds must be"),
                                     ({"keep_empty": -0.1}, "keep_empty must be"), ({"max_sentences": 0}, "max_sentences"),
                                     ({"unlabelled": "file:"}, "unlabelled must name")])
def test_self_train_config_is_checked(kw, msg):
    from projner.pipeline.config import SelfTrainConfig

    with pytest.raises(ProjnerError, match=f"E241.*{msg}"):
        SelfTrainConfig(**{"unlabelled": "mafand", **kw})


def test_self_train_on_an_empty_file_is_an_error(world, tmp_path):
    from projner.pipeline.config import SelfTrainConfig

    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    runner = StepRunner(Cache(tmp_path / "cache"))
    with pytest.raises(ProjnerError, match=f"E009.*{empty.name}.*empty"):  # the reader names the file
        translate_train(_cfg(world, self_train=SelfTrainConfig(unlabelled=f"file:{empty}")), runner=runner)
