import random

import pytest

from projner.align.eflomal import EflomalAligner
from projner.errors import ProjnerError
from projner.registry import aligners


def toy_corpus(n=300, seed=0):
    """A synthetic 'language pair' where target word = source word + 'x', with reordering of one slot."""
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(40)]
    src, tgt = [], []
    for _ in range(n):
        s = rng.sample(vocab, rng.randint(3, 7))
        t = [w + "x" for w in s]
        src.append(s)
        tgt.append(t)
    return src, tgt


def test_eflomal_recovers_word_translations():
    src, tgt = toy_corpus()
    al = EflomalAligner(sym="intersection").align(src, tgt)
    gold = {(i, i) for i in range(7)}
    correct = sum(len(a.pairs & gold) for a in al)
    total = sum(len(s) for s in src)
    assert correct / total > 0.9


def test_extra_text_trains_but_is_not_returned_and_empty_pairs():
    src, tgt = toy_corpus(200)
    req_src, req_tgt = [["w1", "w2"], [], ["w3"]], [["w1x", "w2x"], ["w5x"], ["w3x"]]
    aligner = EflomalAligner(sym="grow-diag-final-and", extra_src=src, extra_tgt=tgt)
    al = aligner.align(req_src, req_tgt)
    assert len(al) == 3 and al[1].pairs == frozenset()
    assert al[0].pairs == {(0, 0), (1, 1)} and al[2].pairs == {(0, 0)}
    assert aligner.stats["empty_pairs"] == 1 and aligner.stats["extra_pairs_used"] == 200
    assert "extra:200" in aligner.signature() and "seeded:no" in aligner.signature()


def test_runs_vote_and_registry():
    src, tgt = toy_corpus(150)
    a = aligners.create("eflomal", sym="intersection", runs=3)
    al = a.align(src, tgt)
    assert all(0.5 < l.score <= 1.0 for x in al for l in x.links)
    assert aligners.resolve("eflomal") == "projner.aligner.eflomal.v1"


def test_mismatched_lengths_and_bad_params():
    with pytest.raises(ProjnerError, match="E001"):
        EflomalAligner().align([["a"]], [])
    with pytest.raises(ProjnerError, match="E018"):
        EflomalAligner(sym="nope")


def test_copy_dictionary_pairs():
    from projner.align.eflomal import copy_pairs

    assert copy_pairs([["Merkel", "said", "1999", "EU"]], [["merkel", "sagte", "1999", "EU"]]) == ["Merkel", "EU"]
    # each distinct word once, whatever its frequency
    assert copy_pairs([["EU", "x"], ["eu"]], [["EU"], ["EU"]]) == ["EU"]
    a = EflomalAligner(copy_dictionary=False)
    assert "copy-dict:no" in a.signature()


def test_one_directional_symmetrisation_runs_one_direction():
    src, tgt = toy_corpus(120)
    a = EflomalAligner(sym="intersection")
    fwd, rev = a.align_directional(src, tgt, reverse=False)
    assert any(len(x) for x in fwd) and not any(len(x) for x in rev)
    al = EflomalAligner(sym="reverse").align(src, tgt)
    # reverse links each source word to at most one target word
    assert all(len({l.tgt for l in x.links if l.src == i}) <= 1 for x in al for i in range(8))
    assert sum(len(x) for x in al) > 0


# --- long sentences (eflomal aligns nothing in a pair with a side of >= 1,024 tokens) ---


def _long_corpus(seed=1):
    """200 short copy-like pairs and, at index 50 and 51, pairs of 1,500 and 1,100 source tokens.

    The 1,100-token pair is a copy (target word = source word + 'x'); in the 1,500-token pair the
    target drops every 5th non-punctuation word, so its gold link of source i is known.
    """
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(300)]
    src = [rng.sample(vocab, 8) for _ in range(200)]
    tgt = [[w + "x" for w in s] for s in src]
    s1100 = [rng.choice(vocab) if (i + 1) % 23 else "." for i in range(1100)]
    s1500 = [rng.choice(vocab) if (i + 1) % 29 else ";" for i in range(1500)]
    t1500, gold1500 = [], {}
    for i, w in enumerate(s1500):
        if w == ";" or i % 5:
            gold1500[i] = len(t1500)
            t1500.append(w if w == ";" else w + "x")
    src[50:50] = [s1500, s1100]
    tgt[50:50] = [t1500, [w if w == "." else w + "x" for w in s1100]]
    return src, tgt, gold1500


