"""Child process: render Helm charts with helm-python-sdk, answer in JSON.

Run as `python -m kubeward.inventory.helmsdk CHART_DIR...` by `render._helm_sdk_batch`;
prints one JSON list with, per chart, `{"text": <helm template output with # Source:
comments>}` or `{"error": <one line>}`. One process for all charts: starting Python and
loading the library costs more than rendering.
"""

from __future__ import annotations

import json
import sys


def render_one(path: str) -> dict[str, str]:
    import helm_python

    try:
        with helm_python.Chart.load(path) as chart:
            manifests = chart.render(None, name="kubeward-scan", namespace="default")
    except Exception as err:  # noqa: BLE001 - the SDK raises its own error family
        # Go template errors nest: where it happened first, the cause on the last line
        lines = [line.strip() for line in str(err).strip().splitlines() if line.strip()]
        kept = lines if len(lines) <= 3 else [*lines[:2], "...", lines[-1]]
        return {"error": " ".join(kept)[:400]}
    parts = [
        f"---\n# Source: {name}\n{text}\n"
        for name, text in sorted(manifests.items())
        if name.endswith((".yaml", ".yml", ".json")) and text.strip()
    ]
    return {"text": "".join(parts)}


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m kubeward.inventory.helmsdk CHART_DIR...", file=sys.stderr)
        return 2
    json.dump([render_one(path) for path in argv], sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
