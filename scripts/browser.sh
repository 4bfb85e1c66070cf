#!/usr/bin/env bash
# Print the path of a headless-capable Chromium (Debian's package), installing it when missing.
# Idempotent: a second run only prints the path. Used by tests/test_html_report.py (the test
# skips when this fails, except under CI=true where it fails).
set -euo pipefail
find_browser() {
  local b
  for b in chromium chromium-browser google-chrome; do
    if command -v "$b" >/dev/null 2>&1; then command -v "$b"; return 0; fi
  done
  return 1
}
if find_browser; then exit 0; fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "browser.sh: chromium is not installed and this user cannot install packages" >&2
    exit 1
  fi
fi
command -v apt-get >/dev/null 2>&1 || { echo "browser.sh: no apt-get to install chromium" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1; then
  $SUDO apt-get update -q >/dev/null 2>&1 || true
  $SUDO apt-get install -y -q --no-install-recommends chromium >&2
fi
find_browser
