"""Start-up benchmark: `kubeward --help` and `kubeward version`, best and median of 20 runs.

Run on demand: `.venv/bin/python bench/startup_bench.py`; writes bench/results/startup.md.
Target: under 0.3 s for --help (every heavy import is lazy).
"""

from __future__ import annotations

import statistics
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
KUBEWARD = REPO / ".venv" / "bin" / "kubeward"


def timed(argv: list[str], runs: int = 20) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        samples.append(time.perf_counter() - start)
    return min(samples), statistics.median(samples)


def main() -> None:
    rows = [(" ".join(a), *timed([str(KUBEWARD), *a])) for a in (["--help"], ["version"],
                                                                 ["scan", "--help"])]
    lines = ["# Start-up", "", "| command | best s | median s |", "| --- | ---: | ---: |"]
    lines += [f"| kubeward {cmd} | {best:.3f} | {med:.3f} |" for cmd, best, med in rows]
    lines += ["", "Target: `kubeward --help` under 0.3 s.", ""]
    out = REPO / "bench" / "results" / "startup.md"
    out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
