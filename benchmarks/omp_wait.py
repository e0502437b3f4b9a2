"""OpenMP wait policy and torch on a busy CPU: seconds per e5-small training step, ACTIVE vs PASSIVE.

Each policy runs in its own process (OMP_WAIT_POLICY is read when torch loads), side by side in
one invocation, alternating ``--repeats`` times; the load average is printed with the figures,
since the effect only shows on a CPU that other jobs keep busy.

    PROJNER_DATA=../shared/data python -m benchmarks.omp_wait --model ~/.cache/projner/models/e5-small
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

from benchmarks.common import data_dir


def _one(model: str, data: str, sentences: int, batch: int) -> dict:
    from projner.data.formats import read_corpus
    from projner.ner.transformer import TransformerTagger

    train = read_corpus(os.path.join(data, "conll2003_en", "original_iob1", "eng.train")).sentences[:sentences]
    tagger = TransformerTagger(model, epochs=1, batch_size=batch, freeze_embeddings=True, progress=False, device="cpu")
    t0 = time.perf_counter()
    tagger.fit(train)
    seconds = time.perf_counter() - t0
    steps = -(-len([s for s in train if len(s)]) // batch)
    return {"seconds": seconds, "steps": steps, "per_step": seconds / steps}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=os.path.expanduser("~/.cache/projner/models/e5-small"))
    ap.add_argument("--data", default=None)
    ap.add_argument("--sentences", type=int, default=160)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    data = str(data_dir(a.data))
    if a.child:
        print(json.dumps(_one(a.model, data, a.sentences, a.batch)))
        return
    rows: dict[str, list[float]] = {"ACTIVE": [], "PASSIVE": []}
    loads = []
    for _ in range(a.repeats):
        for policy in rows:
            env = dict(os.environ, OMP_WAIT_POLICY=policy, HF_HUB_OFFLINE="1")
            loads.append(os.getloadavg()[0])
            out = subprocess.run(
                [sys.executable, "-m", "benchmarks.omp_wait", "--child", "--model", a.model, "--data", data,
                 "--sentences", str(a.sentences), "--batch", str(a.batch)],
                env=env, check=True, capture_output=True, text=True,
            ).stdout
            rows[policy].append(json.loads(out.strip().splitlines()[-1])["per_step"])
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"load average at starts {min(loads):.1f}-{max(loads):.1f}")
    print("| OMP_WAIT_POLICY | s per training step (batch %d, e5-small, embeddings frozen) |" % a.batch)
    print("|---|---|")
    for policy, xs in rows.items():
        print(f"| {policy} | {' / '.join(f'{x:.2f}' for x in xs)} (mean {sum(xs) / len(xs):.2f}) |")
    print(f"ratio ACTIVE/PASSIVE: {sum(rows['ACTIVE']) / sum(rows['PASSIVE']):.1f}x")


if __name__ == "__main__":
    main()
