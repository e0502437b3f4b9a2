"""Research studies built on the pipelines, each runnable as ``projner experiment run CONFIG``.

A study config names its study at the top (``study: morphology``); the rest of the config is
validated by the study (errors name the key path, E200). Studies are registered as
``projner.study.NAME.v1`` and importing this package registers the built-in ones.
"""

from projner.research.base import Study, StudyConfig, load_study_modules, write_run  # noqa: F401
