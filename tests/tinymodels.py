"""Tiny randomly initialised models for tests (no hub): built in well under a second."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable


def build_tiny_bert(path: str | Path, texts: Iterable[str], *, vocab_size: int = 200, seed: int = 0) -> str:
    """A 2-layer BERT (hidden 32) with a cased WordPiece vocabulary trained on ``texts`` plus the
    alphabet; tokenizer and weights saved to ``path`` as a standard transformers folder."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import BertConfig, BertModel, BertTokenizerFast

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=False)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=specials)
    tok.train_from_iterator(list(texts) + ["a b c d e f g h i j k l m n o p q r s t u v w x y z"], trainer)
    fast = BertTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                             sep_token="[SEP]", mask_token="[MASK]", do_lower_case=False)
    fast.save_pretrained(path)
    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=len(fast), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=64)
    BertModel(cfg).save_pretrained(path)
    return str(path)
