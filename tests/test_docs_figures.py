"""Every benchmark figure README.md quotes must appear in BENCHMARKS.md (``make check-docs``).

What counts as a figure in README.md (prose only: fenced code blocks and `inline code` are
settings and examples, not results):

* a decimal with two or more decimals, e.g. ``0.904`` (scores);
* a number with a unit: ``6.5×``, ``63.6k pairs/s``, ``27.9 s``, ``4.3 ms``, ``35 min``,
  ``2–4 F1 points``, ``95%`` (ranges ``a–b`` give both ends that unit);
* any other number in a sentence that mentions F1, pairs/s or ×.

A README figure is found when BENCHMARKS.md holds the same number, rounded to the README's
precision (ties either way: 53.5 s may be quoted as 53 s or 54 s): scores against any
BENCHMARKS number with at least as many decimals, figures with a unit against BENCHMARKS
numbers with the same unit, bare numbers exactly; a range ``a–b`` only against a range. The
figures of one README sentence must all be found in one ``##`` section of BENCHMARKS.md.
Versions (``2.13.0``) are never figures; other numbers that are not benchmark results
(defaults, tolerances, budgets) are listed in ``ALLOWED`` with the reason.

Standard library only: ``make check-docs`` runs ``python3 tests/test_docs_figures.py``; against
another BENCHMARKS file: ``python3 tests/test_docs_figures.py --benchmarks FILE``.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (figure as README writes it, text that must occur in the same README sentence, reason)
ALLOWED: tuple[tuple[str, str, str], ...] = (
    ("1e-9", "seqeval", "tolerance of the seqeval property test, not a benchmark result"),
    ("95%", "confidence interval", "confidence level of --bootstrap, a setting"),
    ("10 minutes", "CPU only, under", "time budget of `make test`, a development rule"),
)

_NUM = r"\d+(?:,\d{3})*(?:\.\d+)?"
_DASH = r"\s*[–-]\s*"
# longest spellings first; each maps to one unit class and a scale
_UNITS = (
    (r"k\s*pairs/s", "pairs/s", 1000.0),
    (r"pairs/s", "pairs/s", 1.0),
    (r"(?:F1\s+)?points?\b", "points", 1.0),
    (r"×", "x", 1.0),
    (r"ms\b", "ms", 1.0),
    (r"s\b", "s", 1.0),
    (r"min(?:utes?)?\b", "min", 1.0),
    (r"%", "%", 1.0),
)
_UNIT_RE = "|".join(f"(?P<u{i}>{pat})" for i, (pat, _, _) in enumerate(_UNITS))
# a number, or a range of numbers, optionally followed by a unit
_TOKEN = re.compile(
    rf"(?<![\w.,])(?<![A-Za-z]-)(?P<sign>±)?(?P<a>{_NUM})(?:{_DASH}(?P<b>{_NUM}))?(?![\w.]*\d)"
    rf"(?:\s*(?:{_UNIT_RE}))?"
)
_VERSION = re.compile(r"(?<![\w.])\d+\.\d+\.\d+(?!\w|\.\d)")  # 2.13.0: never a figure
_SCI = re.compile(r"(?<![\w.])\d+(?:\.\d+)?e-?\d+(?!\w|\.\d)")  # 1e-9: a figure, matched literally
_FIGURE_SENTENCE = re.compile(r"\bF1\b|pairs/s|×")
_ABBREV = re.compile(r"(?:\b(?:e\.g|i\.e|vs|etc|cf|approx|ca)\.|\.\.\.)$", re.IGNORECASE)


@dataclass(frozen=True)
class Number:
    text: str  # as written, e.g. "63.6k pairs/s" (for a range end: that end plus the unit)
    value: float
    step: float  # precision of the written figure (0.001 for 0.904, 100 for 63.6k)
    decimals: int
    unit: str  # "" when none; "literal" for 1e-9 (matched as text)
    line: int  # 1-based
    end: str = ""  # "a" or "b" for an end of a range a–b, else ""
    partner: float | None = None  # the range's other end
    partner_step: float = 0.0


@dataclass(frozen=True)
class Missing:
    line: int
    figure: str
    sentence: str

    def __str__(self) -> str:
        return f"README.md:{self.line}: {self.figure!r} not in BENCHMARKS.md — {self.sentence}"


@dataclass(frozen=True)
class Sentence:
    text: str
    starts: tuple[tuple[int, int], ...]  # (offset in text where a README line begins, line number)

    def line_at(self, offset: int) -> int:
        return max((o, n) for o, n in self.starts if o <= offset)[1]


def _prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks, with `inline code` shown as `…`."""
    out, fenced = [], False
    for no, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            out.append((no, re.sub(r"`[^`]*`", "`…`", line)))
    return out


