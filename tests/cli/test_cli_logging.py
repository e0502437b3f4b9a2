"""Issue 14: library code logs (one logger per module) and never prints; the CLI's global
``--verbose/-v`` and ``--quiet/-q`` set what reaches stderr; a command's own ``--quiet`` still works."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import pytest

from testutil import run_cli as run
from projner.log import progress_bar
from projner.pipeline.demo import demo_files

SRC = Path(__file__).resolve().parents[2] / "src" / "projner"




@pytest.fixture(autouse=True)
def _normal_verbosity(capsys):
    yield
    run(["info"], capsys)  # leave the projner loggers as a plain invocation sets them


def test_global_quiet_is_every_commands_quiet_and_the_own_quiet_still_works(capsys):
    de = str(demo_files()[1])
    code, out, err = run(["evaluate", "--gold", de, "--pred", de], capsys)
    assert code == 0 and "projner-eval:1" in out and f"{de}: 400 sentences" in err  # the reading reports
    for argv in (["-q", "evaluate", "--gold", de, "--pred", de], ["--quiet", "evaluate", "--gold", de, "--pred", de],
                 ["evaluate", "--gold", de, "--pred", de, "--quiet"]):
        code, out_q, err_q = run(argv, capsys)
        assert code == 0 and out_q == out and f"{de}:" not in err_q, argv


def test_global_quiet_reaches_commands_of_subgroups():
    import typer

    from projner.cli.main import _quiet_defaults, app

    defaults = _quiet_defaults(typer.main.get_command(app))
    assert defaults["align"] == {"quiet": True} and "convert" not in defaults  # convert has no --quiet
    assert defaults["experiment"]["run"] == {"quiet": True}


def test_verbose_and_quiet_exclude_each_other(capsys):
    code, _, err = run(["-v", "-q", "info"], capsys)
    assert code == 2 and "--verbose and --quiet exclude each other" in err


def test_verbosity_sets_what_library_loggers_show_on_stderr(capsys):
    lib = logging.getLogger("projner.align.eflomal")

    def shown(argv):
        run(argv, capsys)
        lib.debug("a debug detail")
        lib.info("a progress message")
        lib.warning("a warning")
        return capsys.readouterr().err

    assert shown(["info"]) == "a progress message\na warning\n"
    assert shown(["-v", "info"]) == "a debug detail\na progress message\na warning\n"
    assert shown(["-q", "info"]) == "a warning\n"
    assert shown(["info"]).count("a warning") == 1  # configured again: one handler, not two


def test_quiet_turns_progress_bars_off(capsys):
    run(["info"], capsys)
    with progress_bar(total=3, disable=False) as bar:
        assert not bar.disable
    run(["-q", "info"], capsys)
    with progress_bar(total=3, disable=False) as bar:
        assert bar.disable
    assert progress_bar([1, 2], disable=False).disable


def test_eflomal_says_what_it_runs_through_logging(monkeypatch, caplog, capsys):
    from projner.align import eflomal

    class Stop(Exception):
        pass

    def stop(*args, **kwargs):
        raise Stop

    monkeypatch.setattr(eflomal, "run_child", stop)
    pairs = [["w"]] * 20_001
    with caplog.at_level(logging.INFO, logger="projner"), pytest.raises(Stop):
        eflomal.EflomalAligner(copy_dictionary=False).align(pairs, pairs)
    msgs = [r.getMessage() for r in caplog.records if r.name == "projner.align.eflomal"]
    assert msgs == ["eflomal: aligning 20,001 pairs (model 3, 3 samplers)..."]
    assert "aligning" not in capsys.readouterr().out


def test_library_code_does_not_print():
    """Diagnostics go through logging: no print() in src/projner outside the command line."""
    offenders = []
    for path in SRC.rglob("*.py"):
        if path.relative_to(SRC).parts[0] == "cli":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert not offenders, offenders
