#!/usr/bin/env bash
# The test command (README, CI): installs what the tests need, then lint, types and pytest.
# pytest's exit code 5 ("no tests collected") is a failure here: a suite that ran nothing
# proves nothing.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || { echo "setup failed" >&2; exit 1; }
VENV="${KUBEWARD_VENV:-.venv}"
# A real kube-apiserver + etcd for tests/cluster (built once from Debian's source package
# and cached under ~/.cache/kubeward; KUBEBUILDER_ASSETS with your own binaries skips it).
if ! KUBEBUILDER_ASSETS="$(bash scripts/kube-assets.sh)"; then
  echo "kube-assets failed" >&2
  [ "${CI:-}" = true ] && exit 1   # locally the cluster tests then skip with the reason
fi
export KUBEBUILDER_ASSETS
# Headless Chromium (Debian's package) for tests/test_html_report.py.
if ! KUBEWARD_CHROMIUM="$(bash scripts/browser.sh)"; then
  echo "chromium unavailable" >&2
  [ "${CI:-}" = true ] && exit 1   # locally the browser tests then skip
fi
export KUBEWARD_CHROMIUM
# A real PostgreSQL for tests/history (Debian's package; installed once, started by the suite).
if ! KUBEWARD_PG_BIN="$(bash scripts/postgres.sh)"; then
  echo "postgres.sh failed" >&2
  [ "${CI:-}" = true ] && exit 1
fi
export KUBEWARD_PG_BIN
# A real OCI registry for tests/supply (Debian's docker-registry; started by the suite).
if ! KUBEWARD_REGISTRY_BIN="$(bash scripts/registry.sh)"; then
  echo "registry.sh failed" >&2
  [ "${CI:-}" = true ] && exit 1
fi
export KUBEWARD_REGISTRY_BIN
"$VENV/bin/ruff" check src tests bench || exit 1
"$VENV/bin/mypy" || exit 1
"$VENV/bin/python" -m pytest -q -p no:cacheprovider "$@"
status=$?
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
exit "$status"
