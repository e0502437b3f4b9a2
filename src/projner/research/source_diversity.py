"""Source-language diversity (issue 8, item 4): project gold entities into each target language
from every other language, and from several sources combined, on a multi-parallel NER corpus.

Europarl-NER has the same 799 sentences with gold entities in en, de, es and it, so each
language can be a source (its **gold** spans are projected: this isolates projection from
labeller errors) and each can be a target (scored by strict span F1 against its gold). For every
ordered (source, target) pair the aligner runs ``repeats`` times (eflomal seeds itself from
/dev/urandom; each repeat is its own cached step, the repeat index is part of the cache key),
the projector (default: the spine's heuristic) projects the source gold spans, and each
projected span is scored with its alignment confidence (share of the source entity's words
aligned into it). Combinations of sources are merged per repeat with
:func:`projner.project.multisource.combine` (vote / union / unanimous).

Config (``study: source_diversity``)::

    targets: [de, es, it]
    sources: [en, de, es, it]
    combinations: [all-others, pairs-of-others, [en, es]]   # lists of sources, or keywords
    combine: {method: vote, threshold: 0.5}                  # or a list of such mappings
    aligner: {name: eflomal, params: {}}                     # or {name: pharaoh, file: "dir/{src}-{tgt}.align"}
    method: heuristic
    params: {}
    repeats: 3
    labels: [PER, ORG, LOC, MISC]
    core_labels: [PER, ORG, LOC]
    corpus: "europarl_ner/{lang}-europarl.test.conll02"      # relative to the data root

One run record per (target, source or combination): ``f1``/``precision``/``recall`` are means
over the repeats, with ``f1_sd``, ``f1_runs``, ``f1_core`` (PER/ORG/LOC) and the projection rate.
"""

from __future__ import annotations

import math
import statistics
import time
import traceback
from dataclasses import dataclass
from itertools import combinations as _pairs
from pathlib import Path
from typing import Any, Mapping, Sequence

from projner.errors import E, ProjnerError
from projner.registry import studies
from projner.data.datasets import data_root
from projner.pipeline.study import RECORDED_ERRORS, Study, StudyContext, error_text, read_run, write_run

DEFAULT_CORPUS = "europarl_ner/{lang}-europarl.test.conll02"
KEYWORDS = ("all-others", "pairs-of-others")
ALL_LABELS = ["PER", "ORG", "LOC", "MISC"]
CORE_LABELS = ["PER", "ORG", "LOC"]


# ----------------------------------------------------------------------------- config

def _langs(x, p, v):
    out = v.list_(x, p, v.str_)
    if len(set(out)) != len(out):
        v.fail(p, "languages must not repeat")
    return out


def _combination(x, p, v):
    if isinstance(x, str):
        return v.str_(x, p, KEYWORDS, "combination keyword")
    out = v.list_(x, p, v.str_)
    if len(out) < 2 or len(set(out)) != len(out):
        v.fail(p, "a combination lists at least two different sources")
    return out


def _combine_one(x, p, v):
    from projner.project.multisource import CombineConfig

    d = v.mapping(x, p, {"method": v.str_, "threshold": lambda y, q: v.num(y, q, 0.0, 1.0),
                         "weighting": v.str_})
    try:
        CombineConfig(**d)
    except ProjnerError as exc:
        v.fail(p, str(exc))
    return d


def _combine(x, p, v):
    if isinstance(x, list):
        return v.list_(x, p, lambda y, q: _combine_one(y, q, v))
    return [_combine_one(x, p, v)]


def _aligner(x, p, v):
    d = v.mapping(x, p, {"name": v.str_, "params": v.params, "file": v.str_}, required=("name",))
    if d["name"] == "pharaoh" and "file" not in d:
        v.fail(f"{p}.file", "aligner 'pharaoh' needs a file pattern with {src} and {tgt}")
    if "file" in d and ("{src}" not in d["file"] or "{tgt}" not in d["file"]):
        v.fail(f"{p}.file", "the file pattern must contain {src} and {tgt}")
    return d


def _corpus(x, p, v):
    s = v.str_(x, p)
    if "{lang}" not in s:
        v.fail(p, "the corpus pattern must contain {lang}")
    return s


@dataclass(frozen=True)
class Planned:
    run_id: str
    target: str
    sources: tuple[str, ...]
    combine: Mapping[str, Any] | None  # None: a single source
    label: str
    all_others: bool = False


