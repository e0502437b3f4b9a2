"""A tiny randomly initialised BERT (WordPiece trained on a few sentences), saved to a temp folder."""

from __future__ import annotations

import pytest

CORPUS = [
    "the european parliament adopted the resolution on human rights today",
    "das europäische parlament hat heute die entschließung zu den menschenrechten angenommen",
    "el parlamento europeo aprobó hoy la resolución sobre los derechos humanos",
    "il parlamento europeo ha approvato oggi la risoluzione sui diritti umani",
    "mr president , ladies and gentlemen , the commission welcomes this report .",
    "herr präsident , meine damen und herren , die kommission begrüßt diesen bericht .",
]


def build_tiny_bert(path, *, max_position_embeddings: int = 512, num_hidden_layers: int = 4, seed: int = 0):
    import torch
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertModel, BertTokenizerFast

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=200, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    tok.train_from_iterator(CORPUS, trainer=trainer)
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    tok.decoder = decoders.WordPiece()
    fast = BertTokenizerFast(tokenizer_object=tok, model_max_length=max_position_embeddings)
    fast.save_pretrained(str(path))
    torch.manual_seed(seed)
    cfg = BertConfig(
        vocab_size=tok.get_vocab_size(),
        hidden_size=32,
        num_hidden_layers=num_hidden_layers,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=max_position_embeddings,
    )
    BertModel(cfg).eval().save_pretrained(str(path))
    return path


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory):
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def tiny_bert_builder():
    return build_tiny_bert
