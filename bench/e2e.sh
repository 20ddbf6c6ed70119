#!/usr/bin/env bash
# Gateway benchmark (it measures and prints, it never asserts). In one run, against the same
# mock provider, wrk measures the same small POST /v1/chat/completions (bench/e2e-post.lua):
#   1. mock direct        the mock provider alone
#   2. plain haproxy      bench/plain-haproxy.cfg: one frontend -> be_mock, key set by set-header
#   3. haproxy + keymux   the real data path haproxy/haproxy.cfg + keymux-agent
#                         (--config bench/keymux-bench.yaml --threads 1)
#   4. keymux baseline    with --baseline-config FILE or --baseline-rev REV only: the same
#                         data path with another haproxy.cfg (or haproxy/ directory), to
#                         measure a change of the config in the same run
# and prints requests/s, p50, p99, non-2xx and the serving processes' CPU time per request
# (mock + haproxy + agent, not wrk; then haproxy's and the agent's apart) for each, then
# keymux / plain: the ratios issue 12's targets are stated in (req/s at -c; the gateway's CPU
# per request, haproxy + agent, over plain haproxy's; the agent's CPU per request).
# With --rate N, plain haproxy, keymux (and the baseline) are then measured at a fixed offered
# rate of N req/s (paced: bench/e2e-post.lua's BENCH_RATE), for the latency keymux adds when
# HAProxy is not saturated: all of them stay up and the paced runs take turns, 3 rounds, and the
# medians are printed, so that a shared machine's bursts hit every configuration alike. The runs use the same wrk settings; a run whose check request
# is not answered 200 aborts the bench.
# wrk is one client address: the keymux runs raise the per-source rate limit
# (KEYMUX_SOURCE_RATE_LIMIT, default here 1000000000) so that it is counted, never reached.
#
# Usage: bench/e2e.sh [--duration S] [--connections N] [--threads N] [--haproxy PATH]
#                     [--no-build] [--pin] [--baseline-config FILE | --baseline-rev REV]
#                     [--baseline-outcome stream|udp] [--rate N] [--body-size BYTES]
#                     [--bufsize BYTES] [--keymux-only]
#   --duration S      wrk -d (default 10)
#   --connections N   wrk -c (default 32)
#   --threads N       wrk -t (default 1)
#   --haproxy PATH    HAProxy binary (default /usr/sbin/haproxy), or a version of the test
#                     matrix: 2.6 (/usr/sbin/haproxy), 3.0 (Debian 13 root,
#                     tests/e2e/trixie-haproxy.sh), 3.2 (Debian sid root, tests/e2e/sid-root.sh)
#   --no-build        use the binaries in $BUILD_DIR as they are
#   --pin             wrk on CPU 1; mock, haproxy and agent on CPU 0 (default: nothing pinned)
#   --baseline-config FILE   also measure the keymux data path with this haproxy.cfg
#                     (e.g. <(git show REV:haproxy/haproxy.cfg)); it loads this tree's
#                     haproxy/ files (SPOE conf, error pages)
#   --baseline-rev REV    the same with the whole haproxy/ directory of git revision REV
#                     (haproxy.cfg, keymux.spoe.conf, error pages): a before/after of the
#                     data path's files in one run; the agent is this tree's
#   --baseline-outcome udp  the baseline's agent hears the outcome lines on a loopback UDP
#                     port (KEYMUX_OUTCOME_ADDR=127.0.0.1:PORT) instead of the unix stream
#                     socket: for a baseline haproxy.cfg whose fe_inner logs to
#                     "${KEYMUX_OUTCOME_ADDR}" directly, without the ring's forwarder
#   --rate N          also measure plain haproxy and keymux paced at N req/s (e.g. 2000),
#                     -c as above; prints p50/p99 and the p99 keymux adds
#   --body-size BYTES a request body of this size, its "model" last (as SDKs write it)
#                     instead of the small chat request
#   --bufsize BYTES   HAProxy's tune.bufsize in both HAProxy runs (KEYMUX_BUFSIZE; 131072)
#   --keymux-only     measure only the keymux data path (no mock direct, no plain haproxy)
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
BASELINE_REV=
BASELINE_OUTCOME=stream
RATE=
BODY_SIZE=0
BUFSIZE=${KEYMUX_BUFSIZE:-131072}
KEYMUX_ONLY=0

