"""The scaling study's report (:class:`~projner.research.scaling.Scaling`): ``scaling.md``
(F1 per source and number of pairs, per-run details) and ``learning_curves.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from projner.data.textio import atomic_write
from projner.research.scaling import SOURCES, _sort_key


def write_scaling_report(folder: Path) -> None:
    """``scaling.md`` and ``learning_curves.png`` from the finished runs (nothing without any)."""
    runs = _load_ok(folder)
    if not runs:
        return
    md = scaling_markdown(runs)
    with atomic_write(folder / "scaling.md") as fh:
        fh.write(md)
    learning_curves(runs, folder / "learning_curves.png")


def _load_ok(folder: Path) -> list[dict]:
    from projner.pipeline.experiment import load_runs

    if not any((folder / "runs").glob("*.json")):
        return []
    return [r for r in load_runs(folder) if r.get("status") == "ok" and "source" in r and "n_pairs" in r]


def _group(runs: Sequence[dict]) -> dict[str, dict[str, dict[Any, list[dict]]]]:
    """lang → source → size → records (one per seed)."""
    out: dict = {}
    for r in runs:
        out.setdefault(r["lang"], {}).setdefault(r["source"], {}).setdefault(r["size"], []).append(r)
    return out


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs)


def _cell(recs: Sequence[dict], field: str = "f1", fmt: str = "{:.3f}") -> str:
    vals = [r[field] for r in recs if r.get(field) is not None]
    if not vals:
        return ""
    if len(vals) == 1:
        return fmt.format(vals[0])
    return fmt.format(_mean(vals)) + f" ±{(max(vals) - min(vals)) / 2:.3f} (n={len(vals)})"


def scaling_markdown(runs: Sequence[dict]) -> str:
    g = _group(runs)
    parts = ["# Scaling out-of-domain parallel data", "",
             "Strict span F1 on MasakhaNER 2.0 test (PER/ORG/LOC) of a CRF trained on text projected from N "
             "parallel pairs (eflomal aligned on those N pairs only). `= all` : the size reaches the source's "
             "size (same run as `all`). Several seeds: mean ± half range.", ""]
    for lang in g:
        sources = [s for s in SOURCES if s in g[lang]]
        sizes = sorted({s for src in sources for s in g[lang][src]}, key=_sort_key)
        n_all = {src: g[lang][src]["all"][0]["n_pairs"] for src in sources if "all" in g[lang][src]}
        # nominal sizes that collapsed: any size >= all's n of a source whose all ran
        parts += [f"## {lang}", "", "| pairs | " + " | ".join(sources) + " |", "|---|" + "---:|" * len(sources)]
        for size in sizes:
            row = []
            for src in sources:
                recs = g[lang][src].get(size)
                if recs:
                    row.append(_cell(recs) + (f" (all = {recs[0]['n_pairs']:,})" if size == "all" else ""))
                elif size != "all" and src in n_all and size >= n_all[src]:
                    row.append("= all")
                else:
                    row.append("")
            parts.append(f"| {size if size == 'all' else f'{size:,}'} | " + " | ".join(row) + " |")
        parts += ["", "| run | pairs (by kind) | projection rate | training sentences | entities / sentence | P | R | F1 | s |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
        for src in sources:
            for size in sorted(g[lang][src], key=_sort_key):
                for r in sorted(g[lang][src][size], key=lambda r: r.get("seed", 0)):
                    kinds = ", ".join(f"{k} {v:,}" for k, v in (r.get("pairs_by_kind") or {}).items())
                    rate = r.get("projection_rate")
                    parts.append(f"| {r['run_id']} | {r['n_pairs']:,} ({kinds}) | {'' if rate is None else f'{rate:.3f}'} | "
                                 f"{r.get('n_train', '')} | {r.get('entities_per_sentence', 0):.2f} | {r['precision']:.3f} | "
                                 f"{r['recall']:.3f} | {r['f1']:.3f} | {r.get('seconds', '')} |")
        parts.append("")
    sigs = sorted({r["signature"] for r in runs if r.get("signature")})
    if sigs:
        parts += ["Signatures:", ""] + [f"* `{s}`" for s in sigs] + [""]
    asigs = sorted({r["align_signature"] for r in runs if r.get("align_signature")})
    if asigs:
        parts += ["Aligner:", ""] + [f"* `{s}`" for s in asigs] + [""]
    return "\n".join(parts)


def learning_curves(runs: Sequence[dict], path: Path) -> Path:
    """F1 against the number of pairs (log x), one panel per language, one line per source; mixed
    is drawn a second time (dashed) against its in-domain (MAFAND) pairs only."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    g = _group(runs)
    langs = list(g)
    fig, axes = plt.subplots(1, len(langs), figsize=(5.2 * len(langs), 4.2), squeeze=False, sharey=True)
    for ax, lang in zip(axes[0], langs):
        for src in [s for s in SOURCES if s in g[lang]]:
            pts = []
            for size, recs in g[lang][src].items():
                f1s = [r["f1"] for r in recs]
                pts.append((_mean([r["n_pairs"] for r in recs]), _mean(f1s), min(f1s), max(f1s)))
            pts.sort()
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            line = ax.plot(xs, ys, marker="o", label=src)[0]
            if any(p[3] > p[2] for p in pts):
                ax.fill_between(xs, [p[2] for p in pts], [p[3] for p in pts], alpha=0.2, color=line.get_color())
            if src == "mixed":  # the same runs against their in-domain pairs only: does the Bible part add?
                inn = sorted((_mean([(r.get("pairs_by_kind") or {}).get("mafand", 0) for r in recs]),
                              _mean([r["f1"] for r in recs])) for recs in g[lang][src].values())
                inn = [q for q in inn if q[0] > 0]
                if inn:
                    ax.plot([q[0] for q in inn], [q[1] for q in inn], ls="--", marker=".", color=line.get_color(),
                            alpha=0.7, label="mixed (x = its MAFAND pairs)")
        ax.set_xscale("log")
        ax.set_xlabel("parallel pairs (log)")
        ax.set_title(lang)
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("strict span F1 (PER/ORG/LOC)")
    axes[0][0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
