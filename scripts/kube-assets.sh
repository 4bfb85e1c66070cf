#!/usr/bin/env bash
# Print the folder that holds the binaries of a real control plane for the cluster tests:
# kube-apiserver, etcd and kubectl (the envtest layout). Idempotent; progress goes to stderr,
# only the folder goes to stdout, so callers can do
#     export KUBEBUILDER_ASSETS="$(bash scripts/kube-assets.sh)"
#
# 1. If KUBEBUILDER_ASSETS names a folder holding kube-apiserver and etcd, print it: nothing
#    is built (bring your own binaries, any version; see docs/testing-cluster.md).
# 2. Else use ${KUBEWARD_CACHE:-$HOME/.cache/kubeward}/k8s-v1.20.2/. When kube-apiserver is
#    missing there, build it (4-7 min, 1.4 GB RSS, 2.3 GB scratch disk) from Debian
#    bookworm's source package `kubernetes` (upstream v1.20.2 with vendor/) with Go 1.15 from
#    Debian bullseye's golang-1.15 .debs, unpacked (not installed). Only the binary is kept.
#    etcd comes from Debian's etcd-server package (3.4.23, /usr/bin/etcd); kubectl is the
#    machine's own, or Debian's kubernetes-client when there is none. Both are symlinked.
#
# The source package and Go are fetched with a private apt configuration (own sources.list,
# lists and cache under the scratch folder) that uses the Debian mirror the machine's apt
# sources already use; the machine's own apt sources are never changed.
#
# Environment: KUBEBUILDER_ASSETS, KUBEWARD_CACHE, KUBEWARD_DEBIAN_MIRROR (overrides the mirror
# read from /etc/apt), KUBEWARD_KEEP_SCRATCH=1 (keep the build folder after a success).
set -euo pipefail

K8S_VERSION="v1.20.2"
K8S_DEB_VERSION="1.20.5+really1.20.2-1.1+deb12u1"
GO_DEBS=(golang-1.15-go golang-1.15-src)
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
LOCK_WAIT_SECONDS=3600

log() { printf 'kube-assets: %s\n' "$*" >&2; }
die() { printf 'kube-assets: ERROR: %s\n' "$*" >&2; exit 1; }

have_assets() { # DIR: holds runnable kube-apiserver and etcd (symlinks followed)
  [ -x "$1/kube-apiserver" ] && [ -f "$1/kube-apiserver" ] && [ -x "$1/etcd" ] && [ -f "$1/etcd" ]
}

# --- 1. bring-your-own binaries -------------------------------------------------------------
if [ -n "${KUBEBUILDER_ASSETS:-}" ]; then
  if have_assets "$KUBEBUILDER_ASSETS"; then
    (cd "$KUBEBUILDER_ASSETS" && pwd)
    exit 0
  fi
  die "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS does not hold executable kube-apiserver and etcd;" \
      "fix it, or unset it to use (and build if needed) the cache"
fi

CACHE_ROOT="${KUBEWARD_CACHE:-${HOME:?HOME is not set}/.cache/kubeward}"
DEST="$CACHE_ROOT/k8s-$K8S_VERSION"

complete() { have_assets "$DEST" && [ -x "$DEST/kubectl" ] && [ -f "$DEST/kubectl" ]; }

# Fast path: everything is there already (no lock, no apt, no network).
if complete; then
  echo "$DEST"
  exit 0
fi

command -v flock >/dev/null || die "flock (util-linux) is needed"
mkdir -p "$DEST"
exec 9>"$CACHE_ROOT/k8s-$K8S_VERSION.lock"
if ! flock -n 9; then
  log "another kube-assets.sh run holds $CACHE_ROOT/k8s-$K8S_VERSION.lock; waiting (up to ${LOCK_WAIT_SECONDS}s)"
  flock -w "$LOCK_WAIT_SECONDS" 9 || die "timed out waiting for the lock"
fi
if complete; then # the other run finished the job
  echo "$DEST"
  exit 0
fi

