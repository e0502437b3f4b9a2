"""`projner translate-test` / `projner translate-train` on a user's own files (synthetic world)."""

from pathlib import Path

import pytest

from projner.cli.main import main
from projner.data.formats import read_corpus
from synth import LEX


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_translate_test_cli_with_translation_files(world, tmp_path, capsys):
    test = world / "masakhaner2" / "xx" / "test.txt"
    back = {v: k for k, v in LEX.items()}
    sents = read_corpus(str(test)).sentences
    en = tmp_path / "test.en"
    en.write_text("".join(" ".join(back.get(w.lower(), w) for w in s.tokens) + "\n" for s in sents), encoding="utf-8")
    bt = tmp_path / "test.bt.xx"  # English translated back into xx (here: the original words)
    bt.write_text("".join(" ".join(s.tokens) + "\n" for s in sents), encoding="utf-8")
    out = tmp_path / "pred.conll"
    args = ["translate-test", str(test), "--lang", "xx", "--out", str(out), "--translations", str(en),
            "--back-translations", str(bt), "--back-translation", "fill", "--data", str(world),
            "--cache", str(tmp_path / "cache"), "--sym", "intersection",
            "--align-extra-src", str(world / "mafand_mt" / "en-xx" / "train.en"),
            "--align-extra-tgt", str(world / "mafand_mt" / "en-xx" / "train.xx")]
    main(args)
    printed = capsys.readouterr().out
    assert "F1 " in printed and "system:translate-test" in printed
    f1 = float(printed.split("F1 ")[1].split()[0])
    assert f1 > 0.6
    pred = read_corpus(str(out)).sentences
    assert len(pred) == len(sents) and [p.tokens for p in pred] == [s.tokens for s in sents]
    # wrong number of translations: a clear error naming both files
    short = tmp_path / "short.en"
    short.write_text("\n".join(_lines(en)[:-1]) + "\n", encoding="utf-8")
    with pytest.raises(SystemExit):
        main(args[:6] + ["--translations", str(short), "--data", str(world), "--cache", str(tmp_path / "cache")])
    assert "E001" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["translate-test", str(test), "--lang", "xx", "--out", str(out), "--data", str(world)])
    assert "exactly one of --mt" in capsys.readouterr().err


def test_translate_train_cli_with_parallel_files(world, tmp_path, capsys):
    d = world / "mafand_mt" / "en-xx"
    out = tmp_path / "model"
    main(["translate-train", "--lang", "xx", "--labeller", "crf", "--backend", "crf", "--no-transfer", "--src", str(d / "train.en"), "--tgt", str(d / "train.xx"),
          "--out", str(out), "--data", str(world), "--cache", str(tmp_path / "cache"), "--sym", "intersection"])
    printed = capsys.readouterr().out
    assert "F1 " in printed and float(printed.split("F1 ")[1].split()[0]) > 0.5
    assert (out / "meta.json").is_file() or any(out.iterdir())
    # the saved model tags with `projner tag`
    pred = tmp_path / "pred.conll"
    main(["tag", "--model", str(out), str(world / "masakhaner2" / "xx" / "test.txt"), "--out", str(pred)])
    assert len(read_corpus(str(pred)).sentences) == 40


def test_translate_train_cli_self_training(world, tmp_path, capsys):
    d = world / "mafand_mt" / "en-xx"
    out = tmp_path / "model"
    text = tmp_path / "text.xx"
    text.write_text((d / "dev.xx").read_text(encoding="utf-8"), encoding="utf-8")
    base = ["translate-train", "--lang", "xx", "--labeller", "crf", "--backend", "crf", "--no-transfer",
            "--src", str(d / "train.en"), "--tgt", str(d / "train.xx"), "--out", str(out), "--data", str(world),
            "--cache", str(tmp_path / "cache"), "--sym", "intersection"]
    main(base + ["--self-train", str(text), "--self-train-threshold", "0.5"])
    cap = capsys.readouterr()
    assert "before self-training: F1 " in cap.err and "self-training round 1: F1 " in cap.err
    assert "system:projection+self-training" in cap.out and "unlabelled:file:text.xx" in cap.out
    assert (out / "meta.json").is_file()
    with pytest.raises(SystemExit) as ei:  # a missing text is named before anything runs
        main(base + ["--self-train", str(tmp_path / "nope.txt")])
    err = capsys.readouterr().err
    assert ei.value.code == 2 and "[E040]" in err and "nope.txt" in err and "--self-train" in err
    with pytest.raises(SystemExit) as ei:
        main(base + ["--self-train", str(text), "--self-train-threshold", "2"])
    assert ei.value.code == 2 and "[E241]" in capsys.readouterr().err


