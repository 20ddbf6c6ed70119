#!/usr/bin/env bash
# Fault-injection soak (tests/soak/soak.py): HAProxy with haproxy/haproxy.cfg, the
# agent and the mock provider under load while faults are injected, once with
# each HAProxy of tests/e2e/run.sh's matrix (2.6, 3.0, 3.x; --only one of them).
# The short form (8 s per scenario) takes under 4 minutes per HAProxy.
#   run.sh [--only 2.6|3.0|3] [soak.py flags: --duration S, --only-scenarios A,B, --connections N]
#   KEYMUX_AGENT        agent binary (default build/keymux-agent)
#   KEYMUX_MOCK         mock provider binary (default build/keymux-mock-upstream)
#   KEYMUX_HAPROXY_26   the 2.x haproxy (default /usr/sbin/haproxy)
#   KEYMUX_HAPROXY_30   the 3.0 haproxy (default: the Debian 13 root's, tests/e2e/trixie-haproxy.sh)
#   KEYMUX_HAPROXY_3    the 3.x haproxy (default: the sid root's wrapper, built when missing)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$PWD

only=
pass=()
while (($#)); do
  case $1 in
    --only) only=$2; shift 2 ;;
    --only-scenarios) pass+=(--only "$2"); shift 2 ;;
    --duration|--connections) pass+=("$1" "$2"); shift 2 ;;
    --keep) pass+=("$1"); shift ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

source tests/support/test_binaries.sh
test_binaries "$only"

status=0
summary=()
for haproxy in "${HAPROXY_TARGETS[@]}"; do
  version=$(haproxy_version "$haproxy")
  echo "== soak on HAProxy ${version:-unknown} ($haproxy)"
  start=$SECONDS
  if python3 tests/soak/soak.py "$haproxy" "$AGENT" "$MOCK" "${pass[@]}"; then
    summary+=("PASS soak on HAProxy $version ($((SECONDS - start)) s)")
  else
    summary+=("FAIL soak on HAProxy ${version:-unknown} ($((SECONDS - start)) s)")
    status=1
  fi
done
echo "== soak summary"
printf '  %s\n' "${summary[@]}"
exit $status