# The Debian mirror the machine already uses (first deb URI ending in /debian), never printed.
debian_mirror() {
  if [ -n "${KUBEWARD_DEBIAN_MIRROR:-}" ]; then echo "$KUBEWARD_DEBIAN_MIRROR"; return; fi
  local files=() f
  [ -f /etc/apt/sources.list ] && files+=(/etc/apt/sources.list)
  for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && files+=("$f")
  done
  [ "${#files[@]}" -gt 0 ] || return 0
  awk '
    /^[[:space:]]*#/ { next }
    /^[[:space:]]*deb[[:space:]]/ {            # one-line format: deb [opts] URI suite comps
      for (i = 2; i <= NF; i++) {
        if ($i ~ /^\[/) { while ($i !~ /\]$/ && i < NF) i++; continue }
        print $i; break
      }
      next
    }
    /^[[:space:]]*URIs:/ { for (i = 2; i <= NF; i++) print $i }   # deb822 format
  ' "${files[@]}" | grep -E '^https?://[^ ]+/debian/?$' | head -n 1 | sed 's#/$##' || true
}
# Show a log tail with the mirror's host name masked (logs are not reports: keep hosts out).
show_tail() { # N FILE
  local host="${MIRROR:-$(debian_mirror || true)}"
  host="${host#*://}"; host="${host%%/*}"
  if [ -n "$host" ]; then
    tail -n "$1" "$2" | while IFS= read -r line; do printf '%s\n' "${line//"$host"/<debian-mirror>}"; done >&2
  else
    tail -n "$1" "$2" >&2
  fi
}

# --- system packages (rsync, jq, etcd-server, kubernetes-client) ----------------------------
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || die "not root and no sudo: apt-get install etcd-server rsync jq make dpkg-dev as root, or set KUBEBUILDER_ASSETS"
  SUDO=(sudo)
fi
APT_UPDATED=0
apt_install() { # PKG...: install with the machine's own apt; one `apt-get update` if needed
  local out
  out="$(mktemp)"
  log "apt-get install $*"
  if "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q \
       --no-install-recommends "$@" >"$out" 2>&1; then
    rm -f "$out"; return 0
  fi
  if [ "$APT_UPDATED" -eq 0 ]; then
    log "install failed; running apt-get update once and retrying"
    APT_UPDATED=1
    "${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=600 update -q >"$out" 2>&1 \
      || { show_tail 20 "$out"; rm -f "$out"; die "apt-get update failed"; }
    if "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q \
         --no-install-recommends "$@" >"$out" 2>&1; then
      rm -f "$out"; return 0
    fi
  fi
  show_tail 20 "$out"; rm -f "$out"
  die "apt-get install $* failed"
}

# etcd: Debian's etcd-server (3.4.23). Its postinst starts no service.
if [ ! -x /usr/bin/etcd ]; then
  apt_install etcd-server
fi
[ -x /usr/bin/etcd ] || die "etcd-server is installed but /usr/bin/etcd is missing"
ln -sfn /usr/bin/etcd "$DEST/etcd"

# kubectl: the machine's own; else Debian's kubernetes-client (1.20, built from the same source).
KUBECTL="$(command -v kubectl || true)"
if [ -z "$KUBECTL" ]; then
  apt_install kubernetes-client
  KUBECTL="$(command -v kubectl)" || die "kubernetes-client is installed but kubectl is not on PATH"
fi
ln -sfn "$KUBECTL" "$DEST/kubectl"

if [ -x "$DEST/kube-apiserver" ] && [ -f "$DEST/kube-apiserver" ]; then
  echo "$DEST"
  exit 0
fi

# --- build kube-apiserver -------------------------------------------------------------------
missing=()
for tool in rsync jq make dpkg-source; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ "${#missing[@]}" -gt 0 ]; then
  pkgs=()
  for tool in "${missing[@]}"; do
    case "$tool" in make) pkgs+=(make) ;; dpkg-source) pkgs+=(dpkg-dev) ;; *) pkgs+=("$tool") ;; esac
  done
  apt_install "${pkgs[@]}"
fi

avail_kb="$(df -Pk "$CACHE_ROOT" | awk 'NR==2 {print $4}')"
if [ "${avail_kb:-0}" -lt $((3 * 1024 * 1024)) ]; then
  die "less than 3 GB free under $CACHE_ROOT; the build needs about 2.3 GB of scratch space"
fi

MIRROR="$(debian_mirror)"
[ -n "$MIRROR" ] || die "found no Debian mirror (a URI ending in /debian) in /etc/apt/sources.list{,.d/}; set KUBEWARD_DEBIAN_MIRROR"
[ -f "$KEYRING" ] || die "$KEYRING is missing (package debian-archive-keyring)"

