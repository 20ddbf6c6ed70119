#!/usr/bin/env bash
# What the internal hop costs, by transport and option (it measures and prints, it never
# asserts). The real data path (haproxy/haproxy.cfg, keymux-agent --threads 1, the mock provider)
# with the hop be_attempts -> fe_inner in each combination of
#   transport  path (a unix socket path, as shipped), abns (an abstract unix socket), tcp
#              (loopback TCP)
#   proxy      v2 (send-proxy-v2 / accept-proxy, as shipped: fe_inner's src is the client's) or
#              none (fe_inner's src is the hop's own address; the agent's per-source
#              decisions would need it another way, e.g. a header)
#   reuse      never (as shipped: one inner connection per client connection) or safe
#              (be_attempts shares idle inner connections)
# measured side by side with bench/cfg-ab.py (all gateways up at once, wrk rounds interleaved, the
# median req/s and HAProxy CPU per request, the steadier figure on a shared machine).
#
# Usage: bench/inner-hop.sh [HAPROXY] [ROUNDS] [SECONDS] [VARIANT...]
#   HAPROXY   default /usr/sbin/haproxy; ROUNDS default 3; SECONDS per wrk run, default 4
#   VARIANT   e.g. path-v2-never abns-none-safe (default: all twelve; the first is the reference)
# Uses $BUILD_DIR (default build/) keymux-agent and keymux-mock-upstream as they are.
set -euo pipefail
cd "$(dirname "$0")/.."
HAPROXY=${1:-/usr/sbin/haproxy}
ROUNDS=${2:-3}
DURATION=${3:-4}
shift $(($# < 3 ? $# : 3))
VARIANTS=("$@")
if ((${#VARIANTS[@]} == 0)); then
  for transport in path abns tcp; do
    for proxy in v2 none; do
      for reuse in never safe; do VARIANTS+=("$transport-$proxy-$reuse"); done
    done
  done
fi

RUN=$(mktemp -d "${TMPDIR:-/tmp}/keymux-inner-hop.XXXXXX")
trap 'rm -rf "$RUN"' EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Each variant is haproxy/haproxy.cfg with the hop's lines changed; a change that does not apply
# (the shipped lines moved) stops the script rather than measuring the shipped config twice.
SHIPPED_ADDR='"${KEYMUX_RUN_DIR}/inner-${KEYMUX_INSTANCE}.sock"'
grep -q "^    server inner $SHIPPED_ADDR send-proxy-v2 " haproxy/haproxy.cfg &&
  grep -q "^    bind $SHIPPED_ADDR accept-proxy mode 600$" haproxy/haproxy.cfg &&
  grep -q '^    http-reuse never$' haproxy/haproxy.cfg ||
  { echo "inner-hop.sh: haproxy/haproxy.cfg's hop lines changed; update this script" >&2; exit 1; }
specs=()
for variant in "${VARIANTS[@]}"; do
  IFS=- read -r transport proxy reuse <<<"$variant"
  case $transport in
    path) addr=$SHIPPED_ADDR ;;
    abns) addr='"abns@keymux-inner-${KEYMUX_INSTANCE}"' ;;
    tcp) addr="127.0.0.1:$(free_port)" ;;
    *) echo "inner-hop.sh: unknown transport in $variant (path, abns, tcp)" >&2; exit 2 ;;
  esac
  [[ "$proxy" == v2 || "$proxy" == none ]] || { echo "inner-hop.sh: $variant: proxy v2 or none" >&2; exit 2; }
  [[ "$reuse" == never || "$reuse" == safe ]] || { echo "inner-hop.sh: $variant: reuse never or safe" >&2; exit 2; }
  bind_opts=" accept-proxy"
  server_opts=" send-proxy-v2"
  [[ "$proxy" == none ]] && bind_opts='' server_opts=''
  [[ "$transport" == path ]] && bind_opts+=" mode 600"
  sed -e "s|^    server inner $SHIPPED_ADDR send-proxy-v2 |    server inner $addr$server_opts |" \
      -e "s|^    bind $SHIPPED_ADDR accept-proxy mode 600\$|    bind $addr$bind_opts|" \
      -e "s|^    http-reuse never\$|    http-reuse $reuse|" haproxy/haproxy.cfg >"$RUN/$variant.cfg"
  specs+=("$variant=$RUN/$variant.cfg")
done

echo "inner hop on $("$HAPROXY" -v | head -1 | cut -d' ' -f3): ${#VARIANTS[@]} variants, $ROUNDS rounds of ${DURATION} s"
echo "(machine load $(cut -d' ' -f1-3 /proc/loadavg); compare the rows with each other)"
ROUNDS=$ROUNDS DURATION=$DURATION python3 bench/cfg-ab.py "$HAPROXY" "${specs[@]}"