def sentences(text: str) -> list[Sentence]:
    """Sentences of the prose. Paragraphs end at blank lines, headings and list bullets;
    sentences end at ``.``, ``!`` or ``?`` and a space (a decimal has no space after its
    point), except after an abbreviation such as "e.g."."""
    paragraphs: list[list[tuple[int, str]]] = [[]]
    for no, line in _prose_lines(text):
        if not line.strip() or line.lstrip().startswith(("* ", "- ", "#", "|")):
            paragraphs.append([])
        if line.strip():
            paragraphs[-1].append((no, line.strip()))
    out = []
    for para in paragraphs:
        joined, starts = "", []
        for no, line in para:
            joined += " " if joined else ""
            starts.append((len(joined), no))
            joined += line
        pos = 0
        ends = [m for m in re.finditer(r"(?<=[.!?])\s+", joined) if not _ABBREV.search(joined, 0, m.start())]
        for m in [*ends, None]:
            end = m.start() if m else len(joined)
            if joined[pos:end].strip():
                first = max((o, n) for o, n in starts if o <= pos)[1]
                local = ((0, first),) + tuple((o - pos, n) for o, n in starts if pos < o < end)
                out.append(Sentence(joined[pos:end], local))
            pos = m.end() if m else end
    return out


def _unit(m: re.Match) -> tuple[str, float]:
    for i, (_, unit, scale) in enumerate(_UNITS):
        if m.group(f"u{i}"):
            return unit, scale
    return "", 1.0


def numbers(text: str, line_at=lambda offset: 1) -> list[Number]:
    """Every number in ``text`` with its unit; a range ``a–b unit`` gives both ends."""
    out = []
    for m in _TOKEN.finditer(text):
        unit, scale = _unit(m)
        after = text[m.end("b") if m.group("b") else m.end("a"):m.end()]  # the unit as written
        ends = {key: _value(m.group(key), scale) for key in ("a", "b") if m.group(key)}
        for key, (value, step, decimals) in ends.items():
            if len(ends) == 1:
                out.append(Number((m.group("sign") or "") + m.group(key) + after, value, step, decimals, unit, line_at(m.start(key))))
            else:
                other = ends["b" if key == "a" else "a"]
                shown = f"{m.group(key)} (of {m.group().strip()})"
                out.append(Number(shown, value, step, decimals, unit, line_at(m.start(key)), key, other[0], other[1]))
    return out


def _value(raw: str, scale: float) -> tuple[float, float, int]:
    plain = raw.replace(",", "")
    decimals = len(plain.split(".")[1]) if "." in plain else 0
    return float(plain) * scale, 10.0**-decimals * scale, decimals


def readme_figures(readme: str) -> list[tuple[Number, str]]:
    """(figure, its sentence) for every figure README.md quotes, allow-listed ones excluded."""
    out = []
    for sent in sentences(readme):
        allowed = [fig for fig, ctx, _ in ALLOWED if ctx in sent.text and fig in sent.text]
        masked = _VERSION.sub(lambda m: " " * len(m.group()), sent.text)
        for m in _SCI.finditer(masked):
            if m.group() not in allowed:
                out.append((Number(m.group(), float(m.group()), 0.0, 0, "literal", sent.line_at(m.start())), sent.text))
        masked = _SCI.sub(lambda m: " " * len(m.group()), masked)
        figure_sentence = bool(_FIGURE_SENTENCE.search(sent.text))
        for n in numbers(masked, sent.line_at):
            if not (n.decimals >= 2 or n.unit or figure_sentence):
                continue
            if n.text in allowed:
                continue
            out.append((n, sent.text))
    return out


def _found(fig: Number, bench: list[Number], bench_text: str) -> bool:
    if fig.unit == "literal":
        return re.search(rf"(?<![\w.]){re.escape(fig.text)}(?!\w|\.\d)", bench_text) is not None
    tol = fig.step / 2 + 1e-9 * max(1.0, abs(fig.value))
    for b in bench:
        if abs(b.value - fig.value) > tol:
            continue
        if fig.end and not (  # a quoted range must be a range there too, not two stray numbers
            b.end == fig.end and b.partner is not None
            and abs(b.partner - fig.partner) <= fig.partner_step / 2 + 1e-9 * max(1.0, abs(fig.partner))
        ):
            continue
        if fig.unit:
            if b.unit == fig.unit:
                return True
        elif fig.decimals >= 2:
            if b.decimals >= fig.decimals:
                return True
        elif b.value == fig.value:  # bare number in a figure sentence: exactly
            return True
    return False