SCRATCH="$CACHE_ROOT/build-k8s-$K8S_VERSION"
log "building kube-apiserver $K8S_VERSION (cold build: 4-7 min, 1.4 GB RAM, 2.3 GB scratch disk) in $SCRATCH"
rm -rf "$SCRATCH"
mkdir -p "$SCRATCH"/apt/{sources.list.d,lists/partial,cache/archives/partial} "$SCRATCH/dl" "$SCRATCH/go" "$SCRATCH/home"
BUILD_LOG="$SCRATCH/build.log"
start_s="$(date +%s)"
on_error() {
  log "build failed; last lines of $BUILD_LOG:"
  show_tail 40 "$BUILD_LOG" || true
  log "the scratch folder $SCRATCH is kept for inspection (deleted by the next run)"
  log "ERROR: building kube-apiserver failed; set KUBEBUILDER_ASSETS to use binaries of your own"
}
trap on_error ERR

cat >"$SCRATCH/apt/sources.list" <<EOF
deb-src [signed-by=$KEYRING] $MIRROR bookworm main
deb [signed-by=$KEYRING] $MIRROR bullseye main
EOF
# Private apt: own sources, lists and cache; downloads run as root (the scratch folder may not
# be readable by the _apt sandbox user).
APT_OPTS=(
  -o "Dir::Etc::SourceList=$SCRATCH/apt/sources.list"
  -o "Dir::Etc::SourceParts=$SCRATCH/apt/sources.list.d"
  -o "Dir::State::Lists=$SCRATCH/apt/lists"
  -o "Dir::Cache=$SCRATCH/apt/cache"
  -o "APT::Sandbox::User=root"
  -o "Acquire::Languages=none"
  -q
)
log "private apt-get update (bookworm sources, bullseye binaries)"
apt-get "${APT_OPTS[@]}" --error-on=any update >>"$BUILD_LOG" 2>&1

log "fetching source package kubernetes=$K8S_DEB_VERSION"
(cd "$SCRATCH/dl" && apt-get "${APT_OPTS[@]}" source --download-only "kubernetes=$K8S_DEB_VERSION") >>"$BUILD_LOG" 2>&1
(cd "$SCRATCH" && dpkg-source -x dl/kubernetes_*.dsc src) >>"$BUILD_LOG" 2>&1

log "fetching and unpacking Go 1.15 (${GO_DEBS[*]})"
(cd "$SCRATCH/dl" && apt-get "${APT_OPTS[@]}" download "${GO_DEBS[@]}") >>"$BUILD_LOG" 2>&1
for deb in "$SCRATCH"/dl/golang-1.15-*.deb; do dpkg -x "$deb" "$SCRATCH/go"; done
GOROOT_DIR="$SCRATCH/go/usr/lib/go-1.15"
[ -x "$GOROOT_DIR/bin/go" ] || { echo "no go binary in $GOROOT_DIR" >>"$BUILD_LOG"; false; }

log "make WHAT=cmd/kube-apiserver (log: $BUILD_LOG)"
(
  cd "$SCRATCH/src"
  unset GOFLAGS GOPATH GO111MODULE GOBIN GOOS GOARCH
  env GOROOT="$GOROOT_DIR" PATH="$GOROOT_DIR/bin:$PATH" CGO_ENABLED=0 GOPROXY=off \
      HOME="$SCRATCH/home" GOCACHE="$SCRATCH/home/go-build" \
      make WHAT=cmd/kube-apiserver
) >>"$BUILD_LOG" 2>&1

BIN="$SCRATCH/src/_output/bin/kube-apiserver"
version="$("$BIN" --version 2>>"$BUILD_LOG")"
[ "$version" = "Kubernetes $K8S_VERSION" ] || { echo "unexpected version: $version" >>"$BUILD_LOG"; false; }
cp "$BIN" "$DEST/kube-apiserver.tmp"
chmod 0755 "$DEST/kube-apiserver.tmp"
mv -f "$DEST/kube-apiserver.tmp" "$DEST/kube-apiserver" # atomic: a present binary is a whole one
trap - ERR

if [ "${KUBEWARD_KEEP_SCRATCH:-0}" = 1 ]; then
  log "keeping $SCRATCH (KUBEWARD_KEEP_SCRATCH=1)"
else
  chmod -R u+w "$SCRATCH" 2>/dev/null || true # Go's module cache is read-only
  rm -rf "$SCRATCH"
fi
log "built $version in $(( $(date +%s) - start_s ))s: $DEST/kube-apiserver"
echo "$DEST"
