"""A tiny NLLB-style MT model (M2M100 architecture, d_model 32) trained in seconds on a toy language pair.

The toy pair "eng_Latn" → "swh_Latn" is a word-for-word dictionary mapping; capitalised names and
the marker characters ``[`` ``]`` are copied, so the model learns to carry markers through.
The reverse direction (``swh_Latn`` → ``eng_Latn``) is trained too, so the forced BOS token decides
the output language, as in NLLB.
"""

from __future__ import annotations

import random
import time

LEXICON = {
    "the": "ile", "man": "mtu", "woman": "mke", "saw": "aliona", "met": "alikutana",
    "in": "katika", "city": "mji", "house": "nyumba", "big": "kubwa", "small": "ndogo",
    "today": "leo", "and": "na", "went": "alienda", "to": "kwa", "from": "kutoka",
    "visited": "alitembelea", "school": "shule", "with": "pamoja",
}
NAMES = ["John", "Mary", "Paris", "Nairobi", "Kenya", "Obama", "Lagos", "Anna", "Peter", "Berlin"]
SPECIALS = ["<pad>", "</s>", "<unk>", "<s>", "eng_Latn", "swh_Latn"]


def toy_sentence(rng: random.Random, marked: bool) -> tuple[str, str]:
    n = rng.randint(3, 7)
    src: list[str] = []
    tgt: list[str] = []
    words = list(LEXICON)
    i = 0
    while i < n:
        if rng.random() < 0.3:
            k = rng.choice([1, 1, 2])
            names = rng.sample(NAMES, k)
            if marked:
                src += ["["] + names + ["]"]
                tgt += ["["] + names + ["]"]
            else:
                src += names
                tgt += names
            i += k
        else:
            w = rng.choice(words)
            src.append(w)
            tgt.append(LEXICON[w])
            i += 1
    return " ".join(src), " ".join(tgt)


def build_tiny_mt(path, *, seed: int = 0, steps: int = 300, n_pairs: int = 160, max_positions: int = 64) -> str:
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import M2M100Config, M2M100ForConditionalGeneration, PreTrainedTokenizerFast

    rng = random.Random(seed)
    vocab_words = SPECIALS + ["[", "]"] + sorted(LEXICON) + sorted(LEXICON.values()) + NAMES
    vocab = {w: i for i, w in enumerate(dict.fromkeys(vocab_words))}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", vocab["</s>"])])
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>", bos_token="<s>",
        additional_special_tokens=["eng_Latn", "swh_Latn"], model_max_length=max_positions,
    )
    fast.save_pretrained(str(path))

    torch.manual_seed(seed)
    cfg = M2M100Config(
        vocab_size=len(vocab), d_model=32, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
        decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64, max_position_embeddings=max_positions,
        pad_token_id=vocab["<pad>"], eos_token_id=vocab["</s>"], bos_token_id=vocab["<s>"],
        decoder_start_token_id=vocab["</s>"], dropout=0.0, attention_dropout=0.0, activation_dropout=0.0,
        scale_embedding=True, tie_word_embeddings=True,
    )
    model = M2M100ForConditionalGeneration(cfg)
    pairs = [toy_sentence(rng, marked=rng.random() < 0.5) for _ in range(n_pairs)]
    eng, swh, eos, pad = vocab["eng_Latn"], vocab["swh_Latn"], vocab["</s>"], vocab["<pad>"]

    def ids(text):
        return [vocab.get(w, vocab["<unk>"]) for w in text.split()]

    examples = []
    for s, t in pairs:
        examples.append(([eng] + ids(s) + [eos], [swh] + ids(t) + [eos]))
        examples.append(([swh] + ids(t) + [eos], [eng] + ids(s) + [eos]))

    def batch(exs):
        ls = max(len(a) for a, _ in exs)
        lt = max(len(b) for _, b in exs)
        inp = torch.full((len(exs), ls), pad)
        att = torch.zeros((len(exs), ls), dtype=torch.long)
        lab = torch.full((len(exs), lt), -100)
        dec = torch.full((len(exs), lt), pad)
        for i, (a, b) in enumerate(exs):
            inp[i, : len(a)] = torch.tensor(a)
            att[i, : len(a)] = 1
            lab[i, : len(b)] = torch.tensor(b)
            dec[i, 0] = eos
            dec[i, 1 : len(b)] = torch.tensor(b[:-1])
        return inp, att, dec, lab

    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    t0 = time.perf_counter()
    for step in range(steps):
        exs = rng.sample(examples, 32)
        inp, att, dec, lab = batch(exs)
        loss = model(input_ids=inp, attention_mask=att, decoder_input_ids=dec, labels=lab).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    model.generation_config.decoder_start_token_id = eos
    model.save_pretrained(str(path))
    return f"loss {loss.item():.4f} in {time.perf_counter() - t0:.1f}s"


if __name__ == "__main__":  # pragma: no cover
    import sys
    print(build_tiny_mt(sys.argv[1]))
