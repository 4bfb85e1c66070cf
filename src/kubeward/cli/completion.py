"""`kubeward completion bash|zsh|fish`: print click's shell-completion script."""

from __future__ import annotations

import click

SHELLS = ("bash", "zsh", "fish")
# `main()` runs the group with prog_name="kubeward" whatever the executable is called
# (`kubeward`, `kubectl-ward`, `python -m kubeward`), so click always reads this variable.
COMPLETE_VAR = "_KUBEWARD_COMPLETE"


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
def completion_cmd(shell: str) -> None:
    """Print the shell-completion script for SHELL (bash, zsh or fish).

    Completes commands, options and choices (formats, severities, PSS levels). Load it in
    the current shell with eval/source, or write it where your shell looks for completions.

    \b
    Examples:
      eval "$(kubeward completion bash)"                  # bash, this shell
      kubeward completion bash > ~/.local/share/bash-completion/completions/kubeward
      kubeward completion zsh > "${fpath[1]}/_kubeward"   # zsh (compinit loads it)
      kubeward completion fish > ~/.config/fish/completions/kubeward.fish
    """
    from click.shell_completion import get_completion_class

    root = click.get_current_context().find_root()
    cls = get_completion_class(shell)
    if cls is None:  # pragma: no cover - click ships all three
        raise click.UsageError(f"no completion support for {shell}")
    script = cls(root.command, {}, "kubeward", COMPLETE_VAR).source()
    click.echo(script, nl=not script.endswith("\n"))