def _sections(benchmarks: str) -> list[str]:
    """BENCHMARKS.md cut at its ``## `` headings (a section keeps its ``###`` subsections)."""
    return re.split(r"(?m)^(?=## )", benchmarks)


def missing_figures(readme: str, benchmarks: str) -> list[Missing]:
    """README figures BENCHMARKS.md lacks. The figures of one README sentence (bare numbers
    aside) must all be found in one ``##`` section of BENCHMARKS.md, so that "de 0.905, es
    0.934, it 0.891" is not satisfied by three unrelated numbers from three tables."""
    sections = [(text, numbers(text.replace("±", " "))) for text in _sections(benchmarks)]
    by_sentence: dict[str, list[Number]] = {}
    for fig, sent in readme_figures(readme):
        by_sentence.setdefault(sent, []).append(fig)
    out = []
    for sent, figs in by_sentence.items():
        found = [[_found(f, nums, text) for f in figs] for text, nums in sections]
        strict = [i for i, f in enumerate(figs) if f.unit or f.decimals >= 2]
        best = max(found, key=lambda row: sum(row[i] for i in strict))
        for i, fig in enumerate(figs):
            anywhere = any(row[i] for row in found)
            if not anywhere:
                out.append(Missing(fig.line, fig.text, sent))
            elif i in strict and not best[i]:
                out.append(Missing(fig.line, fig.text + " (only in another BENCHMARKS section than the sentence's other figures)", sent))
    return out


def unused_allowances(readme: str) -> list[str]:
    texts = [s.text for s in sentences(readme)]
    return [f"{fig} ({ctx})" for fig, ctx, _ in ALLOWED if not any(ctx in t and fig in t for t in texts)]


# ---- the extraction itself -------------------------------------------------------------


def _texts(figs):
    return [f.text for f, _ in figs]


def test_scores_ratios_throughput_and_times_are_figures():
    readme = (
        "The heuristic gives de 0.793 and es 0.884 strict F1.\n"
        "It is 6.5× faster and projects 63.6k pairs/s; a run takes 27.9 s or 4.25 ms.\n"
        "Use a ratio of 0.8 and a gap of 1 by default.\n"
    )
    figs = readme_figures(readme)
    assert _texts(figs) == ["0.793", "0.884", "6.5×", "63.6k pairs/s", "27.9 s", "4.25 ms"]
    assert [f.line for f, _ in figs] == [1, 1, 2, 2, 2, 2]
    pairs = figs[3][0]
    assert (pairs.value, pairs.step, pairs.unit) == (63600.0, 100.0, "pairs/s")


def test_every_number_of_a_figure_sentence_counts_and_ranges_give_both_ends():
    figs = readme_figures("It is worth 1.5–3 F1 points on Europarl's 799 sentences.\nThe gap is 1 by default.\n")
    assert _texts(figs) == ["1.5 (of 1.5–3 F1 points)", "3 (of 1.5–3 F1 points)", "799"]
    assert [(f.value, f.unit) for f, _ in figs] == [(1.5, "points"), (3.0, "points"), (799.0, "")]


def test_numbers_inside_names_are_not_figures():
    figs = readme_figures("The CRF scores 0.831 strict F1 on CoNLL-2003 with prefix-4 stems and e5-small.\n")
    assert _texts(figs) == ["0.831"]


def test_code_and_versions_are_not_scores():
    readme = (
        "Run `projner align --min-ratio 0.85` first.\n\n"
        "```bash\nprojner evaluate --threshold 0.35\n```\n\n"
        "torch is pinned to 2.13.0 and scores 0.912 here.\n"
    )
    figs = readme_figures(readme)
    assert [(f.text, f.line) for f, _ in figs] == [("0.912", 7)]


def test_figure_lines_follow_sentences_across_wrapped_lines():
    readme = "intro line\n\nThese defaults give de 0.793,\nes 0.884, it 0.835 strict F1. Then\nmore 0.456 text.\n"
    figs = readme_figures(readme)
    assert [(f.text, f.line) for f, _ in figs] == [("0.793", 3), ("0.884", 4), ("0.835", 4), ("0.456", 5)]


