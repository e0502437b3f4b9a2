"""projner: projection-based cross-lingual NER for low-resource languages."""

__version__ = "0.1.0"

from projner.types import Alignment, Link, ParallelPair, Sentence, Span  # noqa: E402

__all__ = ["Alignment", "Link", "ParallelPair", "Sentence", "Span", "__version__"]
