"""`kubeward generate`: the checklist's policies and configurations as YAML.

The sets, their parameters and generators live in :mod:`kubeward.generate.policies`;
this module parses `--param k=v`, prints (or writes) the documents and maps every
usage problem to one line and exit code 2.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

from kubeward.cli.inputs import fail

__all__ = ["generate_group", "render_documents"]

_DNS_LABEL = re.compile(r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?")


def render_documents(docs: list[Any]) -> str:
    """Multi-document YAML, keys in the generators' order."""
    import yaml

    return yaml.safe_dump_all(docs, sort_keys=False, width=120) if docs else ""


def _list_sets() -> str:
    from kubeward.generate.policies import SETS

    lines: list[str] = []
    for pset in SETS:
        flags = [f for f, on in (("-n", pset.namespaced), ("contains keys", pset.contains_keys)) if on]
        extra = f"  [{', '.join(flags)}]" if flags else ""
        lines.append(f"{pset.name}{extra}")
        lines.append(f"    {pset.summary}")
        for p in pset.params:
            default = "required" if p.required else f"default {p.default!r}"
            choices = f"; one of {', '.join(p.choices)}" if p.choices else ""
            lines.append(f"    --param {p.name}=...  {p.help} ({default}{choices})")
    return "\n".join(lines) + "\n"


def _parse_params(items: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq or not key:
            fail(f"--param {item!r}: use NAME=VALUE")
        if key in out:
            fail(f"--param {key} given twice")
        if value.startswith("@"):
            try:
                value = Path(value[1:]).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as err:
                fail(f"--param {key}={value}: cannot read {value[1:]}: "
                     f"{getattr(err, 'strerror', None) or err}")
        out[key] = value
    return out


def _write_suite(folder: Path, suite: dict[str, list[Any]]) -> None:
    from kubeward.fix.writer import atomic_write

    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, docs in suite.items():
            atomic_write(folder / name, render_documents(docs))
    except OSError as err:
        fail(f"{folder}: cannot write: {err.strerror or err}")
    click.echo(f"wrote {', '.join(suite)} to {folder} (run: kubeward policy test {folder})", err=True)


@click.command("generate")
@click.argument("set_name", metavar="SET", required=False)
@click.option("--list", "list_sets", is_flag=True, help="List the sets and their parameters.")
@click.option("-p", "--param", "params", multiple=True, metavar="NAME=VALUE",
              help="A set parameter (repeatable); VALUE @FILE reads a file (e.g. a PEM key).")
@click.option("-n", "--namespace", default="default", show_default=True,
              help="Namespace of namespaced objects.")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False), default=None,
              metavar="FILE", help="Write to FILE (atomically) instead of stdout.")
@click.option("--tests", "tests_dir", type=click.Path(file_okay=False), default=None,
              metavar="DIR", help="Write a Kyverno test suite (policy, good and bad example pods, "
              "kyverno-test.yaml) to DIR for `kubeward policy test DIR`.")
def generate_group(set_name: str | None, list_sets: bool, params: tuple[str, ...],
                   namespace: str, output: str | None, tests_dir: str | None) -> None:
    """Write the checklist's policies and configurations, ready to apply.

    SET is one of the sets of `--list`: Kyverno policies (verify-image-signature,
    add-default-securitycontext, restrict-image-registries), the deny-privileged
    ValidatingAdmissionPolicy, PSS namespace labels, default-deny NetworkPolicies, the
    audit policy, an EncryptionConfiguration with fresh keys, Falco rules, a Tetragon
    TracingPolicy, an ExternalSecret, a least-privilege deployer Role and a pod with a
    bound short-lived token. Exit 0, or 2 for an unknown set or parameter.

    \b
    Examples:
      kubeward generate --list
      kubeward generate restrict-image-registries --param registries=ghcr.io/acme/
      kubeward generate verify-image-signature -p public-key=@cosign.pub
      kubeward generate encryption-config -p providers=kms,aescbc -o /etc/kubernetes/enc.yaml
      kubeward generate default-deny -n shop | kubectl apply -f -
      kubeward generate add-default-securitycontext --tests suite/ && kubeward policy test suite/
    """
    from kubeward.generate.policies import GenerateError, get_set

    if list_sets:
        if set_name:
            fail("give either --list or SET")
        click.echo(_list_sets(), nl=False)
        return
    if not set_name:
        fail("give a SET (see kubeward generate --list)")
    try:
        pset = get_set(set_name)
        if pset.namespaced and not _DNS_LABEL.fullmatch(namespace):
            raise GenerateError(f"-n {namespace!r}: a namespace name is a DNS label (lower-case "
                                "letters, digits and '-', at most 63 characters)")
        given = _parse_params(params)
        docs = pset.build(given, namespace)
        if tests_dir is not None:
            from kubeward.generate.examples import policy_test_suite

            suite = policy_test_suite(set_name, given, namespace)
    except GenerateError as err:
        fail(str(err))
    if tests_dir is not None:
        _write_suite(Path(tests_dir), suite)
        return
    text = render_documents(docs)
    if pset.contains_keys:
        where = output or "stdout"
        click.echo(f"warning: {pset.name} contains encryption keys: keep {where} secret "
                   "(mode 0600, never in Git)", err=True)
    if output is None:
        click.echo(text, nl=False)
        return
    from kubeward.fix.writer import atomic_write

    try:
        atomic_write(output, text, mode=0o600 if pset.contains_keys else None)
    except OSError as err:
        fail(f"{output}: cannot write: {err.strerror or err}")
    click.echo(f"wrote {output} ({len(docs)} document{'s' if len(docs) != 1 else ''})",
               err=True)
