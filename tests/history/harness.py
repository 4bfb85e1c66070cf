"""`kubeward` as installed, plus the history wiring if the CLI does not have it yet.

Tests run the CLI through this script in a subprocess. Once `scan --save`, `audit --save`,
`history` and `diff` are part of `kubeward.cli.main`, this is exactly `kubeward`; until then
it adds `--save` to `scan` (the way docs/history.md asks report_opts to) and registers the
two commands, so the history flow is tested end to end either way.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from kubeward.cli import report_opts
from kubeward.cli.history import SAVE_OPTION, diff_cmd, history_cmd, save_or_fail
from kubeward.cli.main import cli, main
from kubeward.cli.scan import scan


def _wire() -> None:
    if "history" not in cli.commands:
        cli.add_command(history_cmd)
    if "diff" not in cli.commands:
        cli.add_command(diff_cmd)
    if any(p.name == "save" for p in scan.params):
        return
    from kubeward.history import scan_target

    SAVE_OPTION(scan)
    original_cb = scan.callback
    original_finish = report_opts.finish
    pending: dict[str, Any] = {}

    def callback(*args: Any, save: str | None = None, **kwargs: Any) -> Any:
        if save is not None:
            pending.update(store=save, target=scan_target(kwargs["paths"]),
                           started=dt.datetime.now(dt.UTC))
        assert original_cb is not None
        return original_cb(*args, **kwargs)

    def finish(report: Any, settings: Any) -> None:
        if pending:
            save_or_fail(report, pending["store"], pending["target"], pending["started"])
        original_finish(report, settings)

    scan.callback = callback
    report_opts.finish = finish


if __name__ == "__main__":
    _wire()
    main()