def test_matching_rounds_to_the_readme_precision_and_keeps_units():
    bench = "| de | 0.5416 | 63,593 pairs/s | 27.9 s | 53.5 s | 12.7× | 0.61 |\ngains 2–4 points"
    readme = (
        "Mean 0.542 and 0.5416.\nIt projects 63.6k pairs/s in 28 s (53 s, 54 s), 12.7× faster.\n"
        "Stemming is worth 2–4 F1 points.\n"
    )
    assert missing_figures(readme, bench) == []
    wrong = "Mean 0.543, 0.54167, 0.610 and 0.6.\nIt projects 63.5k pairs/s in 28 ms, 12.7 s, 14× faster.\nWorth 1.5–4 F1 points.\n"
    assert [m.figure for m in missing_figures(wrong, bench)] == [
        "0.543", "0.54167", "0.610", "63.5k pairs/s", "28 ms", "12.7 s", "14×",
        "1.5 (of 1.5–4 F1 points)", "4 (of 1.5–4 F1 points)",
    ]  # 0.6: one decimal, no unit, no F1 in the sentence: not a figure


def test_a_quoted_range_needs_that_range_not_two_stray_numbers():
    readme = "The copy dictionary is worth 1.5–3 F1 points; stemming 4 points.\n"
    stray = "## S\nruns move by 1–1.5 points; de +3 and it −3 points; stemming gains 2–4 points\n"
    assert [m.figure for m in missing_figures(readme, stray)] == ["1.5 (of 1.5–3 F1 points)", "3 (of 1.5–3 F1 points)"]
    assert missing_figures(readme, stray + "copy dictionary: 1.5 – 3 points\n") == []
    assert [m.figure for m in missing_figures(readme, "## S\ncopy dictionary 1.5–3 (no unit), stemming 2–4 points\n")] == [
        "1.5 (of 1.5–3 F1 points)", "3 (of 1.5–3 F1 points)",
    ]


def test_missing_figure_names_readme_line_and_sentence():
    readme = "Intro.\n\nThe best configuration gives de 0.905,\nes 0.934, it 0.891 (BENCHMARKS.md).\n"
    missing = missing_figures(readme, "| de | 0.905 |\n")
    assert [(m.line, m.figure) for m in missing] == [(4, "0.934"), (4, "0.891")]
    assert str(missing[0]).startswith("README.md:4: '0.934' not in BENCHMARKS.md — The best configuration gives de 0.905,")


def test_figures_of_one_sentence_must_come_from_one_section():
    bench = "intro 3\n## Spine\n| de | 0.905 | 0.934 |\n### sub\n0.891\n## Other\n| 0.777 | 3 runs |\n"
    assert missing_figures("Best: de 0.905, es 0.934, it 0.891 (mean of 3 runs).\n", bench) == []
    missing = missing_figures("Best: de 0.905, es 0.934, it 0.777 F1.\n", bench)
    assert [m.figure for m in missing] == ["0.777 (only in another BENCHMARKS section than the sentence's other figures)"]


def test_allow_list_needs_the_context_in_the_same_sentence():
    bench = "nothing"
    assert missing_figures("A 95% confidence interval.\n", bench) == []
    assert [m.figure for m in missing_figures("F1 rose by 95% here.\n", bench)] == ["95%"]
    assert [m.figure for m in missing_figures("Equal to seqeval to 1e-9, F1 within 1e-6.\n", bench)] == ["1e-6"]


# ---- the real documents ----------------------------------------------------------------


def test_readme_quotes_enough_figures_for_the_check_to_mean_something():
    figs = readme_figures((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len([f for f, _ in figs if f.decimals >= 2]) >= 20


def test_allow_list_entries_are_all_still_used():
    assert unused_allowances((ROOT / "README.md").read_text(encoding="utf-8")) == []


def test_every_readme_figure_is_in_benchmarks():
    missing = missing_figures(
        (ROOT / "README.md").read_text(encoding="utf-8"), (ROOT / "BENCHMARKS.md").read_text(encoding="utf-8")
    )
    assert not missing, f"{len(missing)} README figure(s) missing from BENCHMARKS.md:\n" + "\n".join(map(str, missing))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="README figures missing from BENCHMARKS.md")
    ap.add_argument("--readme", default=str(ROOT / "README.md"))
    ap.add_argument("--benchmarks", default=str(ROOT / "BENCHMARKS.md"))
    args = ap.parse_args(argv)
    readme = Path(args.readme).read_text(encoding="utf-8")
    missing = missing_figures(readme, Path(args.benchmarks).read_text(encoding="utf-8"))
    for m in missing:
        print(m)
    for a in unused_allowances(readme):
        print(f"allow-list entry no longer used in README.md: {a}")
    n = len(readme_figures(readme))
    print(f"{n} README figures checked, {len(missing)} missing from {args.benchmarks}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
