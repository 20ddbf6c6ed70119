#!/usr/bin/env bash
# End-to-end tests: the agent behind a real HAProxy, once with each HAProxy of the matrix:
# Debian 12's 2.6 (/usr/sbin/haproxy), Debian 13's 3.0 (the debian13 tier's root,
# tests/e2e/trixie-haproxy.sh) and 3.x from a Debian sid root (tests/e2e/sid-root.sh).
# Two suites per HAProxy: suite.sh (the SPOP agent core: handshake, health checks,
# fail closed) and gateway_suite.py (the data path haproxy/haproxy.cfg with the mock provider).
#   run.sh [--only 2.6|3.0|3]
#   KEYMUX_AGENT        agent binary (default build/keymux-agent)
#   KEYMUX_MOCK         mock provider binary (default build/keymux-mock-upstream)
#   KEYMUX_HAPROXY_26   the 2.x haproxy (default /usr/sbin/haproxy)
#   KEYMUX_HAPROXY_30   the 3.0 haproxy (default: the Debian 13 root's, tests/e2e/trixie-haproxy.sh)
#   KEYMUX_HAPROXY_3    the 3.x haproxy (default: the sid root's wrapper, built when missing)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$PWD

only=
while (($#)); do
  case $1 in
    --only) only=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

source tests/support/test_binaries.sh
test_binaries "$only"

status=0
summary=()
for haproxy in "${HAPROXY_TARGETS[@]}"; do
  version=$(haproxy_version "$haproxy")
  echo "== e2e on HAProxy ${version:-unknown} ($haproxy)"
  start=$SECONDS
  ok=1
  tests/e2e/suite.sh "$haproxy" "$AGENT" || ok=0
  echo "  -- gateway suite (haproxy/haproxy.cfg, mock provider)"
  python3 tests/e2e/gateway_suite.py "$haproxy" "$AGENT" "$MOCK" || ok=0
  if ((ok)); then
    summary+=("PASS e2e on HAProxy $version ($((SECONDS - start)) s)")
  else
    summary+=("FAIL e2e on HAProxy ${version:-unknown} ($((SECONDS - start)) s)")
    status=1
  fi
done
echo "== e2e summary"
printf '  %s\n' "${summary[@]}"
exit $status
