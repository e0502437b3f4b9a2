"""One self-contained HTML page per inspection: summary at the top, pairs rendered by inline JS.

The data travels as one JSON blob (``<script type="application/json" id="projner-data">``); the
script renders one page of pairs at a time (tokens, entities coloured by type as in displaCy,
alignment links as lines or a heat-map matrix, and every verdict), so a 10,000-pair report opens
as fast as a small one. No network access is needed: CSS and JS are inlined from
``projner/inspect/assets``.
"""

from __future__ import annotations

import html
import json
from importlib import resources
from pathlib import Path
from typing import Any

from projner.inspect.verdicts import Category, InspectReport, PairReport, inspect_files
from projner.types import Span

PAGE_SIZES = (10, 25, 50, 100)
REASON_HELP = {
    "no_links": "no target word is aligned to the entity",
    "length_ratio": "the aligned target range is too short (or long) for the entity",
    "compound": "length_ratio: a multi-word entity aligned to one target word (often a compound)",
    "overlap_lost": "another entity's projection took the target words",
    "no_candidate": "no candidate scored above the threshold",
    "marker_lost": "markers were lost in translation",
    "filtered": "removed by a later filter",
    "pred_differs": "--pred differs from what the projector produces",
    "wrong_boundary": "predicted span overlaps gold with other boundaries",
    "wrong_type": "same boundaries, other type",
    "missed": "gold entity without an overlapping prediction",
    "spurious": "prediction without gold",
}


def _asset(name: str) -> str:
    return resources.files("projner.inspect").joinpath("assets", name).read_text(encoding="utf-8")


def _span(s: Span) -> list:
    return [s.start, s.end, s.label]


def pair_to_json(p: PairReport) -> dict[str, Any]:
    """The compact form the page's script reads (see assets/inspect.js for the keys)."""
    links = [[l.src, l.tgt] if l.score is None else [l.src, l.tgt, round(l.score, 4)] for l in p.alignment.links]
    se = [
        {
            "a": v.source.start, "b": v.source.end, "y": v.source.label, "o": v.outcome.value,
            "x": v.explain(), "t": None if v.target is None else [v.target.start, v.target.end],
            "al": list(v.aligned), "ip": v.in_pred,
        }
        for v in p.sources
    ]
    tv = [
        {
            "c": t.category.value, "g": None if t.gold is None else _span(t.gold),
            "p": None if t.pred is None else _span(t.pred), "d": t.detail, "cs": list(t.causes),
        }
        for t in p.targets
    ]
    tr = set()
    for v in p.sources:
        if v.outcome.value != "projected":
            tr.add(f"{v.source.label}|{v.outcome.value}")
        if v.in_pred is False:
            tr.add(f"{v.source.label}|pred_differs")
        if v.hint.endswith("(compound?)"):
            tr.add(f"{v.source.label}|compound")
    for t in p.targets:
        if t.category is not Category.CORRECT:
            tr.add(f"{(t.gold or t.pred).label}|{t.category.value}")  # type: ignore[union-attr]
    for s in p.pred_extra:
        tr.add(f"{s.label}|pred_differs")
    return {
        "i": p.index, "s": list(p.src.tokens), "t": list(p.tgt.tokens), "l": links, "se": se,
        "pr": [_span(s) for s in p.pred], "g": None if p.gold is None else [_span(s) for s in p.gold],
        "tv": tv, "px": [_span(s) for s in p.pred_extra], "e": 1 if p.has_error else 0,
        "rs": list(p.reasons), "ty": list(p.types), "tr": sorted(tr),
    }


def report_to_json(report: InspectReport, *, page_size: int = 25) -> dict[str, Any]:
    types = sorted({t for p in report.pairs for t in p.types})
    return {
        "version": 1,
        "page_size": page_size,
        "has_gold": report.scores is not None,
        "pred_is_projection": report.pred_is_projection,
        "types": types,
        "reasons": report.reason_counts(),
        "reason_help": REASON_HELP,
        "pairs": [pair_to_json(p) for p in report.pairs],
    }


def _json_for_script(obj: Any) -> str:
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _pct(x: float) -> str:
    return f"{100 * x:.2f}"


