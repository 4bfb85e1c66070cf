#!/usr/bin/env bash
# The test command (README, CI): installs what the tests need, then lint, types and pytest.
# pytest's exit code 5 ("no tests collected") is a failure here: a suite that ran nothing
# proves nothing.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || { echo "setup failed" >&2; exit 1; }
VENV="${KUBEWARD_VENV:-.venv}"
"$VENV/bin/ruff" check src tests bench || exit 1
"$VENV/bin/mypy" || exit 1
"$VENV/bin/python" -m pytest -q -p no:cacheprovider "$@"
status=$?
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
exit "$status"
