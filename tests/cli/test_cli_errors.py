"""Issue 13: usage errors, OS errors and multi-output commands fail cleanly (no traceback, coded errors),
and a bug in a projner module never makes a subcommand vanish."""

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer

import projner.cli.main as cli_main
from projner.cli.main import main
from testutil import run_cli as run
from projner.data.paths import looks_like_path, missing_model_folder
from projner.data.transaction import atomic_outputs
from projner.errors import ProjnerError

ROOT = Path(__file__).parents[2]




@pytest.fixture
def small(tmp_path):
    """A one-pair source/target/alignment triple."""
    (tmp_path / "s.conll").write_text("Ada\tB-PER\nsings\tO\n\nBob\tB-PER\n", encoding="utf-8")
    (tmp_path / "t.txt").write_text("Ada singt\nBob\n", encoding="utf-8")
    (tmp_path / "a.align").write_text("0-0 1-1\n0-0\n", encoding="utf-8")
    return tmp_path


def _project(d, out, *extra):
    return ["project", "--src", str(d / "s.conll"), "--tgt", str(d / "t.txt"), "--align", str(d / "a.align"),
            "--out", str(out), *extra]


# ----------------------------------------------------------------------------- 1. usage errors


@pytest.mark.parametrize("argv, command, message", [
    (["evaluate", "--gold", "x.conll"], "evaluate", "Missing option '--pred'"),
    (["evaluate", "--gold", "x", "--pred", "y", "--bogus"], "evaluate", "No such option: --bogus"),
    (["align", "--src", "a", "--tgt", "b", "--out", "c", "--runs", "x"], "align", "Invalid value for '--runs'"),
    (["experiment", "run"], "experiment run", "Missing argument 'CONFIG'"),
    (["no-such-command"], "", "No such command 'no-such-command'"),
])
def test_usage_errors_exit_2_with_one_line_and_a_hint(argv, command, message, capsys):
    code, _, err = run(argv, capsys)
    assert code == 2
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert lines[0].startswith("error: ") and message.lower() in lines[0].lower()
    assert lines[1] == f"Try '{' '.join(['projner', command]).strip()} --help' for help."


