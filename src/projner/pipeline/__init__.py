"""Pipelines: the importable functions behind the CLI (align files, project files, evaluate files)."""
