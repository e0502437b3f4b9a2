import json
import random

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from projner.align.base import Aligner  # noqa: E402
from projner.align.neural import NeuralAligner  # noqa: E402
from projner.errors import E, ProjnerError  # noqa: E402
from projner.registry import aligners  # noqa: E402

EN = "the european parliament adopted the resolution on human rights today".split()
DE = "das europäische parlament hat heute die entschließung zu den menschenrechten angenommen".split()
ES = "el parlamento europeo aprobó hoy la resolución sobre los derechos humanos".split()
IT = "il parlamento europeo ha approvato oggi la risoluzione sui diritti umani".split()
MR = "mr president , ladies and gentlemen , the commission welcomes this report .".split()


def pairs_of(aligns):
    return [sorted(a.pairs) for a in aligns]


@pytest.fixture(scope="module")
def make(tiny_bert):
    cache = {}

    def _make(**kw):
        key = json.dumps(kw, sort_keys=True, default=str)
        if key not in cache:
            kw.setdefault("layer", 2)
            kw.setdefault("device", "cpu")
            cache[key] = NeuralAligner(str(tiny_bert), **kw)
        return cache[key]

    return _make


@pytest.mark.parametrize("method", ["argmax", "itermax", "match"])
@pytest.mark.parametrize("pooling", ["mean", "first", "subword"])
def test_identical_sentences_align_diagonally(make, method, pooling):
    al = make(method=method, pooling=pooling)
    out = al.align([EN, DE, ES], [EN, DE, ES])
    for sent, a in zip([EN, DE, ES], out):
        assert sorted(a.pairs) == [(i, i) for i in range(len(sent))]
        assert all(abs(l.score - 1.0) < 1e-5 for l in a)


def test_protocol_signature_and_registry(tiny_bert):
    al = aligners.create("neural", model=str(tiny_bert), layer=3, method="match", batch_size=4, device="cpu")
    assert isinstance(al, Aligner)
    sig = al.signature()
    assert "layer:3" in sig and "method:match" in sig and "pooling:mean" in sig
    assert aligners.resolve("neural") == "projner.aligner.neural.v1"


def test_encoder_stops_at_the_layer(tiny_bert, make):
    import torch
    from transformers import AutoModel, AutoTokenizer

    al = make(pooling="subword")
    assert len(al._model.encoder.layer) == 2  # layers above the chosen one are never built
    full = AutoModel.from_pretrained(str(tiny_bert)).eval()
    tok = AutoTokenizer.from_pretrained(str(tiny_bert))
    enc = tok([EN], is_split_into_words=True, return_tensors="pt")
    with torch.no_grad():
        ref = full(**enc, output_hidden_states=True).hidden_states[2][0, 1:-1].numpy()
    got = al.embed([EN])[0].units
    assert got.shape == ref.shape
    assert np.allclose(got, ref, atol=1e-5)


@pytest.mark.parametrize("method", ["argmax", "itermax", "match", "softmax"])
def test_methods_on_a_real_pair(make, method):
    al = make(method=method)
    (a,) = al.align([EN], [DE])
    m = np.zeros((len(EN), len(DE)), dtype=bool)
    for l in a:
        m[l.src, l.tgt] = True
    if method == "match":
        assert m.sum() == min(m.shape) and m.sum(0).max() <= 1 and m.sum(1).max() <= 1
    if method == "itermax":
        (am,) = make(method="argmax").align([EN], [DE])
        assert am.pairs <= a.pairs
    if method == "softmax":
        assert all(0 < l.score <= 1 for l in a)


def test_batching_and_length_sorting_do_not_change_links(make, tiny_bert):
    src = [EN, DE, ES, IT, MR, EN[:3], MR[::-1], DE[2:]]
    tgt = [DE, ES, IT, EN, MR[::-1], ES[:4], MR, IT]
    big = make(batch_size=16, method="itermax")
    small = NeuralAligner(str(tiny_bert), layer=2, device="cpu", batch_size=1, method="itermax")
    together = big.align(src, tgt)
    one_by_one = [small.align([s], [t])[0] for s, t in zip(src, tgt)]
    assert pairs_of(together) == pairs_of(one_by_one)
    for a, b in zip(together, one_by_one):
        assert np.allclose([l.score for l in a], [l.score for l in b], atol=1e-5)