usage() { sed -n '2,49p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while (($#)); do
  case $1 in
    --duration) DURATION=${2:?--duration needs a value}; shift 2 ;;
    --connections) CONNECTIONS=${2:?--connections needs a value}; shift 2 ;;
    --threads) WRK_THREADS=${2:?--threads needs a value}; shift 2 ;;
    --haproxy) HAPROXY=${2:?--haproxy needs a value}; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --pin) PIN=1; shift ;;
    --baseline-config) BASELINE_CFG=${2:?--baseline-config needs a file}; shift 2 ;;
    --baseline-rev) BASELINE_REV=${2:?--baseline-rev needs a git revision}; shift 2 ;;
    --baseline-outcome) BASELINE_OUTCOME=${2:?--baseline-outcome needs stream or udp}; shift 2 ;;
    --rate) RATE=${2:?--rate needs a value}; shift 2 ;;
    --body-size) BODY_SIZE=${2:?--body-size needs a value}; shift 2 ;;
    --bufsize) BUFSIZE=${2:?--bufsize needs a value}; shift 2 ;;
    --keymux-only) KEYMUX_ONLY=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "e2e.sh: unknown option $1" >&2; usage 2 >&2 ;;
  esac
done

die() { echo "e2e.sh: $*" >&2; exit 1; }
[[ -z "$RATE" || "$RATE" =~ ^[1-9][0-9]*$ ]] || die "--rate needs a positive number of req/s"
[[ -z "$BASELINE_REV" || -z "$BASELINE_CFG" ]] || die "--baseline-config or --baseline-rev, not both"
[[ $BASELINE_OUTCOME == stream || $BASELINE_OUTCOME == udp ]] ||
  die "--baseline-outcome is stream or udp, not $BASELINE_OUTCOME"
case $HAPROXY in  # the versions of the test matrix (tests/e2e/run.sh --only)
  2.6) HAPROXY=/usr/sbin/haproxy ;;
  3.0) HAPROXY=$(tests/e2e/trixie-haproxy.sh) || die "no HAProxy 3.0 (tests/e2e/trixie-haproxy.sh)" ;;
  3|3.2) HAPROXY=$(tests/e2e/sid-root.sh) || die "no HAProxy 3.x (tests/e2e/sid-root.sh)" ;;
esac
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
# The body of every request, in a file: curl's check request and wrk's (BENCH_BODY_FILE,
# bench/e2e-post.lua) send the same bytes.
if ((BODY_SIZE > 0)); then
  python3 "$ROOT/bench/sized_body.py" "$BODY_SIZE" >"$WORK/body.json"
else
  printf '%s' "$BODY" >"$WORK/body.json"
fi
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