def test_pipeline_commands_name_missing_and_unwritable_files(world, tmp_path, capsys):
    test = world / "masakhaner2" / "xx" / "test.txt"
    missing = tmp_path / "missing.en"
    with pytest.raises(SystemExit) as ei:
        main(["translate-test", str(test), "--lang", "xx", "--out", str(tmp_path / "p.conll"), "--translations", str(missing),
              "--data", str(world), "--cache", str(tmp_path / "cache")])
    err = capsys.readouterr().err
    assert ei.value.code == 2 and "[E040]" in err and str(missing) in err and "the translations" in err
    with pytest.raises(SystemExit) as ei:
        main(["translate-train", "--lang", "xx", "--labeller", "crf", "--backend", "crf", "--no-transfer", "--src", str(tmp_path), "--tgt", str(test), "--out", str(tmp_path / "m"),
              "--data", str(world), "--cache", str(tmp_path / "cache")])
    err = capsys.readouterr().err
    assert ei.value.code == 2 and "[E040]" in err and "is a directory" in err and "Traceback" not in err
    # an --out that cannot be written fails before the pipeline runs, naming it
    en = tmp_path / "test.en"
    en.write_text("".join(" ".join(s.tokens) + "\n" for s in read_corpus(str(test)).sentences), encoding="utf-8")
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(SystemExit) as ei:
        main(["translate-test", str(test), "--lang", "xx", "--out", str(blocker / "p.conll"), "--translations", str(en),
              "--data", str(world), "--cache", str(tmp_path / "cache")])
    err = capsys.readouterr().err
    assert ei.value.code == 2 and "[E041]" in err and str(blocker / "p.conll") in err
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").glob("label*"))


def test_translate_train_defaults_are_the_best_measured_cpu_configuration():
    """BENCHMARKS.md (issue 15 grid): the fast labeller and target model, the labeller's confident
    target-side spans where projection is silent, eflomal with name prefixes, the complete filter."""
    import inspect

    from projner.cli.pipelines import translate_train_cmd

    defaults = {k: v.default.default for k, v in inspect.signature(translate_train_cmd).parameters.items()}
    assert (defaults["labeller"], defaults["backend"], defaults["transfer"], defaults["no_transfer"]) == ("fast", "fast", 0.9, False)
    assert (defaults["aligner"], defaults["sym"], defaults["prefix_len"], defaults["name_prefix"], defaults["filter_"]) == \
        ("eflomal", "intersection", 4, True, "complete")


def test_translate_train_epochs_reach_the_target_model(world, tmp_path, capsys, monkeypatch):
    """--epochs sets the target model's epochs; without it the fast backend trains the measured
    PROJECTED_EPOCHS (projected labels are noisy, no dev set stops training), others keep theirs."""
    import projner.pipeline.translate_train as tt
    from projner.pipeline.config import ENSEMBLE_EPOCHS, PROJECTED_ENSEMBLE, PROJECTED_EPOCHS

    seen = []

    class Stop(Exception):
        pass

    def fake(cfg, **kw):
        seen.append(cfg.model)
        raise Stop

    monkeypatch.setattr(tt, "translate_train", fake)
    d = world / "mafand_mt" / "en-xx"
    base = ["translate-train", "--lang", "xx", "--src", str(d / "train.en"), "--tgt", str(d / "train.xx"),
            "--out", str(tmp_path / "m"), "--data", str(world), "--cache", str(tmp_path / "cache")]
    for extra in ([], ["--epochs", "3"], ["--backend", "pcrf"], ["--backend", "pcrf", "--epochs", "2"], ["--ensemble", "1"],
                  ["--ensemble", "5"], ["--ensemble", "2", "--epochs", "7"]):
        with pytest.raises(Stop):
            main(base + extra)
    # fast: an ensemble of PROJECTED_ENSEMBLE heads of ENSEMBLE_EPOCHS epochs unless told otherwise
    assert [(m.backend, m.params.get("epochs"), m.ensemble) for m in seen] == \
        [("fast", ENSEMBLE_EPOCHS["fast"], PROJECTED_ENSEMBLE["fast"]), ("fast", 3, PROJECTED_ENSEMBLE["fast"]),
         ("pcrf", None, 1), ("pcrf", 2, 1), ("fast", PROJECTED_EPOCHS["fast"], 1), ("fast", ENSEMBLE_EPOCHS["fast"], 5),
         ("fast", 7, 2)]
    with pytest.raises(SystemExit) as ei:  # crfsuite counts iterations: refused, not ignored
        main(base + ["--backend", "crf", "--epochs", "2"])
    err = capsys.readouterr().err
    assert ei.value.code == 2 and "[E202]" in err and "--epochs" in err
    with pytest.raises(SystemExit) as ei:
        main(base + ["--epochs", "0"])
    assert ei.value.code == 2 and len(seen) == 7
    with pytest.raises(SystemExit) as ei:  # only the fast backend forms ensembles
        main(base + ["--backend", "pcrf", "--ensemble", "3"])
    assert ei.value.code == 2 and "[E202]" in capsys.readouterr().err and len(seen) == 7


def test_translate_train_epochs_train_the_saved_model(world, tmp_path, capsys):
    d = world / "mafand_mt" / "en-xx"
    out = tmp_path / "model"
    main(["translate-train", "--lang", "xx", "--labeller", "crf", "--backend", "pcrf", "--epochs", "1", "--no-transfer",
          "--src", str(d / "train.en"), "--tgt", str(d / "train.xx"), "--out", str(out), "--data", str(world),
          "--cache", str(tmp_path / "cache"), "--sym", "intersection"])
    assert "F1 " in capsys.readouterr().out
    import json
    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    assert meta["params"]["epochs"] == 1, meta