def test_windows_equal_unwindowed_when_sentence_fits(make):
    a = make(method="itermax", pooling="subword")
    b = make(method="itermax", pooling="subword", max_length=64)
    src, tgt = [EN, MR], [DE, MR[::-1]]
    assert pairs_of(a.align(src, tgt)) == pairs_of(b.align(src, tgt))
    assert b.stats["windowed_sentences"] == 0


def test_short_windows_keep_every_word(make):
    al = make(method="argmax", max_length=12, window_overlap=4)
    long = (EN + MR + DE)[:30]
    (a,) = al.align([long], [long])
    assert al.stats["windowed_sentences"] == 1
    assert sorted(a.pairs) == [(i, i) for i in range(len(long))]


def test_1500_subword_sentence_is_windowed_not_truncated(make, tiny_bert):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny_bert))
    rng = random.Random(0)
    words: list[str] = []
    seen: set[str] = set()
    n_sub = 0
    while n_sub < 1500:  # distinct random words of letters the vocabulary knows (no [UNK])
        w = "".join(rng.choice("abcdeghilmnoprstu") for _ in range(rng.randint(4, 9)))
        if w in seen:
            continue
        seen.add(w)
        words.append(w)
        n_sub += len(tok.tokenize(w))
    al = make(method="argmax", pooling="mean")
    (a,) = al.align([words], [words])
    assert al.stats["windowed_sentences"] >= 1
    enc = make(pooling="subword").embed([words])[0]
    assert enc.units.shape[0] == n_sub >= 1500  # every subword has a vector
    # identical input: every word aligns to itself (nothing beyond the limit is lost)
    assert sorted(a.pairs) == [(i, i) for i in range(len(words))]


def test_cache_hit_gives_identical_output(tiny_bert, tmp_path):
    src, tgt = [EN, MR, []], [DE, MR[::-1], ES]
    first = NeuralAligner(str(tiny_bert), layer=2, device="cpu", cache_dir=tmp_path / "c")
    out1 = first.align(src, tgt)
    assert first.stats["cache_misses"] == 4 and first.stats["cache_hits"] == 0
    files = list((tmp_path / "c").rglob("*.npy"))
    assert len(files) == 4
    second = NeuralAligner(str(tiny_bert), layer=2, device="cpu", cache_dir=tmp_path / "c")
    out2 = second.align(src, tgt)
    assert second.stats["cache_hits"] == 4 and second.stats["forward_passes"] == 0
    assert [[(l.src, l.tgt, l.score) for l in a] for a in out1] == [[(l.src, l.tgt, l.score) for l in a] for a in out2]
    # another layer is another key
    third = NeuralAligner(str(tiny_bert), layer=3, device="cpu", cache_dir=tmp_path / "c")
    third.align(src, tgt)
    assert third.stats["cache_hits"] == 0


def test_corrupt_cache_file_is_recomputed(tiny_bert, tmp_path):
    al = NeuralAligner(str(tiny_bert), layer=2, device="cpu", cache_dir=tmp_path)
    ref = al.align([EN], [DE])
    for f in tmp_path.rglob("*.npy"):
        f.write_bytes(b"garbage")
    again = NeuralAligner(str(tiny_bert), layer=2, device="cpu", cache_dir=tmp_path)
    assert pairs_of(again.align([EN], [DE])) == pairs_of(ref)
    assert again.stats["cache_unreadable"] == 2


def test_empty_sentences_give_empty_alignments(make):
    al = make()
    before = al.stats["empty_pairs"]
    out = al.align([EN, [], []], [[], DE, []])
    assert all(len(a) == 0 for a in out)
    assert al.stats["empty_pairs"] - before == 3


