"""Word alignment: statistical (eflomal) and neural aligners, symmetrisation, AER."""

from projner.align.base import Aligner, align_corpus  # noqa: F401
