"""The morphology study's report (:class:`~projner.research.morphology.MorphologyStudy`):
``morphology.md`` (coverage, F1 per perturbation rate, drops with paired-bootstrap intervals,
the share of the drop recovered by augmentation) and ``morphology_f1.png`` (F1 against rate).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping, Sequence

from projner.data.textio import atomic_write
from projner.research.morphology import MODEL_LABELS, MODELS


def _load_records(folder: Path) -> list[dict]:
    from projner.pipeline.experiment import load_runs

    return [rec for rec in load_runs(folder) if "rate" in rec and "model" in rec]


def _fmt(x: float | None, pct: bool = False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{100 * x:.1f}%" if pct else f"{x:.3f}"


NOISE = 0.005  # drops below this (absolute F1) are not turned into recovery ratios


def write_morphology_report(folder: Path) -> Path:
    """``morphology.md`` (F1 per rate, drops, recovery, coverage) and ``morphology_f1.png``."""
    recs = _load_records(folder)
    langs: list[str] = []
    for r in recs:
        lg = r.get("language") or str(r["lang"]).split("@")[0]
        if lg not in langs:
            langs.append(lg)
    cell: dict[tuple[str, str, float], dict] = {}
    for r in recs:
        lg = r.get("language") or str(r["lang"]).split("@")[0]
        cell[(lg, r["model"], float(r["rate"]))] = r
    parts = ["# Robustness to morphological variation", "",
             "Test tokens whose (case-insensitive) form is in the SIGMORPHON 2020 inflection table and whose",
             "lemma has another form are *covered*; a share `rate` of them is replaced by another form of",
             "the same lemma (capitalisation pattern kept, labels unchanged). Strict span F1.", ""]
    for lg in langs:
        rates = sorted({k[2] for k in cell if k[0] == lg})
        models = [m for m in MODELS if any(k[0] == lg and k[1] == m for k in cell)]
        f1 = {(m, r): (cell[(lg, m, r)].get("f1") if cell.get((lg, m, r), {}).get("status") == "ok" else None)
              for m in models for r in rates}
        parts += [f"## {lg}", ""]
        anyrec = next((cell[k] for k in cell if k[0] == lg and cell[k].get("table")), None)
        if anyrec:
            t = anyrec["table"]
            parts += [f"Table: {t.get('entries')} entries, {t.get('lemmas')} lemmas, {t.get('forms')} distinct forms; "
                      f"skipped lines {t.get('skipped')}.", ""]
        parts += ["| rate | tokens | entity tokens | in table | covered | covered in entities | replaced | replaced in entities | sentences changed |",
                  "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in rates:
            rec = next((cell[(lg, m, r)] for m in models if cell.get((lg, m, r), {}).get("coverage")), None)
            if rec:
                c = rec["coverage"]
                parts.append(f"| {r:g} | {c['tokens']} | {c['entity_tokens']} | {c['in_table']} | {c['covered']} "
                             f"({100 * c['covered'] / max(c['tokens'], 1):.2f}%) | {c['covered_in_entities']} | {c['replaced']} | "
                             f"{c['replaced_in_entities']} | {c['sentences_changed']} |")
        parts += ["", "| model | " + " | ".join(f"F1 @{r:g}" for r in rates) + " | "
                  + " | ".join(f"drop @{r:g} (abs / rel [95% CI])" for r in rates if r > 0) + " |",
                  "|---|" + "---:|" * (len(rates) + sum(1 for r in rates if r > 0))]
        for m in models:
            row = [_fmt(f1[(m, r)]) for r in rates]
            base = f1.get((m, 0.0))
            drops = []
            for r in rates:
                if r == 0:
                    continue
                if base is None or f1[(m, r)] is None:
                    drops.append("n/a")
                else:
                    d = base - f1[(m, r)]
                    ci = cell[(lg, m, r)].get("drop_ci95")
                    ci_s = f" [{ci[0]:+.4f}, {ci[1]:+.4f}]" if ci else ""
                    drops.append(f"{d:+.4f} / {_fmt(d / base if base else None, pct=True)}{ci_s}")
            parts.append(f"| {MODEL_LABELS[m]} | " + " | ".join(row) + " | " + " | ".join(drops) + " |")
        sub = [(m, r, cell[(lg, m, r)]["changed_sentences"]) for m in models for r in rates
               if r > 0 and cell.get((lg, m, r), {}).get("changed_sentences")]
        if sub:
            parts += ["", "Only the sentences the perturbation changed (the same sentences scored at rate 0 and at the rate), "
                      "and the number of test sentences whose predicted spans differ from rate 0:", "",
                      "| model | rate | changed sentences | gold entities in them | F1 there @0 | F1 there @rate | prediction changed |",
                      "|---|---:|---:|---:|---:|---:|---:|"]
            for m, r, c in sub:
                parts.append(f"| {MODEL_LABELS[m]} | {r:g} | {c['n']} | {c['gold_entities']} | {c['f1_rate0']:.3f} | "
                             f"{c['f1']:.3f} | {c['prediction_changed']} |")
        if "projection" in models and "augmented" in models:
            parts += ["", "Share of the drop recovered by augmentation: *recovered* = (F1 aug@r − F1 proj@r) / "
                      "(F1 proj@0 − F1 proj@r); *robustness* = 1 − drop_aug / drop_proj (drops vs each model's own rate 0). "
                      f"Not computed (n/a) when the projection model's drop is below {NOISE} or its 95% CI "
                      "(paired bootstrap over test sentences, 1000 resamples) includes 0.", "",
                      "| rate | drop proj | drop aug | F1 gain aug − proj | recovered | robustness |",
                      "|---:|---:|---:|---:|---:|---:|"]
            for r in rates:
                if r == 0:
                    continue
                vals = [f1.get(("projection", 0.0)), f1.get(("projection", r)), f1.get(("augmented", 0.0)), f1.get(("augmented", r))]
                if any(v is None for v in vals):
                    parts.append(f"| {r:g} | n/a | n/a | n/a | n/a | n/a |")
                    continue
                p0, pr, a0, ar = vals
                dp, da = p0 - pr, a0 - ar
                ci = cell[(lg, "projection", r)].get("drop_ci95")
                real = dp >= NOISE and (ci is None or ci[0] > 0)
                rec_s = _fmt((ar - pr) / dp, pct=True) if real else "n/a"
                rob_s = _fmt(1 - da / dp, pct=True) if real else "n/a"
                parts.append(f"| {r:g} | {dp:+.4f} | {da:+.4f} | {ar - pr:+.4f} | {rec_s} | {rob_s} |")
        aug = next((cell[k].get("info", {}).get("augment_stats") for k in cell
                    if k[0] == lg and k[1] == "augmented" and cell[k].get("info", {}).get("augment_stats")), None)
        if aug:
            parts += ["", f"Augmented training data: {aug.get('in')} projected sentences → {aug.get('out')} "
                      f"({aug.get('mode')}; perturbation stats {aug.get('perturb')})."]
        parts.append("")
    sigs = sorted({r["signature"] for r in recs if r.get("status") == "ok" and r.get("signature")})
    if sigs:
        parts += ["Signatures:", ""] + [f"* `{s}`" for s in sigs] + [""]
    errs = [r for r in recs if r.get("status") != "ok"]
    if errs:
        parts += ["Errors:", ""] + [f"* {r['run_id']}: {r.get('error')}" for r in errs] + [""]
    path = folder / "morphology.md"
    with atomic_write(path) as fh:
        fh.write("\n".join(parts))
    _plot(folder, langs, cell)
    return path


def _plot(folder: Path, langs: Sequence[str], cell: Mapping[tuple[str, str, float], dict]) -> None:
    ok = {k: v for k, v in cell.items() if v.get("status") == "ok"}
    if not ok or not langs:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(langs), figsize=(4.8 * len(langs), 4), squeeze=False)
    for ax, lg in zip(axes[0], langs):
        for m in MODELS:
            pts = sorted((k[2], v["f1"]) for k, v in ok.items() if k[0] == lg and k[1] == m)
            if pts:
                ax.plot([x for x, _ in pts], [y for _, y in pts], marker="o", label=MODEL_LABELS[m])
        ax.set_title(lg)
        ax.set_xlabel("perturbation rate (share of covered tokens replaced)")
        ax.set_ylabel("strict span F1")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(folder / "morphology_f1.png", dpi=110)
    plt.close(fig)
