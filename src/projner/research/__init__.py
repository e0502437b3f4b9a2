"""Research studies built on the pipelines, each runnable as ``projner experiment run CONFIG``.

A study config names its study at the top (``study: morphology``); the rest of the config is
validated by the study (errors name the key path, E200). Studies are registered as
``projner.study.NAME.v1``; the registry imports a built-in study's module when it is first asked for.
"""

from projner.pipeline.study import Study, StudyConfig, write_run  # noqa: F401
