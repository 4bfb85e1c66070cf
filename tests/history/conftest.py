"""A real PostgreSQL server for the history tests, started once per session.

The server comes from Debian's `postgresql` package (scripts/postgres.sh installs it when
missing and prints its bin dir; KUBEWARD_PG_BIN skips that). `initdb` goes into a temp dir,
`pg_ctl start` on a free loopback port with its unix socket in the same dir; postgres
refuses to run as root, so under root both run as the `postgres` (else `nobody`) user via
runuser. The server is stopped and the dir removed at session end, also on failure.
Without a server (or psycopg) the tests are skipped with the reason, except under CI=true,
where they fail: a broken set-up in CI is never silently skipped.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

from tests.conftest import REPO


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "postgres: needs a real PostgreSQL server (tests/history, session fixture)")


def unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL unavailable under CI: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL unavailable: {reason}")


@dataclass(frozen=True)
class Postgres:
    bin: Path
    port: int
    user: str

    def url(self, db: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{db}"

    def createdb(self) -> str:
        name = f"kw_{uuid.uuid4().hex[:12]}"
        subprocess.run([str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                        "-U", self.user, name], check=True, capture_output=True, timeout=60)
        return self.url(name)


def _bin_dir() -> Path:
    explicit = os.environ.get("KUBEWARD_PG_BIN")
    if explicit:
        return Path(explicit)
    try:
        done = subprocess.run(["bash", str(REPO / "scripts" / "postgres.sh")], capture_output=True,
                              text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as err:
        unavailable(f"scripts/postgres.sh: {err}")
    if done.returncode != 0:
        unavailable(f"scripts/postgres.sh failed: {done.stderr.strip()[-500:]}")
    return Path(done.stdout.strip().splitlines()[-1])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        unavailable("the Python package psycopg is not installed (pip install 'psycopg[binary]')")
    bindir = _bin_dir()
    if not (bindir / "initdb").exists():
        unavailable(f"no initdb in {bindir}")
    prefix: list[str] = []
    owner = None
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        if runuser is None:
            unavailable("running as root and no runuser to drop privileges for postgres")
        for name in ("postgres", "nobody"):
            try:
                owner = pwd.getpwnam(name)
                break
            except KeyError:
                continue
        if owner is None:
            unavailable("running as root and no unprivileged user (postgres, nobody)")
        prefix = [runuser, "-u", owner.pw_name, "--"]
    tmp = Path(tempfile.mkdtemp(prefix="kubeward-pg-"))
    if owner is not None:
        os.chown(tmp, owner.pw_uid, owner.pw_gid)
    data, log = tmp / "data", tmp / "postgres.log"
    user = "kubeward"
    port = _free_port()

    def run(*cmd: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*prefix, *cmd], capture_output=True, text=True, timeout=timeout,
                              cwd=tmp, check=False)

    started = False
    try:
        done = run(str(bindir / "initdb"), "-D", str(data), "-U", user, "-A", "trust",
                   "-E", "UTF8", "--no-sync")
        if done.returncode != 0:
            unavailable(f"initdb failed: {done.stderr.strip()[-500:]}")
        opts = (f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off")
        done = run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", opts, "-w",
                   "-t", "60", "start")
        if done.returncode != 0:
            text = log.read_text(errors="replace")[-800:] if log.exists() else done.stderr
            unavailable(f"pg_ctl start failed: {text.strip()}")
        started = True
        yield Postgres(bindir, port, user)
    finally:
        if started:
            run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def pg_url(postgres: Postgres) -> str:
    """A fresh, empty database on the session's server."""
    return postgres.createdb()