def _combine_cfg(d: Mapping[str, Any]):
    from projner.project.multisource import CombineConfig

    return CombineConfig(**dict(d))


def planned_runs(params: Mapping[str, Any]) -> list[Planned]:
    sources = list(params["sources"])
    out: list[Planned] = []
    seen: set[str] = set()
    for tgt in params["targets"]:
        others = [s for s in sources if s != tgt]
        for s in others:
            out.append(Planned(f"{tgt}__from-{s}", tgt, (s,), None, f"from {s}"))
        combos: list[tuple[tuple[str, ...], bool]] = []
        for c in params.get("combinations", ["all-others"]):
            if c == "all-others":
                combos.append((tuple(others), True))
            elif c == "pairs-of-others":
                combos.extend((tuple(pair), len(others) == 2) for pair in _pairs(others, 2))
            elif tgt not in c:
                combos.append((tuple(x for x in sources if x in c), tuple(x for x in sources if x in c) == tuple(others)))
        for cfg in params.get("combine", [{"method": "vote"}]):
            tag = _combine_cfg(cfg).tag()
            for srcs, every in combos:
                if len(srcs) < 2:
                    continue
                rid = f"{tgt}__{tag}-{'+'.join(srcs)}"
                if rid in seen:
                    continue
                seen.add(rid)
                out.append(Planned(rid, tgt, srcs, dict(cfg), f"{tag}({'+'.join(srcs)})" if not every else f"{tag}(all others)",
                                   every))
    return out


# ----------------------------------------------------------------------------- the study

@studies.register("projner.study.source_diversity.v1")
class SourceDiversity(Study):
    keys = {
        "targets": _langs,
        "sources": _langs,
        "combinations": lambda x, p, v: v.list_(x, p, lambda y, q: _combination(y, q, v), nonempty=False),
        "combine": _combine,
        "aligner": _aligner,
        "method": lambda x, p, v: v.str_(x, p),
        "params": lambda x, p, v: v.params(x, p),
        "repeats": lambda x, p, v: v.int_(x, p, 1),
        "labels": lambda x, p, v: v.list_(x, p, v.str_),
        "core_labels": lambda x, p, v: v.list_(x, p, v.str_),
        "corpus": _corpus,
    }
    required = ("targets", "sources")

    def parse(self, obj, v) -> dict:
        d = super().parse(obj, v)
        for k, c in enumerate(d.get("combinations", [])):
            if isinstance(c, list):
                unknown = [x for x in c if x not in d["sources"]]
                if unknown:
                    v.fail(f"combinations[{k}]", f"{unknown[0]!r} is not one of the sources ({', '.join(d['sources'])})")
        for t in d["targets"]:
            if not [s for s in d["sources"] if s != t]:
                v.fail("sources", f"target {t!r} has no other source language")
        return d

    def plan(self, params: Mapping[str, Any]) -> list[str]:
        return [p.run_id for p in planned_runs(params)]

    def run(self, params: Mapping[str, Any], ctx: StudyContext) -> None:
        from projner.log import progress_bar

        plan = planned_runs(params)
        targets = [t for t in params["targets"] if not ctx.languages or t in ctx.languages]
        todo = {t: [p for p in plan if p.target == t and read_run(ctx.out, p.run_id) is None] for t in targets}
        if not any(todo.values()):
            ctx.log("source diversity: every run is finished")
            return
        corpora = _Corpora(params, ctx.data)
        repeats = int(params.get("repeats", 3))
        for tgt in targets:
            runs = todo[tgt]
            if not runs:
                continue
            t0 = time.perf_counter()
            needed = sorted({s for p in runs for s in p.sources}, key=list(params["sources"]).index)
            projected: dict[tuple[str, int], Any] = {}
            failed: dict[str, str] = {}
            steps = [(s, r) for s in needed for r in range(repeats)]
            for s, r in progress_bar(steps, desc=f"align+project into {tgt}", unit="run", disable=len(steps) < 4):
                if s in failed:
                    continue
                try:
                    projected[(s, r)] = _project(ctx, params, corpora, s, tgt, r)
                except RECORDED_ERRORS as exc:  # one failing source must not lose the others
                    failed[s] = error_text(exc)
                    ctx.log(f"    {s}->{tgt} repeat {r}: {failed[s]}")
            for p in runs:
                base = {"run_id": p.run_id, "lang": tgt, "label": p.label, "target": tgt, "sources": list(p.sources),
                        "kind": "single" if p.combine is None else "combination", "all_others": p.all_others,
                        "combine": p.combine, "repeats": repeats}
                bad = [s for s in p.sources if s in failed]
                try:
                    if bad:
                        raise ProjnerError(E.E253, detail=f"source {bad[0]} failed: {failed[bad[0]]}")
                    rec = _evaluate(params, corpora, p, [[projected[(s, r)] for s in p.sources] for r in range(repeats)])
                    base.update(status="ok", **rec)
                    ctx.log(f"{p.run_id}: F1 {rec['f1']:.4f} ± {rec['f1_sd']:.4f}")
                except ProjnerError as exc:
                    base.update(status="error", error=str(exc))
                    ctx.log(f"{p.run_id}: error: {exc}")
                except OSError as exc:
                    base.update(status="error", error=error_text(exc), traceback=traceback.format_exc(limit=5))
                    ctx.log(f"{p.run_id}: error: {error_text(exc)}")
                base["seconds_target"] = round(time.perf_counter() - t0, 2)
                write_run(ctx.out, base)

    def report(self, folder: Path) -> None:
        from projner.research.source_diversity_report import write_report

        write_report(Path(folder))