declare -A RPS P50 P99 NON2XX ERRS CPU CPU_HAPROXY CPU_AGENT
per_request_us() {  # per_request_us TICKS REQUESTS
  awk -v t="$1" -v hz="$HZ" -v n="${2:-0}" 'BEGIN { if (n > 0) printf "%.1f", t * 1e6 / hz / n; else print "-" }'
}
wrk_run() {  # wrk_run NAME URL [AUTH [RATE]]: checks one request, then measures (paced at RATE
  # req/s when given); SERVER_PIDS: the processes serving the run, whose CPU time per request
  # is reported; HAPROXY_PID's and AGENT_PID's (when in SERVER_PIDS) also apart
  local name=$1 url=$2 auth=${3:-} rate=${4:-} code i out t0 t1 h0=0 h1=0 a0=0 a1=0 n
  local haproxy="" agent=""
  local curl_args=(--noproxy '*' -s -o "$WORK/curl.out" -w '%{http_code}' --max-time 5
    -H 'content-type: application/json' --data-binary "@$WORK/body.json")
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
  [[ " ${SERVER_PIDS[*]} " == *" ${HAPROXY_PID:-none} "* ]] && haproxy=$HAPROXY_PID
  [[ " ${SERVER_PIDS[*]} " == *" ${AGENT_PID:-none} "* ]] && agent=$AGENT_PID
  t0=$(cpu_ticks "${SERVER_PIDS[@]}")
  [[ -n "$haproxy" ]] && h0=$(cpu_ticks "$haproxy")
  [[ -n "$agent" ]] && a0=$(cpu_ticks "$agent")
  # Paced: each wrk thread offers its share of RATE (bench/e2e-post.lua).
  out=$(BENCH_AUTH="$auth" BENCH_BODY_FILE="$WORK/body.json" BENCH_RATE=${rate:+$(awk -v r="$rate" -v t="$WRK_THREADS" 'BEGIN { print r / t }')} \
    on_cpu 1 wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency \
    -s "$ROOT/bench/e2e-post.lua" "$url/v1/chat/completions")
  t1=$(cpu_ticks "${SERVER_PIDS[@]}")
  [[ -n "$haproxy" ]] && h1=$(cpu_ticks "$haproxy")
  [[ -n "$agent" ]] && a1=$(cpu_ticks "$agent")
  echo "$out" >"$WORK/wrk-$name.txt"
  n=$(awk '/requests in/ {print $1}' <<<"$out")
  CPU[$name]=$(per_request_us $((t1 - t0)) "$n")
  CPU_HAPROXY[$name]=-
  [[ -n "$haproxy" ]] && CPU_HAPROXY[$name]=$(per_request_us $((h1 - h0)) "$n")
  CPU_AGENT[$name]=-
  [[ -n "$agent" ]] && CPU_AGENT[$name]=$(per_request_us $((a1 - a0)) "$n")
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
    BENCH_MOCK_SECRET=$MOCK_SECRET BENCH_BUFSIZE=$BUFSIZE \
    on_cpu 0 "$HAPROXY" -f "$ROOT/bench/plain-haproxy.cfg" -db >"$WORK/haproxy-plain.log" 2>&1 &
  PIDS+=($!)
  HAPROXY_PID=$!
  wait_port "$GATEWAY_PORT" $! "plain haproxy" "$WORK/haproxy-plain.log"
}

