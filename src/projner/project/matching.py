"""Candidate-matching projection: propose target spans, score every (source entity, candidate)
pair, choose a consistent assignment.

Methods (which candidates, which default score weights):

``ngram``   all n-grams up to ``max_len`` words; ``align=1``
``ner``     the spans of a target-side :class:`~projner.project.candidates.CandidateModel`;
            ``align=0.5,ner=0.5``
``fusion``  the union of both (n-grams alone without a model); ``align`` and ``string``, plus
            ``ner`` with a model and ``translation`` with a translation model

Weights given explicitly (``"align=1,string=0.3"``) replace the defaults; they can also be
tuned on a dev split (:func:`projner.evaluate.tuning.tune_weights`, which scores F1). Solvers:
:mod:`projner.project.solvers`; run statistics: :mod:`projner.project.matching_stats`.
The projected span takes the source entity's type.

>>> proj = build_projector("ngram", solver="ilp", threshold=0.3)
>>> projections = proj.project(pairs)          # doctest: +SKIP
>>> proj.stats.format()                          # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from projner.errors import E, ProjnerError
from projner.project.base import EntityProjection, Outcome, Projection
from projner.project.candidates import (
    DEFAULT_MAX_LEN_CAP,
    CandidateModel,
    CandidateSet,
    CapitalisationModel,
    alignment_candidates,
    build_candidates,
)
from projner.project.matching_stats import MatchingStats
from projner.project.tagger_candidates import candidate_model
from projner.project.scores import (
    AlignmentScorer,
    FusionScorer,
    LexicalTranslationModel,
    NERScorer,
    StringSimilarityScorer,
    TranslationModel,
    TranslationScorer,
    format_weights,
    parse_weights,
)
from projner.project.solvers import DEFAULT_MAX_VARS, SOLVERS, MatchProblem, Solution, solve, solve_greedy, solve_ilp
from projner.registry import projectors
from projner.signature import component_signature, nest
from projner.types import ParallelPair, Sentence, Span

METHODS = ("ngram", "ner", "fusion")
#: Candidate models that can be named by a string (``ner_model="capitalisation"``, e.g. from the CLI).
BUILTIN_MODELS = {"capitalisation": CapitalisationModel}
DEFAULT_THRESHOLD = 0.3
DEFAULT_UNALIGNED_WEIGHT = 0.5


def default_weights(method: str, has_ner: bool, has_translation: bool) -> dict[str, float]:
    if method == "ngram":
        return {"align": 1.0}
    if method == "ner":
        return {"align": 0.5, "ner": 0.5}
    w = {"align": 0.7, "string": 0.3}
    if has_ner:
        w["ner"] = 0.2
    if has_translation:
        w["translation"] = 0.2
    return w


@dataclass(frozen=True)
class ScoredPair:
    """One pair's candidates and per-component score matrices (reused while tuning weights)."""

    pair: ParallelPair
    entities: tuple[Span, ...]
    candidates: CandidateSet
    matrices: Mapping[str, np.ndarray]


