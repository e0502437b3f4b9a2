"""A tiny NLLB-style MT model (M2M100 architecture) whose weights are SET, not trained.

Why constructed: a model trained inside a test decodes differently on different CPUs (float
reductions differ between AMD and Intel kernels, and 300 Adam steps amplify the difference), so
its exact outputs cannot be asserted. This model is a word-for-word dictionary between the toy
languages ``eng_Latn`` and ``swh_Latn`` built by hand, with every decision (which source position
to read, which output language, which word) won by a large logit margin — far beyond any float
difference between machines or backends (transformers vs CTranslate2). :func:`min_margin`
measures that margin and :func:`build_tiny_mt` refuses to save a model below ``MIN_MARGIN``.

How it works (one encoder layer, one decoder layer, one attention head each; ``d_model`` 160):

* Residual dimensions are split: the 2x``POS_FREQS`` highest-frequency sinusoidal dimensions
  carry only the (fixed, non-learned) position encoding; the rest carry one-hot features.
  Every token embedding is ``FEATURE`` times the sum of three one-hots — concept (the dictionary entry:
  ``man``/``mtu`` share one), language class (eng / swh / neutral for names, punctuation and
  ``</s>`` / none) and "is a language token" yes/no — minus three times that on a sink dimension, so all
  embeddings have mean 0 and the same norm (LayerNorm then scales every token alike).
* The encoder layer is the identity (zero output projections).
* Decoder self-attention: a constant query against the "is a language token" feature, so every
  position from 1 on reads the forced target-language token at decoder position 1 and writes
  its language (plus an "any language" bit) into output dimensions.
* Cross-attention: query and key read the position dimensions only (minus one reference dimension
  that undoes LayerNorm's mean subtraction), so decoder
  position ``p`` reads encoder position ``p`` (encoder ``[src_lang] w1 .. wn </s>``, decoder
  ``</s> [tgt_lang] y1 .. yn``: label ``p`` is the translation of encoder token ``p``); it writes
  that token's concept into output dimensions.
* The untied output layer scores a word by concept match + language match (neutral words match
  "any language"), so the right word gets two units, a word sharing only concept or language one;
  a unit is ``OUTPUT_MARGIN`` nats, so scores are finite and informative.

The forced BOS token therefore decides the output language (eng→eng copies, swh→eng translates
back); without it the model has no target language to read.
"""

from __future__ import annotations

import re

LEXICON = {
    "the": "ile", "man": "mtu", "woman": "mke", "saw": "aliona", "met": "alikutana",
    "in": "katika", "city": "mji", "house": "nyumba", "big": "kubwa", "small": "ndogo",
    "today": "leo", "and": "na", "went": "alienda", "to": "kwa", "from": "kutoka",
    "visited": "alitembelea", "school": "shule", "with": "pamoja",
}
REVERSE = {v: k for k, v in LEXICON.items()}
NAMES = ["John", "Mary", "Paris", "Nairobi", "Kenya", "Obama", "Lagos", "Anna", "Peter", "Berlin"]
PUNCT = ["[", "]", ".", ","]
# NLLB's special-token order (pad id 1), so transformers and CTranslate2 number positions alike
SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "eng_Latn", "swh_Latn"]
LANG_TOKENS = {"eng": "eng_Latn", "swh": "swh_Latn"}

D_MODEL = 160
POS_FREQS = 24       # sinusoid frequencies (x sin, cos) reserved for positions
FEATURE = 100.0      # one-hot size in token embeddings
WRITE = 100.0        # size of what the attention layers write
MAX_POSITIONS = 64
ATTENTION_MARGIN = 80.0  # attention logits: the right position/token against any other
OUTPUT_MARGIN = 8.0      # output logits (nats): the right word against any other, by design; finite so
#                          that scores are informative (about -0.01 per right token, -8 per wrong one)
MIN_MARGIN = 6.0         # the built model is refused below this (measured, see min_margin)

_WORD = re.compile(r"\w+|[^\w\s]+")


def dictionary_translation(text: str, tgt: str) -> str:
    """What the model must output for ``text`` into ``tgt`` ("eng" or "swh"): word by word,
    names and punctuation copied, tokens split as the tokenizer's Whitespace pre-tokenizer does."""
    table = LEXICON if tgt == "swh" else REVERSE
    return " ".join(table.get(w, w) for w in _WORD.findall(text))


def _vocab() -> dict[str, int]:
    words = SPECIALS + PUNCT + sorted(LEXICON) + sorted(LEXICON.values()) + NAMES
    return {w: i for i, w in enumerate(dict.fromkeys(words))}