# ----------------------------------------------------------------------------- steps

class _Corpora:
    """The gold corpora by language (read once), checked to be sentence-parallel."""

    def __init__(self, params: Mapping[str, Any], data: str | None):
        self.pattern = params.get("corpus", DEFAULT_CORPUS)
        self.root = data_root(data)
        self._cache: dict[str, Any] = {}
        self._n: tuple[str, int] | None = None

    def path(self, lang: str) -> Path:
        p = Path(self.pattern.format(lang=lang))
        return p if p.is_absolute() else self.root / p

    def get(self, lang: str):
        if lang not in self._cache:
            from projner.data.formats import read_corpus

            path = self.path(lang)
            if not path.is_file():
                raise ProjnerError(E.E203, detail=f"{path} (corpus of {lang!r}; set data: or PROJNER_DATA)")
            sents = read_corpus(path).sentences
            if self._n is not None and self._n[1] != len(sents):
                raise ProjnerError(E.E253, detail=f"{path} has {len(sents)} sentences, the {self._n[0]} corpus has "
                                                  f"{self._n[1]}: the corpora must be sentence-parallel")
            self._n = self._n or (lang, len(sents))
            self._cache[lang] = sents
        return self._cache[lang]


def _restrict(sentences, labels: Sequence[str]):
    keep = set(labels)
    return tuple(s.with_spans(sp for sp in s.spans if sp.label in keep) for s in sentences)


def align_repeat(runner, aligner: Mapping[str, Any], src_tokens, tgt_tokens, repeat: int, file: Path | None = None):
    """One cached alignment run of (src, tgt); ``repeat`` is part of the cache key, so repeats of
    a nondeterministic aligner are distinct runs. ``pharaoh`` reads precomputed links (``file``)."""
    from projner.pipeline.cache import hash_tokens, read_alignments, write_alignments
    from projner.pipeline.config import AlignerConfig
    from projner.pipeline.steps import align_step

    name = aligner.get("name", "eflomal")
    if name == "pharaoh":
        entry = align_step(runner, AlignerConfig(name="pharaoh", params={}, file=str(file)), src_tokens, tgt_tokens)
    else:
        params = dict(aligner.get("params") or {})

        def compute(out: Path):
            from projner.align.build import build_aligner

            model = build_aligner(name, params)
            als = model.align([list(s) for s in src_tokens], [list(t) for t in tgt_tokens])
            write_alignments(out / "links.align", als)
            return {"signature": model.signature(), "links": sum(len(a) for a in als)}

        entry = runner.run("align", {"name": name, "params": params, "repeat": repeat, "purpose": "source-diversity"},
                           {"src": hash_tokens(src_tokens), "tgt": hash_tokens(tgt_tokens)}, compute)
    return read_alignments(entry.file("links.align")), (entry.manifest.get("info") or {}).get("signature", name)


