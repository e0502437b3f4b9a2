"""Annotation projection: heuristic, candidate matching, marker-based."""
