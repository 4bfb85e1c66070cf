"""Options and helpers shared by commands that read manifests."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click

from kubeward.config import Config


class Problem(click.ClickException):
    """A problem the user can fix that is not a command-line mistake (a bad config file, an
    unwritable report file): one `Error: …` line and exit code 2, without the usage banner."""

    exit_code = 2


def load_config_for(paths: Sequence[str], explicit: str | None, no_config: bool) -> Config:
    """The config named by --config, else `.kubeward.yaml` found upward from the first path."""
    from kubeward.config import ConfigError, find_config, load_config

    if no_config:
        return Config()
    try:
        if explicit:
            return load_config(Path(explicit))
        first = next((p for p in paths if p != "-"), None)
        return load_config(find_config(first))
    except ConfigError as err:
        raise Problem(str(err)) from None


def print_errors(errors: Sequence[object]) -> None:
    for err in errors:
        click.echo(f"error: {err}", err=True)


def use_color(choice: bool | None) -> bool:
    import os

    if choice is not None:
        return choice
    if os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def write_output(data: bytes | str, output_file: str | None) -> None:
    """Write to stdout, or atomically to a file (a reader never sees half a report)."""
    raw = data.encode() if isinstance(data, str) else data
    if output_file is None or output_file == "-":
        sys.stdout.buffer.write(raw)
        sys.stdout.flush()
        return
    import os
    import tempfile

    target = Path(output_file)
    try:
        if target.exists() and not target.is_file():
            # A device or pipe (/dev/null, a FIFO): never replace it, just write.
            with target.open("wb") as fh:
                fh.write(raw)
            return
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(raw)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as err:
        raise Problem(f"cannot write {output_file}: {err.strerror or err}") from None
