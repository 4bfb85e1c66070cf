"""Child process: render one Helm chart with helm-python-sdk, print `helm template` output.

Run as `python -m kubeward.inventory.helmsdk CHART_DIR` by `render._helm_sdk`; prints the
manifests with `# Source:` comments like `helm template`, or one error line on stderr and
exit code 1.
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m kubeward.inventory.helmsdk CHART_DIR", file=sys.stderr)
        return 2
    import helm_python

    try:
        with helm_python.Chart.load(argv[0]) as chart:
            manifests = chart.render(None, name="kubeward-scan", namespace="default")
    except Exception as err:  # noqa: BLE001 - the SDK raises its own error family
        lines = str(err).strip().splitlines()
        print("Error: " + " ".join(line.strip() for line in lines[:3])[:300], file=sys.stderr)
        return 1
    for name, text in sorted(manifests.items()):
        if name.endswith((".yaml", ".yml", ".json")) and text.strip():
            sys.stdout.write(f"---\n# Source: {name}\n{text}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
