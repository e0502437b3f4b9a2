"""Evaluation: strict span P/R/F1 (seqeval-equal), projection rate, alignment AER; signed scores."""

from projner.evaluate.spans import SpanScores, TypeScores, evaluate_spans  # noqa: F401
from projner.signature import Signature  # noqa: F401
