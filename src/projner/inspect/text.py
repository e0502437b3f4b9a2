"""The inspector for terminals: the same per-entity verdicts for a handful of pairs (rich)."""

from __future__ import annotations

from typing import Sequence

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from projner.inspect.verdicts import Category, InspectReport, PairReport
from projner.project.base import Outcome
from projner.types import Span

TYPE_STYLES = {"PER": "bold magenta", "ORG": "bold cyan", "LOC": "bold dark_orange", "MISC": "bold yellow"}
GOOD, BAD = "green", "red"


def _tokens(tokens: Sequence[str], spans: Sequence[Span], lost: frozenset[int] = frozenset()) -> Text:
    text = Text()
    starts = {s.start: s for s in spans}
    i = 0
    while i < len(tokens):
        if i:
            text.append(" ")
        s = starts.get(i)
        if s is not None:
            style = TYPE_STYLES.get(s.label, "bold blue")
            text.append("[", style=style)
            text.append(" ".join(tokens[s.start : s.end]), style=style)
            text.append(f" {s.label}]", style=style)
            i = s.end
            continue
        text.append(tokens[i], style="red underline" if i in lost else "")
        i += 1
    return text


def _quote(tokens: Sequence[str], s: Span) -> str:
    return f'"{" ".join(tokens[s.start:s.end])}" {s.label}'


def _table(*columns: str) -> Table:
    """A borderless table with a dim header row."""
    table = Table(show_header=True, header_style="dim", box=None, pad_edge=False)
    for column in columns:
        table.add_column(column)
    return table


def pair_panel(p: PairReport) -> Panel:
    lost = frozenset(j for v in p.sources if v.outcome is not Outcome.PROJECTED for j in v.aligned)
    parts: list = [
        Text.assemble(("src  ", "dim"), _tokens(p.src.tokens, p.src.spans)),
        Text.assemble(("tgt  ", "dim"), _tokens(p.tgt.tokens, p.pred, lost)),
    ]
    if p.gold is not None:
        parts.append(Text.assemble(("gold ", "dim"), _tokens(p.tgt.tokens, p.gold)))
    links = " ".join(f"{l.src}-{l.tgt}" + (f":{l.score:.2f}" if l.score is not None else "") for l in p.alignment.links)
    parts.append(Text.assemble(("links ", "dim"), (links or "(none)", "dim")))
    if p.sources:
        t = _table("source entity", "verdict", "where / why")
        for v in p.sources:
            where = ""
            if v.target is not None:
                where = f'→ "{" ".join(p.tgt.tokens[v.target.start:v.target.end])}" [{v.target.start}-{v.target.end}]'
                if v.in_pred is False:
                    where += " (not in --pred)"
            else:
                if v.aligned:
                    where = f'aligned to "{" ".join(p.tgt.tokens[j] for j in v.aligned)}"; '
                where += v.explain()
            t.add_row(_quote(p.src.tokens, v.source), Text(v.outcome.value, style=GOOD if v.ok else BAD), where)
        parts.append(t)
    if p.pred_extra:
        parts.append(Text("in --pred only: " + "; ".join(_quote(p.tgt.tokens, s) for s in p.pred_extra), style=BAD))
    if p.targets:
        t = _table("target entity", "vs gold", "detail")
        for tv in p.targets:
            anchor = tv.gold or tv.pred
            assert anchor is not None
            detail = tv.detail
            if tv.causes:
                detail = (detail + "; " if detail else "") + "← " + "; ".join(
                    f"{_quote(p.src.tokens, p.sources[k].source)} ({p.sources[k].explain()})" for k in tv.causes
                )
            ok = tv.category is Category.CORRECT
            t.add_row(_quote(p.tgt.tokens, anchor), Text(tv.category.value, style=GOOD if ok else BAD), detail)
        parts.append(t)
    title = f"pair #{p.index + 1}" + ("" if not p.reasons else "  " + " ".join(p.reasons))
    return Panel(Group(*parts), title=title, title_align="left", border_style=BAD if p.has_error else GOOD)


def summary_text(report: InspectReport) -> Group:
    st = report.stats
    lines: list = [
        Text(f"{len(report.pairs)} pairs, {report.n_error_pairs} with errors; projected {st.n_projected}/{st.n_source} "
             f"source entities (rate {st.rate:.4f})"),
        Text("outcomes: " + ", ".join(f"{k}={v}" for k, v in st.outcomes.items())),
    ]
    if report.scores is not None:
        sc = report.scores
        lines.append(Text("vs gold: " + ", ".join(f"{k}={v}" for k, v in report.category_counts().items())))
        lines.append(Text(sc.format()))
    lines.append(Text(report.projector_signature, style="dim"))
    return Group(*lines)


def select_pairs(
    report: InspectReport, *, limit: int = 5, errors_only: bool = False, reason: str | None = None,
    label: str | None = None, query: str | None = None,
) -> list[PairReport]:
    out = []
    q = query.lower() if query else None
    for p in report.pairs:
        if errors_only and not p.has_error:
            continue
        if reason and reason not in p.reasons:
            continue
        if label and label not in p.types:
            continue
        if q and q not in (" ".join(p.src.tokens) + "\n" + " ".join(p.tgt.tokens)).lower():
            continue
        out.append(p)
        if len(out) >= limit:
            break
    return out


def render_text(
    report: InspectReport, *, limit: int = 5, errors_only: bool = False, reason: str | None = None,
    label: str | None = None, query: str | None = None, width: int = 120, color: bool = False,
) -> str:
    """Summary plus up to ``limit`` pairs (after filters) as terminal text."""
    console = Console(width=width, record=True, force_terminal=color, no_color=not color, file=_Null())
    console.print(summary_text(report))
    for p in select_pairs(report, limit=limit, errors_only=errors_only, reason=reason, label=label, query=query):
        console.print(pair_panel(p))
    return console.export_text(styles=color)


class _Null:
    def write(self, s: str) -> int:
        return len(s)

    def flush(self) -> None:
        pass
