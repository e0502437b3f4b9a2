"""The self-training study's report (:class:`~projner.research.self_training.SelfTraining`):
``self_training.md`` (per language: each system's F1 against the transfer and projection
teachers, pseudo-label counts) and ``self_training_rounds.png`` (student F1 per round).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from projner.data.textio import atomic_write


def write_self_training_report(folder: Path) -> Path:
    """Write ``self_training.md`` and ``self_training_rounds.png`` from ``folder/runs/*.json``
    (in the plan's order, as :func:`~projner.pipeline.experiment.load_runs` gives them)."""
    from projner.pipeline.experiment import load_runs

    folder = Path(folder)
    runs = load_runs(folder)
    langs = list(dict.fromkeys(r["lang"] for r in runs))
    parts = ["# Self-training / multi-source teacher–student", "",
             "Strict span F1 on MasakhaNER 2.0 test (PER/ORG/LOC). Students are CRFs trained on the hard "
             "labels of the teachers on unlabelled target text: sentences whose every predicted span has "
             "confidence ≥ threshold (one teacher: span probability; several: mean of the averaged token "
             "marginals along a constrained IOB2 Viterbi path). `masakhaner-train` is in-domain unlabelled "
             "text (the test's own distribution, labels discarded): a separate, optimistic setting.", ""]
    for lang in langs:
        rs = [r for r in runs if r["lang"] == lang]
        base = {r["run_id"].split("__", 1)[1]: r for r in rs if r.get("status") == "ok"}
        parts += [f"## {lang}", "", "| system | F1 | P | R | Δ vs transfer | Δ vs projection | unlabelled | pseudo-labelled kept | dropped (low conf.) | spans (PER/ORG/LOC) |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
        for r in rs:
            if r.get("status") != "ok":
                parts.append(f"| {r['label']} | error | | | | | | | | {str(r.get('error', ''))[:80]} |")
                continue
            dt = _delta(r, base.get("transfer"))
            dp = _delta(r, base.get("projection"))
            ps = r.get("pseudo") or {}
            spans = "/".join(str(ps.get(f"spans_{lab}", 0)) for lab in ("PER", "ORG", "LOC")) if ps else ""
            parts.append(f"| {r['label']} | {r['f1']:.3f} | {r['precision']:.3f} | {r['recall']:.3f} | {dt} | {dp} | "
                         f"{r.get('n_unlabelled', '')} | {ps.get('out', '')} | {ps.get('dropped_low_confidence', '')} | {spans} |")
        parts.append("")
    path = folder / "self_training.md"
    with atomic_write(path) as fh:
        fh.write("\n".join(parts))
    _rounds_plot(runs, folder / "self_training_rounds.png")
    return path


def _delta(r: Mapping[str, Any], ref: Mapping[str, Any] | None) -> str:
    if ref is None or ref is r or ref.get("run_id") == r.get("run_id"):
        return ""
    return f"{r['f1'] - ref['f1']:+.3f}"


def _rounds_plot(runs: Sequence[Mapping[str, Any]], path: Path) -> None:
    ok = [r for r in runs if r.get("status") == "ok"]
    if not ok:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    langs = list(dict.fromkeys(r["lang"] for r in ok))
    fig, axes = plt.subplots(1, len(langs), figsize=(4.5 * len(langs), 4), squeeze=False)
    for ax, lang in zip(axes[0], langs):
        rs = [r for r in ok if r["lang"] == lang]
        for r in rs:
            if r.get("system") in ("transfer", "projection"):
                ax.axhline(r["f1"], ls="--" if r["system"] == "transfer" else ":", color="grey" if r["system"] == "transfer" else "black",
                           label=r["label"])
        series: dict[str, list[tuple[int, float]]] = {}
        for r in rs:
            if r.get("system") == "self-training":
                series.setdefault(f"{r['teachers']} → {r['unlabelled']}", []).append((int(r["round"]), r["f1"]))
        for name, pts in series.items():
            pts.sort()
            ax.plot([x for x, _ in pts], [y for _, y in pts], marker="o", label=name)
        rounds = sorted({x for pts in series.values() for x, _ in pts})
        if rounds:
            ax.set_xticks(rounds)
        ax.set_title(lang)
        ax.set_xlabel("round")
        ax.set_ylabel("F1")
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
