#!/usr/bin/env bash
# Prints the path of a wrapper that runs HAProxy 3.0 (Debian 13's) from the debian13 tier's
# Debian 13 root, through the root's own loader (the wrapper tests/e2e/sid-root.sh writes for
# 3.2: tests/support/root_haproxy.sh). For the e2e-3.0 tier and bench/e2e.sh --haproxy 3.0.
#
#   KEYMUX_TRIXIE_ROOT   the root (default /var/cache/keymux/trixie-root), as tests/debian13/run.sh
#
# The root and its haproxy come from tests/debian13/run.sh (debootstrap, then
# deploy/install-deps.sh inside): this script never builds or changes the root beyond writing
# the wrapper, and says so when the root is missing. It holds the root's lock (shared) while it
# checks: a debian13 run (exclusive) may be replacing the root.
set -euo pipefail

ROOT=${KEYMUX_TRIXIE_ROOT:-/var/cache/keymux/trixie-root}
log() { echo "trixie-haproxy: $*" >&2; }
# shellcheck source=../support/root_haproxy.sh
source "$(dirname "${BASH_SOURCE[0]}")/../support/root_haproxy.sh"

if [[ -e "$ROOT.lock" || -w "$(dirname "$ROOT")" ]]; then
  exec 9>>"$ROOT.lock"
  if ! flock -s -n 9; then
    log "waiting for $ROOT.lock (a debian13 run holds it)"
    flock -s 9
  fi
fi
if ! root_haproxy_ok "$ROOT" '^3\.0\.'; then
  if [[ -x "$ROOT/usr/sbin/haproxy" ]]; then
    log "$ROOT's haproxy is not a 3.0 that runs here: $("$ROOT/$ROOT_HAPROXY_WRAPPER" -v 2>&1 | sed -n 1p)"
  else
    log "no HAProxy in $ROOT: the debian13 tier makes the root and installs it (tests/debian13/run.sh, or scripts/test --tiers debian13)"
  fi
  exit 1
fi
log "using $ROOT ($("$ROOT/$ROOT_HAPROXY_WRAPPER" -v | sed -n 1p))"
echo "$ROOT/$ROOT_HAPROXY_WRAPPER"