def _token_features(vocab: dict[str, int]):
    """Per token: (concept, language class, is-language-token)."""
    feats = {}
    for w in vocab:
        if w in LEXICON:
            feats[w] = (w, "eng", False)
        elif w in REVERSE:
            feats[w] = (REVERSE[w], "swh", False)
        elif w in NAMES or w in PUNCT:
            feats[w] = (w, "neutral", False)
        elif w == "</s>":
            feats[w] = ("EOS", "neutral", False)
        elif w == "<unk>":
            feats[w] = ("UNK", "neutral", False)
        elif w in LANG_TOKENS.values():
            feats[w] = ("LANGTOK", "eng" if w == "eng_Latn" else "swh", True)
        else:  # <s>, <pad>
            feats[w] = ("NONE", "none", False)
    return feats


class _Layout:
    """Which residual dimension holds what."""

    def __init__(self, d: int, k: int, concepts: list[str]):
        half = d // 2
        self.pos = list(range(k)) + list(range(half, half + k))
        # the lowest-frequency sine is ~0 at every position and no token writes there: after
        # LayerNorm it holds minus the mean LayerNorm took off, which cross-attention adds back
        self.ref = half - 1
        # the lowest frequencies first: there the position encoding is nearly constant
        rest = [i for pair in zip(range(d - 1, half + k - 1, -1), range(half - 2, k - 1, -1)) for i in pair]
        it = iter(rest)
        self.tok_c = {c: next(it) for c in concepts}
        self.tok_l = {c: next(it) for c in ("eng", "swh", "neutral", "none")}
        self.flag = {True: next(it), False: next(it)}
        self.tok_sink = next(it)
        self.out_c = {c: next(it) for c in concepts}
        self.out_l = {c: next(it) for c in ("eng", "swh", "any")}
        self.out_sink = next(it)


def _positions(n: int, d: int, pad: int):
    from transformers.models.m2m_100.modeling_m2m_100 import M2M100SinusoidalPositionalEmbedding

    return M2M100SinusoidalPositionalEmbedding.get_embedding(n + pad + 1, d, pad)[pad + 1:]


def _set_weights(model, vocab, lay: _Layout, d: int, pad: int) -> None:
    import torch

    feats = _token_features(vocab)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        for m in model.modules():
            if isinstance(m, torch.nn.LayerNorm):
                m.weight.fill_(1.0)
        emb = model.model.shared.weight
        for w, i in vocab.items():
            c, lang, flag = feats[w]
            for dim in (lay.tok_c[c], lay.tok_l[lang], lay.flag[flag]):
                emb[i, dim] = FEATURE
            emb[i, lay.tok_sink] = -3 * FEATURE
        # untied embeddings (tie_word_embeddings=False) are three separate tables
        model.model.encoder.embed_tokens.weight.copy_(emb)
        model.model.decoder.embed_tokens.weight.copy_(emb)
        # the LayerNorm'd size of an active one-hot: every embedding has norm sqrt(12)*FEATURE
        unit = FEATURE / (12 * FEATURE**2 / d) ** 0.5

        dec = model.model.decoder.layers[0]
        scaling = d**-0.5
        # self-attention: read the language token (flag) from every position
        sa = dec.self_attn
        sa.q_proj.bias[0] = 1.0
        gap = 2 * unit  # flag yes minus flag no, after LayerNorm
        sa.k_proj.weight[0, lay.flag[True]] = ATTENTION_MARGIN / (gap * scaling)
        sa.k_proj.weight[0, lay.flag[False]] = -ATTENTION_MARGIN / (gap * scaling)
        for lang in ("eng", "swh"):
            sa.v_proj.weight[lay.out_l[lang], lay.tok_l[lang]] = WRITE / unit
            sa.v_proj.weight[lay.out_l["any"], lay.tok_l[lang]] = WRITE / unit
            sa.v_proj.weight[lay.out_sink, lay.tok_l[lang]] = -2 * WRITE / unit
        sa.out_proj.weight.copy_(torch.eye(d))

        # cross-attention: same position, read the concept
        ca = dec.encoder_attn
        k = len(lay.pos)
        pe = _positions(MAX_POSITIONS + 2, d, pad)[:, lay.pos]
        sigma = (12 * FEATURE**2 / d) ** 0.5  # LayerNorm scale of every embedded token
        gram = (pe @ pe.T) / sigma**2
        gaps = gram.diagonal().unsqueeze(1) - gram
        gaps.fill_diagonal_(float("inf"))
        s2 = ATTENTION_MARGIN / (scaling * float(gaps.min()))
        for a in range(k):  # q = k = s * (x[pos] - x[ref]) = s * position / sigma
            for proj in (ca.q_proj, ca.k_proj):
                proj.weight[a, lay.pos[a]] = s2**0.5
                proj.weight[a, lay.ref] = -(s2**0.5)
        for c, dim in lay.tok_c.items():
            ca.v_proj.weight[lay.out_c[c], dim] = WRITE / unit
            ca.v_proj.weight[lay.out_sink, dim] = -WRITE / unit
        ca.out_proj.weight.copy_(torch.eye(d))

        # output layer: concept match + language match
        # LayerNorm'd size of a written feature (the residual now holds the embedding and the writes)
        out_unit = WRITE / ((12 * FEATURE**2 + 6 * WRITE**2 + 2 * WRITE**2 + 2 * WRITE**2) / d) ** 0.5
        alpha = OUTPUT_MARGIN / out_unit
        head = model.lm_head.weight
        for w, i in vocab.items():
            c, lang, flag = feats[w]
            if lang == "none":
                continue
            head[i, lay.out_c[c]] = alpha
            head[i, lay.out_l["any" if lang == "neutral" else lang]] = alpha


