#!/usr/bin/env bash
# Create (or refresh) the project's virtualenv and install kubeward with its test extras.
# Idempotent: a second run only re-checks what is installed. Used by README, tests and CI.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
VENV="${KUBEWARD_VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[test]"