class CandidateProjector:
    """Candidate-matching projector; see the module docstring.

    Parameters: ``method`` (ngram|ner|fusion), ``solver`` (greedy|bipartite|ilp), ``weights``
    (string or mapping; defaults per method), ``threshold`` (a pair is eligible when its fused
    score is > 0 and >= threshold), ``max_len`` (n-gram length; default longest source entity
    + 2, at most ``max_len_cap``), ``ner_model`` (a CandidateModel, or ``"capitalisation"``
    for the built-in rule-based one), ``translation_scorer``
    (a TranslationModel, or ``"lexical"`` to estimate word-translation probabilities from the
    alignments of the pairs being projected), ``alpha`` (NER length factor), ``weighted_links``
    (alignment score weighted by ``Link.score``), ``align_mode`` ("words"|"links"),
    ``strip_determiners``, ``string_n``, ``type_bounds`` (ILP per-type count bounds:
    ``{"PER": (lo, hi)}``), ``max_vars`` and ``on_fail`` (ILP size limit and what to do beyond
    it: "greedy" fallback, counted, or "error"), ``compare`` (also run greedy and the ILP to
    report the gap; always on for the ILP solver's greedy side), ``ilp_shortcut`` (skip HiGHS
    when greedy provably reaches the optimum), ``unaligned_weight`` and ``target_share``
    (:class:`~projner.project.scores.AlignmentScorer`), ``align_candidates`` (add each
    entity's linked target blocks and hull as candidates, for entities longer than ``max_len``).
    """

    def __init__(
        self,
        method: str = "ngram",
        solver: str = "greedy",
        weights: str | Mapping[str, float] | None = None,
        threshold: float = DEFAULT_THRESHOLD,
        max_len: int | None = None,
        ner_model: CandidateModel | str | None = None,
        translation_scorer: TranslationModel | str | None = None,
        *,
        max_len_cap: int = DEFAULT_MAX_LEN_CAP,
        alpha: float = 1.15,
        weighted_links: bool = False,
        align_mode: str = "words",
        strip_determiners: bool = False,
        unaligned_weight: float = DEFAULT_UNALIGNED_WEIGHT,
        align_candidates: bool = True,
        target_share: bool = False,
        string_n: int = 3,
        type_bounds: Mapping[str, tuple[int | None, int | None]] | None = None,
        max_vars: int = DEFAULT_MAX_VARS,
        on_fail: str = "greedy",
        compare: bool = False,
        ilp_shortcut: bool = True,
    ):
        if method not in METHODS:
            raise ProjnerError(E.E121, method=method, known=", ".join(METHODS))
        ner_model = candidate_model(ner_model, BUILTIN_MODELS)  # a name, a model folder or a tagger object
        if solver not in SOLVERS:
            raise ProjnerError(E.E122, solver=solver, known=", ".join(SOLVERS))
        if method == "ner" and ner_model is None:
            raise ProjnerError(E.E123, name="method 'ner'", needs="a target-side candidate model (ner_model=...)")
        if ner_model is not None and not callable(getattr(ner_model, "predict_spans", None)):
            raise ProjnerError(E.E123, name="ner_model", needs="a predict_spans(list of token lists) method")
        try:
            threshold = float(threshold)
        except (TypeError, ValueError):
            raise ProjnerError(E.E128, detail=f"threshold must be a number, got {threshold!r}") from None
        if not (0.0 <= threshold < float("inf")):
            raise ProjnerError(E.E128, detail=f"threshold must be >= 0 and finite, got {threshold!r}")
        if max_len is not None and (not isinstance(max_len, int) or max_len < 1):
            raise ProjnerError(E.E128, detail=f"max_len must be a positive integer, got {max_len!r}")
        if not isinstance(max_len_cap, int) or max_len_cap < 1:
            raise ProjnerError(E.E128, detail=f"max_len_cap must be a positive integer, got {max_len_cap!r}")
        if on_fail not in ("greedy", "error"):
            raise ProjnerError(E.E128, detail=f"on_fail must be 'greedy' or 'error', got {on_fail!r}")
        if isinstance(translation_scorer, str) and translation_scorer != "lexical":
            raise ProjnerError(E.E123, name="translation", needs="a TranslationModel object or 'lexical'")
        self.method = method
        self.solver = solver
        self.threshold = threshold
        self.max_len = max_len
        self.max_len_cap = max_len_cap
        self.ner_model = ner_model
        self.translation_scorer = translation_scorer
        self.alpha = alpha
        self.weighted_links = weighted_links
        self.align_mode = align_mode
        self.strip_determiners = strip_determiners
        self.unaligned_weight = unaligned_weight
        self.align_candidates = align_candidates
        self.target_share = target_share
        self.string_n = string_n
        self.type_bounds = dict(type_bounds or {})
        self.max_vars = max_vars
        self.on_fail = on_fail
        self.compare = compare
        self.ilp_shortcut = ilp_shortcut
        has_tr = translation_scorer is not None
        if weights is None:
            self.weights = default_weights(method, ner_model is not None, has_tr)
        else:
            self.weights = parse_weights(weights)
        if self.weights.get("ner", 0) > 0 and ner_model is None:
            raise ProjnerError(E.E123, name="ner", needs="a target-side candidate model (ner_model=...)")
        if self.weights.get("translation", 0) > 0 and not has_tr:
            raise ProjnerError(E.E123, name="translation", needs="a translation model (translation_scorer=...)")
        # build the static components now so that bad parameters fail early
        self._static = {
            "align": AlignmentScorer(
                weighted=weighted_links, mode=align_mode, strip_determiners=strip_determiners, unaligned_weight=unaligned_weight,
                target_share=target_share,
            ),
            "ner": NERScorer(alpha=alpha),
            "string": StringSimilarityScorer(n=string_n),
        }
        if has_tr and not isinstance(translation_scorer, str):
            self._static["translation"] = TranslationScorer(translation_scorer)  # type: ignore[arg-type]
        self.stats: MatchingStats | None = None

    # ------------------------------------------------------------------ configuration

    @property
    def use_ngrams(self) -> bool:
        return self.method in ("ngram", "fusion")

    @property
    def use_model(self) -> bool:
        return self.method in ("ner", "fusion") and self.ner_model is not None

    def with_weights(self, weights: str | Mapping[str, float]) -> "CandidateProjector":
        clone = object.__new__(CandidateProjector)
        clone.__dict__.update(self.__dict__)
        clone.weights = parse_weights(weights)
        clone.stats = None
        return clone

    def signature(self) -> str:
        cands = []
        if self.use_ngrams:
            cands.append(f"ngram<={self.max_len}" if self.max_len else f"ngram<=longest+2,cap{self.max_len_cap}")
            if self.align_candidates:
                cands.append("align-blocks")
        if self.use_model:
            sig = getattr(self.ner_model, "signature", None)
            cands.append(f"model:{nest(sig()) if callable(sig) else type(self.ner_model).__name__}")
        comps = [nest(self._component_signature(k)) for k in sorted(self.weights) if self.weights[k] > 0]
        bounds = ";".join(f"{k}:{lo}-{hi}" for k, (lo, hi) in sorted(self.type_bounds.items())) if self.type_bounds else None
        return component_signature("method", self.method, solver=self.solver, candidates="+".join(cands),
                                   weights=format_weights(self.weights), scores="+".join(comps),
                                   threshold=self.threshold, type_bounds=bounds)

    def _component_signature(self, name: str) -> str:
        if name == "translation" and self.translation_scorer == "lexical":
            return component_signature("score", "translation", model="lexical-from-alignments")
        return self._static[name].signature()

    # ------------------------------------------------------------------ scoring

    def _components(self, pairs: Sequence[ParallelPair], names: Sequence[str]) -> dict:
        comps = {k: self._static[k] for k in names if k in self._static}
        if "translation" in names and self.translation_scorer == "lexical":
            comps["translation"] = TranslationScorer(LexicalTranslationModel.from_pairs(pairs))
        missing = [k for k in names if k not in comps]
        if missing:
            raise ProjnerError(E.E123, name=missing[0], needs="a scorer for it (none was configured)")
        return comps

    def score_pairs(self, pairs: Sequence[ParallelPair], names: Sequence[str] | None = None) -> list[ScoredPair]:
        """Candidates and per-component score matrices for each pair (components: ``names`` or
        those with a positive weight)."""
        pairs = list(pairs)
        for i, p in enumerate(pairs):
            if not isinstance(p, ParallelPair):
                raise ProjnerError(E.E128, detail=f"item {i + 1} is a {type(p).__name__}, not a ParallelPair")
        names = sorted(names if names is not None else [k for k, w in self.weights.items() if w > 0])
        comps = self._components(pairs, names)
        cand_sets = build_candidates(
            [p.tgt.tokens for p in pairs],
            [p.src.spans for p in pairs],
            use_ngrams=self.use_ngrams,
            model=self.ner_model if self.use_model else None,
            max_len=self.max_len,
            max_len_cap=self.max_len_cap,
        )
        out = []
        for p, cs in zip(pairs, cand_sets):
            ents = p.src.spans
            if self.use_ngrams and self.align_candidates and ents:
                cs = cs.union(alignment_candidates(p, ents, max_gap=1))
            mats = {k: comps[k].matrix(p, ents, cs) for k in names} if ents else {}
            out.append(ScoredPair(p, ents, cs, mats))
        return out

    # ------------------------------------------------------------------ projecting

    def project(self, pairs: Sequence[ParallelPair]) -> list[Projection]:
        """One :class:`Projection` per pair; statistics of the run land in ``self.stats``."""
        projections, self.stats = self.project_scored(self.score_pairs(pairs))
        return projections

    def project_scored(self, scored: Sequence[ScoredPair]) -> tuple[list[Projection], MatchingStats]:
        """Projections of already scored pairs (:meth:`score_pairs`) with this projector's weights and
        threshold, and the run's statistics; ``self.stats`` is left alone (weight tuning calls this
        once per grid point on the same scored pairs)."""
        weights = self.weights
        st = MatchingStats(solver=self.solver, n_pairs=len(scored))
        run_greedy = self.solver == "ilp" or self.compare
        run_ilp = self.solver == "ilp" or self.compare
        if run_greedy:
            st.greedy_objective = 0.0
        if run_ilp:
            st.optimum = 0.0
        out = []
        for i, sp in enumerate(scored):
            ents, cs = sp.entities, sp.candidates
            st.n_entities += len(ents)
            st.n_candidates += len(cs)
            if not ents:
                out.append(Projection((), ()))
                continue
            st.n_problems += 1
            n_tgt = len(sp.pair.tgt)
            st.events["entity_longer_than_target"] += sum(1 for e in ents if len(e) > n_tgt)
            if len(cs) == 0:
                st.events["pair_without_candidates"] += 1
                why = "empty target sentence" if n_tgt == 0 else "no candidates in the target sentence"
                out.append(Projection((), tuple(EntityProjection(e, None, Outcome.NO_CANDIDATE, why) for e in ents)))
                continue
            S = FusionScorer.combine(sp.matrices, weights, (len(ents), len(cs)))
            prob = MatchProblem(S, cs.starts, cs.ends, tuple(e.label for e in ents), self.threshold, self.type_bounds)
            sol = self._solve(prob, st, i + 1, run_greedy, run_ilp)
            out.append(self._to_projection(prob, sol, ents, cs))
        st.n_projected = sum(p.n_projected for p in out)
        for k in [k for k, v in st.events.items() if v == 0]:
            del st.events[k]
        return out, st

    def _solve(self, prob: MatchProblem, st: MatchingStats, sentence: int, run_greedy: bool, run_ilp: bool) -> Solution:
        ilp_kw = dict(max_vars=self.max_vars, on_fail=self.on_fail, sentence=sentence, shortcut=self.ilp_shortcut)
        greedy = solve_greedy(prob) if run_greedy else None
        ilp = solve_ilp(prob, **ilp_kw) if run_ilp else None
        if greedy is not None:
            st.greedy_ms.append(1000 * greedy.seconds)
            st.greedy_objective = (st.greedy_objective or 0.0) + greedy.objective
        if ilp is not None:
            st.ilp_ms.append(1000 * ilp.seconds)
            st.optimum = (st.optimum or 0.0) + ilp.objective
            st.n_shortcut += int(ilp.shortcut)
            if ilp.fallback:
                st.events["ilp_fallback_greedy"] += 1
                if len(st.fallback_messages) < 10:
                    st.fallback_messages.append(ilp.fallback)
            if greedy is not None and greedy.objective < ilp.objective - 1e-9:
                st.n_greedy_below_optimum += 1
        if self.solver == "greedy" and greedy is not None:
            sol = greedy
        elif self.solver == "ilp" and ilp is not None:
            sol = ilp
        else:
            sol = solve(prob, self.solver, **ilp_kw)
        if self.solver == "bipartite" and sol.dropped:
            st.events["bipartite_overlap_dropped"] += len(sol.dropped)
        st.solve_ms.append(1000 * sol.seconds)
        st.objective += sol.objective
        return sol

    def _to_projection(self, prob: MatchProblem, sol: Solution, ents: Sequence[Span], cs: CandidateSet) -> Projection:
        spans, verdicts = [], []
        elig = prob.eligible
        for k, e in enumerate(ents):
            c = sol.assignment[k]
            if c >= 0:
                cand = cs[c]
                s = float(prob.scores[k, c])
                t = Span(cand.start, cand.end, e.label, s)
                spans.append(t)
                verdicts.append(EntityProjection(e, t, Outcome.PROJECTED, f"score {s:.3f} ({sol.solver})"))
            elif k in sol.dropped:
                verdicts.append(EntityProjection(e, None, Outcome.NO_CANDIDATE, "overlap: its bipartite match overlapped a better-scored match"))
            elif elig[k].any():
                verdicts.append(EntityProjection(e, None, Outcome.NO_CANDIDATE, "conflict: every eligible candidate overlaps a chosen span"))
            else:
                best = float(prob.scores[k].max()) if prob.n_candidates else 0.0
                verdicts.append(
                    EntityProjection(e, None, Outcome.NO_CANDIDATE, f"below threshold: best score {best:.3f} < {self.threshold:g}")
                )
        return Projection(tuple(sorted(spans)), tuple(verdicts))

    def available_components(self) -> list[str]:
        """The score components this projector can use (what weight tuning searches over by default)."""
        names = ["align", "string"]
        if self.ner_model is not None:
            names.append("ner")
        if self.translation_scorer is not None:
            names.append("translation")
        return names


