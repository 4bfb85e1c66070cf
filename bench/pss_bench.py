"""Pod Security Standards engine benchmark: pods evaluated per second on one core.

Run on demand, never from the test suite::

    .venv/bin/python bench/pss_bench.py [--repeat N] [--corpus DIR] [--output FILE]

It loads every fixture of the upstream Pod Security corpus (``index.csv`` in
``../shared/corpora/psa`` next to the repository: 4,537 single-pod YAML files) once, then
times ``kubeward.pss.evaluate()`` over all of them in one process, one thread:

* ``restricted latest`` and ``baseline latest``: every fixture at that level/version;
* ``own level/version``: every fixture at the level and version it was written for;
* ``privileged`` as a floor (resolves the level, evaluates nothing).

Each scenario runs ``--repeat`` times (default 7) and the best wall time is reported as
pods/s. YAML parsing is excluded (done once, before timing). Before timing, the script
checks that the engine still agrees with every fixture (pass fixtures allowed, fail
fixtures rejected), so a fast-but-wrong engine cannot produce a figure.

Results go to bench/results/pss.md (Markdown, directories created) and are printed.
Target: over 20,000 pods/s for restricted latest.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gc
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
DEFAULT_CORPUS = REPO_DIR.parent / "shared" / "corpora" / "psa"
DEFAULT_OUTPUT = BENCH_DIR / "results" / "pss.md"
DEFAULT_MANIFESTS = REPO_DIR.parent / "shared" / "corpora" / "manifests"
TARGET = 20_000

sys.path.insert(0, str(REPO_DIR / "src"))

import yaml  # noqa: E402

from kubeward import pss  # noqa: E402

Fixture = tuple[Any, Any, str, str, str]  # meta, spec, level, version, expected


def load(corpus: Path) -> list[Fixture]:
    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    fixtures: list[Fixture] = []
    with (corpus / "index.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            with (corpus / row["path"]).open("rb") as doc_fh:
                doc = yaml.load(doc_fh, Loader=loader)
            fixtures.append(
                (
                    doc.get("metadata") or {},
                    doc.get("spec") or {},
                    row["level"],
                    row["version"],
                    row["expected"],
                )
            )
    return fixtures


def verify(fixtures: Sequence[Fixture]) -> int:
    """Number of fixtures whose verdict agrees with upstream."""
    return sum((not pss.evaluate(m, s, lvl, ver)) == (exp == "pass") for m, s, lvl, ver, exp in fixtures)


def best_of(repeat: int, fn: Callable[[], None]) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def scenarios(fixtures: Sequence[Fixture]) -> list[tuple[str, Callable[[], None]]]:
    evaluate = pss.evaluate
    pairs = [(m, s) for m, s, *_ in fixtures]

    def fixed(level: str, version: str) -> Callable[[], None]:
        def run() -> None:
            for m, s in pairs:
                evaluate(m, s, level, version)

        return run

    def own() -> None:
        for m, s, level, version, _exp in fixtures:
            evaluate(m, s, level, version)

    return [
        ("restricted latest", fixed("restricted", "latest")),
        ("baseline latest", fixed("baseline", "latest")),
        ("own level/version", own),
        ("privileged (floor)", fixed("privileged", "latest")),
    ]


def real_world_templates(manifests: Path) -> list[tuple[Any, Any]]:
    """Pod metadata/spec of every Pod and workload in the real-world corpus."""
    if not manifests.is_dir():
        return []
    from kubeward.inventory.index import Inventory
    from kubeward.inventory.sources import load_paths

    loaded = load_paths([str(manifests)], render_charts=False)
    return [(p.metadata, p.spec) for _, p in Inventory(loaded.resources).pod_templates]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    ap.add_argument("--manifests", type=Path, default=DEFAULT_MANIFESTS)
    args = ap.parse_args(argv)

    if not (args.corpus / "index.csv").is_file():
        print(f"corpus not found: {args.corpus}/index.csv", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    fixtures = load(args.corpus)
    load_s = time.perf_counter() - t0
    agree = verify(fixtures)
    n = len(fixtures)
    print(f"loaded {n} fixtures in {load_s:.2f}s; verdicts agreeing with upstream: {agree}/{n}")

    rows = []
    for name, fn in scenarios(fixtures):
        fn()  # warm up (check-list caches, branch paths)
        secs = best_of(args.repeat, fn)
        rate = n / secs
        rows.append((name, secs, rate))
        print(f"{name:22} {secs * 1000:8.1f} ms  {rate:>10,.0f} pods/s")

    templates = real_world_templates(args.manifests)
    real_rows = []
    if templates:
        for level in ("restricted", "baseline"):
            def run(level: str = level) -> None:
                for m, sp in templates:
                    pss.evaluate(m, sp, level, "latest")

            run()
            secs = best_of(args.repeat, run)
            real_rows.append((f"{level} latest", secs, len(templates) / secs))
            print(f"manifests {level:12} {secs * 1000:8.1f} ms  {len(templates) / secs:>10,.0f} pods/s")

    load1, load5, _ = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    restricted_rate = rows[0][2]
    lines = [
        "# Pod Security Standards engine benchmark",
        "",
        f"- Date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Python: {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.machine()}, {os.cpu_count()} CPUs; load average {load1:.2f} / {load5:.2f}",
        f"- Corpus: `{args.corpus.name}` upstream Pod Security fixtures, {n} pods "
        f"(YAML parsed once, {load_s:.2f}s, not timed)",
        f"- Verdicts agreeing with upstream before timing: **{agree}/{n}**",
        f"- One process, one thread; best of {args.repeat} passes over all {n} pods.",
        "",
        "| scenario | best pass (ms) | pods/s | µs/pod |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, secs, rate in rows:
        lines.append(f"| {name} | {secs * 1000:.1f} | {rate:,.0f} | {1e6 / rate:.1f} |")
    if real_rows:
        lines += [
            "",
            f"Real-world pod templates: every Pod and workload template in `{args.manifests.name}` "
            f"({len(templates)} pod specs, loaded with kubeward's own loader, not timed):",
            "",
            "| scenario | best pass (ms) | pods/s | µs/pod |",
            "| --- | ---: | ---: | ---: |",
        ]
        for name, secs, rate in real_rows:
            lines.append(f"| {name} | {secs * 1000:.1f} | {rate:,.0f} | {1e6 / rate:.1f} |")
    verdict = "meets" if restricted_rate > TARGET else "MISSES"
    lines += [
        "",
        f"Target: > {TARGET:,} pods/s for restricted latest: **{verdict}** "
        f"({restricted_rate / TARGET:.1f}x).",
        "",
        "Regenerate with `.venv/bin/python bench/pss_bench.py`.",
        "",
    ]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {args.output}")
    return 0 if agree == n else 1


if __name__ == "__main__":
    sys.exit(main())