def test_words_without_subwords_are_mapped_and_counted(make):
    al = make(method="itermax")
    before = al.stats["zero_subword_words"]
    src = ["the", "\u200b", "parliament", "\x07"]
    (a,) = al.align([src], [src])
    assert al.stats["zero_subword_words"] - before == 2  # counted once per distinct sentence
    assert {i for i, _ in a.pairs} == {0, 1, 2, 3}


def test_inputs_are_not_mutated(make):
    src, tgt = [list(EN)], [list(DE)]
    make().align(src, tgt)
    assert src == [EN] and tgt == [DE]


def test_bad_inputs_raise_clear_errors(tiny_bert, tmp_path, make):
    al = make()
    with pytest.raises(ProjnerError) as e:
        al.align([EN, DE], [DE])
    assert e.value.code is E.E001
    with pytest.raises(ProjnerError) as e:
        al.align(["a plain string"], [DE])
    assert e.value.code is E.E105
    with pytest.raises(ProjnerError) as e:
        NeuralAligner(str(tiny_bert), layer=5)
    assert e.value.code is E.E102 and "4 layers" in str(e.value)
    with pytest.raises(ProjnerError) as e:
        NeuralAligner(str(tiny_bert), method="greedy")
    assert e.value.code is E.E103
    with pytest.raises(ProjnerError) as e:
        NeuralAligner(str(tiny_bert), pooling="max")
    assert e.value.code is E.E104
    with pytest.raises(ProjnerError) as e:
        NeuralAligner(str(tmp_path))  # a folder without config.json
    assert e.value.code is E.E101
    gpt = tmp_path / "gpt2"
    gpt.mkdir()
    (gpt / "config.json").write_text(json.dumps({"model_type": "gpt2", "n_layer": 2, "n_embd": 8, "n_head": 2}))
    with pytest.raises(ProjnerError) as e:
        NeuralAligner(str(gpt))
    assert e.value.code is E.E101 and "decoder-only" in str(e.value)
    with pytest.raises(ProjnerError) as e:
        NeuralAligner("no-such-org/no-such-model-xyz")
    assert e.value.code is E.E101


def test_layer_zero_and_negative_layers(tiny_bert):
    al = NeuralAligner(str(tiny_bert), layer=-1, device="cpu")
    assert "layer:4" in al.signature()
    emb = NeuralAligner(str(tiny_bert), layer=0, device="cpu", method="argmax")
    (a,) = emb.align([EN], [EN])
    assert sorted(a.pairs) == [(i, i) for i in range(len(EN))]


def test_short_model_limit_is_respected(tmp_path, tiny_bert_builder):
    path = tiny_bert_builder(tmp_path / "short", max_position_embeddings=24, num_hidden_layers=2)
    al = NeuralAligner(str(path), layer=2, device="cpu", method="argmax")
    long = EN + MR + DE  # over 22 subwords: windows are needed
    (a,) = al.align([long], [long])
    assert al.stats["windowed_sentences"] == 1
    assert sorted(a.pairs) == [(i, i) for i in range(len(long))]
    with pytest.raises(ProjnerError):
        NeuralAligner(str(path), layer=2, max_length=100)


def test_speed_switches_do_not_change_links(make):
    src, tgt = [EN, MR, DE[3:]], [DE, MR[::-1], ES]
    ref = make(method="itermax", pooling="subword").align(src, tgt)
    full = make(method="itermax", pooling="subword", stop_at_layer=False, sort_by_length=False)
    assert len(full._model.encoder.layer) == 4
    assert pairs_of(full.align(src, tgt)) == pairs_of(ref)


def test_pool_words_from_subwords(make):
    from projner.align.neural import pool_words

    sub = make(pooling="subword").embed([DE])[0]
    for pooling in ("mean", "first"):
        direct = make(pooling=pooling).embed([DE])[0]
        assert np.allclose(pool_words(sub, pooling).units, direct.units, atol=1e-6)


