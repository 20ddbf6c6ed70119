#!/usr/bin/env bash
# Fault-injection soak (tests/soak/soak.py): HAProxy with haproxy/haproxy.cfg, the
# agent and the mock provider under load while faults are injected, once with
# Debian's HAProxy 2.6 (/usr/sbin/haproxy) and once with HAProxy 3.x from a Debian
# sid root (tests/e2e/sid-root.sh). The short form (8 s per scenario) takes under
# 4 minutes per HAProxy.
#   run.sh [--only 2.6|3] [soak.py flags: --duration S, --only-scenarios A,B, --connections N]
#   KEYMUX_AGENT        agent binary (default build/keymux-agent)
#   KEYMUX_MOCK         mock provider binary (default build/keymux-mock-upstream)
#   KEYMUX_HAPROXY_26   the 2.x haproxy (default /usr/sbin/haproxy)
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

AGENT=${KEYMUX_AGENT:-$ROOT/build/keymux-agent}
[[ -x "$AGENT" ]] || { echo "run.sh: no agent at $AGENT (build it first)" >&2; exit 1; }
MOCK=${KEYMUX_MOCK:-$ROOT/build/keymux-mock-upstream}
[[ -x "$MOCK" ]] || { echo "run.sh: no mock provider at $MOCK (build it first)" >&2; exit 1; }

targets=()
if [[ -z "$only" || "$only" == 2* ]]; then
  targets+=("${KEYMUX_HAPROXY_26:-/usr/sbin/haproxy}")
fi
if [[ -z "$only" || "$only" == 3* ]]; then
  targets+=("${KEYMUX_HAPROXY_3:-$(tests/e2e/sid-root.sh)}")
fi

status=0
summary=()
for haproxy in "${targets[@]}"; do
  version=$("$haproxy" -v 2>/dev/null | sed -n '1s/^HAProxy version \([^ ]*\).*/\1/p')
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