def build_projector(
    method: str,
    solver: str = "greedy",
    weights: str | Mapping[str, float] | None = None,
    threshold: float | None = None,
    max_len: int | None = None,
    ner_model: CandidateModel | None = None,
    translation_scorer: TranslationModel | str | None = None,
    **options,
) -> CandidateProjector:
    """What ``projner project --method ngram|ner|fusion --solver ... --weights ... --threshold ...`` calls."""
    return CandidateProjector(
        method=method,
        solver=solver,
        weights=weights,
        threshold=DEFAULT_THRESHOLD if threshold is None else threshold,
        max_len=max_len,
        ner_model=ner_model,
        translation_scorer=translation_scorer,
        **options,
    )


@projectors.register("projner.projector.ngram.v1")
def make_ngram_projector(**kw) -> CandidateProjector:
    return CandidateProjector(method="ngram", **kw)


@projectors.register("projner.projector.ner.v1")
def make_ner_projector(**kw) -> CandidateProjector:
    return CandidateProjector(method="ner", **kw)


@projectors.register("projner.projector.fusion.v1")
def make_fusion_projector(**kw) -> CandidateProjector:
    return CandidateProjector(method="fusion", **kw)


def project_sentences(projector: CandidateProjector, pairs: Sequence[ParallelPair]) -> list[Sentence]:
    """Convenience: the target sentences with their projected spans."""
    return [p.tgt.with_spans(pr.spans) for p, pr in zip(pairs, projector.project(pairs))]
