"""The scale-out study (projner.scale.study): registered under its old name; what it records."""

from __future__ import annotations

import pytest

from projner.pipeline.experiment import parse_config


def test_scale_out_study_is_registered_and_plans():
    cfg = parse_config({"study": "scale_out", "sizes": [40], "num_cpus": [2], "aligners": [{"name": "pharaoh"}]})
    assert cfg.study == "projner.study.scale_out.v1"
    assert [r.run_id for r in cfg.runs()] == ["synthetic__N40__pharaoh__single", "synthetic__N40__pharaoh__ray2"]


@pytest.mark.parametrize("exc, recorded", [(OSError(28, "No space left on device"), True), (TypeError("a bug"), False)])
def test_failed_run_is_recorded_but_bugs_propagate(tmp_path, monkeypatch, exc, recorded):
    from projner.scale import study

    def single(inputs, out, spec):
        raise exc

    monkeypatch.setattr(study, "single_process", single)
    point = {"size": 40, "aligner": {"name": "pharaoh", "params": {}}, "mode": "single",
             "run_id": "synthetic__N40__pharaoh__single"}
    settings = study.ScaleOut.settings({})
    args = (point, settings, None, [], None, tmp_path / "run", 0.0, None, None)
    if not recorded:  # a programming error is not turned into a run record
        with pytest.raises(TypeError, match="a bug"):
            study.ScaleOut._measure(*args)
        return
    rec = study.ScaleOut._measure(*args)
    assert rec["status"] == "error" and rec["error"] == "OSError: [Errno 28] No space left on device"
    assert rec["run_id"] == point["run_id"] and rec["label"] == "gold links, 40 pairs, single process"
