#!/usr/bin/env bash
# What the internal hop's transport costs (it measures and prints, it never asserts). The real
# data path (haproxy/haproxy.cfg, keymux-agent --threads 1, the mock provider) with the hop
# be_attempts -> fe_inner on a unix socket path (as shipped), an abstract socket (abns@) and
# loopback TCP, rounds interleaved (path, abns, tcp, path, ...) so that a shared machine's
# drift hits all three alike. wrk sends bench/e2e-post.lua; prints requests/s, HAProxy's CPU
# time per request (the figure that survives a shared machine) and p99 per run.
#
# Usage: bench/inner-hop.sh [HAPROXY] [ROUNDS] [SECONDS]   (/usr/sbin/haproxy, 2, 6)
# Uses build/keymux-agent and build/keymux-mock-upstream as they are; free loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
HAPROXY=${1:-/usr/sbin/haproxy}
ROUNDS=${2:-2}
SECONDS_PER_RUN=${3:-6}
# shellcheck source=scripts/lib/processes.sh
source scripts/lib/processes.sh

RUN=$(mktemp -d "${TMPDIR:-/tmp}/keymux-inner-hop.XXXXXX")
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do stop_pid "$pid" || true; done
  rm -rf "$RUN"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() { local i; for ((i = 0; i < 100; i++)); do port_open "$1" && return 0; sleep 0.1; done; return 1; }

MOCK_PORT=$(free_port) AGENT_PORT=$(free_port) GW=$(free_port) STATS=$(free_port) TCP_HOP=$(free_port)
# bench/keymux-bench.yaml's keys (anonymous clients allowed), as bench/e2e.sh uses them.
KEYS=()
while read -r id secret; do KEYS+=(--key "$id=$secret"); done \
  < <(sed -n 's/.*{id: *\([^,]*\), *secret: *\([^,}]*\).*/\1 \2/p' bench/keymux-bench.yaml)
build/keymux-mock-upstream --listen "127.0.0.1:$MOCK_PORT" --quiet "${KEYS[@]}" >"$RUN/mock.log" 2>&1 &
PIDS+=($!)
build/keymux-agent --listen "127.0.0.1:$AGENT_PORT" --threads 1 --admin-listen off \
  --config bench/keymux-bench.yaml >"$RUN/agent.log" 2>&1 &
PIDS+=($!)
wait_port "$MOCK_PORT" && wait_port "$AGENT_PORT"

# The three configs differ only in the hop's address.
SHIPPED='${KEYMUX_RUN_DIR}/inner-${KEYMUX_INSTANCE}.sock'
cp haproxy/haproxy.cfg "$RUN/path.cfg"
sed "s|\"$SHIPPED\"|\"abns@keymux-inner-\${KEYMUX_INSTANCE}\"|; s| accept-proxy mode 600| accept-proxy|" \
  haproxy/haproxy.cfg >"$RUN/abns.cfg"
sed "s|\"$SHIPPED\"|\"127.0.0.1:$TCP_HOP\"|; s| accept-proxy mode 600| accept-proxy|" \
  haproxy/haproxy.cfg >"$RUN/tcp.cfg"
export KEYMUX_GATEWAY_BIND=127.0.0.1:$GW KEYMUX_STATS_BIND=127.0.0.1:$STATS \
  KEYMUX_AGENT_ADDR=127.0.0.1:$AGENT_PORT KEYMUX_MOCK_ADDR=127.0.0.1:$MOCK_PORT \
  KEYMUX_HAPROXY_DIR=$ROOT/haproxy KEYMUX_RUN_DIR=$RUN KEYMUX_INSTANCE=bench-$GW

TICKS=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime of HAProxy (-db: one process)

echo "inner hop on $("$HAPROXY" -v | head -1 | cut -d' ' -f3), wrk -c16 -d${SECONDS_PER_RUN}s, $ROUNDS rounds"
for ((round = 1; round <= ROUNDS; round++)); do
  for variant in path abns tcp; do
    "$HAPROXY" -db -f "$RUN/$variant.cfg" >"$RUN/haproxy-$variant.log" 2>&1 &
    hap=$!
    wait_port "$GW"
    sleep 1.2  # the first agent check
    before=$(cpu_ticks "$hap")
    out=$(wrk -t1 -c16 -d"${SECONDS_PER_RUN}s" --latency -s bench/e2e-post.lua "http://127.0.0.1:$GW/v1/chat/completions")
    after=$(cpu_ticks "$hap")
    requests=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<<"$out")
    rps=$(sed -n 's/^Requests\/sec: *//p' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    non2xx=$(sed -n 's/^ *Non-2xx or 3xx responses: *//p' <<<"$out")
    us=$(( (after - before) * 1000000 / TICKS / requests ))
    printf '  round %d  %-5s %9s req/s  HAProxy CPU %4d us/request  p99 %8s  non-2xx %s\n' \
      "$round" "$variant" "$rps" "$us" "$p99" "${non2xx:-0}"
    stop_pid "$hap" || true
  done
done