def test_console_script_is_main_and_fails_cleanly():
    import re
    from importlib.metadata import entry_points

    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    scripts = pyproject.split("[project.scripts]", 1)[1].split("\n[", 1)[0]
    assert re.findall(r'^projner\s*=\s*"([^"]+)"', scripts, re.M) == ["projner.cli.main:main"]
    eps = [ep for ep in entry_points(group="console_scripts") if ep.name == "projner"]
    assert eps and eps[0].value == "projner.cli.main:main"
    res = subprocess.run([sys.executable, "-c", "from projner.cli.main import main; main()", "evaluate", "--gold", "x"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "Traceback" not in res.stderr and "Missing option '--pred'" in res.stderr


def _app_raising(exc):
    app = typer.Typer()

    @app.command()
    def boom() -> None:
        raise exc

    @app.command()
    def other() -> None:  # two commands: `boom` stays a subcommand
        pass

    return app


def test_usage_errors_of_both_typer_layouts_are_caught(monkeypatch, capsys):
    """typer >= 0.2x raises typer._click exceptions; older typer raises the click package's."""
    classes = []
    try:
        from typer._click.exceptions import UsageError as VendoredUsage

        classes.append(VendoredUsage)
    except ImportError:  # pragma: no cover - an older typer
        pass
    try:
        from click.exceptions import UsageError as ClickUsage

        classes.append(ClickUsage)
    except ImportError:  # pragma: no cover - typer without click
        pass
    assert classes
    for cls in classes:
        monkeypatch.setattr(cli_main, "app", _app_raising(cls("bad combination of options")))
        code, _, err = run(["boom"], capsys)
        assert code == 2 and err.startswith("error: bad combination of options") and "Traceback" not in err


def test_typer_exit_code_of_a_command_is_the_exit_status(monkeypatch, capsys):
    monkeypatch.setattr(cli_main, "app", _app_raising(typer.Exit(3)))
    assert run(["boom"], capsys)[0] == 3


# ----------------------------------------------------------------------------- 2. OS errors


def test_directory_as_input_is_E040(small, capsys):
    (small / "dir").mkdir()
    code, _, err = run(["project", "--src", str(small / "dir"), "--tgt", str(small / "t.txt"),
                        "--align", str(small / "a.align"), "--out", str(small / "o.conll")], capsys)
    assert code == 2 and "Traceback" not in err
    assert "[E040]" in err and str(small / "dir") in err and "directory" in err


def test_missing_align_file_is_E040_naming_it(small, capsys):
    missing = small / "nope.align"
    code, _, err = run(["project", "--src", str(small / "s.conll"), "--tgt", str(small / "t.txt"),
                        "--align", str(missing), "--out", str(small / "o.conll")], capsys)
    assert code == 2 and "[E040]" in err and str(missing) in err and "alignment file" in err
    assert not (small / "o.conll").exists()


@pytest.mark.parametrize("argv", [
    ["evaluate", "--gold", "MISSING", "--pred", "MISSING"],
    ["align", "--src", "MISSING", "--tgt", "MISSING", "--out", "OUT"],
    ["inspect", "--src", "MISSING", "--tgt", "MISSING", "--align", "MISSING", "--format", "txt"],
    ["tag", "MISSING", "--model", "MISSING", "--out", "OUT"],
])
def test_missing_input_files_are_E040(argv, tmp_path, capsys):
    argv = [str(tmp_path / "gone.conll") if a == "MISSING" else str(tmp_path / "o.txt") if a == "OUT" else a for a in argv]
    code, _, err = run(argv, capsys)
    assert code == 2 and "Traceback" not in err
    assert "[E040]" in err and str(tmp_path / "gone.conll") in err


def test_output_under_a_file_is_E041(small, capsys):
    out = small / "s.conll" / "o.conll"  # its folder is a regular file
    code, _, err = run(_project(small, out), capsys)
    assert code == 2 and "[E041]" in err and str(out) in err and "is a file, not a folder" in err


def test_output_in_read_only_folder_is_E041(small, monkeypatch, capsys):
    ro = small / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # root writes into read-only folders: the kernel's answer to others
        import tempfile

        real = tempfile.mkstemp

        def denied(*args, dir=None, **kwargs):
            if dir is not None and Path(dir) == ro:
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(Path(dir) / "x"))
            return real(*args, dir=dir, **kwargs)

        monkeypatch.setattr(tempfile, "mkstemp", denied)
    try:
        code, _, err = run(_project(small, ro / "o.conll"), capsys)
    finally:
        ro.chmod(0o755)
    assert code == 2 and "[E041]" in err and str(ro / "o.conll") in err and "ermission denied" in err


def test_disk_full_is_E042_and_writes_nothing(small, monkeypatch, capsys):
    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    out = small / "o.conll"
    code, _, err = run(_project(small, out, "--report", str(small / "r.json")), capsys)
    assert code == 2 and "Traceback" not in err
    assert "[E042]" in err and str(out) in err and "No space left on device" in err
    assert not out.exists() and not (small / "r.json").exists()
    assert [p.name for p in small.iterdir() if p.name.startswith(".")] == []  # no temporary files left


def test_os_error_fallback_names_the_path(monkeypatch, capsys):
    monkeypatch.setattr(cli_main, "app", _app_raising(IsADirectoryError(errno.EISDIR, "Is a directory", "/some/where")))
    code, _, err = run(["boom"], capsys)
    assert code == 2 and err.strip() == "error: [E043] /some/where: File system error: Is a directory."


# ----------------------------------------------------------------------------- 3. outputs committed together


def test_unwritable_report_leaves_no_out(small, capsys):
    (small / "rep").mkdir()
    out = small / "o.conll"
    code, _, err = run(_project(small, out, "--report", str(small / "rep")), capsys)
    assert code == 2 and "Traceback" not in err and "[E041]" in err and str(small / "rep") in err
    assert not out.exists()
    # an existing --out is left as it was
    out.write_text("old\n", encoding="utf-8")
    code, _, _ = run(_project(small, out, "--report", str(small / "rep")), capsys)
    assert code == 2 and out.read_text(encoding="utf-8") == "old\n"
    # both outputs written when both can be
    code, _, err = run(_project(small, out, "--report", str(small / "r.json")), capsys)
    assert code == 0, err
    assert out.read_text(encoding="utf-8").startswith("Ada\tB-PER")
    assert json.loads((small / "r.json").read_text(encoding="utf-8"))["stats"]["n_source"] == 2


def test_same_file_for_two_outputs_is_an_error(small, capsys):
    code, _, err = run(_project(small, small / "o.conll", "--report", str(small / "o.conll")), capsys)
    assert code == 2 and "[E041]" in err and "two outputs" in err and not (small / "o.conll").exists()


def test_transaction_commits_all_or_nothing(tmp_path, monkeypatch):
    a, b = tmp_path / "a.jsonl", tmp_path / "sub" / "b.txt"
    a.write_text("old a\n", encoding="utf-8")
    with pytest.raises(RuntimeError):
        with atomic_outputs() as tx:
            pa = tx.path(a)
            assert pa.parent == a.parent and pa.suffix == ".jsonl" and pa != a
            pa.write_text("new a\n", encoding="utf-8")
            with tx.open(b) as fh:
                fh.write("new b\n")
            raise RuntimeError("a later step fails")
    assert a.read_text(encoding="utf-8") == "old a\n" and not b.exists()
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["a.jsonl"]
    # a rename failing half-way restores the target already replaced
    real = os.replace
    calls = []

    def flaky(src, dst):
        calls.append(dst)
        if Path(dst) == b:
            raise OSError(errno.EIO, "I/O error", str(dst))
        return real(src, dst)

    monkeypatch.setattr(os, "replace", flaky)
    with pytest.raises(ProjnerError, match="E041"):
        with atomic_outputs() as tx:
            tx.write(a, lambda p: p.write_text("new a\n", encoding="utf-8"))
            with tx.open(b) as fh:
                fh.write("new b\n")
    monkeypatch.setattr(os, "replace", real)
    assert Path(calls[0]) == a and a.read_text(encoding="utf-8") == "old a\n" and not b.exists()
    with atomic_outputs() as tx:
        tx.write(a, lambda p: p.write_text("new a\n", encoding="utf-8"))
        with tx.open(b) as fh:
            fh.write("new b\n")
    assert a.read_text(encoding="utf-8") == "new a\n" and b.read_text(encoding="utf-8") == "new b\n"
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["a.jsonl", "b.txt"]
    assert (a.stat().st_mode & 0o777) == (0o666 & ~_umask())


def _umask():
    m = os.umask(0)
    os.umask(m)
    return m


# ----------------------------------------------------------------------------- 6. path-like model names


@pytest.mark.parametrize("name, missing", [
    ("/nonexistent/model", True), ("./nothere", True), ("../nothere", True), ("~/no-such-model-folder", True),
    ("a/b/c", True), ("bert-base-cased", False), ("intfloat/multilingual-e5-small", False), ("", False),
])
def test_path_like_model_names(name, missing):
    assert looks_like_path(name) == (missing and name != "")
    assert (missing_model_folder(name) is not None) == missing


def test_existing_folder_is_not_missing(tmp_path):
    assert missing_model_folder(str(tmp_path)) is None
    (tmp_path / "f").write_text("x")
    assert "is a file" in missing_model_folder(str(tmp_path / "f"))


def test_neural_aligner_with_missing_model_folder(small, capsys):
    pytest.importorskip("transformers")
    code, _, err = run(["align", "--src", str(small / "s.conll"), "--tgt", str(small / "t.txt"), "--out", str(small / "o.align"),
                        "--aligner", "neural", "--model", "/nonexistent"], capsys)
    assert code == 2 and "Traceback" not in err
    assert "[E101]" in err and "folder /nonexistent does not exist" in err and "Repo id" not in err


def test_tagger_and_translator_with_missing_model_folder():
    pytest.importorskip("transformers")
    from projner.ner.transformer import TransformerTagger
    from projner.translate.seq2seq import Seq2SeqTranslator

    with pytest.raises(ProjnerError, match=r"E149.*folder /nonexistent does not exist"):
        TransformerTagger(model="/nonexistent")._load_tokenizer("/nonexistent")
    with pytest.raises(ProjnerError, match=r"E182.*folder \./no-such-mt does not exist"):
        Seq2SeqTranslator(model="./no-such-mt")


# ----------------------------------------------------------------------------- 7. optional commands


def test_import_error_inside_projner_is_not_swallowed():
    code = "import sys; sys.modules['projner.cli.scale'] = None; import projner.cli.main"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode != 0 and "projner.cli.scale" in res.stderr


def test_missing_optional_package_skips_only_its_command():
    def fake_import(name):
        if name == "projner.cli.scale":
            raise ModuleNotFoundError("No module named 'ray'", name="ray")
        import importlib

        return importlib.import_module(name)

    target = typer.Typer()
    skipped = cli_main._mount_optional(target, import_module=fake_import)
    assert skipped == ["projner.cli.scale"]
    names = {c.name for c in target.registered_commands} | {g.name for g in target.registered_groups}
    assert "scale" not in names and {"tag", "inspect", "translate", "experiment"} <= names

    def broken(name):
        raise ImportError("cannot import name 'helper' from 'projner.data.formats'", name="projner.data.formats")

    with pytest.raises(ImportError):
        cli_main._mount_optional(typer.Typer(), import_module=broken)
