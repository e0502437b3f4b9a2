"""Issue 16: workers read their own byte ranges; cuts on record boundaries; shards, manifest, resume."""

from __future__ import annotations

import json

import pytest

from projner.errors import E, ProjnerError
from projner.pipeline.files import project_files
from projner.scale.distributed import align_project_local
from projner.scale.ranges import cut_points, read_rows, scan_block
from projner.scale.synthetic import write_synthetic

# CRLF and LF mixed, empty lines, multi-byte characters (2, 3 and 4 bytes), no final line end
LINES = b"a\xc3\xa9b c\r\n\r\n\xe2\x82\xac\xe2\x82\xac\n\n\nx y z\r\n\xf0\x9f\x98\x80 \xc3\xa9\nlast"


def _records(data: bytes) -> list[bytes]:
    lines = data.split(b"\n")
    return lines[:-1] + ([lines[-1]] if lines[-1] else [])


@pytest.mark.parametrize("block", range(1, len(LINES) + 2))
def test_line_cuts_fall_on_line_starts_and_cover_the_file(tmp_path, block):
    path = tmp_path / "t.txt"
    path.write_bytes(LINES)
    cuts = cut_points(str(path), "line", block)
    assert cuts[0] == 0 and cuts[-1] == len(LINES) and cuts == sorted(set(cuts))
    assert all(LINES[c - 1:c] == b"\n" for c in cuts[1:-1])  # a cut inside a UTF-8 character moves to the next line
    for a, b in zip(cuts, cuts[1:]):
        LINES[a:b].decode("utf-8")  # every block is whole characters
    scans = [scan_block(str(path), a, b, "line", 2) for a, b in zip(cuts, cuts[1:])]
    assert sum(s.n_records for s in scans) == len(_records(LINES)) == 8