def build_tiny_mt(path, *, max_positions: int = MAX_POSITIONS) -> str:
    """Save the constructed model and its tokenizer to ``path``; returns a one-line report."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import M2M100Config, M2M100ForConditionalGeneration, PreTrainedTokenizerFast

    vocab = _vocab()
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", vocab["</s>"])])
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>", bos_token="<s>",
        additional_special_tokens=list(LANG_TOKENS.values()), model_max_length=max_positions,
    )
    fast.save_pretrained(str(path))
    pad, eos = vocab["<pad>"], vocab["</s>"]
    cfg = M2M100Config(
        vocab_size=len(vocab), d_model=D_MODEL, encoder_layers=1, decoder_layers=1, encoder_attention_heads=1,
        decoder_attention_heads=1, encoder_ffn_dim=4, decoder_ffn_dim=4, max_position_embeddings=max_positions,
        pad_token_id=pad, eos_token_id=eos, bos_token_id=vocab["<s>"], decoder_start_token_id=eos,
        dropout=0.0, attention_dropout=0.0, activation_dropout=0.0, encoder_layerdrop=0.0, decoder_layerdrop=0.0,
        scale_embedding=False, tie_word_embeddings=False,
    )
    model = M2M100ForConditionalGeneration(cfg)
    concepts = list(dict.fromkeys(c for c, _, _ in _token_features(vocab).values()))
    _set_weights(model, vocab, _Layout(D_MODEL, POS_FREQS, concepts), D_MODEL, pad)
    model.eval()
    model.generation_config.decoder_start_token_id = eos
    margin = min_margin(model, fast)
    if margin < MIN_MARGIN:
        raise AssertionError(f"the constructed tiny MT model decides by {margin:.1f} nats only (< {MIN_MARGIN})")
    model.save_pretrained(str(path))
    return f"tiny MT built: smallest logit margin {margin:.1f}"


MARGIN_SENTENCES = [
    ("eng", "swh", "the man saw John in the city"),
    ("eng", "swh", "Mary Anna visited Nairobi today , the woman went to school with Peter ."),
    ("swh", "eng", "ile mke alikutana [ Obama ] katika Berlin"),
    ("eng", "eng", "the big house and the small house"),
    ("eng", "swh", " ".join(["the big house"] * 20)),  # 60 words: positions up to the input limit
]


def min_margin(model, tokenizer, sentences=MARGIN_SENTENCES) -> float:
    """Smallest gap (nats) between the logit of the dictionary word and the best other word,
    over every target position after the forced language token, teacher-forced, batched."""
    import torch

    vocab = tokenizer.get_vocab()
    eos, pad = vocab["</s>"], vocab["<pad>"]
    srcs, tgts = [], []
    for s, t, text in sentences:
        srcs.append([vocab[LANG_TOKENS[s]]] + [vocab[w] for w in _WORD.findall(text)] + [eos])
        out = dictionary_translation(text, t).split()
        tgts.append([vocab[LANG_TOKENS[t]]] + [vocab[w] for w in out] + [eos])

    def padded(rows):
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), pad)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = torch.tensor(r)
            mask[i, : len(r)] = 1
        return ids, mask

    inp, att = padded(srcs)
    lab, lmask = padded(tgts)
    with torch.inference_mode():
        logits = model(input_ids=inp, attention_mask=att, labels=lab.masked_fill(lmask == 0, -100)).logits.float()
    worst = float("inf")
    for i, row in enumerate(tgts):
        for p in range(1, len(row)):
            scores = logits[i, p].clone()
            right = float(scores[row[p]])
            scores[row[p]] = float("-inf")
            worst = min(worst, right - float(scores.max()))
    return worst


if __name__ == "__main__":  # pragma: no cover
    import sys
    print(build_tiny_mt(sys.argv[1]))