def _project(ctx: StudyContext, params, corpora: _Corpora, src: str, tgt: str, repeat: int) -> dict:
    from projner.evaluate.projection import projection_stats
    from projner.project.build import build_projector, project_corpora
    from projner.project.multisource import with_alignment_confidence

    aligner = params.get("aligner", {"name": "eflomal", "params": {}})
    labels = params.get("labels", ALL_LABELS)
    s_sents = _restrict(corpora.get(src), labels)
    t_sents = corpora.get(tgt)
    file = None
    if aligner.get("name") == "pharaoh":
        file = Path(aligner["file"].format(src=src, tgt=tgt))
        file = file if file.is_absolute() else corpora.root / file
        repeat = 0  # precomputed links are deterministic: every repeat reads the same file
    als, asig = align_repeat(ctx.runner, aligner, [s.tokens for s in s_sents], [t.tokens for t in t_sents], repeat, file)
    if len(als) != len(t_sents):
        raise ProjnerError(E.E253, detail=f"{src}->{tgt}: {len(als)} alignments for {len(t_sents)} sentences")
    projector = build_projector(params.get("method", "heuristic"), dict(params.get("params") or {}))
    pred, projections = project_corpora(s_sents, t_sents, als, projector, progress=False)
    scored = with_alignment_confidence(pred, projections, als)
    st = projection_stats(projections).to_dict()
    return {"sentences": scored, "rate": st.get("projection_rate"), "aligner_signature": asig,
            "projector_signature": projector.signature()}


def _evaluate(params, corpora: _Corpora, p: Planned, per_repeat: list[list[dict]]) -> dict:
    from projner.evaluate.spans import evaluate_spans
    from projner.project.multisource import combine

    labels = params.get("labels", ALL_LABELS)
    core = [x for x in params.get("core_labels", CORE_LABELS) if x in labels]
    gold = corpora.get(p.target)
    f1s, ps, rs, cores, rates, n_pred, per_type, cstats = [], [], [], [], [], [], {}, []
    sig = ""
    for parts in per_repeat:
        if p.combine is None:
            pred = parts[0]["sentences"]
            rates.append(parts[0]["rate"])
        else:
            cfg = _combine_cfg(p.combine)
            pred, st = combine({s: part["sentences"] for s, part in zip(p.sources, parts)}, cfg, target=gold)
            cstats.append(st.to_dict())
        ev = evaluate_spans(gold, pred, labels=labels, gold_name=f"{p.target} gold", pred_name=p.label)
        f1s.append(ev.f1)
        ps.append(ev.precision)
        rs.append(ev.recall)
        sig = ev.signature
        for k, v in ev.to_dict()["per_type"].items():
            per_type.setdefault(k, []).append(v["f1"])
        if core:
            cores.append(evaluate_spans(gold, pred, labels=core).f1)
        n_pred.append(sum(len(s.spans) for s in pred))
    rec = {
        "f1": _mean(f1s), "precision": _mean(ps), "recall": _mean(rs), "f1_sd": _sd(f1s),
        "f1_runs": f1s, "precision_runs": ps, "recall_runs": rs,
        "f1_core": _mean(cores) if cores else None, "f1_core_sd": _sd(cores) if cores else None,
        "f1_core_runs": cores, "core_labels": core,
        "per_type_f1": {k: _mean(v) for k, v in per_type.items()},
        "n_gold": sum(len([sp for sp in s.spans if sp.label in labels]) for s in gold),
        "n_pred": _mean(n_pred), "signature": sig,
        "aligner_signature": per_repeat[0][0]["aligner_signature"],
        "projector_signature": per_repeat[0][0]["projector_signature"],
    }
    if p.combine is None:
        rec["projection_rate"] = _mean(rates) if all(r is not None for r in rates) else None
        rec["projection_rate_runs"] = rates
    else:
        rec["combine_signature"] = _combine_cfg(p.combine).signature()
        rec["combine_stats"] = cstats
        rec["source_projection_rates"] = {s: _mean([parts[k]["rate"] for parts in per_repeat])
                                          for k, s in enumerate(p.sources)}
    return rec


def _mean(xs: Sequence[float]) -> float:
    return float(sum(xs) / len(xs)) if xs else math.nan


def _sd(xs: Sequence[float]) -> float:
    return float(statistics.stdev(xs)) if len(xs) > 1 else 0.0
