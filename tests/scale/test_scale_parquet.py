"""Issue 16: Parquet in (blocks = row groups) and out (a shard per file, a dataset with --no-concat)."""

from __future__ import annotations

import json

import pytest

from projner.data.formats import ReadOptions, parse_pharaoh_line, read_corpus
from projner.data.schemes import encode
from projner.errors import E, ProjnerError
from projner.scale.distributed import align_project_local
from projner.scale.synthetic import write_synthetic

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_synthetic(tmp_path_factory.mktemp("synthetic"), 23, seed=3)


def _hf_schema(fields):
    """A schema with the metadata ``datasets`` writes: ner_tags is a sequence of ClassLabel."""
    meta = {"info": {"features": {"tokens": {"feature": {"dtype": "string", "_type": "Value"}, "_type": "Sequence"},
                                  "ner_tags": {"feature": {"names": LABELS, "_type": "ClassLabel"}, "_type": "Sequence"}}}}
    return pa.schema(fields, metadata={b"huggingface": json.dumps(meta).encode()})


def _write_parquet(corpus, folder, *, ids=True, pair=False, rg=4):
    """The synthetic corpus as Parquet: source (tokens + ner_tags ids, ClassLabel names in the
    metadata, or tag strings) and target (tokens) files, or one pair file (tgt_tokens)."""
    src = read_corpus(corpus.src).sentences
    tags = [list(encode(s.spans, len(s), "iob2")) for s in src]
    tgt = [line.split() for line in corpus.tgt.read_text(encoding="utf-8").splitlines()]
    cols = {"tokens": [list(s.tokens) for s in src],
            "ner_tags": [[LABELS.index(t) for t in ts] for ts in tags] if ids else tags}
    fields = [("tokens", pa.list_(pa.string())), ("ner_tags", pa.list_(pa.int64() if ids else pa.string()))]
    folder.mkdir(parents=True, exist_ok=True)
    if pair:
        cols["tgt_tokens"] = tgt
        fields.append(("tgt_tokens", pa.list_(pa.string())))
        pq.write_table(pa.table(cols, schema=_hf_schema(fields)), folder / "pairs.parquet", row_group_size=rg)
        return folder / "pairs.parquet", None
    pq.write_table(pa.table(cols, schema=_hf_schema(fields)), folder / "src.parquet", row_group_size=rg)
    pq.write_table(pa.table({"tokens": tgt}), folder / "tgt.parquet", row_group_size=rg + 1)
    return folder / "src.parquet", folder / "tgt.parquet"


@pytest.mark.parametrize("ids, pair, rg, block, shard", [(True, False, 4, 1, 5), (False, True, 3, 200, 7),
                                                        (True, True, 100, 10_000, 2)])
def test_parquet_in_gives_the_jsonl_output(tmp_path, corpus, ids, pair, rg, block, shard):
    want = align_project_local(corpus.src, corpus.tgt, tmp_path / "text", alignments=corpus.links, shard_size=shard,
                               progress=False)
    src, tgt = _write_parquet(corpus, tmp_path / "pq", ids=ids, pair=pair, rg=rg)
    got = align_project_local(src, tgt, tmp_path / "pq_out", alignments=corpus.links, shard_size=shard, progress=False,
                              block_bytes=block)
    assert got.n_pairs == 23 and got.n_shards == want.n_shards
    assert (tmp_path / "pq_out" / "projected.jsonl").read_bytes() == (tmp_path / "text" / "projected.jsonl").read_bytes()
    assert got.projection == want.projection and got.projection["n_source"] > 20
    again = align_project_local(src, tgt, tmp_path / "pq_out", alignments=corpus.links, shard_size=shard,
                                progress=False, block_bytes=block)
    assert (again.shards_computed, again.shards_reused) == (0, want.n_shards)  # row-group digests are stable


def test_parquet_out_reads_back_as_the_text_output(tmp_path, corpus):
    import pyarrow.dataset as ds

    text = align_project_local(corpus.src, corpus.tgt, tmp_path / "text", alignments=corpus.links, shard_size=5,
                               progress=False)
    res = align_project_local(corpus.src, corpus.tgt, tmp_path / "pq", alignments=corpus.links, shard_size=5,
                              progress=False, out_format="parquet", concat=False)
    assert res.projected == "" and not (tmp_path / "pq" / "projected.parquet").exists()
    manifest = json.loads((tmp_path / "pq" / "manifest.json").read_text())
    assert [s["part"] for s in manifest["shards"]] == [f"dataset/part-{i:05d}.parquet" for i in range(5)]
    assert all(s["projected"].endswith(".parquet") for s in manifest["shards"])
    rows = ds.dataset(res.dataset, format="parquet").to_table().to_pylist()  # the folder is a dataset
    assert [r["row"] for r in rows] == list(range(23))
    want = read_corpus(tmp_path / "text" / "projected.jsonl").sentences
    assert [r["tokens"] for r in rows] == [list(s.tokens) for s in want]
    assert [r["ner_tags"] for r in rows] == [list(encode(s.spans, len(s), "iob2")) for s in want]
    assert [[(x["start"], x["end"], x["label"]) for x in r["spans"]] for r in rows] == \
        [[(s.start, s.end, s.label) for s in w.spans] for w in want]
    links = [parse_pharaoh_line(x) for x in corpus.links.read_text(encoding="utf-8").splitlines()]
    assert [sorted((x["src"], x["tgt"]) for x in r["alignment"]) for r in rows] == \
        [sorted((k.src, k.tgt) for k in a.links) for a in links]
    assert res.projection == text.projection
    # concatenated: one Parquet file with the same rows; the shards are reused
    again = align_project_local(corpus.src, corpus.tgt, tmp_path / "pq", alignments=corpus.links, shard_size=5,
                                progress=False, out_format="parquet")
    assert again.shards_reused == 5 and again.projected.endswith("projected.parquet")
    assert pq.read_table(again.projected).to_pylist() == rows


