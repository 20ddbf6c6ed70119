#!/usr/bin/env bash
# Makes (or checks) a Debian sid minbase root holding HAProxy 3.x, for the end-to-end tests,
# and prints the path of a wrapper that runs that haproxy through the root's own loader.
#
#   KEYMUX_SID_ROOT   where the root lives (default /var/cache/keymux/sid-root), outside the clone
#   KEYMUX_SID_MIRROR Debian mirror (default: the first Debian archive this machine's apt uses,
#                     else debootstrap's own default)
#
# The root is built in a temporary directory beside its final place and renamed only once it is
# complete and its haproxy runs, so an interrupted run never leaves half a root behind.
set -euo pipefail

ROOT=${KEYMUX_SID_ROOT:-/var/cache/keymux/sid-root}
MIRROR=${KEYMUX_SID_MIRROR:-$("$(dirname "${BASH_SOURCE[0]}")/debian-mirror.sh")}
MARKER=.keymux-sid-root   # written into every root this script makes; nothing else is ever removed

log() { echo "sid-root: $*" >&2; }

# shellcheck source=../support/root_haproxy.sh
source "$(dirname "${BASH_SOURCE[0]}")/../support/root_haproxy.sh"
root_ok() { root_haproxy_ok "$1" '^[3-9]\.'; }  # $1: root directory; true if its haproxy 3.x runs

parent=$(dirname "$ROOT")
mkdir -p "$parent"

# One builder at a time.
exec 9>"$ROOT.lock"
flock 9

if [[ -d "$ROOT" ]]; then
  if root_ok "$ROOT"; then
    log "using $ROOT ($("$ROOT/$ROOT_HAPROXY_WRAPPER" -v | sed -n 1p))"
    echo "$ROOT/$ROOT_HAPROXY_WRAPPER"
    exit 0
  fi
  if [[ ! -e "$ROOT/$MARKER" ]]; then
    log "$ROOT exists, has no working haproxy 3.x and was not made by this script: remove it or set KEYMUX_SID_ROOT"
    exit 1
  fi
  log "$ROOT exists but its haproxy does not run; rebuilding"
  rm -rf --one-file-system "$ROOT"
fi

command -v debootstrap >/dev/null || { log "debootstrap missing (deploy/install-deps.sh)"; exit 1; }
[[ $(id -u) -eq 0 ]] || { log "debootstrap needs root"; exit 1; }

# Leftovers of interrupted runs.
rm -rf --one-file-system "$parent"/.sid-root.tmp.* 2>/dev/null || true

tmp=$(mktemp -d "$parent/.sid-root.tmp.XXXXXX")
trap 'rm -rf --one-file-system "$tmp" "$tmp.log"' EXIT
trap 'exit 130' INT TERM
chmod 755 "$tmp"

for attempt in 1 2; do
  log "debootstrap --variant=minbase --include=haproxy sid ${MIRROR:-(default mirror)} (attempt $attempt)"
  start=$SECONDS
  if debootstrap --variant=minbase --include=haproxy sid "$tmp" ${MIRROR:+"$MIRROR"} >"$tmp.log" 2>&1; then
    log "debootstrap done in $((SECONDS - start)) s"
    break
  fi
  tail -20 "$tmp.log" >&2
  if ((attempt == 2)); then
    rm -f "$tmp.log"
    log "debootstrap failed"
    exit 1
  fi
  rm -rf --one-file-system "$tmp"
  mkdir -m 755 "$tmp"
done
rm -f "$tmp.log"

write_root_wrapper "$tmp"
date -u +%FT%TZ >"$tmp/$MARKER"
root_ok "$tmp" || { log "the new root's haproxy does not run"; exit 1; }
mv -T "$tmp" "$ROOT"
trap - EXIT
log "built $ROOT ($("$ROOT/$ROOT_HAPROXY_WRAPPER" -v | sed -n 1p))"
echo "$ROOT/$ROOT_HAPROXY_WRAPPER"