start_keymux() {  # start_keymux [HAPROXY_CFG [HAPROXY_DIR [TAG]]] (default haproxy/haproxy.cfg,
  # haproxy/, keymux): TAG names its runtime directory and logs, so that two can run at once
  local cfg=${1:-$ROOT/haproxy/haproxy.cfg} dir=${2:-$ROOT/haproxy} tag=${3:-keymux}
  local run=$WORK/run-$tag
  free_port AGENT_PORT
  mkdir -p "$run"
  local listen="unix:$run/outcomes.sock" outcome_addr="unix@$run/outcomes.sock"
  if [[ $tag == baseline && $BASELINE_OUTCOME == udp ]]; then
    free_port OUTCOME_PORT
    listen="udp@127.0.0.1:$OUTCOME_PORT" outcome_addr="127.0.0.1:$OUTCOME_PORT"
  fi
  # fe_inner's outcome lines (one per attempt) reach the agent on this socket.
  on_cpu 0 "$AGENT" --listen "127.0.0.1:$AGENT_PORT" --config "$ROOT/bench/keymux-bench.yaml" \
    --threads 1 --log-level warn --admin-listen off \
    --outcome-listen "$listen" >"$WORK/agent-$tag.log" 2>&1 &
  PIDS+=($!)
  AGENT_PID=$!
  wait_port "$AGENT_PORT" $! agent "$WORK/agent-$tag.log"
  free_port GATEWAY_PORT
  free_port STATS_PORT
  KEYMUX_GATEWAY_BIND=127.0.0.1:$GATEWAY_PORT KEYMUX_STATS_BIND=127.0.0.1:$STATS_PORT \
    KEYMUX_AGENT_ADDR=127.0.0.1:$AGENT_PORT KEYMUX_MOCK_ADDR=127.0.0.1:$MOCK_PORT \
    KEYMUX_HAPROXY_DIR=$dir KEYMUX_RUN_DIR=$run KEYMUX_INSTANCE=bench-$$-$RANDOM \
    KEYMUX_OUTCOME_ADDR=$outcome_addr \
    KEYMUX_SOURCE_RATE_LIMIT=${KEYMUX_SOURCE_RATE_LIMIT:-1000000000} KEYMUX_BUFSIZE=$BUFSIZE \
    on_cpu 0 "$HAPROXY" -f "$cfg" -db >"$WORK/haproxy-$tag.log" 2>&1 &
  PIDS+=($!)
  HAPROXY_PID=$!
  wait_port "$GATEWAY_PORT" $! "haproxy + $tag" "$WORK/haproxy-$tag.log"
}
stop_gateway() {  # stops the running haproxy and agent: no run shares the CPUs with another
  local pid
  for pid in "$HAPROXY_PID" "${AGENT_PID:-}"; do
    [[ -n "$pid" ]] || continue
    stop_pid "$pid" || true
    for i in "${!PIDS[@]}"; do [[ "${PIDS[$i]}" != "$pid" ]] || unset 'PIDS[i]'; done
  done
  HAPROXY_PID=
  AGENT_PID=
}
declare -A GW_PORT GW_HAPROXY GW_AGENT
GATEWAYS=()
measure() {  # measure NAME: wrk_run at full load on the gateway just started; with --rate it
  # stays up for the paced rounds (an idle gateway costs next to nothing), else it is stopped
  SERVER_PIDS=("$MOCK_PID" "$HAPROXY_PID" ${AGENT_PID:+"$AGENT_PID"})
  wrk_run "$1" "http://127.0.0.1:$GATEWAY_PORT"
  RUNS+=("$1")
  if [[ -n "$RATE" ]]; then
    GW_PORT[$1]=$GATEWAY_PORT GW_HAPROXY[$1]=$HAPROXY_PID GW_AGENT[$1]=${AGENT_PID:-}
    GATEWAYS+=("$1")
  else
    stop_gateway
  fi
}
median() {  # median VALUE...: "-" when any is "-"
  [[ " $* " == *" - "* ]] && { echo -; return; }
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print m }'
}
PACED_ROUNDS=3
paced_rounds() {  # the gateways kept up by measure take turns at RATE; "NAME paced" gets the medians
  local round name r
  for ((round = 1; round <= PACED_ROUNDS; round++)); do
    for name in "${GATEWAYS[@]}"; do
      GATEWAY_PORT=${GW_PORT[$name]} HAPROXY_PID=${GW_HAPROXY[$name]} AGENT_PID=${GW_AGENT[$name]}
      SERVER_PIDS=("$MOCK_PID" "$HAPROXY_PID" ${AGENT_PID:+"$AGENT_PID"})
      wrk_run "$name paced $round" "http://127.0.0.1:$GATEWAY_PORT" "" "$RATE"
    done
  done
  for name in "${GATEWAYS[@]}"; do
    local -a rps=() p50=() p99=() cpu=() hap=() agent=()
    local non2xx=0 errs=""
    for ((r = 1; r <= PACED_ROUNDS; r++)); do
      local run="$name paced $r"
      rps+=("${RPS[$run]:-0}") p50+=("${P50[$run]:--}") p99+=("${P99[$run]:--}")
      cpu+=("${CPU[$run]}") hap+=("${CPU_HAPROXY[$run]}") agent+=("${CPU_AGENT[$run]}")
      non2xx=$((non2xx + ${NON2XX[$run]:-0}))
      [[ -n "${ERRS[$run]}" ]] && errs+="${errs:+; }${ERRS[$run]}"
    done
    local paced="$name paced"
    RPS[$paced]=$(median "${rps[@]}") P50[$paced]=$(median "${p50[@]}") P99[$paced]=$(median "${p99[@]}")
    CPU[$paced]=$(median "${cpu[@]}") CPU_HAPROXY[$paced]=$(median "${hap[@]}")
    CPU_AGENT[$paced]=$(median "${agent[@]}") NON2XX[$paced]=$non2xx ERRS[$paced]=$errs
    PACED_P99S[$paced]="${p99[*]}"
    PACED+=("$paced")
  done
}
declare -A PACED_P99S

