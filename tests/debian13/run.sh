#!/usr/bin/env bash
# The debian13 tier: keymux as a new operator on Debian 13 (trixie) gets it. Inside a Debian 13
# root (tests/debian13/inside.sh): deploy/install-deps.sh, the Release build with the release's
# GCC 14, the unit and integration tests, the e2e suites on the root's own HAProxy 3.0, the
# runtime package list against ldd, scripts/run --print-only, and a clang (19) build of the agent.
#
#   tests/debian13/run.sh [--no-clang]
#   KEYMUX_TRIXIE_ROOT    the cached root (default /var/cache/keymux/trixie-root), outside the clone
#   KEYMUX_TRIXIE_MIRROR  Debian mirror (default: the Debian archive this machine's apt uses)
#   JOBS                  parallel build jobs (default 2)
#
# The root (debootstrap minbase, plus ccache and git) is made once, in a temporary directory
# beside its place, and renamed only once complete (marker file); it is made again when older
# than 30 days. Each run clones the repository's committed HEAD into the root's /tmp (so what is
# tested is what is committed), runs scripts/test's own tiers there in a chroot, and removes the
# clone afterwards. The packages install-deps.sh adds, the compiler cache and the Node SDK stay in the root,
# so a warm run builds mostly from ccache. Needs root (debootstrap, chroot, mounts). The chroot
# shares the host's network: apt reaches the Debian archive, npm its registry; the tests
# themselves use only loopback.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$PWD

CLANG=1
case "${1:-}" in
  "") ;;
  --no-clang) CLANG=0 ;;
  -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "debian13: unknown argument '$1' (--no-clang)" >&2; exit 2 ;;
esac

ROOT=${KEYMUX_TRIXIE_ROOT:-/var/cache/keymux/trixie-root}
MIRROR=${KEYMUX_TRIXIE_MIRROR:-$("$REPO/tests/e2e/debian-mirror.sh")}
MARKER=.keymux-trixie-root   # written into every root this script makes; nothing else is removed
MAX_AGE_DAYS=30

log() { echo "debian13: $*" >&2; }

[[ $(id -u) -eq 0 ]] || { log "needs root (debootstrap, chroot, mounts)"; exit 1; }
for tool in debootstrap unshare chroot git; do
  command -v "$tool" >/dev/null || { log "$tool missing (deploy/install-deps.sh)"; exit 1; }
done

# ---------------------------------------------------------------- the root

parent=$(dirname "$ROOT")
mkdir -p "$parent"
exec 9>"$ROOT.lock"   # one run at a time: runs share the root
flock 9

root_ok() {  # $1: root directory; made by this script, complete, recent enough
  [[ -f "$1/$MARKER" && -x "$1/usr/bin/apt-get" && -x "$1/usr/bin/ccache" ]] &&
    [[ -z "$(find "$1/$MARKER" -mtime +"$MAX_AGE_DAYS")" ]] &&
    grep -q '^VERSION_CODENAME=trixie$' "$1/etc/os-release"
}

make_root() {
  if [[ -e "$ROOT" && ! -f "$ROOT/$MARKER" ]]; then
    log "$ROOT exists and was not made by this script: remove it or set KEYMUX_TRIXIE_ROOT"
    exit 1
  fi
  rm -rf --one-file-system "$parent"/.trixie-root.tmp.* 2>/dev/null || true  # interrupted runs
  local tmp attempt start
  tmp=$(mktemp -d "$parent/.trixie-root.tmp.XXXXXX")
  trap 'rm -rf --one-file-system "$tmp" "$tmp.log"' EXIT
  chmod 755 "$tmp"
  for attempt in 1 2; do
    log "debootstrap --variant=minbase --include=ccache,git trixie ${MIRROR:-(default mirror)} (attempt $attempt)"
    start=$SECONDS
    if debootstrap --variant=minbase --include=ccache,git trixie "$tmp" ${MIRROR:+"$MIRROR"} \
         >"$tmp.log" 2>&1; then
      log "debootstrap done in $((SECONDS - start)) s"
      break
    fi
    tail -20 "$tmp.log" >&2
    ((attempt == 1)) || { log "debootstrap failed"; exit 1; }
    rm -rf --one-file-system "$tmp"
    mkdir -m 755 "$tmp"
  done
  rm -f "$tmp.log"
  date -u +%FT%TZ >"$tmp/$MARKER"
  rm -rf --one-file-system "$ROOT"
  mv -T "$tmp" "$ROOT"
  trap - EXIT
}

if root_ok "$ROOT"; then
  log "using $ROOT (made $(cat "$ROOT/$MARKER"))"
else
  make_root
  log "made $ROOT"
fi

# ---------------------------------------------------------------- the run

# The committed HEAD of this repository, cloned into the root. Always at the same path
# (runs hold the lock), so that ccache's entries of the last run match this one's.
WORK=$ROOT/tmp/keymux-ci
cleanup() { rm -rf --one-file-system "$WORK"; }
cleanup
trap cleanup EXIT
mkdir -p "$WORK"
trap 'exit 130' INT TERM
git clone --quiet --no-hardlinks "$REPO" "$WORK/keymux"
log "testing $(git -C "$WORK/keymux" log --oneline -1) on $(. "$ROOT/etc/os-release" && echo "$PRETTY_NAME")"
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"   # apt and npm resolve through the host's DNS
# npm (the e2e's OpenAI SDK, over https) trusts what this host trusts, e.g. the CA of a
# TLS-inspecting egress proxy; apt fetches over http and checks signatures.
HOST_CA=
if [[ -r /etc/ssl/certs/ca-certificates.crt ]]; then
  # /etc, not /etc/ssl: a fresh minbase root has no ca-certificates yet.
  cp -L /etc/ssl/certs/ca-certificates.crt "$ROOT/etc/keymux-host-ca.crt"
  HOST_CA=NODE_EXTRA_CA_CERTS=/etc/keymux-host-ca.crt
fi

# What runs inside: tests/debian13/inside.sh of the clone.
INSIDE=/${WORK#"$ROOT"/}/keymux
STEPS="JOBS=${JOBS:-2} $INSIDE/tests/debian13/inside.sh $( ((CLANG)) || echo --no-clang)"

# A private mount namespace: /proc, /sys, /dev and /dev/pts are mounted for the chroot only and
# disappear with it on every exit path, even when this script is killed.
unshare --mount --propagation private --fork -- bash -euc '
  R=$1
  mount -t proc proc "$R/proc"
  mount -t sysfs sysfs "$R/sys"
  mount --bind /dev "$R/dev"
  mount --bind /dev/pts "$R/dev/pts"
  mount -t tmpfs -o mode=1777 shm "$R/dev/shm"
  exec chroot "$R" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 TERM=dumb ${3:+"$3"} bash -c "$2"
' debian13 "$ROOT" "$STEPS" "$HOST_CA"
