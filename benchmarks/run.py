"""Run every benchmark section (`make bench`) and keep each section's markdown output in
benchmarks/results/<section>.md. Figures are copied into BENCHMARKS.md by hand, with the
command that produced them.

    python -m benchmarks.run [--data DIR] [--only spine,matching,...]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import sys
import time
from pathlib import Path

SECTIONS = ("spine", "matching", "neural_align", "ner", "ner_e5", "translate_test", "masakhaner")
# sections that are one module run with extra arguments
ALIASES = {"ner_e5": ("ner", ["--transformer", str(Path.home() / ".cache" / "projner" / "models" / "e5-small"),
                               "--transformer-epochs", "1"])}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data")
    ap.add_argument("--only", help="comma-separated sections (default: all)")
    args = ap.parse_args(argv)
    wanted = args.only.split(",") if args.only else SECTIONS
    out_dir = Path("benchmarks/results")
    out_dir.mkdir(parents=True, exist_ok=True)
    failed = []
    for name in wanted:
        t0 = time.perf_counter()
        print(f"\n### benchmarks.{name}", flush=True)
        module, extra = ALIASES.get(name, (name, []))
        mod = importlib.import_module(f"benchmarks.{module}")
        buf = io.StringIO()

        class Tee(io.TextIOBase):
            def write(self, s):
                sys.__stdout__.write(s)
                sys.__stdout__.flush()
                return buf.write(s)

        try:
            with contextlib.redirect_stdout(Tee()):
                mod.main((["--data", args.data] if args.data else []) + extra)
        except SystemExit as exc:
            if exc.code not in (0, None):
                failed.append(name)
        except Exception as exc:  # keep going: one broken section must not hide the others
            print(f"benchmarks.{name} failed: {exc!r}")
            failed.append(name)
        (out_dir / f"{name}.md").write_text(buf.getvalue(), encoding="utf-8")
        print(f"(benchmarks.{name}: {time.perf_counter() - t0:.0f} s)")
    if failed:
        raise SystemExit(f"failed sections: {', '.join(failed)}")


if __name__ == "__main__":
    main()