# --- the run

BASELINE_DIR=$ROOT/haproxy
if [[ -n "$BASELINE_REV" ]]; then  # the haproxy/ directory as it was at that revision
  mkdir -p "$WORK/baseline"
  git archive "$BASELINE_REV" haproxy | tar -x -C "$WORK/baseline" ||
    die "--baseline-rev $BASELINE_REV: no haproxy/ directory there"
  BASELINE_DIR=$WORK/baseline/haproxy
  BASELINE_CFG=$BASELINE_DIR/haproxy.cfg
elif [[ -n "$BASELINE_CFG" ]]; then
  cp "$BASELINE_CFG" "$WORK/baseline.cfg"  # it may be a pipe (<(git show ...)): read it once
  BASELINE_CFG=$WORK/baseline.cfg
fi

cpu_model=$(lscpu | sed -n 's/^Model name: *//p' | head -n1)
echo "machine:  ${cpu_model:-unknown CPU}, $(nproc) CPUs, kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "haproxy:  $("$HAPROXY" -v | head -n1) ($HAPROXY)"
echo "agent:    $("$AGENT" --version 2>/dev/null | head -n1) ($BUILD_DIR), --threads 1; mock --threads 1"
echo "wrk:      -t$WRK_THREADS -c$CONNECTIONS -d${DURATION}s --latency, bench/e2e-post.lua${RATE:+; paced runs at $RATE req/s}"
if ((BODY_SIZE > 0)); then
  echo "request:  $BODY_SIZE-byte body, model last (bench/sized_body.py); tune.bufsize $BUFSIZE"
else
  echo "request:  a small chat request (${#BODY} bytes); tune.bufsize $BUFSIZE"
fi
if ((PIN)); then
  echo "pinning:  wrk on CPU 1; mock, haproxy and agent on CPU 0"
else
  echo "pinning:  none: wrk, mock, haproxy and agent share the $(nproc) CPUs"
fi
[[ -n "$BASELINE_REV" ]] && echo "baseline: haproxy/ of $(git rev-parse --short "$BASELINE_REV") ($BASELINE_REV)"
[[ -n "$BASELINE_CFG" && -z "$BASELINE_REV" ]] && echo "baseline: haproxy.cfg from $BASELINE_CFG, this tree's haproxy/ files"
echo "note:     client, gateway and provider share one small machine: compare the runs with"
echo "          each other, not with production figures"
echo

HAPROXY_PID=
AGENT_PID=
RUNS=()
PACED=()
start_mock
if ((!KEYMUX_ONLY)); then
  SERVER_PIDS=("$MOCK_PID")
  wrk_run "mock direct" "http://127.0.0.1:$MOCK_PORT" "Bearer $MOCK_SECRET"
  RUNS+=("mock direct")

  start_plain_haproxy
  measure "plain haproxy"
fi

start_keymux
measure "haproxy + keymux"

if [[ -n "$BASELINE_CFG" ]]; then
  start_keymux "$BASELINE_CFG" "$BASELINE_DIR" baseline
  measure "keymux baseline"
fi
[[ -n "$RATE" ]] && paced_rounds

