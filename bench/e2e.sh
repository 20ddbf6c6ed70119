#!/usr/bin/env bash
# Gateway benchmark (it measures and prints, it never asserts). In one run, against the same
# mock provider, wrk measures the same small POST /v1/chat/completions (bench/e2e-post.lua):
#   1. mock direct        the mock provider alone
#   2. plain haproxy      bench/plain-haproxy.cfg: one frontend -> be_mock, key set by set-header
#   3. haproxy + keymux   the real data path haproxy/haproxy.cfg + keymux-agent
#                         (--config bench/keymux-bench.yaml --threads 1)
#   4. keymux baseline    with --baseline-config FILE only: the same data path with another
#                         haproxy.cfg (e.g. `git show main:haproxy/haproxy.cfg`), to measure a
#                         change of the config in the same run
# and prints requests/s, p50, p99, non-2xx and the serving processes' CPU time per request
# (mock + haproxy + agent, not wrk) for each, then keymux / plain. The runs use the same
# wrk settings; a run whose check request is not answered 200 aborts the bench.
# wrk is one client address: the keymux runs raise the per-source rate limit
# (KEYMUX_SOURCE_RATE_LIMIT, default here 1000000000) so that it is counted, never reached.
#
# Usage: bench/e2e.sh [--duration S] [--connections N] [--threads N] [--haproxy PATH]
#                     [--no-build] [--pin] [--baseline-config FILE]
#   --duration S      wrk -d (default 10)
#   --connections N   wrk -c (default 32)
#   --threads N       wrk -t (default 1)
#   --haproxy PATH    HAProxy binary (default /usr/sbin/haproxy)
#   --no-build        use the binaries in $BUILD_DIR as they are
#   --pin             wrk on CPU 1; mock, haproxy and agent on CPU 0 (default: nothing pinned)
#   --baseline-config FILE   also measure the keymux data path with this haproxy.cfg
# Environment: BUILD_DIR (default build-bench, a Release build; configured when missing).
#   The environment reaches every process: e.g. GLIBC_TUNABLES=glibc.malloc.trim_threshold=...
#   applies to the mock, both HAProxy runs and the agent alike.
# Every process is started on a free loopback port in 31000-31999 and stopped by PID on exit.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD_DIR=${BUILD_DIR:-build-bench}
DURATION=10
CONNECTIONS=32
WRK_THREADS=1
HAPROXY=/usr/sbin/haproxy
BUILD=1
PIN=0
BASELINE_CFG=

usage() { sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while (($#)); do
  case $1 in
    --duration) DURATION=${2:?--duration needs a value}; shift 2 ;;
    --connections) CONNECTIONS=${2:?--connections needs a value}; shift 2 ;;
    --threads) WRK_THREADS=${2:?--threads needs a value}; shift 2 ;;
    --haproxy) HAPROXY=${2:?--haproxy needs a value}; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --pin) PIN=1; shift ;;
    --baseline-config) BASELINE_CFG=${2:?--baseline-config needs a file}; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "e2e.sh: unknown option $1" >&2; usage 2 >&2 ;;
  esac
done

die() { echo "e2e.sh: $*" >&2; exit 1; }
for tool in wrk curl "$HAPROXY"; do
  command -v "$tool" >/dev/null || die "$tool not found"
done
if ((PIN)); then
  command -v taskset >/dev/null || die "--pin needs taskset"
  (($(nproc) >= 2)) || die "--pin needs 2 CPUs"
fi

if ((BUILD)); then
  if ! grep -qs '^KEYMUX_TESTS:BOOL=ON' "$BUILD_DIR/CMakeCache.txt"; then
    # keymux-mock-upstream is defined with the tests (KEYMUX_TESTS).
    cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKEYMUX_TESTS=ON >/dev/null
  fi
  cmake --build "$BUILD_DIR" --target keymux-agent keymux-mock-upstream -j2 >/dev/null ||
    die "build failed: cmake --build $BUILD_DIR --target keymux-agent keymux-mock-upstream"