def test_rows_read_back_exactly(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes(LINES)
    recs = _records(LINES)
    for first in range(len(recs)):
        for last in range(first + 1, len(recs) + 1):
            data, begin = read_rows(str(path), (0, first), None if last == len(recs) else (0, last), "line")
            assert _records(data) == recs[first:last] and LINES[begin:begin + len(data)] == data


CONLL = ("-DOCSTART-\tO\n\nJohn\tB-PER\r\nlives\tO\r\n\r\n\r\n-EMPTY-\tO\n\n \t \n"
         "Zoë\tB-PER\nÉmile\tI-PER\n\n-DOCSTART-\tO\nParis\tB-LOC\n\nMary\tB-PER\nleft\tO")


@pytest.mark.parametrize("block", [1, 2, 5, 13, 40, 1000])
def test_conll_cuts_fall_after_blank_lines(tmp_path, block):
    path = tmp_path / "s.conll"
    path.write_bytes(CONLL.encode("utf-8"))
    data = path.read_bytes()
    cuts = cut_points(str(path), "sentence", block)
    for c in cuts[1:-1]:
        prev = data[:c].split(b"\n")[-2]
        assert not prev.strip() or prev.startswith(b"-DOCSTART-"), (c, prev)
    scans = [scan_block(str(path), a, b, "sentence", 1) for a, b in zip(cuts, cuts[1:])]
    assert sum(s.n_records for s in scans) == 5  # John lives / -EMPTY- / Zoë Émile / Paris / Mary left


@pytest.mark.parametrize("block, shard", [(1, 1), (7, 2), (30, 3), (10_000, 4)])
def test_tricky_inputs_give_the_single_process_output(tmp_path, block, shard):
    src = tmp_path / "src.conll"
    src.write_bytes(CONLL.encode("utf-8"))
    tgt = tmp_path / "tgt.txt"
    tgt.write_bytes("Yohana anaishi\r\n\nZoë Émile\r\nParisi\nMariamu aliondoka".encode("utf-8"))
    links = tmp_path / "links.pharaoh"
    links.write_bytes(b"0-0 1-1\r\n\n0-0 1-1\n0-0\n0-0 1-1")
    project_files(str(src), str(tgt), str(links), str(tmp_path / "single.conll"))
    res = align_project_local(src, tgt, tmp_path / "out", alignments=links, shard_size=shard, out_format="conll",
                              progress=False, block_bytes=block)
    assert res.n_pairs == 5
    assert (tmp_path / "out" / "projected.conll").read_bytes() == (tmp_path / "single.conll").read_bytes()
    assert (tmp_path / "out" / "alignments.pharaoh").read_text() == "0-0 1-1\n\n0-0 1-1\n0-0\n0-0 1-1\n"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_synthetic(tmp_path_factory.mktemp("synthetic"), 40, seed=5)


def test_manifest_lists_the_shards_in_order_and_resume_recomputes_a_killed_shard(tmp_path, corpus):
    out = tmp_path / "o"
    first = align_project_local(corpus.src, corpus.tgt, out, alignments=corpus.links, shard_size=6, progress=False,
                                block_bytes=300)
    want = (out / "projected.jsonl").read_bytes()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    rows = manifest["shards"]
    assert first.n_shards == 7 and [r["first"] for r in rows] == list(range(0, 40, 6)) and sum(r["n_pairs"] for r in rows) == 40
    import hashlib

    assert b"".join((out / r["projected"]).read_bytes() for r in rows) == want
    for r in rows:
        assert hashlib.sha256((out / r["pharaoh"]).read_bytes()).hexdigest() == r["pharaoh_sha256"]
    assert not list(out.rglob("*.tmp"))  # every file was written atomically
    # a kill-like interruption: shard 3's files are there (one half-written) but its record is not,
    # and the run died before the manifest
    key = rows[3]["key"]
    (out / "shards" / f"{key}.json").unlink()
    (out / "shards" / f"{key}.out").write_bytes(b"partial")
    (out / "manifest.json").unlink()
    again = align_project_local(corpus.src, corpus.tgt, out, alignments=corpus.links, shard_size=6, progress=False,
                                block_bytes=300)
    assert (again.shards_computed, again.shards_reused) == (1, 6)
    assert (out / "projected.jsonl").read_bytes() == want and (out / "manifest.json").is_file()
    # a record whose file no longer matches it (changed size) is not trusted either
    (out / "shards" / f"{rows[0]['key']}.pharaoh").write_bytes(b"0-0\n")
    assert align_project_local(corpus.src, corpus.tgt, out, alignments=corpus.links, shard_size=6, progress=False,
                               block_bytes=300).shards_computed == 1
    # a changed input changes the keys of the shards that hold the change
    changed = tmp_path / "links.pharaoh"
    lines = corpus.links.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[39] = " ".join(reversed(lines[39].split())) + "\n"  # same links, other order
    changed.write_text("".join(lines), encoding="utf-8")
    res = align_project_local(corpus.src, corpus.tgt, out, alignments=changed, shard_size=6, progress=False, block_bytes=300)
    assert 1 <= res.shards_computed < 7


def test_no_concat_leaves_the_shards_as_the_output(tmp_path, corpus):
    res = align_project_local(corpus.src, corpus.tgt, tmp_path / "o", alignments=corpus.links, shard_size=10,
                              progress=False, concat=False)
    assert res.projected == "" and not (tmp_path / "o" / "projected.jsonl").exists()
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text(encoding="utf-8"))
    got = b"".join((tmp_path / "o" / r["projected"]).read_bytes() for r in manifest["shards"])
    project_files(str(corpus.src), str(corpus.tgt), str(corpus.links), str(tmp_path / "single.jsonl"))
    assert len(manifest["shards"]) == 4 and got == (tmp_path / "single.jsonl").read_bytes()


