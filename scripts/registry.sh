#!/usr/bin/env bash
# Prints the path of the CNCF Distribution registry binary from Debian's `docker-registry`
# package (e.g. /usr/bin/docker-registry), installing the package first when it is missing
# (idempotent; needs root or sudo for that).
# Used by tests/supply (a throw-away registry on 127.0.0.1 per test session, started by the suite).
set -euo pipefail

find_bin() {
  local bin
  for bin in /usr/bin/docker-registry /usr/sbin/docker-registry /usr/bin/registry; do
    if [ -x "$bin" ]; then
      echo "$bin"
      return 0
    fi
  done
  return 1
}

if find_bin; then exit 0; fi

if [ "$(id -u)" -eq 0 ]; then SUDO=(); elif command -v sudo >/dev/null; then SUDO=(sudo -n); else
  echo "registry.sh: no docker-registry binary and not root to install it" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
echo "registry.sh: installing docker-registry from Debian's packages" >&2
# --no-install-recommends: htpasswd (apache2-utils) is not needed. The package's own service
# is never used: the tests start their own registry on a free loopback port.
if ! "${SUDO[@]}" apt-get install -y -q --no-install-recommends docker-registry >&2; then
  "${SUDO[@]}" apt-get update -q >&2
  "${SUDO[@]}" apt-get install -y -q --no-install-recommends docker-registry >&2
fi
find_bin || { echo "registry.sh: docker-registry installed but no registry binary found" >&2; exit 1; }