def test_bfloat16_precision(tiny_bert, monkeypatch):
    import torch

    from projner.align import neural

    monkeypatch.setattr(neural, "native_bf16", lambda: True)  # as on a CPU with AVX512-BF16 / AMX
    al = NeuralAligner(str(tiny_bert), layer=2, device="cpu", method="argmax", precision="bfloat16")
    assert al._runner.dtype == torch.bfloat16
    (a,) = al.align([EN], [EN])
    assert sorted(a.pairs) == [(i, i) for i in range(len(EN))]
    assert "precision:bfloat16" in al.signature()
    with pytest.raises(ProjnerError):
        NeuralAligner(str(tiny_bert), layer=2, precision="int4")


# ---------------------------------------------------------------------- packed encoder, precisions
def test_packed_path_equals_transformers_forward_and_batching(make, tiny_bert):
    """The packed CPU encoder gives the transformers forward pass's vectors, and batched ==
    unbatched links in one process (padding, windows and batch composition do not matter)."""
    src = [EN, DE, ES, IT, MR, EN[:3], MR[::-1], DE[2:], (EN + MR + DE)[:30]]
    tgt = [DE, ES, IT, EN, MR[::-1], ES[:4], MR, IT, (DE + EN)[:25]]
    packed = make(method="itermax", pooling="subword", batch_size=4)
    assert packed.encoder_path.startswith("packed")
    hf = make(method="itermax", pooling="subword", batch_size=4, fast_path=False)
    assert hf.encoder_path == "transformers"
    for a, b in zip(packed.embed(src + tgt), hf.embed(src + tgt)):
        assert a.units.shape == b.units.shape
        assert np.allclose(a.units, b.units, atol=1e-5)
    one = make(method="itermax", pooling="subword", batch_size=1, sort_by_length=False)
    batched = packed.align(src, tgt)
    assert pairs_of(batched) == pairs_of([one.align([s], [t])[0] for s, t in zip(src, tgt)])
    assert pairs_of(batched) == pairs_of(hf.align(src, tgt))
    windowed = make(method="itermax", pooling="subword", batch_size=3, max_length=12, window_overlap=4)
    long = (EN + MR + DE)[:30]
    (w,) = windowed.align([long], [long])
    assert sorted(w.pairs) == [(i, i) for i in range(len(long))]


def test_int8_precision(make, tiny_bert):
    import torch

    al = make(method="argmax", precision="int8")
    assert al.encoder_path == "packed-int8"
    assert "precision:int8" in al.signature()
    lin = al._runner.layers[0].qkv.mod
    assert isinstance(lin, torch.ao.nn.quantized.dynamic.Linear) and lin.weight().dtype == torch.qint8
    (a,) = al.align([EN], [EN])
    assert sorted(a.pairs) == [(i, i) for i in range(len(EN))]
    # int8 vectors are close to, not equal to, the float32 ones
    f32 = make(method="argmax").embed([EN, DE])
    q8 = al.embed([EN, DE])
    for x, y in zip(f32, q8):
        cos = (x.units * y.units).sum(1) / np.linalg.norm(x.units, axis=1) / np.linalg.norm(y.units, axis=1)
        assert cos.min() > 0.95 and not np.array_equal(x.units, y.units)
    # the transformers path quantises the model's own Linear layers
    hf = NeuralAligner(str(tiny_bert), layer=2, device="cpu", precision="int8", fast_path=False, method="argmax")
    assert hf.encoder_path == "transformers" and "precision:int8" in hf.signature()
    assert not any(type(m) is torch.nn.Linear for m in hf._runner.model.encoder.modules())
    (b,) = hf.align([EN], [EN])
    assert sorted(b.pairs) == [(i, i) for i in range(len(EN))]
    assert al.signature() != make(method="argmax").signature()  # different cache key, different signature


