"""Scan benchmark: kubeward vs. a libyaml parse floor (and, optionally, peers).

Run on demand, never from the test suite::

    .venv/bin/python bench/scan_bench.py [--corpus DIR] [--peers] [--repeat N]

Every measurement is its own subprocess, so the peak RSS reported is per tool:
it is ``ru_maxrss`` from ``os.wait4`` on the child, which on Linux is the largest
single process of the child's tree (the child and any workers it reaped), in
KiB; it is not a sum over concurrent workers. Wall time is the best of N runs.

Results go to bench/results/scan.md (Markdown) and the table is also printed.
Peers (trivy, checkov) come from their own venv, installed by bench/peers.sh.
Stdlib only; the parse floor needs PyYAML built with libyaml in the Python
that runs this script (the project venv).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
DEFAULT_CORPUS = Path(__file__).resolve().parents[1].parent / "shared/corpora/manifests"
DEFAULT_OUTPUT = BENCH_DIR / "results" / "scan.md"
KUBEWARD = REPO_DIR / ".venv" / "bin" / "kubeward"
PEERS_BIN = (
    Path(os.environ.get("KUBEWARD_CACHE", Path.home() / ".cache" / "kubeward"))
    / "peers-venv"
    / "bin"
)

# Targets for kubeward, relative to the parse floor.
TARGET_RATIO = 1.5
TARGET_RSS_MB = 150.0

# Figures measured earlier on this machine (2 cores, 24 GiB), for context.
REFERENCE = (
    "libyaml parse alone 4.2 s / 39 MB; trivy config 0.76.0 135 s / 960 MB; "
    "checkov 3.3.30 93 s / 785 MB"
)

# The parse floor: walk the corpus and parse every file with libyaml.
FLOOR_CODE = """
import sys
from pathlib import Path
import yaml

loader = yaml.CSafeLoader
files = parsed = failed = docs = 0
for path in sorted(Path(sys.argv[1]).rglob("*")):
    if path.suffix not in (".yaml", ".yml", ".json") or not path.is_file():
        continue
    files += 1
    try:
        text = path.read_text(encoding="utf-8")
        n = sum(1 for doc in yaml.load_all(text, Loader=loader) if doc is not None)
    except (yaml.YAMLError, UnicodeDecodeError, ValueError):
        failed += 1
        continue
    parsed += 1
    docs += n
print(f"{files} files, {parsed} parsed, {failed} failed to parse, {docs} documents")
"""

# Offline (embedded checks, no version check or telemetry), quiet, JSON thrown away.
TRIVY_FLAGS = [
    "--skip-check-update",
    "--skip-version-check",
    "--disable-telemetry",
    "--quiet",
    "--timeout",
    "60m",
    "--format",
    "json",
    "--output",
    "/dev/null",
]
# Kubernetes only, no Prisma Cloud download; the update check is off via the env.
CHECKOV_FLAGS = ["--framework", "kubernetes", "--skip-download", "-o", "json"]

STDERR_TAIL_LINES = 5


@dataclass
class Run:
    """One subprocess run."""

    wall_s: float
    maxrss_kib: int
    exit_code: int | None  # None: killed by the timeout
    stdout: str = ""
    stderr_tail: str = ""


@dataclass
class Tool:
    """A benchmarked command and its outcome."""

    name: str
    version: str
    argv: list[str]
    repeat: int
    ok_codes: tuple[int, ...] = (0,)
    env: dict[str, str] = field(default_factory=dict)
    capture_stdout: bool = False
    display: str = ""  # how the command is shown, when argv is unwieldy
    runs: list[Run] = field(default_factory=list)
    unavailable: str = ""

    @property
    def command(self) -> str:
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env.items())
        return f"{env} {self.display or shlex.join(self.argv)}".strip()

    @property
    def best(self) -> Run | None:
        done = [r for r in self.runs if r.exit_code is not None]
        return min(done, key=lambda r: r.wall_s) if done else None

    @property
    def peak_rss_mb(self) -> float | None:
        if not self.runs:
            return None
        return max(r.maxrss_kib for r in self.runs) / 1024


# --------------------------------------------------------------------------- #
# Running and measuring
# --------------------------------------------------------------------------- #


def run_measured(
    argv: Sequence[str], env: dict[str, str], capture_stdout: bool, timeout_s: float
) -> Run:
    """Run argv once; return wall time, the child's ru_maxrss and exit code."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out if capture_stdout else subprocess.DEVNULL,
            stderr=err,
            env={**os.environ, **env},
            start_new_session=True,  # own process group, so a timeout kills workers too
        )
        timed_out = threading.Event()
        timer = threading.Timer(timeout_s, _kill_group, args=(proc.pid, timed_out))
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:  # e.g. Ctrl-C: the child has its own session, end it too
            _kill_group(proc.pid, timed_out)
            raise
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4
        return Run(
            wall_s=wall,
            maxrss_kib=usage.ru_maxrss,
            exit_code=None if timed_out.is_set() else proc.returncode,
            stdout=_read(out).strip() if capture_stdout else "",
            stderr_tail=_tail(_read(err), STDERR_TAIL_LINES),
        )


