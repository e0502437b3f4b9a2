"""Configs of the translate-train pipeline and its result: frozen dataclasses (nothing mutates
them; :func:`with_changes` makes a changed copy).

:class:`~projner.data.datasets.ParallelConfig` (where parallel text comes from) lives with the
readers in :mod:`projner.data.datasets`; it is imported here, as every config that holds one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Mapping

from projner.data.datasets import ParallelConfig
from projner.errors import E, ProjnerError
from projner.project.filters import FILTERS
from projner.project.partial import rule_problem

__all__ = ["DEFAULT_LABELS", "AlignerConfig", "LabellerConfig", "ModelConfig", "ParallelConfig", "ProjectionConfig", "SelfTrainConfig",
           "RunResult", "TranslateTrainConfig", "with_changes"]

DEFAULT_LABELS = ("PER", "ORG", "LOC")
# Epochs of a target model trained on projected data, where no target dev set stops training:
# projected labels are noisy and later epochs fit the noise (MasakhaNER 2.0, BENCHMARKS.md: the
# fast tagger at 5 epochs beats 15 by 2.1 points on test and 1.7 on dev, three head seeds each;
# 3 and 8 epochs are within the seeds' spread on dev; 2-3x less time).
# ``projner translate-train`` uses it unless ``--epochs`` is given; configs set ``params.epochs``.
PROJECTED_EPOCHS = {"fast": 5}
# The fast target model of ``projner translate-train`` is a seed ensemble (projner.ner.ensemble) of
# this many heads, each trained ENSEMBLE_EPOCHS epochs: on MasakhaNER dev three 3-epoch heads match
# three 5-epoch ones (0.599 against 0.597, single 5-epoch heads 0.583) in 1.8x a single head's
# time instead of 3x (BENCHMARKS.md). ``--ensemble 1`` trains one head for PROJECTED_EPOCHS.
PROJECTED_ENSEMBLE = {"fast": 3}
ENSEMBLE_EPOCHS = {"fast": 3}


@dataclass(frozen=True)
class LabellerConfig:
    """The English labeller: ``crf`` or ``fast`` (trained here on CoNLL-2003 ``eng.train``, dev
    ``eng.testa``, cached; ``fast`` uses the prepared e5-small unless ``params`` name a ``model``), ``spacy:NAME`` (a pretrained pipeline) or the path of a saved projner model folder."""

    backend: str = "crf"
    label_map: str = "conll->per-org-loc"
    params: Mapping[str, Any] = field(default_factory=dict)
    train: str | None = None
    dev: str | None = None


@dataclass(frozen=True)
class AlignerConfig:
    """``name``: a registered aligner (``eflomal``, ``neural``) with ``params``, or ``pharaoh``
    (precomputed links in ``file``, one line per pair of the projected corpus). ``extra``:
    parallel sources used only to train the aligner."""

    name: str = "eflomal"
    params: Mapping[str, Any] = field(default_factory=lambda: {"sym": "intersection", "prefix_len": 4, "copy_dictionary": True})
    file: str | None = None
    extra: tuple[ParallelConfig, ...] = ()
    back_translation: str = "none"  # none | fill | union | intersect (projner.align.backtranslation)

    def __post_init__(self) -> None:
        from projner.align.backtranslation import MODES

        if self.back_translation not in ("none",) + MODES:
            raise ProjnerError(E.E202, detail=f"back_translation {self.back_translation!r}; known: none, {', '.join(MODES)}")


@dataclass(frozen=True)
class ProjectionConfig:
    """``method``: ``heuristic`` or a candidate-matching projector (``ngram``, ``fusion`` …).

    ``strip_determiners``: drop a leading the/a/an from multi-word English entities first.
    ``filter``: ``none``; ``complete`` drops sentences where some source entity failed to
    project (their words would be wrongly trained as O); ``complete-caps`` also drops sentences
    with a capitalised word outside every projected entity (not sentence-initial, not all
    capitals of one letter): a likely name the English labeller missed or the aligner lost,
    for scripts and languages that capitalise names; ``any`` keeps only sentences with at
    least one projected entity. ``keep_empty``: share of entity-free sentences kept (evenly
    spaced, deterministic) after filtering.

    ``transfer``: model transfer where projection is silent (None: off): the labeller also tags
    the target side, and its spans scoring at least ``transfer`` that overlap no projected span
    are added before filtering (:func:`projner.project.union.union_transfer`).
    ``transfer_unknown`` (below ``transfer``): its spans scoring in ``[transfer_unknown,
    transfer)`` outside every span make their tokens unknown instead of ``O``. The labeller must
    read the target language to help (``fast``, ``transformer``, a multilingual model folder);
    an English-only ``crf`` or ``spacy:`` labeller is allowed but weak.

    ``unknown``: partial-label rules (``caps``, ``low-score``, ``unaligned-edge``, ``unprojected``;
    :mod:`projner.project.partial`) marking target words the projection may have missed as of
    unknown tag instead of O; ``unknown_score``: the labeller score below which a source entity
    is not projected but its aligned words become unknown (rule ``low-score``).

    ``conventions``: the target annotation's span edges (:mod:`projner.project.conventions`)
    applied to the projected data after the filter: ``dev`` (learned from MasakhaNER's
    ``masakhaner2/LANG/dev.txt``), a labelled corpus to learn them from, or a ``.json`` rules file.
    """

    method: str = "heuristic"
    params: Mapping[str, Any] = field(default_factory=dict)
    strip_determiners: bool = True
    filter: str = "none"
    keep_empty: float = 1.0
    transfer: float | None = None
    transfer_unknown: float | None = None
    unknown: tuple[str, ...] = ()
    unknown_score: float = 0.5
    conventions: str | None = None

    def __post_init__(self) -> None:
        if self.conventions is not None and (not isinstance(self.conventions, str) or not self.conventions):
            raise ProjnerError(E.E202, detail=f"conventions must be 'dev' or a file, not {self.conventions!r}")
        object.__setattr__(self, "unknown", (self.unknown,) if isinstance(self.unknown, str) else tuple(self.unknown))
        if (problem := rule_problem(self.unknown)) is not None:
            raise ProjnerError(E.E202, detail=problem)
        if isinstance(self.unknown_score, bool) or not isinstance(self.unknown_score, (int, float)) or not 0.0 <= self.unknown_score <= 1.0:
            raise ProjnerError(E.E202, detail=f"unknown_score must be a number in [0, 1], not {self.unknown_score!r}")
        for name in ("transfer", "transfer_unknown"):
            x = getattr(self, name)
            if x is not None and (isinstance(x, bool) or not isinstance(x, (int, float)) or not 0.0 < x <= 1.0):
                raise ProjnerError(E.E207, detail=f"{name} must be a number in (0, 1], not {x!r}")
        if self.transfer_unknown is not None and (self.transfer is None or not self.transfer_unknown < self.transfer):
            raise ProjnerError(E.E207, detail=f"transfer_unknown ({self.transfer_unknown}) needs transfer set above it (transfer: {self.transfer})")
        if self.filter not in FILTERS:
            raise ProjnerError(E.E202, detail=f"projection filter {self.filter!r}; known: {', '.join(FILTERS)}")
        if not 0.0 <= self.keep_empty <= 1.0:
            raise ProjnerError(E.E202, detail=f"keep_empty must be in [0, 1], not {self.keep_empty}")


@dataclass(frozen=True)
class ModelConfig:
    """The target model: a trainable tagger backend (``crf``, ``transformer``, ``fast``) and its params.
    ``add_english``: also train on English CoNLL-2003 (mapped with the labeller's map), at most
    ``english_max`` sentences (evenly spaced) when set. ``ensemble`` > 1 (fast backend only):
    that many models with seeds ``seed, seed+1, ...`` (``params["seed"]``, default 0), each a
    cached train step of its own, decoded as one (:mod:`projner.ner.ensemble`)."""

    backend: str = "crf"
    params: Mapping[str, Any] = field(default_factory=dict)
    add_english: bool = False
    english_max: int | None = None
    ensemble: int = 1

    def __post_init__(self) -> None:
        if isinstance(self.ensemble, bool) or not isinstance(self.ensemble, int) or self.ensemble < 1:
            raise ProjnerError(E.E202, detail=f"ensemble must be an integer >= 1, not {self.ensemble!r}")
        if self.ensemble > 1 and self.backend != "fast":
            raise ProjnerError(E.E202, detail=f"ensemble {self.ensemble}: only the fast backend forms seed ensembles, "
                                              f"not {self.backend!r}")

    def member(self, k: int) -> "ModelConfig":
        """The ``k``-th model of an ensemble: the same, seeded ``seed + k`` (member 0 keeps the
        params as given, so it is the single model's cached step)."""
        if k == 0:
            return ModelConfig(self.backend, self.params, self.add_english, self.english_max)
        params = {**dict(self.params), "seed": int(self.params.get("seed", 0)) + k}
        return ModelConfig(self.backend, params, self.add_english, self.english_max)


@dataclass(frozen=True)
class SelfTrainConfig:
    """Self-training after translate-train (:mod:`projner.pipeline.self_train`): the trained target
    model labels ``unlabelled`` target text (a source name of :mod:`projner.data.unlabelled`, or
    ``file:PATH``: raw text one sentence a line, or CoNLL/JSONL whose labels are ignored), keeps
    the sentences whose every span scores >= ``threshold`` (entity-free ones at ratio
    ``keep_empty``), and a new model of the same backend trains on them plus the original
    training data; ``rounds`` times, each round's model teaching the next. ``max_sentences``:
    at most that many unlabelled sentences (evenly spaced)."""

    unlabelled: str
    threshold: float = 0.7
    keep_empty: float = 0.5
    rounds: int = 1
    max_sentences: int | None = None

    def __post_init__(self) -> None:
        def bad(detail: str):
            raise ProjnerError(E.E241, detail=detail)

        if not isinstance(self.unlabelled, str) or not self.unlabelled or self.unlabelled == "file:":
            bad(f"unlabelled must name a source or file:PATH, not {self.unlabelled!r}")
        for name in ("threshold", "keep_empty"):
            x = getattr(self, name)
            if isinstance(x, bool) or not isinstance(x, (int, float)) or not 0.0 <= x <= 1.0:
                bad(f"{name} must be a number in [0, 1], not {x!r}")
        if isinstance(self.rounds, bool) or not isinstance(self.rounds, int) or self.rounds < 1:
            bad(f"rounds must be an integer >= 1, not {self.rounds!r}")
        if self.max_sentences is not None and (isinstance(self.max_sentences, bool) or not isinstance(self.max_sentences, int)
                                               or self.max_sentences < 1):
            bad(f"max_sentences must be an integer >= 1 or None, not {self.max_sentences!r}")


@dataclass(frozen=True)
class TranslateTrainConfig:
    lang: str
    parallel: ParallelConfig = ParallelConfig()
    labeller: LabellerConfig = LabellerConfig()
    aligner: AlignerConfig = AlignerConfig()
    projection: ProjectionConfig = ProjectionConfig()
    model: ModelConfig = ModelConfig()
    test: str | None = None  # default: masakhaner2/LANG/test.txt
    labels: tuple[str, ...] = DEFAULT_LABELS
    data: str | None = None
    self_train: SelfTrainConfig | None = None  # self-training on unlabelled target text after training

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", tuple(self.labels))


@dataclass(frozen=True)
class RunResult:
    """One evaluated system: scores (strict, ``labels`` only), signature, step fingerprints."""

    lang: str
    system: str
    f1: float
    precision: float
    recall: float
    per_type: Mapping[str, Any]
    signature: str
    n_test: int
    info: Mapping[str, Any] = field(default_factory=dict)
    steps: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def with_changes(cfg: TranslateTrainConfig, **changes) -> TranslateTrainConfig:
    """A copy of ``cfg`` with fields replaced (configs are frozen; nothing is mutated)."""
    return replace(cfg, **changes)
