"""Run the benchmarks: `python -m benchmarks [NAME ...]` (or `make bench`).

Each `benchmarks/bench_<name>.py` exposes `main(argv) -> int`, prints rows/s and the ratio to a
reference measured in the same run, and writes its figures to benchmarks/results/<name>.json.
Speed is only ever measured here, never asserted in tests.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def available() -> list[str]:
    return sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))


def main(argv: list[str]) -> int:
    names = [a for a in argv if not a.startswith("-")] or available()
    unknown = [n for n in names if n not in available()]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available())}", file=sys.stderr)
        return 2
    status = 0
    for name in names:
        print(f"== benchmark: {name}")
        module = importlib.import_module(f"benchmarks.bench_{name}")
        status |= int(module.main([a for a in argv if a.startswith("-")]) or 0)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