def test_fsspec_urls_are_read_by_the_tasks(tmp_path, corpus):
    fsspec = pytest.importorskip("fsspec")
    want = align_project_local(corpus.src, corpus.tgt, tmp_path / "plain", alignments=corpus.links, shard_size=7,
                               progress=False)
    want_bytes = (tmp_path / "plain" / "projected.jsonl").read_bytes()
    urls = {p.name: f"file://{p}" for p in (corpus.src, corpus.tgt, corpus.links)}
    res = align_project_local(urls["src.conll"], urls["tgt.txt"], tmp_path / "file", alignments=urls["links.pharaoh"],
                              shard_size=7, progress=False, block_bytes=500)
    assert res.n_pairs == want.n_pairs and (tmp_path / "file" / "projected.jsonl").read_bytes() == want_bytes
    mem = fsspec.filesystem("memory")
    for p in (corpus.src, corpus.tgt, corpus.links):
        mem.pipe(f"/projner-test/{p.name}", p.read_bytes())
    try:
        res = align_project_local("memory://projner-test/src.conll", "memory://projner-test/tgt.txt", tmp_path / "mem",
                                  alignments="memory://projner-test/links.pharaoh", shard_size=7, progress=False,
                                  block_bytes=500)
        assert (tmp_path / "mem" / "projected.jsonl").read_bytes() == want_bytes
    finally:
        mem.rm("/projner-test", recursive=True)


def test_a_bad_line_in_a_later_shard_names_the_file_and_its_line(tmp_path, corpus, monkeypatch):
    from projner.scale import plan

    monkeypatch.setattr(plan, "PROBE_BYTES", 200)  # the driver's look at the first block misses the bad line
    src = tmp_path / "src.conll"
    lines = corpus.src.read_text(encoding="utf-8").split("\n")
    bad = next(i for i in range(200, len(lines)) if lines[i])  # a token line deep in the file
    lines[bad] = lines[bad] + "\textra"
    src.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(ProjnerError) as err:
        align_project_local(src, corpus.tgt, tmp_path / "o", alignments=corpus.links, shard_size=5, progress=False,
                            block_bytes=400)
    assert err.value.code is E.E261 and f"{src}:{bad + 1}: " in str(err.value) and "E002" in str(err.value)


def test_parallel_counts_are_checked_without_reading_on_the_driver(tmp_path, corpus):
    links = tmp_path / "links.pharaoh"
    links.write_text("".join(corpus.links.read_text(encoding="utf-8").splitlines(keepends=True)[:-1]), encoding="utf-8")
    with pytest.raises(ProjnerError) as err:
        align_project_local(corpus.src, corpus.tgt, tmp_path / "o", alignments=links, progress=False, block_bytes=100)
    assert err.value.code is E.E001 and "39" in str(err.value) and "40" in str(err.value)


def test_priors_settings(tmp_path, corpus):
    from projner.scale.priors import sample_rows

    runs = sample_rows(1000, 100)
    assert sum(b - a for a, b in runs) == 100 and runs == sample_rows(1000, 100) and runs[0][0] == 0 and runs[-1][1] <= 1000
    assert sum(b - a for a, b in sample_rows(10, 100)) == 10 and sample_rows(0, 5) == []
    with pytest.raises(ProjnerError) as err:
        align_project_local(corpus.src, corpus.tgt, tmp_path / "o", alignments=corpus.links, priors=str(corpus.links),
                            progress=False)
    assert err.value.code is E.E265



def test_cli_scale_takes_urls_and_no_concat(tmp_path, corpus, capsys):
    from testutil import run_cli

    out = tmp_path / "cli"
    code, _, err = run_cli(["scale", "--src", f"file://{corpus.src}", "--tgt", f"file://{corpus.tgt}",
                            "--align", f"file://{corpus.links}", "--out", str(out), "--local", "--shard-size", "9",
                            "--no-concat", "-q"], capsys)
    assert code == 0, err
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert len(manifest["shards"]) == 5 and not (out / "projected.jsonl").exists()
    code, _, err = run_cli(["scale", "--src", str(tmp_path / "missing.conll"), "--tgt", str(corpus.tgt), "--align",
                            str(corpus.links), "--out", str(out), "--local", "-q"], capsys)
    assert code != 0 and "missing.conll" in err


