#!/usr/bin/env bash
# Prints the bin dir of a PostgreSQL server from Debian's packages (e.g. /usr/lib/postgresql/15/bin),
# installing `postgresql` first when no server is there (idempotent; needs root or sudo for that).
# Used by tests/history (a throw-away server per test session, started by the suite itself).
set -euo pipefail

find_bin() {
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5,5 -n -r); do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ]; then
      echo "$dir"
      return 0
    fi
  done
  return 1
}

if find_bin; then exit 0; fi

if [ "$(id -u)" -eq 0 ]; then SUDO=(); elif command -v sudo >/dev/null; then SUDO=(sudo -n); else
  echo "postgres.sh: no PostgreSQL server under /usr/lib/postgresql and not root to install it" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
echo "postgres.sh: installing postgresql from Debian's packages" >&2
if ! "${SUDO[@]}" apt-get install -y -q postgresql >&2; then
  "${SUDO[@]}" apt-get update -q >&2
  "${SUDO[@]}" apt-get install -y -q postgresql >&2
fi
find_bin || { echo "postgres.sh: postgresql installed but no initdb/pg_ctl found" >&2; exit 1; }
