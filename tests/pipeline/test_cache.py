import json
import os
import time

import pytest

from projner.pipeline import cache as C
from projner.pipeline.cache import Cache, StepRunner, fingerprint, hash_sentences, read_sentences, write_sentences
from projner.types import Sentence, Span


def _writer(text):
    calls = []

    def compute(out):
        calls.append(1)
        (out / "a.txt").write_text(text, encoding="utf-8")
        (out / "sub").mkdir()
        (out / "sub" / "b.bin").write_bytes(b"\x00\x01")
        return {"n": 1}

    return compute, calls


def test_fingerprint_depends_on_everything():
    base = fingerprint("align", {"sym": "x"}, {"src": "h1"})
    assert base == fingerprint("align", {"sym": "x"}, {"src": "h1"})
    assert base != fingerprint("align", {"sym": "y"}, {"src": "h1"})
    assert base != fingerprint("align", {"sym": "x"}, {"src": "h2"})
    assert base != fingerprint("project", {"sym": "x"}, {"src": "h1"})
    assert base != fingerprint("align", {"sym": "x"}, {"src": "h1"}, version="9.9.9")
    # key order and tuple/list do not matter
    assert fingerprint("s", {"a": 1, "b": (1, 2)}, {}) == fingerprint("s", {"b": [1, 2], "a": 1}, {})


def test_hit_after_miss_and_manifest_checksums(tmp_path):
    r = StepRunner(Cache(tmp_path))
    compute, calls = _writer("hello")
    e1 = r.run("step", {"p": 1}, {"x": "h"}, compute)
    e2 = r.run("step", {"p": 1}, {"x": "h"}, compute)
    assert len(calls) == 1 and [ev.status for ev in r.events] == ["miss", "hit"]
    assert e1.path == e2.path and e2.file("a.txt").read_text() == "hello"
    man = json.loads((e1.path / "manifest.json").read_text())
    assert set(man["files"]) == {"a.txt", "sub/b.bin"} and man["version"] and man["info"] == {"n": 1}
    r.run("step", {"p": 2}, {"x": "h"}, compute)
    assert len(calls) == 2


@pytest.mark.parametrize("damage", ["alter", "delete", "manifest"])
def test_corrupt_entry_is_detected_and_recomputed(tmp_path, damage):
    r = StepRunner(Cache(tmp_path))
    compute, calls = _writer("hello")
    e = r.run("step", {}, {}, compute)
    if damage == "alter":
        e.file("a.txt").write_text("HELLO", encoding="utf-8")
    elif damage == "delete":
        e.file("sub/b.bin").unlink()
    else:
        (e.path / "manifest.json").write_text("{not json", encoding="utf-8")
    e2 = r.run("step", {}, {}, compute)
    assert len(calls) == 2
    assert r.events[-2].status == "corrupt" and "recomputing" in r.events[-2].detail
    assert r.events[-1].status == "miss"
    assert e2.file("a.txt").read_text() == "hello"
    assert r.run("step", {}, {}, compute) and r.events[-1].status == "hit"


def test_entry_from_another_version_is_stale(tmp_path):
    r = StepRunner(Cache(tmp_path))
    compute, calls = _writer("x")
    e = r.run("step", {}, {}, compute)
    man = json.loads((e.path / "manifest.json").read_text())
    man["version"] = "0.0.1"
    (e.path / "manifest.json").write_text(json.dumps(man))
    r.run("step", {}, {}, compute)
    assert [ev.status for ev in r.events] == ["miss", "stale", "miss"] and len(calls) == 2
    assert "0.0.1" in r.events[1].detail


def test_failed_step_leaves_no_entry(tmp_path):
    r = StepRunner(Cache(tmp_path))

    def boom(out):
        (out / "half.txt").write_text("partial")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        r.run("step", {}, {}, boom)
    step_dir = tmp_path / "step"
    assert [p.name for p in step_dir.iterdir()] == []
    compute, calls = _writer("ok")
    r.run("step", {}, {}, compute)
    assert r.events[-1].status == "miss" and len(calls) == 1


def test_clean_tmp_removes_old_leftovers(tmp_path):
    c = Cache(tmp_path)
    d = tmp_path / "align" / ".tmp-abc"
    d.mkdir(parents=True)
    old = time.time() - 7200
    os.utime(d, (old, old))
    assert c.clean_tmp() == 1 and not d.exists()


def test_cache_root_from_env(tmp_path, monkeypatch):
    monkeypatch.setenv("PROJNER_CACHE", str(tmp_path / "env"))
    assert Cache().root == tmp_path / "env"
    assert Cache(tmp_path / "arg").root == tmp_path / "arg"
    monkeypatch.delenv("PROJNER_CACHE")
    assert str(Cache().root).endswith(os.path.join(".cache", "projner"))


def test_sentence_jsonl_roundtrip_is_lossless(tmp_path):
    sents = [Sentence(("A", "b", "C"), (Span(0, 1, "PER", 0.25), Span(2, 3, "LOC")), "s1"), Sentence(("x",))]
    write_sentences(tmp_path / "s.jsonl", sents)
    back = read_sentences(tmp_path / "s.jsonl")
    assert back == tuple(sents)
    assert [sp.score for sp in back[0].spans] == [0.25, None]
    assert hash_sentences(back) == hash_sentences(sents)
    assert hash_sentences(sents[:1]) != hash_sentences([sents[0].with_spans(())])


def test_hook_only_fires_in_named_step(tmp_path, monkeypatch):
    marker = tmp_path / "m"
    monkeypatch.setenv(C.HOOK_ENV, f"train:0:{marker}")
    r = StepRunner(Cache(tmp_path / "c"))
    r.run("align", {}, {}, _writer("a")[0])
    assert not marker.exists()
    r.run("train", {}, {}, _writer("a")[0])
    assert marker.read_text() == "train"
