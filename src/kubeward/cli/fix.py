"""`kubeward fix`: the seed's pod hardening applied to manifests in place.

Planning is :mod:`kubeward.fix.hardening`, text editing :mod:`kubeward.fix.yamledit`,
writing :mod:`kubeward.fix.writer`; this module finds the files, prints the diff and the
reason lines, and sets the exit code (0 nothing to change or written, 1 changes pending
in preview, 2 usage error or nothing readable).
"""

from __future__ import annotations

import difflib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from kubeward.cli.inputs import fail
from kubeward.secretscan import redact

__all__ = ["fix_cmd", "iter_files"]

_SUFFIXES = (".yaml", ".yml", ".json")
_SKIP_DIRS = frozenset({".git", "node_modules", "vendor", "__pycache__", ".terraform"})


def iter_files(paths: tuple[str, ...]) -> Iterator[tuple[Path, str | None]]:
    """(file, None) for each YAML file of PATHS, or (path, reason) for what is skipped.

    Directories are walked in sorted order; hidden directories are skipped and a Helm
    chart (a directory with Chart.yaml) is skipped as a whole: its templates are not YAML
    until rendered."""
    for raw in paths:
        root = Path(raw)
        if root.is_file():
            yield root, None
            continue
        if not root.is_dir():
            fail(f"{raw}: no such file or directory")
        for dirpath, dirnames, filenames in os.walk(root):
            here = Path(dirpath)
            if (here / "Chart.yaml").is_file():
                dirnames[:] = []
                yield here, "a Helm chart (templates are not YAML until rendered): skipped"
                continue
            dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
            for name in sorted(filenames):
                if name.endswith(_SUFFIXES):
                    yield here / name, None


def _secret_values(text: str) -> list[str]:
    """Literal values of the file that must not reach the terminal: env values, the values of
    secret-named `--flag=value` arguments and the data of Secrets (kept when they look like
    credentials, see secretscan), longest first."""
    from kubeward.inventory.yamlio import Document, load_documents
    from kubeward.secretscan import looks_like_secret_name, plausible_secret_value

    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("kind") == "Secret":
                for key in ("data", "stringData"):
                    values = node.get(key)
                    if isinstance(values, dict):
                        found.update(v for v in values.values() if isinstance(v, str))
                meta = node.get("metadata")
                notes = meta.get("annotations") if isinstance(meta, dict) else None
                if isinstance(notes, dict):
                    found.update(v for v in notes.values() if isinstance(v, str))
            env = node.get("env")
            if isinstance(env, list):
                found.update(e["value"] for e in env
                             if isinstance(e, dict) and isinstance(e.get("value"), str))
            for argv_key in ("command", "args"):  # `--password=…`, `--token=…` flags
                argv = node.get(argv_key)
                for arg in argv if isinstance(argv, list) else []:
                    if isinstance(arg, str) and arg.startswith("-") and "=" in arg:
                        flag, _, value = arg.partition("=")
                        if value and looks_like_secret_name(flag.lstrip("-").replace("-", "_")):
                            found.add(value)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for doc in load_documents(text):
        if isinstance(doc, Document):
            walk(doc.data)
    candidates = {line.strip() for v in found for line in v.splitlines()} | found
    return sorted((v for v in candidates if plausible_secret_value(v)), key=len, reverse=True)


def _diff(path: Path, before: str, after: str) -> str:
    shown = str(path).lstrip("/")
    lines = difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                 fromfile=f"a/{shown}", tofile=f"b/{shown}")
    secrets = _secret_values(before)
    out = []
    for line in lines:
        if secrets and line[:1] in (" ", "-", "+") and not line.startswith(("---", "+++")):
            for value in secrets:
                if value in line:
                    line = line.replace(value, redact(value))
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


@click.command("fix")
@click.argument("paths", nargs=-1, required=True)
@click.option("--write", "do_write", is_flag=True, help="Apply the changes (atomic writes).")
@click.option("--diff", "show_diff", is_flag=True,
              help="With --write: also print the diff (the preview always does).")
@click.option("-q", "--quiet", is_flag=True, help="Leave out the reason lines.")
def fix_cmd(paths: tuple[str, ...], do_write: bool, show_diff: bool, quiet: bool) -> None:
    """Apply the seed's hardening to manifests, keeping comments and order.

    Adds to every workload (Pod, Deployment, StatefulSet, DaemonSet, Job, CronJob, ...)
    what the seed's mutate policy adds: runAsNonRoot, seccompProfile RuntimeDefault,
    allowPrivilegeEscalation false, capabilities drop ALL, readOnlyRootFilesystem (where
    no writable path is evident) and automountServiceAccountToken false (where the pod
    shows no sign of using the API). Values the manifest sets are never changed.

    By default prints a unified diff (stdout); --write applies it. Reason lines (stderr)
    name what was left and why, and what still fails Pod Security `restricted`. Helm
    templates and unreadable files: one line each, skipped. YAML and JSON files.
    Exit 0 nothing to change (or written), 1 changes pending, 2 usage error or no file
    readable.

    \b
    Examples:
      kubeward fix k8s/            # show the diff
      kubeward fix --write k8s/
      kubeward fix --write --diff deploy/web.yaml
    """
    from kubeward.fix.writer import atomic_write
    from kubeward.fix.yamledit import FixError, fix_text

    pending = errors = readable = 0
    for path, skipped in iter_files(paths):
        if skipped:
            click.echo(f"{path}: {skipped}", err=True)
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            click.echo(f"{path}: cannot read: {getattr(err, 'strerror', None) or err}", err=True)
            errors += 1
            continue
        try:
            result = fix_text(text)
        except FixError as err:
            click.echo(f"{path}: {err}", err=True)
            errors += 1
            continue
        except RecursionError:
            click.echo(f"{path}: nested too deeply to edit safely: skipped", err=True)
            errors += 1
            continue
        readable += 1
        if not quiet:
            for plan in result.plans:
                for note in plan.notes:
                    click.echo(f"{path}: {plan.shown}: {note}", err=True)
        if not result.changed:
            continue
        pending += 1
        if not do_write or show_diff:
            click.echo(_diff(path, result.original, result.fixed), nl=False)
        if do_write:
            try:
                atomic_write(path, result.fixed)
            except OSError as err:
                click.echo(f"{path}: cannot write: {err.strerror or err}", err=True)
                errors += 1
                continue
            n = sum(1 for p in result.plans if p.edits)
            click.echo(f"fixed {path} ({n} workload{'s' if n != 1 else ''})", err=True)
    if errors and not readable:
        sys.exit(2)
    if not readable:
        fail(f"no *.yaml, *.yml or *.json file to fix in {', '.join(paths)}")
    if pending and not do_write:
        click.echo(f"{pending} file{'s' if pending != 1 else ''} would change "
                   "(run with --write to apply)", err=True)
        sys.exit(1)
