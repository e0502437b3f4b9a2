"""Machine translation for projection: one :class:`Translator` interface and three backends.

``projner.translator.seq2seq.v1``  transformers seq2seq (NLLB, M2M100, Marian) — :mod:`projner.translate.seq2seq`
``projner.translator.ct2.v1``      CTranslate2 (optional ``ctranslate2``) — :mod:`projner.translate.ct2`
``projner.translator.parallel.v1`` translations already on disk — :mod:`projner.translate.parallel`

Language codes (ISO 639-1/639-3 ↔ NLLB-200 / M2M100) are in :mod:`projner.translate.langcodes`;
EasyProject markers (marking and decoding) in :mod:`projner.translate.markers`, the projection
with them in :mod:`projner.project.markers`. The registry imports a backend's module when it is
first asked for (``projner.registry.create("translator", "ct2", ...)``); torch and ctranslate2 are
imported only when a backend is built.
"""

from projner.translate.base import Translation, Translator, TranslatorScoreModel
from projner.translate.langcodes import iso639_3, language_name, to_m2m100, to_nllb
from projner.translate.parallel import ParallelFileTranslator

__all__ = [
    "Translation", "Translator", "TranslatorScoreModel", "ParallelFileTranslator",
    "iso639_3", "language_name", "to_m2m100", "to_nllb",
]
