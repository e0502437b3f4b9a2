"""``projner demo``: the main job end to end (align → project → evaluate) on the embedded
synthetic English–German corpus, or on Europarl-NER en→de/es/it from a data folder."""

from __future__ import annotations

import time
from importlib import resources
from pathlib import Path
from typing import Callable

from projner.align.eflomal import EflomalAligner
from projner.data.formats import read_corpus
from projner.evaluate.projection import projection_stats
from projner.evaluate.spans import evaluate_spans
from projner.project.build import project_corpora
from projner.project.heuristic import HeuristicProjector
from projner.signature import project_signature
from projner.types import Sentence

DEFAULT_DATA_ENV = "PROJNER_DATA"


def demo_files() -> tuple[Path, Path]:
    base = resources.files("projner") / "resources" / "demo"
    return Path(str(base / "en.conll")), Path(str(base / "de.conll"))


def show_sentence(sent: Sentence) -> str:
    out, i = [], 0
    for s in sent.spans:
        out.extend(sent.tokens[i : s.start])
        out.append(f"[{' '.join(sent.tokens[s.start:s.end])}]{s.label}")
        i = s.end
    out.extend(sent.tokens[i:])
    return " ".join(out)


def run_pair(src_path: Path, tgt_path: Path, lang: str, show: int, echo: Callable[[str], None]) -> float:
    t0 = time.perf_counter()
    src = read_corpus(src_path).sentences
    gold = read_corpus(tgt_path).sentences
    aligner = EflomalAligner()
    alignments = aligner.align([s.tokens for s in src], [s.tokens for s in gold])
    projector = HeuristicProjector()
    pred, projections = project_corpora(src, gold, alignments, projector)
    scores = evaluate_spans(gold, pred, extra_signature={"task": f"en-{lang}"})
    stats = projection_stats(projections)
    echo(f"\n== en -> {lang}: {len(src)} sentence pairs ({time.perf_counter() - t0:.1f} s)")
    for s, p in list(zip(src, pred))[:show]:
        echo(f"  en: {show_sentence(s)}")
        echo(f"  {lang}: {show_sentence(p)}")
    echo(f"projection rate {stats.rate:.3f} ({stats.n_projected}/{stats.n_source}); outcomes {dict(stats.outcomes)}")
    echo(f"F1 {scores.f1:.4f}  P {scores.precision:.4f}  R {scores.recall:.4f}")
    echo(f"{scores.signature}")
    echo(project_signature(aligner.signature(), projector.signature()))
    return scores.f1


def run_demo(data: str | None = None, show: int = 5, echo: Callable[[str], None] = print) -> dict[str, float]:
    if data is None:
        en, de = demo_files()
        echo("projner demo: embedded synthetic English-German corpus (pass --data DIR for Europarl-NER)")
        return {"de": run_pair(en, de, "de", show, echo)}
    base = Path(data) / "europarl_ner"
    if not base.exists():
        raise FileNotFoundError(f"{base} not found (set --data or ${DEFAULT_DATA_ENV})")
    echo(f"projner demo: Europarl-NER from {base} (eflomal is seeded from /dev/urandom: F1 varies by 1-4 points)")
    return {
        lang: run_pair(base / "en-europarl.test.conll02", base / f"{lang}-europarl.test.conll02", lang, show, echo)
        for lang in ("de", "es", "it")
    }

