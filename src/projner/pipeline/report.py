"""The generic report of a results folder: ``results.md``, ``f1.png`` and ``precision_recall.png``
from ``runs/*.json`` alone (``projner experiment report DIR``), and run status counts."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Sequence

from projner.data.textio import atomic_write
from projner.errors import E, ProjnerError


def report_folder(folder: str | os.PathLike) -> Path:
    """The generic report of a results folder plus, for a study, the study's own tables and plots."""
    d = Path(folder)
    path = build_report(d)
    meta = d / "experiment.json"
    study = None
    if meta.is_file():
        try:
            study = json.loads(meta.read_text(encoding="utf-8")).get("study")
        except (OSError, json.JSONDecodeError):
            study = None
    if study:
        from projner.registry import create

        create("study", study).report(d)
    return path


def load_runs(folder: str | os.PathLike) -> list[dict]:
    d = Path(folder)
    files = sorted((d / "runs").glob("*.json")) if (d / "runs").is_dir() else []
    if not files:
        raise ProjnerError(E.E204, folder=str(d), detail="no runs/*.json")
    runs = []
    for f in files:
        try:
            runs.append(json.loads(f.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError) as exc:
            raise ProjnerError(E.E204, folder=str(d), detail=f"{f.name} is not valid JSON ({exc})") from None
    rank = {"transfer": 0, "gold": 1, "projection": 2, "projection+english": 3}
    runs.sort(key=lambda r: (rank.get(r.get("system"), 4), r.get("label", "")))  # without experiment.json
    order_file = d / "experiment.json"
    if order_file.is_file():
        try:
            order = {rid: i for i, rid in enumerate(json.loads(order_file.read_text(encoding="utf-8")).get("order", []))}
            runs.sort(key=lambda r: order.get(r.get("run_id"), len(order)))
        except (OSError, json.JSONDecodeError):
            pass
    return runs


def _table(runs: Sequence[dict]) -> tuple[list[str], list[str], dict[tuple[str, str], dict]]:
    langs: list[str] = []
    systems: list[str] = []
    cells: dict[tuple[str, str], dict] = {}
    for r in runs:
        if r["lang"] not in langs:
            langs.append(r["lang"])
        if r["label"] not in systems:
            systems.append(r["label"])
        cells[(r["label"], r["lang"])] = r
    return langs, systems, cells


def markdown_table(runs: Sequence[dict]) -> str:
    langs, systems, cells = _table(runs)
    head = "| system | " + " | ".join(langs) + " | mean |"
    lines = [head, "|---|" + "---:|" * (len(langs) + 1)]
    for s in systems:
        vals, row = [], []
        for lang in langs:
            r = cells.get((s, lang))
            if r is None:
                row.append("")
            elif r.get("status") != "ok":
                row.append("error")
            else:
                vals.append(r["f1"])
                row.append(f"{r['f1']:.3f}")
        mean = f"{sum(vals) / len(vals):.3f}" if vals and len(vals) == len(langs) else (f"({sum(vals) / len(vals):.3f})" if vals else "")
        lines.append(f"| {s} | " + " | ".join(row) + f" | {mean} |")
    return "\n".join(lines)


def _seed_of(signature: str) -> tuple[str, int]:
    """(the signature without the model's seed, that seed): ``params:epochs=5,seed=1`` → the
    signature with ``params:epochs=5`` and 1. No seed in the parameters is the taggers' default, 0."""
    fields, seed = [], 0
    for f in signature.split("|"):
        if f.startswith("params:"):
            kept = []
            for kv in f[len("params:"):].split(","):
                k, _, v = kv.partition("=")
                if k == "seed" and v.lstrip("-").isdigit():
                    seed = int(v)
                else:
                    kept.append(kv)
            if kept:
                fields.append("params:" + ",".join(kept))
            continue
        fields.append(f)
    return "|".join(fields), seed


def seed_groups(runs: Sequence[dict]) -> list[tuple[str, dict[str, dict[int, dict]]]]:
    """Systems that differ only by the target model's seed, as (label of the first, {lang: {seed:
    run}}); only groups with at least two seeds in some language. Runs are grouped by system,
    parallel data, aligner, method and signature without the seed."""
    groups: dict[tuple, tuple[str, dict[str, dict[int, dict]]]] = {}
    for r in runs:
        if r.get("status") != "ok" or not r.get("signature"):
            continue
        base, seed = _seed_of(str(r["signature"]))
        key = (r.get("system"), r.get("parallel"), r.get("aligner"), r.get("method"), base)
        label, cells = groups.setdefault(key, (str(r.get("label", "")), {}))
        cells.setdefault(r["lang"], {})[seed] = r
    return [(label, cells) for label, cells in groups.values() if any(len(v) > 1 for v in cells.values())]


def seed_table(runs: Sequence[dict]) -> str:
    """Mean F1 over the seeds of each :func:`seed_groups` group with, in brackets, the lowest and
    highest seed; the mean column averages the languages, bracketing the range of the seeds' own
    means over the languages (seeds present in every language). Empty when no group has seeds."""
    groups = seed_groups(runs)
    if not groups:
        return ""
    langs = _table(runs)[0]
    lines = ["| system (seeds) | " + " | ".join(langs) + " | mean |", "|---|" + "---:|" * (len(langs) + 1)]
    for label, cells in groups:
        row, means = [], []
        for lang in langs:
            f1s = [r["f1"] for r in cells.get(lang, {}).values()]
            if not f1s:
                row.append("")
                continue
            means.append(sum(f1s) / len(f1s))
            row.append(f"{means[-1]:.3f} ({min(f1s):.3f}–{max(f1s):.3f})" if len(f1s) > 1 else f"{f1s[0]:.3f}")
        common = sorted(set.intersection(*(set(cells.get(lang, {})) for lang in langs)))
        per_seed = [sum(cells[lang][sd]["f1"] for lang in langs) / len(langs) for sd in common]
        mean = ""
        if len(means) == len(langs):
            mean = f"{sum(means) / len(means):.3f}"
            if len(per_seed) > 1:
                mean += f" ({min(per_seed):.3f}–{max(per_seed):.3f})"
        seeds = sorted(set().union(*(set(v) for v in cells.values())))
        lines.append(f"| {label} (seeds {', '.join(map(str, seeds))}) | " + " | ".join(row) + f" | {mean} |")
    return "\n".join(lines)


def cell_seconds(runs: Sequence[dict]) -> dict[str, tuple[float, bool]]:
    """Per run id: (seconds its results took to compute, complete?). A run that recorded its cache
    events counts each step it computed now and, for a cache hit, the seconds recorded when that
    entry was computed, so a report rebuilt from the cache in a later sitting still shows what the
    results cost; a step shared by several runs (the English labeller) counts in the first, in the
    order given. ``complete`` is False where a hit predates recorded timings (the figure is then a
    lower bound). Runs without cache events (studies) keep their wall seconds."""
    seen: set[tuple[str, str]] = set()
    out: dict[str, tuple[float, bool]] = {}
    for r in runs:
        events = r.get("cache")
        if not isinstance(events, list) or not events:
            out[r["run_id"]] = (float(r.get("seconds") or 0.0), True)
            continue
        total, complete = 0.0, True
        for ev in events:
            key = (str(ev.get("step")), str(ev.get("fingerprint")))
            if key in seen:
                continue
            seen.add(key)
            took = ev.get("computed")
            if took is None and ev.get("status") != "hit":
                took = ev.get("seconds")
            if took is None:
                complete = False
            else:
                total += float(took)
        out[r["run_id"]] = (total, complete)
    return out


def detail_table(runs: Sequence[dict], secs: dict[str, tuple[float, bool]] | None = None) -> str:
    """Per cell: precision / recall and the seconds its results took to compute (:func:`cell_seconds`:
    a cache hit counts what it took when computed, a step shared by several cells counts in the
    first; ``≥`` marks a lower bound; ``secs``: :func:`cell_seconds` of ``runs`` when already computed)."""
    langs, systems, cells = _table(runs)
    secs = cell_seconds(runs) if secs is None else secs
    lines = ["| system | " + " | ".join(f"{lang} P / R (s)" for lang in langs) + " | s total |",
             "|---|" + "---:|" * (len(langs) + 1)]
    for s in systems:
        row, total = [], 0.0
        for lang in langs:
            r = cells.get((s, lang))
            if r is None or r.get("status") != "ok":
                row.append("" if r is None else "error")
                continue
            sec, complete = secs.get(r["run_id"], (float(r.get("seconds") or 0.0), True))
            total += sec
            row.append(f"{r['precision']:.3f} / {r['recall']:.3f} ({'' if complete else '≥'}{sec:.0f})")
        lines.append(f"| {s} | " + " | ".join(row) + f" | {total:.0f} |")
    return "\n".join(lines)


def build_report(folder: str | os.PathLike) -> Path:
    """(Re)write ``results.md``, ``f1.png`` and ``precision_recall.png`` from ``runs/*.json``."""
    d = Path(folder)
    runs = load_runs(d)
    ok = [r for r in runs if r.get("status") == "ok"]
    secs = cell_seconds(runs)
    parts = [f"# {runs[0].get('experiment', d.name)}", "",
             "Strict span F1 (labels as signed below; other types → O on both sides).", "", markdown_table(runs), "",
             "Precision / recall per cell and the seconds its results took to compute (cache hits count "
             "what they took when computed; a shared step counts in the first cell; ≥: a lower bound):", "",
             detail_table(runs, secs), ""]
    seeds = seed_table(runs)
    if seeds:
        parts += ["Systems that differ only by the target model's seed: mean F1 over the seeds (lowest–highest):", "",
                  seeds, ""]
    sigs = sorted({r["signature"] for r in ok if r.get("signature")})
    if sigs:
        parts += ["Signatures:", ""] + [f"* `{s}`" for s in sigs] + [""]
    prj = [r for r in ok if str(r.get("system", "")).startswith("projection") and (r.get("info") or {}).get("projection")]
    if prj:
        def cost(r: dict) -> str:
            sec, complete = secs[r["run_id"]]
            return f"{'' if complete else '≥'}{sec:.1f}"

        parts += ["| run | parallel pairs | projection rate | training sentences | P | R | s |", "|---|---:|---:|---:|---:|---:|---:|"]
        for r in prj:
            st = (r.get("info") or {}).get("projection", {})
            rate = st.get("projection", {}).get("projection_rate")
            parts.append(f"| {r['run_id']} | {(r.get('info') or {}).get('n_parallel', '')} | "
                         f"{'' if rate is None else f'{rate:.3f}'} | {st.get('filter', {}).get('out', '')} | "
                         f"{r['precision']:.3f} | {r['recall']:.3f} | {cost(r)} |")
        parts.append("")
    errs = [r for r in runs if r.get("status") != "ok"]
    if errs:
        parts += ["Errors:", ""] + [f"* {r['run_id']}: {r.get('error')}" for r in errs] + [""]
    with atomic_write(d / "results.md") as fh:
        fh.write("\n".join(parts))
    if ok:
        _plots(ok, d)
    return d / "results.md"


def _plots(runs: Sequence[dict], d: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    langs, systems, cells = _table(runs)
    n = max(len(systems), 1)
    width = 0.8 / n
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(langs) + 2), 4.5))
    for k, s in enumerate(systems):
        xs = [i + (k - (n - 1) / 2) * width for i in range(len(langs))]
        ys = [cells[(s, lang)]["f1"] if (s, lang) in cells else math.nan for lang in langs]
        ax.bar(xs, ys, width, label=s)
    ax.set_xticks(range(len(langs)))
    ax.set_xticklabels(langs)
    ax.set_ylabel("strict span F1")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(d / "f1.png", dpi=110)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(7, 5))
    for s in systems:
        pts = [(cells[(s, lang)]["recall"], cells[(s, lang)]["precision"]) for lang in langs if (s, lang) in cells]
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], label=s, s=18)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(d / "precision_recall.png", dpi=110)
    plt.close(fig)


def run_status(folder: str | os.PathLike, run_ids: Sequence[str]) -> dict[str, list[str]]:
    """Which of ``run_ids`` finished (``ok``), failed (``error``: status not ok or unreadable record)
    or left no record (``missing``) in ``folder/runs``."""
    out: dict[str, list[str]] = {"ok": [], "error": [], "missing": []}
    for rid in run_ids:
        path = Path(folder) / "runs" / f"{rid}.json"
        if not path.is_file():
            out["missing"].append(rid)
            continue
        try:
            status = json.loads(path.read_text(encoding="utf-8")).get("status")
        except (OSError, json.JSONDecodeError, AttributeError):
            status = None
        out["ok" if status == "ok" else "error"].append(rid)
    return out
