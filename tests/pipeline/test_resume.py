"""A pipeline killed with SIGKILL in the middle resumes: finished steps are cache hits and the
result equals the one of an uninterrupted run."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from projner.pipeline.cache import HOOK_ENV

SCRIPT = """
import json, sys
sys.path.insert(0, {here!r})
from projner.pipeline.cache import StepRunner
from projner.pipeline.config import AlignerConfig, LabellerConfig, ModelConfig, ParallelConfig, TranslateTrainConfig
from projner.pipeline.translate_train import translate_train
world = {world!r}
cfg = TranslateTrainConfig(lang="xx", parallel=ParallelConfig(splits=("train", "dev")), data=world,
                           aligner=AlignerConfig(name="pharaoh", file=world + "/links.align"),
                           labeller=LabellerConfig(params={{"max_iterations": 40}}), model=ModelConfig(params={{"max_iterations": 40}}))
runner = StepRunner.at(sys.argv[1])
res = translate_train(cfg, runner=runner)
print(json.dumps({{"result": res.to_dict(), "events": [[e.step, e.status] for e in runner.events]}}))
"""


def _run(script: Path, cache: Path, timeout=120):
    env = {k: v for k, v in os.environ.items() if k != HOOK_ENV}
    out = subprocess.run([sys.executable, str(script), str(cache)], capture_output=True, text=True, env=env, timeout=timeout)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_kill9_in_train_step_then_resume(world, tmp_path):
    script = tmp_path / "run.py"
    script.write_text(SCRIPT.format(here=str(Path(__file__).parent), world=str(world)), encoding="utf-8")
    cache = tmp_path / "cache"
    marker = tmp_path / "in-train"
    env = {**os.environ, HOOK_ENV: f"train:120:{marker}"}
    proc = subprocess.Popen([sys.executable, str(script), str(cache)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 90
        while not marker.exists():
            assert proc.poll() is None, "pipeline ended before reaching the train step"
            assert time.time() < deadline, "train step never started"
            time.sleep(0.1)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    # the killed step left only a temporary folder, never an entry
    assert not any(p.is_dir() and not p.name.startswith(".") for p in (cache / "train").iterdir())

    resumed = _run(script, cache)
    status = dict((s, st) for s, st in resumed["events"])
    assert status == {"labeller": "hit", "label": "hit", "align": "hit", "project": "hit",
                      "train": "miss", "evaluate": "miss"}
    fresh = _run(script, tmp_path / "fresh-cache")
    assert {st for _, st in fresh["events"]} == {"miss"}
    assert resumed["result"] == fresh["result"]
    assert resumed["result"]["f1"] > 0.9
