"""`kubeward detect` throughput and memory on a large generated audit log.

Run on demand, never from the test suite:

    .venv/bin/python bench/detect_bench.py [--file-events 1000000] [--stream-events 10000000]

Event shapes come from real API server output: the v1.20 audit log in
tests/fixtures/detect/_real (namespace, `kubectl run`, exec, bad token, anonymous requests,
plus the server's own bootstrap and controller traffic) and the audit2rbac corpus
(/work/shared/corpora/audit2rbac/testdata/demo.log, when present), mixed with the malicious
events of tests/fixtures/detect/*/fire-*.json at about 1 %. Each generated event gets a fresh
auditID, a timestamp 1 ms after the previous one, and a user and object name from pools of
1,000, so deduplication and burst state see realistic key churn.

Measured, each in its own process with all built-in rules on:
1. events/s of `kubeward detect FILE -o json` pinned to one core (`taskset -c 0`) on a
   generated file, and the engine alone in-process (no parsing or output) for reference;
2. peak RSS (ru_maxrss via wait4) of `kubeward detect -` fed through a pipe by this script's
   generator (on the other core) for 1M and for 10M events: flat memory = the same peak.
Target (issue 10): >= 20,000 events/s on one core; memory flat over 10 million events.
Results go to bench/results/detect.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

FIXTURES = REPO / "tests" / "fixtures" / "detect"
DEMO = Path("/work/shared/corpora/audit2rbac/testdata/demo.log")
KUBEWARD = REPO / ".venv" / "bin" / "kubeward"
OUTPUT = REPO / "bench" / "results" / "detect.md"
START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC).timestamp()
MALICIOUS_EVERY = 100


def _templates() -> tuple[list[list[bytes]], list[list[bytes]]]:
    """(benign, malicious) events serialised once and split at the placeholders."""
    import orjson

    benign: list[dict[str, Any]] = []
    with gzip.open(FIXTURES / "_real" / "v1.20-actions.log.gz") as fh:
        benign += [json.loads(line) for line in fh if line.strip()]
    if DEMO.exists():
        benign += [json.loads(line) for line in DEMO.read_text().splitlines() if line.strip()]
    malicious: list[dict[str, Any]] = []
    for path in sorted(FIXTURES.glob("*/fire-*.json")):
        data = json.loads(path.read_text())
        malicious += data if isinstance(data, list) else [data]

    def split(event: dict[str, Any], vary_user: bool) -> list[bytes]:
        event = dict(event)
        event["auditID"] = "\u00a7AID\u00a7"
        for key in ("stageTimestamp", "requestReceivedTimestamp", "timestamp"):
            if key in event:
                event[key] = "\u00a7TS\u00a7"
        username = event.get("user", {}).get("username") if isinstance(event.get("user"), dict) else None
        if vary_user and username and not username.startswith("system:"):
            event["user"] = {**event["user"], "username": "\u00a7USER\u00a7"}
        ref = event.get("objectRef")
        if vary_user and isinstance(ref, dict) and ref.get("name"):
            event["objectRef"] = {**ref, "name": "\u00a7NAME\u00a7"}
        return (orjson.dumps(event) + b"\n").split("\u00a7".encode())

    return [split(e, False) for e in benign], [split(e, True) for e in malicious]


def generate(count: int) -> Iterator[bytes]:
    """`count` JSON lines (about 1 % malicious), built by joining pre-serialised pieces."""
    benign, malicious = _templates()
    nb, nm = len(benign), len(malicious)
    second = b""
    for i in range(count):
        parts = malicious[(i // MALICIOUS_EVERY) % nm] if i % MALICIOUS_EVERY == 0 else benign[i % nb]
        if i % 1000 == 0:  # events are 1 ms apart: format the second once per 1,000 events
            second = (
                dt.datetime.fromtimestamp(START + i // 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S").encode()
            )
        ts = b"%s.%03d000Z" % (second, i % 1000)
        values = {
            b"AID": b"%032x" % i,
            b"TS": ts,
            b"USER": b"user-%d" % (i % 1000),
            b"NAME": b"obj-%d" % (i % 997),
        }
        yield b"".join(values.get(p, p) for p in parts)


def _write_file(path: Path, count: int) -> int:
    size = 0
    with path.open("wb", buffering=1 << 20) as fh:
        for line in generate(count):
            fh.write(line)
            size += len(line)
    return size


def _timed(argv: list[str], stdin: Any = None) -> tuple[float, int, str, int]:
    """(seconds, peak RSS in KiB, stderr, exit code) of one child process."""
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    return time.monotonic() - t0, int(usage.ru_maxrss), err, os.waitstatus_to_exitcode(status)


def _pin(core: int) -> list[str]:
    return (
        ["taskset", "-c", str(core)]
        if subprocess.run(["which", "taskset"], capture_output=True).returncode == 0
        else []
    )


def engine_only(count: int) -> float:
    """Events/s of Detector.process alone on pre-parsed events (no JSON, no output)."""
    import orjson

    from kubeward.detect.engine import Detector
    from kubeward.detect.rules import load_rules

    events = [orjson.loads(line) for line in generate(count)]
    detector = Detector(load_rules())
    t0 = time.perf_counter()
    for event in events:
        detector.process(event)
    return count / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--file-events", type=int, default=1_000_000)
    parser.add_argument("--stream-events", type=int, default=10_000_000)
    parser.add_argument("--engine-events", type=int, default=200_000)
    parser.add_argument(
        "--generate", type=int, help="only write N generated lines to stdout (used by the pipe runs)"
    )
    parser.add_argument("--engine-only", type=int, help="only print the in-process engine rate for N events")
    args = parser.parse_args()
    if args.engine_only is not None:
        print(f"{engine_only(args.engine_only):.0f}")
        return
    if args.generate is not None:
        out = sys.stdout.buffer
        for line in generate(args.generate):
            out.write(line)
        out.flush()
        return

    rows: list[str] = []
    notes: list[str] = []
    # every measurement runs in its own process: a child forked from a parent holding parsed
    # events would report the parent's pages in its ru_maxrss
    engine_rate = float(
        subprocess.run(
            [*_pin(0), sys.executable, __file__, "--engine-only", str(args.engine_events)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    rows.append(f"| engine only (in-process, pre-parsed) | {args.engine_events:,} | | {engine_rate:,.0f} | |")
    print(f"engine only: {engine_rate:,.0f} events/s", flush=True)

    with tempfile.TemporaryDirectory(prefix="kubeward-detect-bench-") as tmp:
        log = Path(tmp) / "audit.log"
        t0 = time.monotonic()
        size = _write_file(log, args.file_events)
        print(
            f"generated {args.file_events:,} events, {size / 2**20:,.0f} MiB in {time.monotonic() - t0:.0f}s",
            flush=True,
        )
        secs, rss, err, code = _timed([*_pin(0), str(KUBEWARD), "detect", str(log), "-o", "json"])
        assert code == 0, err
        rate = args.file_events / secs
        rows.append(
            f"| `taskset -c 0 kubeward detect FILE -o json` | {args.file_events:,} | {secs:.1f} | "
            f"{rate:,.0f} | {rss / 1024:.0f} |"
        )
        notes.append(f"file run summary: `{err.strip().splitlines()[-1]}`")
        print(f"file: {rate:,.0f} events/s, {rss / 1024:.0f} MiB", flush=True)
        log.unlink()

    for count in sorted({min(1_000_000, args.stream_events), args.stream_events}):
        gen = subprocess.Popen(
            [*_pin(1), sys.executable, __file__, "--generate", str(count)], stdout=subprocess.PIPE
        )
        secs, rss, err, code = _timed(
            [*_pin(0), str(KUBEWARD), "detect", "-", "-o", "json"], stdin=gen.stdout
        )
        assert gen.stdout is not None
        gen.stdout.close()
        gen.wait()
        assert code == 0, err
        rows.append(
            f"| `gen \\| taskset -c 0 kubeward detect - -o json` | {count:,} | {secs:.1f} | "
            f"{count / secs:,.0f} | {rss / 1024:.0f} |"
        )
        notes.append(f"pipe run of {count:,}: `{err.strip().splitlines()[-1]}`")
        print(f"pipe {count:,}: {count / secs:,.0f} events/s, {rss / 1024:.0f} MiB", flush=True)

    from kubeward.detect.rules import load_rules

    text = "\n".join(
        [
            "# kubeward detect benchmark",
            "",
            f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC by `bench/detect_bench.py` "
            f"on {platform.machine()}, "
            f"Python {platform.python_version()}, {os.cpu_count()} CPUs shared with other jobs; "
            f"{len(load_rules().rules)} built-in rules on. Target: >= 20,000 events/s on one core, "
            "memory flat over 10 million events.",
            "",
            "Events: shapes of the real v1.20 API server's log (tests/fixtures/detect/_real) and the "
            "audit2rbac corpus, 1 % malicious (the rules' fire fixtures), fresh auditIDs, 1 ms apart, "
            "users and names from pools of 1,000.",
            "",
            "| run | events | seconds | events/s | peak RSS MiB |",
            "|---|---:|---:|---:|---:|",
            *rows,
            "",
            *[f"- {n}" for n in notes],
            "- the pipe runs measure memory: their rate is bounded by the Python generator on the",
            "  other core (both cores are shared with other jobs); the file run is the throughput figure.",
            "",
        ]
    )
    OUTPUT.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