def _kill_group(pgid: int, timed_out: threading.Event) -> None:
    timed_out.set()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def _read(f: IO[bytes]) -> str:
    f.seek(0)
    return f.read().decode("utf-8", "replace")


def _tail(text: str, lines: int) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def measure(tool: Tool, timeout_s: float) -> None:
    """Run a tool tool.repeat times, appending runs; report progress on stderr."""
    if tool.unavailable:
        log(f"{tool.name}: skipped ({tool.unavailable})")
        return
    for i in range(1, tool.repeat + 1):
        log(f"{tool.name}: run {i}/{tool.repeat}: {tool.command}")
        run = run_measured(tool.argv, tool.env, tool.capture_stdout, timeout_s)
        tool.runs.append(run)
        log(
            f"{tool.name}: {run.wall_s:.2f} s, {run.maxrss_kib / 1024:.0f} MB, "
            f"exit {_fmt_code(run.exit_code)}"
        )
        if run.exit_code not in tool.ok_codes and run.stderr_tail:
            log(f"{tool.name}: stderr tail:\n{run.stderr_tail}")
        if run.exit_code is None:
            break


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def version_of(argv: Sequence[str]) -> str:
    """Last word of the first line a --version call prints, or 'unknown'."""
    try:
        res = subprocess.run(
            argv, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    if res.returncode != 0:
        return "unknown"
    for line in (res.stdout + res.stderr).splitlines():
        if line.strip():
            return line.split()[-1]  # "Version: 0.76.0", "3.3.30", "prog, version 1.0"
    return "unknown"


# --------------------------------------------------------------------------- #
# The tools
# --------------------------------------------------------------------------- #


def floor_tool(corpus: Path, repeat: int) -> Tool:
    import yaml  # the project venv's PyYAML; only the floor needs it

    libyaml = yaml._yaml.get_version_string() if yaml.__with_libyaml__ else "missing"
    return Tool(
        name="parse floor (PyYAML CSafeLoader)",
        version=f"PyYAML {yaml.__version__}, libyaml {libyaml}",
        argv=[sys.executable, "-c", FLOOR_CODE, str(corpus)],
        display=f"{shlex.quote(sys.executable)} -c FLOOR_CODE {shlex.quote(str(corpus))}",
        repeat=repeat,
        capture_stdout=True,
    )


def kubeward_tool(
    corpus: Path, repeat: int, *extra: str, label: str = "", env: dict[str, str] | None = None
) -> Tool:
    """`kubeward scan` as users run it; with `--no-render` it does the floor's work only
    (the default also renders the corpus's Kustomize directories with kubectl and Helm
    charts with the SDK, in child processes whose RSS counts towards the peak)."""
    tool = Tool(
        name=" ".join(["kubeward scan", *extra]) + (f" ({label})" if label else ""),
        version="",
        argv=[str(KUBEWARD), "scan", str(corpus), "-o", "json", *extra],
        repeat=repeat,
        ok_codes=(0, 1, 2),  # 2: input errors reported (the corpus has 50 bad files)
        env=dict(env or {}),
    )
    if not KUBEWARD.exists():
        tool.unavailable = f"not available: {KUBEWARD} does not exist"
        return tool
    tool.version = version_of([str(KUBEWARD), "--version"])
    if tool.version == "unknown":
        code = "import kubeward; print(kubeward.__version__)"
        tool.version = version_of([str(KUBEWARD.with_name("python")), "-c", code])
    return tool


def trivy_tool(corpus: Path, repeat: int, cache_dir: Path) -> Tool:
    trivy = PEERS_BIN / "trivy"
    tool = Tool(
        name="trivy config",
        version="",
        argv=[str(trivy), "config", *TRIVY_FLAGS, "--cache-dir", str(cache_dir), str(corpus)],
        repeat=repeat,
    )
    if not trivy.exists():
        tool.unavailable = f"not installed: run bench/peers.sh ({trivy})"
        return tool
    tool.version = version_of([str(trivy), "--version"])
    return tool


def checkov_tool(corpus: Path, repeat: int) -> Tool:
    checkov = PEERS_BIN / "checkov"
    tool = Tool(
        name="checkov",
        version="",
        argv=[str(checkov), "-d", str(corpus), *CHECKOV_FLAGS],
        repeat=repeat,
        ok_codes=(0, 1),  # 1: failed checks found
        env={"CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"},
    )
    if not checkov.exists():
        tool.unavailable = f"not installed: run bench/peers.sh ({checkov})"
        return tool
    tool.version = version_of([str(checkov), "--version"])
    return tool


# --------------------------------------------------------------------------- #
# Machine facts
# --------------------------------------------------------------------------- #


def proc_field(path: str, key: str) -> str:
    """The value of the first `key: value` line of a /proc file, or ''."""
    try:
        for line in Path(path).read_text().splitlines():
            name, _, value = line.partition(":")
            if name.strip() == key:
                return value.strip()
    except OSError:
        pass
    return ""


def machine_facts() -> dict[str, str]:
    mem_kib = proc_field("/proc/meminfo", "MemTotal").split()[0:1]
    mem = f"{int(mem_kib[0]) / 1024**2:.1f} GiB" if mem_kib else "unknown"
    return {
        "nproc": str(len(os.sched_getaffinity(0))),
        "CPU": proc_field("/proc/cpuinfo", "model name") or platform.processor(),
        "memory": mem,
        "OS": f"{platform.system()} {platform.release()}",
        "Python": f"{platform.python_version()} ({sys.executable})",
    }


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# --------------------------------------------------------------------------- #
# Report
# --------------------------------------------------------------------------- #


def _fmt_code(code: int | None) -> str:
    return "timeout" if code is None else str(code)


def table_row(tool: Tool, floor_wall: float | None) -> str:
    label = f"{tool.name} {tool.version}".strip()
    if tool.unavailable:
        return f"| {label} | {tool.unavailable} | – | – | – | – |"
    best = tool.best
    if best is None:
        return f"| {label} | timeout | – | – | timeout | {len(tool.runs)} |"
    rss = tool.peak_rss_mb or 0.0
    ratio = f"{best.wall_s / floor_wall:.2f}x" if floor_wall else "–"
    codes = ", ".join(sorted({_fmt_code(r.exit_code) for r in tool.runs}))
    return f"| {label} | {best.wall_s:.2f} | {rss:.0f} | {ratio} | {codes} | {len(tool.runs)} |"


def render_table(tools: Sequence[Tool]) -> str:
    floor = tools[0].best
    floor_wall = floor.wall_s if floor else None
    head = [
        "| tool | wall s (best) | peak RSS MB | wall vs floor | exit code | runs |",
        "| --- | ---: | ---: | ---: | --- | ---: |",
    ]
    return "\n".join(head + [table_row(t, floor_wall) for t in tools])


def verdicts(floor: Tool, tools: Sequence[Tool]) -> str:
    return "\n".join(f"- {t.name}: {verdict(floor, t)}" for t in tools if t.name.startswith("kubeward"))


def verdict(floor: Tool, kubeward: Tool) -> str:
    fb, kb = floor.best, kubeward.best
    if kubeward.unavailable or fb is None or kb is None:
        return "kubeward target: not measured."
    ratio = kb.wall_s / fb.wall_s
    rss = kubeward.peak_rss_mb or 0.0
    ok = ratio <= TARGET_RATIO and rss < TARGET_RSS_MB
    return (
        f"kubeward target (<= {TARGET_RATIO}x floor wall, < {TARGET_RSS_MB:.0f} MB): "
        f"{'MET' if ok else 'NOT MET'} ({ratio:.2f}x, {rss:.0f} MB)."
    )


def render_report(
    tools: Sequence[Tool], corpus: Path, facts: dict[str, str], started: str, loads: str
) -> str:
    floor = tools[0]
    lines = [
        "# Scan benchmark",
        "",
        f"Generated by `bench/scan_bench.py` on {started}. Re-run it to refresh;",
        "numbers from a busy machine are noisy (see load average below).",
        "",
        "## Machine",
        "",
        *[f"- {k}: {v}" for k, v in facts.items()],
        f"- load average (1/5/15 min) before / after: {loads}",
        "",
        "## Corpus",
        "",
        f"- `{corpus}`",
        f"- parse floor: {floor.best.stdout if floor.best else 'not measured'}",
        "",
        "## Results",
        "",
        render_table(tools),
        "",
        verdicts(floor, tools),
        "",
        "- `cold`: no render cache (what kubectl renders, it renders now);",
        "  `warm`: the content-addressed render cache was filled by one earlier run",
        "  (not counted), as in CI with a cached `~/.cache/kubeward`, pre-commit or",
        "  an editor loop. In both, resources-only kustomizations are read directly",
        "  and the common overlay subset is rendered in Python (`inventory/kustomize.py`);",
        "  on this corpus 2 kustomizations go to kubectl.",
        "- wall s: best of `runs` wall-clock runs; peak RSS: largest `ru_maxrss` over",
        "  the runs, from `os.wait4` on the child (largest single process of its",
        "  tree, workers included once reaped; not a sum), KiB / 1024.",
        "- exit codes: kubeward 2 = input errors reported (expected: the corpus's",
        "  parse_errors.txt lists 50 files that PyYAML rejects; libyaml accepts one of",
        "  them, a trailing TAB, hence 49 above); checkov 1 = failed checks found.",
        f"- reference figures from an earlier run on this machine: {REFERENCE}.",
        "",
        "## Commands",
        "",
        *[f"- {t.name}: `{t.command}`" for t in tools],
        "",
        "FLOOR_CODE, the parse floor child (CSafeLoader = libyaml; files that fail",
        "to parse are skipped):",
        "",
        "```python",
        FLOOR_CODE.strip(),
        "```",
        "",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- #
# Main
# --------------------------------------------------------------------------- #


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    p.add_argument("--peers", action="store_true", help="also run trivy and checkov")
    p.add_argument("--repeat", type=int, default=3, help="runs of floor/kubeward")
    p.add_argument("--peer-repeat", type=int, default=1, help="runs of each peer")
    p.add_argument("--timeout", type=float, default=3600, help="seconds per run")
    p.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = p.parse_args(argv)
    if args.repeat < 1 or args.peer_repeat < 1:
        p.error("--repeat and --peer-repeat must be >= 1")
    if not args.corpus.is_dir():
        p.error(f"corpus not found: {args.corpus}")
    args.corpus = args.corpus.resolve()
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load_before = load_average()
    trivy_cache = Path(tempfile.mkdtemp(prefix="kubeward-bench-trivy-"))
    render_cache = Path(tempfile.mkdtemp(prefix="kubeward-bench-render-"))
    try:
        warm = kubeward_tool(args.corpus, args.repeat, label="warm",
                             env={"KUBEWARD_CACHE_DIR": str(render_cache)})
        tools = [
            floor_tool(args.corpus, args.repeat),
            kubeward_tool(args.corpus, args.repeat, "--no-render"),
            kubeward_tool(args.corpus, args.repeat, label="cold", env={"KUBEWARD_RENDER_CACHE": "0"}),
            warm,
        ]
        if not warm.unavailable:  # fill the render cache once; this run is not counted
            run_measured(warm.argv, warm.env, False, args.timeout)
        if args.peers:
            tools.append(trivy_tool(args.corpus, args.peer_repeat, trivy_cache))
            tools.append(checkov_tool(args.corpus, args.peer_repeat))
        for tool in tools:
            measure(tool, args.timeout)
    finally:
        shutil.rmtree(trivy_cache, ignore_errors=True)
        shutil.rmtree(render_cache, ignore_errors=True)
    loads = f"{load_before} / {load_average()}"
    report = render_report(tools, args.corpus, machine_facts(), started, loads)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report)
    print(render_table(tools))
    print(verdicts(tools[0], tools))
    print(f"written: {args.output}")
    return 0 if tools[0].best and tools[0].best.exit_code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
