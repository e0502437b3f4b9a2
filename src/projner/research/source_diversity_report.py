"""The source-diversity study's report (:class:`~projner.research.source_diversity.SourceDiversity`):
``source_diversity.md`` (targets × sources matrices, combinations against the best single
source) and ``source_diversity.png`` (heatmap of single-source F1, bars of the combinations).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping, Sequence

from projner.data.textio import atomic_write


def _cell(r: Mapping[str, Any] | None, key: str = "f1") -> str:
    if r is None:
        return ""
    if r.get("status") != "ok":
        return "error"
    if r.get(key) is None:
        return ""
    return f"{r[key]:.3f} ± {r.get(key + '_sd') or 0.0:.3f}"


def write_report(folder: Path) -> Path:
    """``source_diversity.md`` (targets × sources matrix, combinations vs best single source) and
    ``source_diversity.png`` (heatmap of single-source F1 + bars of the combinations)."""
    from projner.pipeline.experiment import load_runs

    # in the plan's order (singles, then combinations by method) when known: load_runs sorts so
    runs = [r for r in load_runs(folder) if r.get("kind") in ("single", "combination")]
    singles = [r for r in runs if r["kind"] == "single"]
    combos = [r for r in runs if r["kind"] == "combination"]
    targets = _order([r["lang"] for r in runs])
    sources = _order([r["sources"][0] for r in singles], prefer=["en", "de", "es", "it"])
    cell = {(r["lang"], r["sources"][0]): r for r in singles}
    n_rep = max((r.get("repeats", 1) for r in runs), default=1)
    lines = ["# Source-language diversity", "",
             f"Strict span F1 of projected **gold** source entities against the target's gold, mean ± sd over "
             f"{n_rep} aligner run(s). Rows: target; columns: source language.", "",
             "| target \\ source | " + " | ".join(sources) + " |", "|---|" + "---:|" * len(sources)]
    for t in targets:
        lines.append(f"| {t} | " + " | ".join("—" if s == t else _cell(cell.get((t, s))) for s in sources) + " |")
    lines += ["", "Same, PER/ORG/LOC only:", "",
              "| target \\ source | " + " | ".join(sources) + " |", "|---|" + "---:|" * len(sources)]
    for t in targets:
        lines.append(f"| {t} | " + " | ".join("—" if s == t else _cell(cell.get((t, s)), "f1_core") for s in sources) + " |")
    lines += ["", "Projection rate (projected / source entities):", "",
              "| target \\ source | " + " | ".join(sources) + " |", "|---|" + "---:|" * len(sources)]
    for t in targets:
        row = []
        for s in sources:
            r = cell.get((t, s))
            row.append("—" if s == t else ("" if not r or r.get("status") != "ok" or r.get("projection_rate") is None
                                           else f"{r['projection_rate']:.3f}"))
        lines.append(f"| {t} | " + " | ".join(row) + " |")
    if combos:
        lines += ["", "Combinations (Δ = combination − best single source of that target, same repeats):", "",
                  "| target | combination | F1 | P | R | F1 PER/ORG/LOC | best single | Δ F1 |", "|---|---|---:|---:|---:|---:|---|---:|"]
        for t in targets:
            ok_single = [r for r in singles if r["lang"] == t and r.get("status") == "ok"]
            best = max(ok_single, key=lambda r: r["f1"], default=None)
            for r in [c for c in combos if c["lang"] == t]:
                if r.get("status") != "ok":
                    lines.append(f"| {t} | {r['label']} | error | | | | | |")
                    continue
                d = "" if best is None else f"{r['f1'] - best['f1']:+.3f}"
                b = "" if best is None else f"{best['sources'][0]} {best['f1']:.3f}"
                lines.append(f"| {t} | {r['label']} ({'+'.join(r['sources'])}) | {_cell(r)} | {r['precision']:.3f} | "
                             f"{r['recall']:.3f} | {_cell(r, 'f1_core')} | {b} | {d} |")
    sigs = sorted({r.get("signature", "") for r in runs if r.get("status") == "ok"} - {""})
    other = sorted({f"{r.get('aligner_signature')} · {r.get('projector_signature')}" for r in runs if r.get("status") == "ok"})
    csigs = sorted({r.get("combine_signature") for r in combos if r.get("combine_signature")})
    lines += ["", "Signatures:", ""] + [f"* `{s}`" for s in sigs + other + csigs]
    errs = [r for r in runs if r.get("status") != "ok"]
    if errs:
        lines += ["", "Errors:", ""] + [f"* {r['run_id']}: {r.get('error')}" for r in errs]
    path = folder / "source_diversity.md"
    with atomic_write(path) as fh:
        fh.write("\n".join(lines) + "\n")
    if any(r.get("status") == "ok" for r in runs):
        _plot(folder, targets, sources, cell, combos, singles)
    return path


def _order(items: Sequence[str], prefer: Sequence[str] = ()) -> list[str]:
    seen: list[str] = []
    for x in items:
        if x not in seen:
            seen.append(x)
    return sorted(seen, key=lambda x: (prefer.index(x) if x in prefer else len(prefer), x))


def _plot(folder: Path, targets, sources, cell, combos, singles) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5), gridspec_kw={"width_ratios": [1, 1.6]})
    mat = [[math.nan if s == t or (t, s) not in cell or cell[(t, s)].get("status") != "ok" else cell[(t, s)]["f1"]
            for s in sources] for t in targets]
    im = ax1.imshow(mat, cmap="viridis", vmin=0.5, vmax=1.0)
    ax1.set_xticks(range(len(sources)))
    ax1.set_xticklabels(sources)
    ax1.set_yticks(range(len(targets)))
    ax1.set_yticklabels(targets)
    ax1.set_xlabel("source")
    ax1.set_ylabel("target")
    for i, row in enumerate(mat):
        for j, x in enumerate(row):
            if not math.isnan(x):
                sd = cell[(targets[i], sources[j])].get("f1_sd") or 0.0
                ax1.text(j, i, f"{x:.3f}\n±{sd:.3f}", ha="center", va="center", fontsize=8, color="white" if x < 0.8 else "black")
    ax1.set_title("single source: strict F1")
    fig.colorbar(im, ax=ax1, fraction=0.046)
    # right: per target, the single sources and the "all others" combinations (pairs: see the table)
    series = [f"from {x}" for x in sources] + _order([r["label"] for r in combos if r.get("all_others")])
    by = {(r["label"], r["lang"]): r for r in singles + combos if r.get("status") == "ok"}
    width = 0.85 / max(len(series), 1)
    colors = plt.get_cmap("tab10")
    for k, name in enumerate(series):
        xs, ys, es = [], [], []
        for i, t in enumerate(targets):
            r = by.get((name, t))
            if r is not None:
                xs.append(i + (k - (len(series) - 1) / 2) * width)
                ys.append(r["f1"])
                es.append(r.get("f1_sd") or 0.0)
        ax2.bar(xs, ys, width, yerr=es, capsize=1.5, label=name, color=colors(k % 10),
                hatch="" if name.startswith("from ") else "//", edgecolor="white", linewidth=0.3)
    ax2.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax2.set_ylim(0.5, 1)
    ax2.set_xticks(range(len(targets)))
    ax2.set_xticklabels(targets)
    ax2.set_ylabel("strict span F1 (mean ± sd)")
    ax2.set_title("single sources and all-other-sources combinations (hatched)")
    fig.tight_layout()
    fig.savefig(folder / "source_diversity.png", dpi=120)
    plt.close(fig)