def test_int8_links_do_not_depend_on_the_batch(make, tiny_bert):
    """Per-token activation scales: a sentence's int8 vectors are the same alone or in a batch."""
    src = [EN, DE, ES, IT, MR, EN[:3], MR[::-1], DE[2:]]
    tgt = [DE, ES, IT, EN, MR[::-1], ES[:4], MR, IT]
    big = make(method="itermax", pooling="subword", precision="int8", batch_size=8)
    one = make(method="itermax", pooling="subword", precision="int8", batch_size=1, sort_by_length=False)
    for a, b in zip(big.embed(src + tgt), one.embed(src + tgt)):
        assert np.allclose(a.units, b.units, atol=1e-5)
    assert pairs_of(big.align(src, tgt)) == pairs_of([one.align([s], [t])[0] for s, t in zip(src, tgt)])


def test_int8_needs_the_cpu(tiny_bert):
    import torch

    from projner.align import neural_encoder

    loaded = neural_encoder.load_encoder(str(tiny_bert), 2, True)
    with pytest.raises(ProjnerError) as e:
        neural_encoder.build_runner(loaded, torch.device("meta"), "int8", fast_path=True, probe=[[2, 1, 3]], pad=0)
    assert e.value.code is E.E109


def test_bfloat16_without_native_support_falls_back_to_float32(tiny_bert, monkeypatch):
    import torch

    from projner.align import neural

    monkeypatch.setattr(neural, "native_bf16", lambda: False)
    with pytest.warns(RuntimeWarning, match="no native bf16"):
        al = NeuralAligner(str(tiny_bert), layer=2, device="cpu", precision="bfloat16", method="argmax")
    sig = al.signature()
    assert "precision:float32[bfloat16-requested:cpu-lacks-native-bf16]" in sig
    assert al.stats["bf16_fallback"] == 1 and al._runner.dtype == torch.float32
    ref = NeuralAligner(str(tiny_bert), layer=2, device="cpu", method="argmax")
    assert np.array_equal(al.embed([EN])[0].units, ref.embed([EN])[0].units)


def test_native_bf16_reads_cpu_flags(tmp_path):
    from projner.models.encoders import native_bf16

    f = tmp_path / "cpuinfo"
    f.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_vnni\n")
    assert native_bf16(f) is False
    f.write_text("processor\t: 0\nflags\t\t: fpu avx512f avx512_bf16 avx512_vnni\n")
    assert native_bf16(f) is True
    f.write_text("processor\t: 0\nflags\t\t: fpu amx_bf16 amx_tile\n")
    assert native_bf16(f) is True


def test_packed_path_is_off_when_it_disagrees_or_does_not_fit(tiny_bert, tmp_path, monkeypatch):
    from transformers import BertTokenizerFast, DistilBertConfig, DistilBertModel

    from projner.align import neural_encoder

    # a model without BERT-style layers runs through transformers
    tok = BertTokenizerFast.from_pretrained(str(tiny_bert))
    d = tmp_path / "distil"
    tok.save_pretrained(str(d))
    cfg = DistilBertConfig(vocab_size=tok.vocab_size, dim=32, n_layers=3, n_heads=4, hidden_dim=64, max_position_embeddings=128)
    DistilBertModel(cfg).eval().save_pretrained(str(d))
    al = NeuralAligner(str(d), layer=2, device="cpu", method="argmax")
    assert al.encoder_path == "transformers"
    (a,) = al.align([EN], [EN])
    assert sorted(a.pairs) == [(i, i) for i in range(len(EN))]
    # a packed encoder that disagrees with the transformers forward pass on the probe is not used
    real = neural_encoder.PackedEncoder.encode
    monkeypatch.setattr(neural_encoder.PackedEncoder, "encode", lambda self, ids, lengths: [v + 1.0 for v in real(self, ids, lengths)])
    off = NeuralAligner(str(tiny_bert), layer=2, device="cpu")
    assert off.encoder_path == "transformers"
