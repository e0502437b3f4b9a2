"""The HTML page (without a browser) and the ``projner inspect`` command."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from inspect_synth import write_fixture
from testutil import run_cli as run
from projner.data.formats import read_corpus, write_corpus
from projner.inspect import inspect_files, render_html, render_report_html, render_text
from projner.pipeline.files import evaluate_files, project_files
from projner.types import Span




def page_data(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="projner-data">(.*?)</script>', page, re.S)
    assert m, "data blob missing"
    return json.loads(m.group(1))


@pytest.fixture(scope="module")
def fx(tmp_path_factory):
    return write_fixture(tmp_path_factory.mktemp("inspect"), n_pairs=60, scores=True)


def test_page_is_self_contained_and_carries_every_pair(fx):
    page = render_html(fx["src"], fx["tgt"], fx["align"], gold=fx["tgt"], title="t")
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', page), "no network resources"
    assert "@import" not in page and "url(http" not in page
    data = page_data(page)
    assert len(data["pairs"]) == 60 and data["has_gold"] is True
    p1 = data["pairs"][1]  # the compound case
    assert p1["se"][0]["o"] == "length_ratio" and "compound" in p1["rs"] and p1["e"] == 1
    assert p1["tv"][0]["c"] == "missed" and p1["tv"][0]["cs"] == [0]
    assert "ORG|compound" in p1["tr"]
    assert all(len(link) == 3 for link in data["pairs"][0]["l"]), "link scores are kept"
    assert data["pairs"][0]["e"] == 0 and data["pairs"][0]["rs"] == []
    assert set(data["reasons"]) == {"compound", "length_ratio", "missed", "no_links", "spurious", "wrong_boundary", "wrong_type"}
    for k in ("ent ent-", "f-errors", "f-type", "f-reason", "f-search", "prev", "next"):
        assert k in page


def test_summary_scores_equal_projner_evaluate(fx, tmp_path):
    out = tmp_path / "de.pred.conll"
    proj = project_files(str(fx["src"]), str(fx["tgt"]), str(fx["align"]), str(out))
    ref, _ = evaluate_files(str(fx["tgt"]), str(out))
    rep = inspect_files(fx["src"], fx["tgt"], fx["align"], gold=fx["tgt"])
    assert rep.projector_signature == proj.signature
    assert rep.stats == proj.stats
    assert rep.scores is not None
    assert rep.scores.signature == ref.signature
    assert rep.scores.micro == ref.micro and dict(rep.scores.per_type) == dict(ref.per_type)
    page = render_report_html(rep)
    assert f'<code id="eval-signature">{ref.signature}</code>' in page
    # the same with the prediction file given explicitly: nothing differs
    rep2 = inspect_files(fx["src"], fx["tgt"], fx["align"], gold=fx["tgt"], pred=out)
    assert rep2.scores.micro == ref.micro and "pred_differs" not in rep2.reason_counts()


def test_pred_that_differs_is_flagged(fx, tmp_path):
    c = read_corpus(fx["tgt"])
    pred = [s.with_spans(()) for s in c.sentences]
    pred[0] = pred[0].with_spans((Span(0, 1, "LOC"),))
    write_corpus(tmp_path / "p.conll", pred)
    rep = inspect_files(fx["src"], fx["tgt"], fx["align"], pred=tmp_path / "p.conll")
    assert rep.pairs[0].pred_extra == (Span(0, 1, "LOC"),)
    projected = [p for p in rep.pairs if any(v.target is not None for v in p.sources)]
    assert projected and all("pred_differs" in p.reasons for p in projected)
    assert rep.scores is None and not rep.pred_is_projection


def test_hostile_tokens_are_escaped(tmp_path):
    bad = "</script><script>alert(1)</script>"
    (tmp_path / "en.conll").write_text(f"Barnier\tB-PER\n{bad}\tO\n\n", encoding="utf-8")
    (tmp_path / "de.conll").write_text(f"Barnier\tB-PER\n<b>&amp;\tO\n\n", encoding="utf-8")
    (tmp_path / "a.align").write_text("0-0 1-1\n", encoding="utf-8")
    page = render_html(tmp_path / "en.conll", tmp_path / "de.conll", tmp_path / "a.align", gold=tmp_path / "de.conll",
                       title="<i>x</i>")
    assert bad not in page and "<b>&amp;" not in page and "<title>&lt;i&gt;x&lt;/i&gt;</title>" in page
    data = page_data(page)
    assert data["pairs"][0]["s"][1] == bad and data["pairs"][0]["t"][1] == "<b>&amp;"


def test_text_format_shows_verdicts(fx):
    rep = inspect_files(fx["src"], fx["tgt"], fx["align"], gold=fx["tgt"])
    text = render_text(rep, limit=2, errors_only=True)
    assert text.count("pair #") == 2
    assert "pair #2" in text and "length_ratio: ratio 0.50, 2 words → 1 (compound?)" in text
    assert "missed" in text and "← \"Member States\" ORG" in text
    assert "projner-eval:1|" in text
    only = render_text(rep, limit=3, reason="wrong_type")
    assert only.count("pair #") == 3 and "ORG instead of MISC" in only


def test_cli_inspect_html_and_txt(fx, tmp_path, capsys):
    out = tmp_path / "r.html"
    code, _, err = run(["inspect", "--src", str(fx["src"]), "--tgt", str(fx["tgt"]), "--align", str(fx["align"]),
                        "--gold", str(fx["tgt"]), "--out", str(out), "--min-ratio", "0.5"], capsys)
    assert code == 0, err
    assert "wrote" in err and out.exists()
    data = page_data(out.read_text(encoding="utf-8"))
    assert data["pairs"][1]["se"][0]["o"] == "projected", "projector options are honoured (min-ratio 0.5)"
    code, text, err = run(["inspect", "--src", str(fx["src"]), "--tgt", str(fx["tgt"]), "--align", str(fx["align"]),
                           "--gold", str(fx["tgt"]), "--format", "txt", "--limit", "1", "--reason", "no_links"], capsys)
    assert code == 0, err
    assert text.count("pair #") == 1 and "pair #3" in text and "no_links" in text and "Barnier" in text


def test_cli_errors(fx, tmp_path, capsys):
    base = ["inspect", "--src", str(fx["src"]), "--tgt", str(fx["tgt"]), "--align", str(fx["align"])]
    code, _, err = run(base + ["--format", "pdf"], capsys)
    assert code == 2 and "E161" in err
    short = tmp_path / "short.conll"
    short.write_text("Barnier\tB-PER\n\n", encoding="utf-8")
    code, _, err = run(base + ["--gold", str(short)], capsys)
    assert code == 2 and "E160" in err and "short.conll" in err
    code, _, err = run(base + ["--page-size", "7"], capsys)
    assert code == 2 and "E162" in err


def test_label_map_applies_to_source_gold_and_scores(fx, tmp_path):
    out = tmp_path / "mapped.conll"
    project_files(str(fx["src"]), str(fx["tgt"]), str(fx["align"]), str(out), label_map="conll->per-org-loc")
    ref, _ = evaluate_files(str(fx["tgt"]), str(out), label_map="conll->per-org-loc")
    rep = inspect_files(fx["src"], fx["tgt"], fx["align"], gold=fx["tgt"], label_map="conll->per-org-loc")
    assert rep.scores.signature == ref.signature and "map:conll->per-org-loc" in ref.signature
    assert rep.scores.micro == ref.micro
    assert all(s.label != "MISC" for p in rep.pairs for s in (p.gold or ()))