def test_jsonl_inputs_with_blank_lines_crlf_and_no_final_line_end(tmp_path):
    # JSONL records are the non-blank lines (the reader skips blank ones); tags in IOBES
    src = tmp_path / "src.jsonl"
    src.write_text('{"tokens": ["Paris"], "ner_tags": ["S-LOC"]}\n\n'
                   '{"tokens": ["New", "York", "is"], "ner_tags": ["B-LOC", "E-LOC", "O"]}\r\n'
                   '{"tokens": ["Ana"], "ner_tags": ["S-PER"]}', encoding="utf-8")
    tgt = tmp_path / "tgt.jsonl"
    tgt.write_text('{"tokens": ["Parisi"]}\n{"tokens": ["New", "York", "ni"]}\n\n{"tokens": ["Ana"]}\n', encoding="utf-8")
    links = tmp_path / "l.pharaoh"
    links.write_text("0-0\n0-0 1-1 2-2\n0-0\n", encoding="utf-8")
    project_files(str(src), str(tgt), str(links), str(tmp_path / "single.jsonl"))
    for block in (1, 20, 10_000):
        res = align_project_local(src, tgt, tmp_path / f"o{block}", alignments=links, shard_size=1, progress=False,
                                  block_bytes=block)
        assert res.n_pairs == 3 and res.projection["n_projected"] == 3
        assert (tmp_path / f"o{block}" / "projected.jsonl").read_bytes() == (tmp_path / "single.jsonl").read_bytes()


def test_shared_priors_are_trained_once_on_a_deterministic_sample(tmp_path, monkeypatch):
    import projner.align.priors as align_priors
    from projner.scale import priors as scale_priors

    calls = []

    def fake_train(src, tgt, out_path, **params):  # stands in for eflomal: writes a priors file
        calls.append((len(src), len(tgt), dict(params)))
        from pathlib import Path

        Path(out_path).parent.mkdir(parents=True, exist_ok=True)
        Path(out_path).write_text(f"LEX\ta\tb\t{len(src)}\n", encoding="utf-8")

    monkeypatch.setattr(scale_priors, "aligner_takes_priors", lambda: True)
    monkeypatch.setattr(align_priors, "train_priors", fake_train, raising=False)
    rows = []

    def read_sample(runs):
        rows.append(list(runs))
        n = sum(b - a for a, b in runs)
        return [["w"]] * n, [["v"]] * n

    given = {"n_samplers": 1}
    params, sha = scale_priors.prepare_priors(given, priors=None, sample=50, n=1000, read_sample=read_sample,
                                              out_dir=tmp_path, log=lambda m: None)
    assert given == {"n_samplers": 1}  # not mutated
    assert calls == [(50, 50, {"n_samplers": 1})] and params["n_samplers"] == 1 and sha
    assert params["priors"].startswith(str(tmp_path / "priors")) and sum(b - a for a, b in rows[0]) == 50
    again, sha2 = scale_priors.prepare_priors(given, priors=None, sample=50, n=1000, read_sample=read_sample,
                                              out_dir=tmp_path, log=lambda m: None)
    assert (again, sha2) == (params, sha) and len(calls) == 1 and rows[1] == rows[0]  # same sample, file reused
    none, no_sha = scale_priors.prepare_priors(given, priors=None, sample=0, n=1000, read_sample=read_sample,
                                               out_dir=tmp_path, log=lambda m: None)
    assert none == given and no_sha == {}
    import hashlib
    from pathlib import Path

    assert sha["sha256"] == hashlib.sha256(Path(params["priors"]).read_bytes()).hexdigest()
    assert sha["source"] == "trained" and sha["sample"]["pairs"] == 50 and sha["sample"]["runs"] == [list(r) for r in rows[0]]
