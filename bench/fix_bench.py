"""`kubeward fix` and `kubeward generate` benchmark.

Run on demand, never from the test suite:

    .venv/bin/python bench/fix_bench.py [--repeat 3]

Measures, best of --repeat runs:

* the library (`kubeward.fix.yamledit.fix_text`) over every YAML file of
  shared/corpora/manifests: files/s, and documents edited per second (the ruamel
  round-trip plus read-back of the edited documents dominates);
* the command, as a user runs it: `kubeward fix` (preview) over a copy of the corpus,
  then `kubeward fix --write` and a second preview (nothing left to change);
* `kubeward generate SET` wall time for a few sets (process start-up included).

Targets: the whole corpus fixed in under 60 s on this machine's 2 shared cores; generate
under 1 s per set. Results go to bench/results/fix.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

KUBEWARD = REPO / ".venv" / "bin" / "kubeward"
CORPUS = REPO.parent / "shared" / "corpora" / "manifests"
OUTPUT = REPO / "bench" / "results" / "fix.md"


def _library(files: list[Path]) -> tuple[float, int, int, int]:
    from kubeward.fix.yamledit import FixError, fix_text, split_documents

    t0 = time.perf_counter()
    changed = edited_docs = refused = 0
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
            result = fix_text(text)
        except (FixError, UnicodeDecodeError):
            refused += 1
            continue
        if result.changed:
            changed += 1
            before, after = split_documents(text), split_documents(result.fixed)
            edited_docs += sum(1 for a, b in zip(before, after, strict=False) if a != b)
    return time.perf_counter() - t0, changed, edited_docs, refused


def _run(args: list[str]) -> tuple[float, int]:
    t0 = time.perf_counter()
    proc = subprocess.run([str(KUBEWARD), *args], capture_output=True, text=True, check=False)
    return time.perf_counter() - t0, proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    opts = parser.parse_args()
    files = sorted(p for p in CORPUS.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    best_lib = min((_library(files) for _ in range(opts.repeat)), key=lambda r: r[0])
    seconds, changed, edited, refused = best_lib

    cli: dict[str, tuple[float, int]] = {}
    for _ in range(opts.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp) / "corpus"
            shutil.copytree(CORPUS, work)
            for label, args in (("preview", ["fix", "-q", str(work)]),
                                ("write", ["fix", "-q", "--write", str(work)]),
                                ("second preview", ["fix", "-q", str(work)])):
                took, code = _run(args)
                if label not in cli or took < cli[label][0]:
                    cli[label] = (took, code)

    gen: dict[str, float] = {}
    for set_args in (["--list"], ["default-deny"], ["encryption-config"],
                     ["restrict-image-registries", "-p", "registries=ghcr.io/acme/"],
                     ["audit-policy"]):
        label = " ".join(set_args[:1])
        gen[label] = min(_run(["generate", *set_args])[0] for _ in range(opts.repeat))

    lines = [
        "# fix and generate benchmark",
        "",
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, Python {platform.python_version()}, "
        f"{platform.machine()}, best of {opts.repeat} (2 cores shared with other jobs).",
        "",
        "## Library: `fix_text` over shared/corpora/manifests",
        "",
        "| files | changed files | edited documents | refused (templates, broken) | seconds "
        "| files/s | edited docs/s |",
        "|---|---|---|---|---|---|---|",
        f"| {len(files)} | {changed} | {edited} | {refused} | {seconds:.2f} | "
        f"{len(files) / seconds:.0f} | {edited / seconds:.0f} |",
        "",
        "## Command over a copy of the corpus",
        "",
        "| run | seconds | exit code |",
        "|---|---|---|",
        *(f"| `kubeward fix` {label} | {took:.2f} | {code} |" for label, (took, code) in cli.items()),
        "",
        "## `kubeward generate` (process start-up included)",
        "",
        "| set | seconds |",
        "|---|---|",
        *(f"| {label} | {took:.3f} |" for label, took in gen.items()),
        "",
        "Targets: corpus fixed in under 60 s; generate under 1 s per set.",
        "",
    ]
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