def test_long_pairs_are_aligned_in_windows_and_counted():
    src, tgt, gold1500 = _long_corpus()
    assert len(src[50]) == 1500 and len(tgt[50]) < 1500 and len(src[51]) == len(tgt[51]) == 1100
    a = EflomalAligner(sym="intersection", n_samplers=1, n_iterations=(6, 6, 6))
    al = a.align(src, tgt)
    long1500, long1100 = al[50], al[51]
    # links over the whole length of both long pairs (one or more in every 100-token band)
    for alignment, n in ((long1100, 1100), (long1500, 1500)):
        assert {l.src // 100 for l in alignment.links} == set(range(-(-n // 100)))
    assert {l.tgt // 100 for l in long1500.links} == set(range(-(-len(tgt[50]) // 100)))
    # and mostly right: the copy on the diagonal, the other on its known gold links
    on_diag = sum(abs(l.src - l.tgt) <= 2 for l in long1100.links)
    assert len(long1100) >= 900 and on_diag / len(long1100) > 0.9
    right = sum(gold1500.get(l.src) == l.tgt for l in long1500.links)
    assert len(long1500) >= 1000 and right / len(long1500) > 0.9
    assert all(0 <= l.src < len(src[k]) and 0 <= l.tgt < len(tgt[k]) for k in (50, 51) for l in al[k].links)
    assert a.stats["long_pairs"] == 2 and a.stats["long_pairs_windowed"] == 2
    assert a.stats["long_pair_windows"] == 3 + 3  # ceil(1500/500) + ceil(1100/500)
    assert a.stats["empty_pairs"] == sum(1 for x in al if not len(x)) < 5
    assert "long:windows500" in a.signature()


def test_windows_split_long_pairs_at_punctuation_within_the_limit():
    from projner.align.eflomal import MAX_TOKENS, windows

    short = windows(["a"] * 1023, ["b"] * 10)
    assert short == [(0, 1023, 0, 10)]  # 1,023 tokens is within eflomal's limit
    src = [("." if i % 50 == 49 else "a") for i in range(2600)]
    tgt = [("," if i % 40 == 39 else "b") for i in range(2000)]
    for s, t in ((src, tgt), (tgt, src)):  # either side may be the longer one
        pieces = windows(s, t)
        assert len(pieces) == 6  # ceil(2600 / 500)
        # contiguous and complete on both sides, in order
        assert [p[0] for p in pieces[1:]] == [p[1] for p in pieces[:-1]] and pieces[0][0] == 0 and pieces[-1][1] == len(s)
        assert [p[2] for p in pieces[1:]] == [p[3] for p in pieces[:-1]] and pieces[0][2] == 0 and pieces[-1][3] == len(t)
        assert all(0 < s1 - s0 <= MAX_TOKENS and 0 < t1 - t0 <= MAX_TOKENS for s0, s1, t0, t1 in pieces)
        # every inner cut falls just after punctuation on both sides, at proportional positions
        for s0, _, t0, _ in pieces[1:]:
            assert s[s0 - 1] in ".," and t[t0 - 1] in ".,"
            assert abs(s0 / len(s) - t0 / len(t)) < 0.05
    # a very unequal pair: pieces may be empty on the short side, never over the limit
    pieces = windows(["a"] * 3000, ["b", "c"])
    assert sum(t1 - t0 for _, _, t0, t1 in pieces) == 2 and all(s1 - s0 <= MAX_TOKENS for s0, s1, _, _ in pieces)


def test_cli_align_reports_long_pairs(tmp_path, capsys):
    from projner.cli.main import main

    rng = random.Random(3)
    vocab = [f"w{i}" for i in range(300)]
    src = [rng.sample(vocab, 6) for _ in range(3000)]
    tgt = [[w + "x" for w in s] for s in src]
    long = [rng.choice(vocab) for _ in range(1100)]
    src[7:7], tgt[7:7] = [long, []], [[w + "x" for w in long], ["w1x"]]
    (tmp_path / "a.txt").write_text("\n".join(" ".join(x) for x in src) + "\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("\n".join(" ".join(x) for x in tgt) + "\n", encoding="utf-8")
    out = tmp_path / "o.al"
    try:
        main(["align", "--src", str(tmp_path / "a.txt"), "--tgt", str(tmp_path / "b.txt"), "--out", str(out),
              "--samplers", "1", "--sym", "forward"])
    except SystemExit as exc:
        assert exc.code == 0
    err = capsys.readouterr().err
    assert "long_pairs=1" in err and "long_pairs_windowed=1" in err and "long_pair_windows=3" in err
    assert "empty_pairs=1" in err and "empty_input_pairs=1" in err
    lines = out.read_text().splitlines()
    assert len(lines) == len(src) and len(lines[7].split()) > 1000 and lines[8] == ""


def test_eflomal_failure_is_an_error_not_empty_links(monkeypatch):
    import shutil

    import projner.align.eflomal as mod

    false = shutil.which("false")
    if false is None:
        pytest.skip("no `false` binary")
    monkeypatch.setattr(mod, "_binary", lambda: false)
    src, tgt = toy_corpus(20)
    with pytest.raises(ProjnerError, match="E021.*status 1"):
        EflomalAligner().align(src, tgt)


# --- the eflomal child dies with its parent; temp folders do not outlive a killed run ---

_DRIVER = """
import random, sys
from projner.align.eflomal import EflomalAligner
rng = random.Random(0)
vocab = [f"w{i}" for i in range(500)]
src = [rng.sample(vocab, 12) for _ in range(int(sys.argv[1]))]
tgt = [[w + "x" for w in s] for s in src]
EflomalAligner(sym="forward", n_samplers=1, n_iterations=tuple([int(sys.argv[2])] * 3)).align(src, tgt)
print("done", flush=True)
"""


def _procs_mentioning(text: str) -> list[int]:
    """Pids of live processes whose command line contains ``text`` (Linux /proc)."""
    import os

    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as fh:
                cmd = fh.read().replace(b"\0", b" ").decode("utf-8", "replace")
            with open(f"/proc/{name}/stat", encoding="ascii", errors="replace") as fh:
                state = fh.read().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if text in cmd and state != "Z":
            found.append(int(name))
    return found


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="needs /proc and PR_SET_PDEATHSIG")
def test_kill_9_of_the_parent_kills_eflomal_and_the_next_run_removes_its_temp_folder(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = dict(os.environ, TMPDIR=str(tmp))
    driver = subprocess.Popen([sys.executable, "-c", _DRIVER, "3000", "100000"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 15
        children = []
        while time.monotonic() < deadline and not children and driver.poll() is None:
            children = [p for p in _procs_mentioning(str(tmp)) if p != driver.pid]
            time.sleep(0.05)
        assert children, f"eflomal did not start: {driver.communicate()[1][-2000:]!r}"
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait(timeout=10)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _procs_mentioning(str(tmp)):
            time.sleep(0.05)
        assert _procs_mentioning(str(tmp)) == []  # no eflomal left running
        left = os.listdir(tmp)
        assert len(left) == 1 and left[0].startswith(f"projner-eflomal-pid{driver.pid}-")  # kill -9: nothing ran
        # the next run removes the dead run's folder, then its own
        nxt = subprocess.run([sys.executable, "-c", _DRIVER, "30", "2"], env=env, capture_output=True, timeout=60)
        assert nxt.returncode == 0 and b"done" in nxt.stdout, nxt.stderr[-2000:]
        assert os.listdir(tmp) == []
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
        for pid in _procs_mentioning(str(tmp)):  # only processes this test started (they name its folder)
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def test_empty_pairs_counts_pairs_returned_without_links(monkeypatch):
    import projner.align.eflomal as mod

    # without windows a 1,100-token pair gets no links from eflomal: it must be counted as empty
    monkeypatch.setattr(mod, "windows", lambda s, t, *a, **k: [(0, len(s), 0, len(t))], raising=False)
    src, tgt = toy_corpus(60)
    long = [f"w{i % 40}" for i in range(1100)]
    a = EflomalAligner(sym="intersection", n_samplers=1, n_iterations=(4, 4, 4))
    al = a.align(src + [long], tgt + [[w + "x" for w in long]])
    assert len(al[-1]) == 0 and a.stats["empty_input_pairs"] == 0
    assert a.stats["empty_pairs"] == sum(1 for x in al if not len(x)) >= 1


def test_stale_run_folders(tmp_path):
    import json
    import os
    import subprocess
    import sys

    from projner.align import _proc

    if not sys.platform.startswith("linux"):
        pytest.skip("needs /proc")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()

    def folder(pid, **owner):
        path = tmp_path / f"projner-eflomal-pid{pid}-abc{len(os.listdir(tmp_path))}"
        path.mkdir()
        info = dict(_proc._owner(), pid=pid, **owner)
        (path / _proc.OWNER_FILE).write_text(json.dumps(info))
        return path

    gone = folder(dead.pid)
    mine = folder(os.getpid())  # a live process: kept
    reused = folder(os.getpid(), start="1")  # the pid now belongs to a process started at another time
    elsewhere = folder(dead.pid, host="another-host")  # pids of another machine mean nothing here
    other = tmp_path / "projner-eflomal-notours"
    other.mkdir()
    assert _proc.remove_stale("projner-eflomal", str(tmp_path)) == 2
    assert not gone.exists() and not reused.exists()
    assert mine.exists() and elsewhere.exists() and other.exists()
    with _proc.run_dir("projner-eflomal", str(tmp_path)) as run:
        assert os.path.basename(run).startswith(f"projner-eflomal-pid{os.getpid()}-") and not _proc.is_stale(run)
    assert not os.path.exists(run)


def test_name_prefix_strips_bantu_class_prefixes_only():
    from projner.align.eflomal import strip_name_prefix

    assert [strip_name_prefix(w) for w in ("uMandela", "eThekwini", "waseReservoir", "kwaZulu-Natal")] == \
        ["Mandela", "Thekwini", "Reservoir", "Zulu-Natal"]
    assert [strip_name_prefix(w) for w in ("Mandela", "umuntu", "ANC", "uANC", "abcdefgHij", "e")] == \
        ["Mandela", "umuntu", "ANC", "uANC", "abcdefgHij", "e"]


def test_name_prefix_lets_the_copy_dictionary_link_prefixed_names():
    from projner.align.eflomal import EflomalAligner

    names = ["Mandela", "Kaunda", "Zuma", "Nkosi", "Shembe", "Mbeki", "Sisulu", "Tambo"]
    src, tgt = [], []
    for k in range(40):
        a, b = names[k % 8], names[(k * 3 + 1) % 8]
        src.append(["yesterday", a, "met", b, "in", "town"])
        tgt.append(["izolo", "u" + a, "uhlangane", "no" + b, "edolobheni"])
    plain = EflomalAligner(sym="intersection", copy_dictionary=True, prefix_len=4)
    fixed = EflomalAligner(sym="intersection", copy_dictionary=True, prefix_len=4, name_prefix=True)
    ok = lambda als: sum((1, 1) in a.pairs and (3, 3) in a.pairs for a in als)  # noqa: E731
    with_prefix = ok(fixed.align(src, tgt))
    assert with_prefix >= 32  # names link to their prefixed forms in most pairs (eflomal is unseeded: 35-40 seen)
    assert fixed.stats["name_prefix_words"] == 80
    assert "name-prefix:" in fixed.signature() and "name-prefix" not in plain.signature()
    with pytest.raises(ProjnerError):
        EflomalAligner(name_prefix=True, priors="/nonexistent")