def test_parquet_dataset_folder_loads_with_datasets(tmp_path, corpus):
    datasets = pytest.importorskip("datasets")
    res = align_project_local(corpus.src, corpus.tgt, tmp_path / "pq", alignments=corpus.links, shard_size=5,
                              progress=False, out_format="parquet", concat=False)
    loaded = datasets.load_dataset("parquet", data_dir=res.dataset, split="train")
    assert sorted(loaded["row"]) == list(range(23))


def test_parquet_input_errors_name_the_file_and_row(tmp_path, corpus):
    src, tgt = _write_parquet(corpus, tmp_path / "pq", ids=True)
    bad = tmp_path / "bad.parquet"
    table = pq.read_table(src)
    tags = table.column("ner_tags").to_pylist()
    tags[9] = [99] * len(tags[9])  # row 10: a tag id out of range of the label list
    pq.write_table(table.set_column(1, "ner_tags", pa.array(tags, pa.list_(pa.int64()))).replace_schema_metadata(
        table.schema.metadata), bad, row_group_size=4)
    with pytest.raises(ProjnerError) as err:
        align_project_local(bad, tgt, tmp_path / "o", alignments=corpus.links, shard_size=5, progress=False,
                            options=ReadOptions(scheme="iob2"))
    assert err.value.code is E.E261 and f"{bad}:10" in str(err.value) and "out of range" in str(err.value)
    no_names = tmp_path / "nonames.parquet"  # integer tags and neither metadata nor --labels
    pq.write_table(table.replace_schema_metadata(None), no_names)
    with pytest.raises(ProjnerError) as err:
        align_project_local(no_names, tgt, tmp_path / "o2", alignments=corpus.links, progress=False)
    assert err.value.code is E.E012 and err.value.file == str(no_names) and err.value.line == 1
    with pytest.raises(ProjnerError) as err:  # one file as both sides needs a target column
        align_project_local(src, None, tmp_path / "o3", alignments=corpus.links, progress=False)
    assert err.value.code is E.E266 and "tgt_tokens" in str(err.value)
    pq.write_table(pa.table({"words": [["a"]]}), tmp_path / "nocol.parquet")
    with pytest.raises(ProjnerError) as err:
        align_project_local(tmp_path / "nocol.parquet", tgt, tmp_path / "o4", alignments=corpus.links, progress=False)
    assert err.value.code is E.E266 and "no 'tokens' column" in str(err.value)
    with pytest.raises(ProjnerError) as err:
        align_project_local(corpus.src, None, tmp_path / "o5", alignments=corpus.links, progress=False)
    assert err.value.code is E.E260


def test_cli_scale_parquet_in_and_out(tmp_path, corpus):
    import typer
    from typer.testing import CliRunner

    from projner.cli import scale as scale_cli

    src, _ = _write_parquet(corpus, tmp_path / "pq", pair=True)
    app = typer.Typer()
    scale_cli.register(app)
    app.command("noop")(lambda: None)
    res = CliRunner().invoke(app, ["scale", "--src", str(src), "--align", str(corpus.links), "--out", str(tmp_path / "cli"),
                                   "--local", "--shard-size", "10", "--output-format", "parquet", "--no-concat", "-q"])
    assert res.exit_code == 0, res.output
    parts = sorted((tmp_path / "cli" / "dataset").glob("part-*.parquet"))
    assert len(parts) == 3 and sum(pq.read_metadata(p).num_rows for p in parts) == 23


def test_ray_reads_parquet_row_groups_and_writes_the_local_output(tmp_path, corpus):
    ray = pytest.importorskip("ray")
    from projner.scale.distributed import align_project_distributed

    src, tgt = _write_parquet(corpus, tmp_path / "pq", rg=3)
    local = align_project_local(src, tgt, tmp_path / "local", alignments=corpus.links, shard_size=6, progress=False,
                                out_format="parquet")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        res = align_project_distributed(src, tgt, tmp_path / "ray", alignments=corpus.links, shard_size=6,
                                        progress=False, out_format="parquet", block_bytes=50)
    finally:
        ray.shutdown()
    assert res.mode == "ray" and res.n_shards == 4 == res.shards_computed
    assert pq.read_table(res.projected).to_pylist() == pq.read_table(local.projected).to_pylist()