def _summary_html(report: InspectReport) -> str:
    e = html.escape
    out = ['<section id="summary">']
    st = report.stats
    out.append('<div class="cards">')
    out.append(
        f'<div class="card"><div class="big">{len(report.pairs)}</div><div>sentence pairs</div>'
        f'<div class="small"><a href="#" data-filter="errors" id="errors-link">{report.n_error_pairs} with errors</a></div></div>'
    )
    out.append(
        f'<div class="card"><div class="big">{_pct(st.rate)}%</div><div>projection rate</div>'
        f'<div class="small">{st.n_projected} / {st.n_source} source entities</div></div>'
    )
    if report.scores is not None:
        sc = report.scores
        out.append(
            f'<div class="card"><div class="big" id="f1">{_pct(sc.f1)}</div><div>strict F1</div>'
            f'<div class="small">P {_pct(sc.precision)} · R {_pct(sc.recall)} · macro F1 {_pct(sc.macro_f1)}</div></div>'
        )
    out.append("</div>")
    # projection outcomes
    out.append('<div class="tables"><table class="counts" id="outcomes"><caption>Source entities: projection outcomes</caption>')
    out.append("<tr><th>outcome</th><th>entities</th></tr>")
    for k, v in st.outcomes.items():
        cls = "ok" if k == "projected" else "bad"
        link = k if k != "projected" else ""
        cell = f'<a href="#" data-reason="{e(link)}" title="{e(REASON_HELP.get(k, ""))}">{e(k)}</a>' if link else e(k)
        out.append(f'<tr class="{cls}"><td><span class="dot o-{e(k)}"></span>{cell}</td><td class="num">{v}</td></tr>')
    out.append("</table>")
    if report.scores is not None:
        cats = report.category_counts()
        out.append('<table class="counts" id="categories"><caption>Target entities vs gold</caption>')
        out.append("<tr><th>category</th><th>entities</th></tr>")
        for k, v in cats.items():
            cell = e(k) if k == "correct" else f'<a href="#" data-reason="{e(k)}" title="{e(REASON_HELP.get(k, ""))}">{e(k)}</a>'
            out.append(f'<tr><td><span class="dot c-{e(k)}"></span>{cell}</td><td class="num">{v}</td></tr>')
        out.append("</table>")
        sc = report.scores
        out.append('<table class="counts" id="scores"><caption>Strict span scores (as <code>projner evaluate</code>)</caption>')
        out.append("<tr><th>type</th><th>prec</th><th>rec</th><th>f1</th><th>support</th></tr>")
        for k, t in sc.per_type.items():
            out.append(
                f'<tr><td><a href="#" data-type="{e(k)}"><mark class="ent ent-{e(_cls(k))}">{e(k)}</mark></a></td>'
                f'<td class="num">{_pct(t.precision)}</td><td class="num">{_pct(t.recall)}</td>'
                f'<td class="num">{_pct(t.f1)}</td><td class="num">{t.support}</td></tr>'
            )
        m = sc.micro
        out.append(
            f'<tr class="micro"><td>micro</td><td class="num">{_pct(m.precision)}</td><td class="num">{_pct(m.recall)}</td>'
            f'<td class="num">{_pct(m.f1)}</td><td class="num">{m.support}</td></tr></table>'
        )
    out.append("</div>")
    out.append('<div class="sigs">')
    if report.scores is not None:
        out.append(f'<div>score: <code id="eval-signature">{e(report.scores.signature)}</code></div>')
    out.append(f'<div>projector: <code id="projector-signature">{e(report.projector_signature)}</code></div>')
    if report.files:
        out.append("<div>files: " + " · ".join(f"{e(k)} <code>{e(v)}</code>" for k, v in report.files.items()) + "</div>")
    out.append("</div></section>")
    return "".join(out)


def _cls(label: str) -> str:
    return "".join(c if c.isalnum() or c in "_-" else "_" for c in label)


def _controls_html() -> str:
    sizes = "".join(f'<option value="{n}">{n}</option>' for n in PAGE_SIZES)
    return (
        '<nav id="controls">'
        '<label><input type="checkbox" id="f-errors"> errors only</label>'
        '<label>type <select id="f-type"><option value="">all</option></select></label>'
        '<label>reason <select id="f-reason"><option value="">any</option></select></label>'
        '<label>search <input type="search" id="f-search" placeholder="token(s)…" size="16"></label>'
        '<label>view <select id="f-view"><option value="lines">links</option><option value="matrix">matrix</option></select></label>'
        '<button id="f-reset" type="button">reset</button>'
        '<span class="spacer"></span>'
        '<span id="count"></span>'
        '<button id="prev" type="button" title="previous page (←)">‹ prev</button>'
        '<span id="pageinfo"></span>'
        '<button id="next" type="button" title="next page (→)">next ›</button>'
        f'<label>per page <select id="f-size">{sizes}</select></label>'
        "</nav>"
    )


def render_report_html(report: InspectReport, *, title: str | None = None, page_size: int = 25) -> str:
    """The page for an already built :class:`InspectReport`."""
    from projner import __version__

    if page_size not in PAGE_SIZES:
        from projner.errors import E, ProjnerError

        raise ProjnerError(E.E162, detail=f"page size {page_size}; known: {', '.join(map(str, PAGE_SIZES))}")
    title = title or "projner inspect"
    data = _json_for_script(report_to_json(report, page_size=page_size))
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>{html.escape(title)}</title>"
        f"<style>{_asset('inspect.css')}</style></head>\n"
        f'<body><header><h1>{html.escape(title)}</h1><span class="ver">projner {html.escape(__version__)}</span></header>\n'
        f"{_summary_html(report)}\n{_controls_html()}\n"
        '<main id="pairs"><p class="empty">Loading…</p></main>\n'
        f'<script type="application/json" id="projner-data">{data}</script>\n'
        f"<script>{_asset('inspect.js')}</script>\n"
        "</body></html>\n"
    )


def render_html(src: str | Path, tgt: str | Path, align: str | Path, *, title: str | None = None, page_size: int = 25,
                **inspect_options: Any) -> str:
    """Project ``src`` onto ``tgt`` through ``align`` and return the inspector page as a string.

    ``inspect_options`` are those of :func:`~projner.inspect.verdicts.inspect_files`: ``pred``
    (compared with the projection), ``gold`` (target gold: classifies every target entity),
    ``method`` and ``params`` (the projector's; default: those of ``projner project``),
    ``options`` (:class:`~projner.data.formats.ReadOptions`) and ``label_map``.
    """
    report = inspect_files(src, tgt, align, **inspect_options)
    return render_report_html(report, title=title, page_size=page_size)