printf '%-22s %10s %8s %8s %8s %9s %9s %9s\n' run req/s "p50 ms" "p99 ms" non-2xx "cpu us" haproxy agent
for name in "${RUNS[@]}" "${PACED[@]}"; do
  flag=""
  [[ "${NON2XX[$name]}" != 0 ]] && flag="  (run with errors)"
  [[ -n "${ERRS[$name]}" ]] && flag+="  socket errors: ${ERRS[$name]}"
  if [[ "$name" == *" paced" ]] && awk -v r="${RPS[$name]:-0}" -v o="$RATE" 'BEGIN { exit !(r < 0.97 * o) }'; then
    flag+="  (below the offered $RATE req/s: raise --connections)"
  fi
  printf '%-22s %10.0f %8s %8s %8s %9s %9s %9s%s\n' "$name" "${RPS[$name]:-0}" "${P50[$name]:--}" \
    "${P99[$name]:--}" "${NON2XX[$name]}" "${CPU[$name]}" "${CPU_HAPROXY[$name]}" "${CPU_AGENT[$name]}" "$flag"
done
echo "(cpu us: CPU time per request of the serving processes (mock, haproxy, agent; not wrk);"
echo " haproxy, agent: theirs apart. Paced runs: -c$CONNECTIONS at a fixed offered rate of ${RATE:-N} req/s,"
echo " the medians of $PACED_ROUNDS rounds taken in turns)"
for name in "${PACED[@]}"; do echo "  $name: p99 of each round ${PACED_P99S[$name]} ms"; done
echo
# ratios NAME: NAME against plain haproxy, in the terms of issue 12's targets (gateway CPU:
# haproxy + agent per request, over plain haproxy's).
ratios() {
  local name=$1 paced="$1 paced"
  awk -v label="$2" -v k="${RPS[$name]}" -v p="${RPS[plain haproxy]}" \
      -v k50="${P50[$name]}" -v p50="${P50[plain haproxy]}" \
      -v k99="${P99[$name]}" -v p99="${P99[plain haproxy]}" \
      -v kh="${CPU_HAPROXY[$name]}" -v ka="${CPU_AGENT[$name]}" -v ph="${CPU_HAPROXY[plain haproxy]}" \
      -v r="$RATE" -v pk50="${P50[$paced]:-}" -v pk99="${P99[$paced]:-}" \
      -v pp50="${P50[plain haproxy paced]:-}" -v pp99="${P99[plain haproxy paced]:-}" 'BEGIN {
    printf "%-22s %6.2f x plain req/s at -c%s (target >= 0.45)   %+.2f ms p50  %+.2f ms p99\n", label, k / p, ENVIRON["CONNECTIONS"], k50 - p50, k99 - p99
    printf "%-22s %6.2f x plain gateway cpu/req (haproxy %s + agent %s us vs %s; target <= 2.5)\n", "", (kh + ka) / ph, kh, ka, ph
    printf "%-22s %6.1f us agent cpu/req (target <= 8)\n", "", ka
    if (r != "" && pk99 != "")
      printf "%-22s %+6.2f ms p99 added at %s req/s (%s vs %s ms; p50 %+.2f ms; target <= 1)\n", "", pk99 - pp99, r, pk99, pp99, pk50 - pp50
  }'
}
export CONNECTIONS
if ((!KEYMUX_ONLY)); then
  ratios "haproxy + keymux" "keymux / plain"
  [[ -n "$BASELINE_CFG" ]] && ratios "keymux baseline" "baseline / plain"
fi
awk -v k="${RPS[haproxy + keymux]}" -v p="${RPS[plain haproxy]:-0}" -v m="${RPS[mock direct]:-0}" 'BEGIN {
  if (m > 0) printf "%-22s %6.2f x mock req/s\n", "plain / mock", p / m
  if (m > 0) printf "%-22s %6.2f x mock req/s\n", "keymux / mock", k / m
}'
if [[ -n "$BASELINE_CFG" ]]; then
  awk -v k="${RPS[haproxy + keymux]}" -v b="${RPS[keymux baseline]}" \
      -v kc="${CPU[haproxy + keymux]}" -v bc="${CPU[keymux baseline]}" 'BEGIN {
    if (b > 0) printf "%-22s %6.2f x baseline req/s   %+.1f us cpu/req\n", "keymux / baseline", k / b, kc - bc
  }'
  echo "(baseline: ${BASELINE_REV:-$BASELINE_CFG})"
fi
