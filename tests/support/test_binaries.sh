# Sourced by tests/e2e/run.sh and tests/soak/run.sh: the binaries a gateway
# run needs. Sets AGENT and MOCK (checked), and HAPROXY_TARGETS for --only.
#   KEYMUX_AGENT        agent binary (default build/keymux-agent)
#   KEYMUX_MOCK         mock provider binary (default build/keymux-mock-upstream)
#   KEYMUX_HAPROXY_26   the 2.x haproxy (default /usr/sbin/haproxy)
#   KEYMUX_HAPROXY_30   the 3.0 haproxy (default: the Debian 13 root's, tests/e2e/trixie-haproxy.sh;
#                       the root is the debian13 tier's)
#   KEYMUX_HAPROXY_3    the 3.x haproxy (default: the sid root's wrapper, built when missing)

# test_binaries ONLY: ONLY is "" (all three), "2.6", "3.0" or "3" (also "3.2": the sid root's).
test_binaries() {
  local only=$1 me
  me=$(basename "$0")
  AGENT=${KEYMUX_AGENT:-$ROOT/build/keymux-agent}
  [[ -x "$AGENT" ]] || { echo "$me: no agent at $AGENT (build it first)" >&2; exit 1; }
  MOCK=${KEYMUX_MOCK:-$ROOT/build/keymux-mock-upstream}
  [[ -x "$MOCK" ]] || { echo "$me: no mock provider at $MOCK (build it first)" >&2; exit 1; }
  HAPROXY_TARGETS=()
  if [[ -z "$only" || "$only" == 2* ]]; then
    HAPROXY_TARGETS+=("${KEYMUX_HAPROXY_26:-/usr/sbin/haproxy}")
  fi
  if [[ -z "$only" || "$only" == 3.0 ]]; then
    HAPROXY_TARGETS+=("${KEYMUX_HAPROXY_30:-$("$ROOT/tests/e2e/trixie-haproxy.sh")}")
  fi
  if [[ -z "$only" || ( "$only" == 3* && "$only" != 3.0 ) ]]; then
    HAPROXY_TARGETS+=("${KEYMUX_HAPROXY_3:-$("$ROOT/tests/e2e/sid-root.sh")}")
  fi
}

# haproxy_version BINARY: "2.6.12-1+deb12u4", or empty.
haproxy_version() { "$1" -v 2>/dev/null | sed -n '1s/^HAProxy version \([^ ]*\).*/\1/p'; }
