"""NER taggers behind one interface: CRF (trainable), spaCy (pretrained source labeller),
transformers token classification (trainable), fast (frozen cached encoder + light CRF head,
trainable), a seed ensemble of fast taggers; ``load_tagger`` dispatches on ``meta.json``.

Heavy libraries (pycrfsuite, spaCy, torch/transformers) are imported only when used.
"""

from projner.ner.base import Tagger, check_training_data, span_scores  # noqa: F401
from projner.ner.io import load_tagger, read_meta, write_meta  # noqa: F401
from projner.ner.crf import CrfTagger  # noqa: F401
from projner.ner.spacy_tagger import SpacyTagger  # noqa: F401
from projner.ner.transformer import TransformerTagger  # noqa: F401
from projner.ner.fast import FastTagger  # noqa: F401
from projner.ner.ensemble import EnsembleTagger  # noqa: F401

__all__ = ["Tagger", "CrfTagger", "SpacyTagger", "TransformerTagger", "FastTagger", "EnsembleTagger", "load_tagger", "read_meta",
           "check_training_data", "span_scores"]