fi
AGENT=$ROOT/$BUILD_DIR/keymux-agent
MOCK=$ROOT/$BUILD_DIR/keymux-mock-upstream
[[ -x "$AGENT" && -x "$MOCK" ]] || die "$AGENT or $MOCK missing (build them or drop --no-build)"
[[ "$HAPROXY" == /* ]] || HAPROXY=$(command -v "$HAPROXY")

# --- processes: every one we start is recorded and stopped by PID on exit

WORK=$(mktemp -d "${TMPDIR:-/tmp}/keymux-bench.XXXXXX")
PIDS=()
# shellcheck source=../scripts/lib/processes.sh
source "$ROOT/scripts/lib/processes.sh"
stop_all() {
  local pid
  for pid in "${PIDS[@]}"; do stop_pid "$pid" || true; done
  PIDS=()
}
cleanup() {
  stop_all
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

on_cpu() {  # on_cpu CPU command...: pinned with --pin. Run in the background (&) or in $(...):
  # it execs, so $! is the command's own PID (taskset execs too).
  local cpu=$1
  shift
  if ((PIN)); then exec taskset -c "$cpu" "$@"; else exec "$@"; fi
}

port_in_use() {  # listening on any address? (/proc/net/tcp{,6}, state 0A)
  local hex
  hex=$(printf '%04X' "$1")
  grep -qE "^ *[0-9]+: [0-9A-F]+:$hex [0-9A-F]+:[0-9A-F]+ 0A" /proc/net/tcp /proc/net/tcp6 2>/dev/null
}
TAKEN=" "
free_port() {  # free_port VAR: a free port in 31000-31999 not handed out before in this run
  local port
  for _ in $(seq 1 200); do
    port=$((31000 + RANDOM % 1000))
    if [[ "$TAKEN" != *" $port "* ]] && ! port_in_use "$port"; then
      TAKEN+="$port "
      printf -v "$1" '%s' "$port"
      return 0
    fi
  done
  die "no free port in 31000-31999"
}
wait_port() {  # wait_port PORT PID NAME LOG
  local i
  for ((i = 0; i < 100; i++)); do
    port_open "$1" && return 0
    kill -0 "$2" 2>/dev/null || { tail -n 20 "$4" >&2; die "$3 exited at start (log above)"; }
    sleep 0.1
  done
  tail -n 20 "$4" >&2
  die "$3 is not listening on 127.0.0.1:$1 after 10 s"
}

BODY='{"model":"mock-model","messages":[{"role":"user","content":"Hello"}],"max_tokens":16}'
# The mock's keys are the agent config's: --key ID=SECRET for every {id: ..., secret: ...}.
MOCK_KEYS=()
while read -r id secret; do
  MOCK_KEYS+=(--key "$id=$secret")
done < <(sed -n 's/.*{id: *\([^,]*\), *secret: *\([^,}]*\).*/\1 \2/p' bench/keymux-bench.yaml)
((${#MOCK_KEYS[@]})) || die "no keys found in bench/keymux-bench.yaml"
MOCK_SECRET=${MOCK_KEYS[1]#*=}

# --- one measurement

cpu_ticks() {  # cpu_ticks PID...: their user + system CPU time, in clock ticks
  local pid total=0 stat rest f
  for pid in "$@"; do
    stat=$(<"/proc/$pid/stat") || continue
    rest=${stat##*) }  # the fields after "(comm) ": state is field 3, utime 14, stime 15
    read -r -a f <<<"$rest"
    total=$((total + f[11] + f[12]))
  done
  echo "$total"
}
HZ=$(getconf CLK_TCK)

declare -A RPS P50 P99 NON2XX ERRS CPU
wrk_run() {  # wrk_run NAME URL [AUTH]: checks one request, then measures; SERVER_PIDS: the
  # processes serving the run, whose CPU time per request is reported
  local name=$1 url=$2 auth=${3:-} code i out t0 t1 n
  local curl_args=(--noproxy '*' -s -o "$WORK/curl.out" -w '%{http_code}' --max-time 5
    -H 'content-type: application/json' --data-binary "$BODY")
  [[ -n "$auth" ]] && curl_args+=(-H "authorization: $auth")
  for ((i = 0; i < 50; i++)); do  # up to 5 s: HAProxy may still be checking the agent
    code=$(curl "${curl_args[@]}" "$url/v1/chat/completions" || true)
    [[ "$code" == 200 ]] && break
    sleep 0.1
  done
  if [[ "$code" != 200 ]]; then
    echo "e2e.sh: $name: the check request answered $code, not 200:" >&2
    head -c 600 "$WORK/curl.out" >&2; echo >&2
    die "aborted before measuring $name"
  fi
  t0=$(cpu_ticks "${SERVER_PIDS[@]}")
  out=$(BENCH_AUTH="$auth" on_cpu 1 wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency \
    -s "$ROOT/bench/e2e-post.lua" "$url/v1/chat/completions")
  t1=$(cpu_ticks "${SERVER_PIDS[@]}")
  echo "$out" >"$WORK/wrk-$name.txt"
  n=$(awk '/requests in/ {print $1}' <<<"$out")
  CPU[$name]=$(awk -v t=$((t1 - t0)) -v hz="$HZ" -v n="${n:-0}" 'BEGIN { if (n > 0) printf "%.0f", t * 1e6 / hz / n; else print "-" }')
  RPS[$name]=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  P50[$name]=$(latency_ms 50% "$out")
  P99[$name]=$(latency_ms 99% "$out")
  NON2XX[$name]=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' <<<"$out")
  NON2XX[$name]=${NON2XX[$name]:-0}
  ERRS[$name]=$(sed -n 's/^ *Socket errors: *//p' <<<"$out")
}
latency_ms() {  # latency_ms 50% WRK_OUTPUT: that percentile in ms
  awk -v p="$1" '$1 == p && NF == 2 {
      v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
      if (u == "us") v /= 1000; else if (u == "s") v *= 1000; else if (u == "m") v *= 60000
      printf "%.2f", v; exit }' <<<"$2"
}

# --- the processes

start_mock() {
  free_port MOCK_PORT
  on_cpu 0 "$MOCK" --listen "127.0.0.1:$MOCK_PORT" --threads 1 --quiet "${MOCK_KEYS[@]}" \
    >"$WORK/mock.log" 2>&1 &
  PIDS+=($!)
  MOCK_PID=$!
  wait_port "$MOCK_PORT" $! mock "$WORK/mock.log"
}

start_plain_haproxy() {
  free_port GATEWAY_PORT
  BENCH_GATEWAY_BIND=127.0.0.1:$GATEWAY_PORT BENCH_MOCK_ADDR=127.0.0.1:$MOCK_PORT \
    BENCH_MOCK_SECRET=$MOCK_SECRET \
    on_cpu 0 "$HAPROXY" -f "$ROOT/bench/plain-haproxy.cfg" -db >"$WORK/haproxy-plain.log" 2>&1 &
  PIDS+=($!)
  HAPROXY_PID=$!
  wait_port "$GATEWAY_PORT" $! "plain haproxy" "$WORK/haproxy-plain.log"
}

start_keymux() {  # start_keymux [HAPROXY_CFG] (default haproxy/haproxy.cfg)
  local cfg=${1:-$ROOT/haproxy/haproxy.cfg}
  free_port AGENT_PORT
  mkdir -p "$WORK/run"
  # fe_inner's outcome lines (one per attempt) reach the agent on this socket.
  on_cpu 0 "$AGENT" --listen "127.0.0.1:$AGENT_PORT" --config "$ROOT/bench/keymux-bench.yaml" \
    --threads 1 --log-level warn --admin-listen off \
    --outcome-listen "unix:$WORK/run/outcomes.sock" >"$WORK/agent.log" 2>&1 &
  PIDS+=($!)
  AGENT_PID=$!
  wait_port "$AGENT_PORT" $! agent "$WORK/agent.log"
  free_port GATEWAY_PORT
  free_port STATS_PORT
  KEYMUX_GATEWAY_BIND=127.0.0.1:$GATEWAY_PORT KEYMUX_STATS_BIND=127.0.0.1:$STATS_PORT \
    KEYMUX_AGENT_ADDR=127.0.0.1:$AGENT_PORT KEYMUX_MOCK_ADDR=127.0.0.1:$MOCK_PORT \
    KEYMUX_HAPROXY_DIR=$ROOT/haproxy KEYMUX_RUN_DIR=$WORK/run KEYMUX_INSTANCE=bench-$$-$RANDOM \
    KEYMUX_OUTCOME_ADDR=unix@$WORK/run/outcomes.sock \
    KEYMUX_SOURCE_RATE_LIMIT=${KEYMUX_SOURCE_RATE_LIMIT:-1000000000} \
    on_cpu 0 "$HAPROXY" -f "$cfg" -db >"$WORK/haproxy-keymux.log" 2>&1 &
  PIDS+=($!)
  HAPROXY_PID=$!
  wait_port "$GATEWAY_PORT" $! "haproxy + keymux" "$WORK/haproxy-keymux.log"
}

# --- the run

cpu_model=$(lscpu | sed -n 's/^Model name: *//p' | head -n1)
echo "machine:  ${cpu_model:-unknown CPU}, $(nproc) CPUs, kernel $(uname -r)"
echo "haproxy:  $("$HAPROXY" -v | head -n1) ($HAPROXY)"
echo "agent:    $("$AGENT" --version 2>/dev/null | head -n1) ($BUILD_DIR), --threads 1; mock --threads 1"
echo "wrk:      -t$WRK_THREADS -c$CONNECTIONS -d${DURATION}s --latency, bench/e2e-post.lua"
if ((PIN)); then
  echo "pinning:  wrk on CPU 1; mock, haproxy and agent on CPU 0"
else
  echo "pinning:  none: wrk, mock, haproxy and agent share the $(nproc) CPUs"
fi
echo "note:     client, gateway and provider share one small machine: compare the runs with"
echo "          each other, not with production figures"
echo

start_mock
SERVER_PIDS=("$MOCK_PID")
wrk_run "mock direct" "http://127.0.0.1:$MOCK_PORT" "Bearer $MOCK_SECRET"

start_plain_haproxy
SERVER_PIDS=("$MOCK_PID" "$HAPROXY_PID")
wrk_run "plain haproxy" "http://127.0.0.1:$GATEWAY_PORT"
stop_pid "$HAPROXY_PID" || true  # not to share the CPUs with the next run
for i in "${!PIDS[@]}"; do [[ "${PIDS[$i]}" != "$HAPROXY_PID" ]] || unset 'PIDS[i]'; done

start_keymux
SERVER_PIDS=("$MOCK_PID" "$HAPROXY_PID" "$AGENT_PID")
wrk_run "haproxy + keymux" "http://127.0.0.1:$GATEWAY_PORT"
RUNS=("mock direct" "plain haproxy" "haproxy + keymux")

if [[ -n "$BASELINE_CFG" ]]; then
  stop_pid "$HAPROXY_PID" || true
  stop_pid "$AGENT_PID" || true
  start_keymux "$(realpath "$BASELINE_CFG")"
  SERVER_PIDS=("$MOCK_PID" "$HAPROXY_PID" "$AGENT_PID")
  wrk_run "keymux baseline" "http://127.0.0.1:$GATEWAY_PORT"
  RUNS+=("keymux baseline")
fi

printf '%-20s %10s %9s %9s %9s %12s\n' run req/s "p50 ms" "p99 ms" non-2xx "cpu us/req"
for name in "${RUNS[@]}"; do
  flag=""
  [[ "${NON2XX[$name]}" != 0 ]] && flag="  (run with errors)"
  [[ -n "${ERRS[$name]}" ]] && flag+="  socket errors: ${ERRS[$name]}"
  printf '%-20s %10.0f %9s %9s %9s %12s%s\n' "$name" "${RPS[$name]:-0}" "${P50[$name]:--}" \
    "${P99[$name]:--}" "${NON2XX[$name]}" "${CPU[$name]}" "$flag"
done
echo "(cpu us/req: CPU time of the serving processes (mock, haproxy, agent; not wrk) per request)"
awk -v k="${RPS[haproxy + keymux]}" -v p="${RPS[plain haproxy]}" -v m="${RPS[mock direct]}" \
    -v k99="${P99[haproxy + keymux]}" -v p99="${P99[plain haproxy]}" \
    -v k50="${P50[haproxy + keymux]}" -v p50="${P50[plain haproxy]}" 'BEGIN {
  if (p > 0) printf "%-20s %10.2f (req/s)   %+.2f ms p50   %+.2f ms p99\n", "keymux / plain", k / p, k50 - p50, k99 - p99
  if (m > 0) printf "%-20s %10.2f (req/s)\n", "plain / mock", p / m
  if (m > 0) printf "%-20s %10.2f (req/s)\n", "keymux / mock", k / m
}'
if [[ -n "$BASELINE_CFG" ]]; then
  awk -v k="${RPS[haproxy + keymux]}" -v b="${RPS[keymux baseline]}" -v p="${RPS[plain haproxy]}" \
      -v kc="${CPU[haproxy + keymux]}" -v bc="${CPU[keymux baseline]}" 'BEGIN {
    if (b > 0) printf "%-20s %10.2f (req/s)   %+d us cpu/req\n", "keymux / baseline", k / b, kc - bc
    if (p > 0) printf "%-20s %10.2f (req/s)\n", "baseline / plain", b / p
  }'
  echo "(baseline: $BASELINE_CFG)"
fi
