#!/usr/bin/env bash
# Measures the agent with spop-load, end to end:
#   1. agent with 1 worker thread pinned to CPU 0, spop-load pinned to CPU 1 (closed loop: max rate)
#   2. agent with 2 worker threads, nothing pinned (closed loop)
#   3. as 1, open loop at half the rate found in 1: the latency at moderate load
# and prints decisions/s, p50/p99/p999 and the agent's CPU time per decision.
# The agent runs with bench/keymux-bench.yaml: every decision is a real routing decision.
#
# Usage: bench/spop-load.sh            (from the repository root)
# Environment: BUILD_DIR (default build), DURATION (10), WARMUP (1),
#              CONNECTIONS (4), DEPTH (20), NO_BUILD=1 to use the binaries as they are.
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-1}
CONNECTIONS=${CONNECTIONS:-4}
DEPTH=${DEPTH:-20}
AGENT="$BUILD_DIR/keymux-agent"
LOAD="$BUILD_DIR/spop-load"

if [[ "${NO_BUILD:-0}" != 1 ]]; then
  if [[ ! -f "$BUILD_DIR/CMakeCache.txt" ]]; then
    cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKEYMUX_TESTS=OFF >/dev/null
  fi
  cmake --build "$BUILD_DIR" --target keymux-agent spop-load -j2 >/dev/null
fi

cpus=$(nproc)
pin() {  # pin CPU -- command...: taskset when there are two CPUs or more
  local cpu=$1
  shift
  if [[ "$cpus" -ge 2 ]] && command -v taskset >/dev/null; then
    taskset -c "$cpu" "$@"
  else
    "$@"
  fi
}

port_in_use() {  # listening on 127.0.0.1 or any address? (/proc/net/tcp{,6}, state 0A)
  local hex
  hex=$(printf '%04X' "$1")
  grep -qE "^ *[0-9]+: [0-9A-F]+:$hex [0-9A-F]+:[0-9A-F]+ 0A" /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

free_port() {
  local port
  for _ in $(seq 1 100); do
    port=$((20000 + RANDOM % 40000))
    if ! port_in_use "$port"; then
      echo "$port"
      return 0
    fi
  done
  echo "no free port found" >&2
  return 1
}

WORK=$(mktemp -d)
AGENT_PID=""
stop_agent() {
  if [[ -n "$AGENT_PID" ]] && kill -0 "$AGENT_PID" 2>/dev/null; then
    kill -TERM "$AGENT_PID"
    for _ in $(seq 1 50); do
      kill -0 "$AGENT_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$AGENT_PID" 2>/dev/null && kill -KILL "$AGENT_PID"
    wait "$AGENT_PID" 2>/dev/null || true
  fi
  AGENT_PID=""
}
trap 'stop_agent; rm -rf "$WORK"' EXIT

start_agent() {  # start_agent PORT THREADS [CPU]
  local port=$1 threads=$2 cpu=${3:-}
  local cmd=("$AGENT" --config bench/keymux-bench.yaml --listen "127.0.0.1:$port" --threads "$threads" --log-level warn --admin-listen off)
  if [[ -n "$cpu" && "$cpus" -ge 2 ]] && command -v taskset >/dev/null; then
    cmd=(taskset -c "$cpu" "${cmd[@]}")  # taskset execs the agent: $! is the agent's PID
  fi
  "${cmd[@]}" >>"$WORK/agent.log" 2>&1 &
  AGENT_PID=$!
  for _ in $(seq 1 100); do
    port_in_use "$port" && return 0
    kill -0 "$AGENT_PID" 2>/dev/null || { echo "agent exited at start, see $WORK/agent.log" >&2; return 1; }
    sleep 0.05
  done
  echo "agent not listening on $port" >&2
  return 1
}

run() {  # run TITLE OUTFILE AGENT_THREADS AGENT_CPU LOAD_CPU [spop-load flags...]
  local title=$1 outfile=$2 threads=$3 agent_cpu=$4 load_cpu=$5
  shift 5
  local port
  port=$(free_port)
  start_agent "$port" "$threads" "$agent_cpu"
  echo "== $title"
  local cmd=("$LOAD" --target "127.0.0.1:$port" --connections "$CONNECTIONS" --depth "$DEPTH"
    --duration "$DURATION" --warmup "$WARMUP" --agent-pid "$AGENT_PID" "$@")
  if [[ -n "$load_cpu" && "$cpus" -ge 2 ]] && command -v taskset >/dev/null; then
    cmd=(taskset -c "$load_cpu" "${cmd[@]}")
  fi
  echo "\$ ${cmd[*]}"
  local rc=0
  "${cmd[@]}" >"$outfile" || rc=$?
  stop_agent
  cat "$outfile"
  if [[ $rc -ne 0 ]]; then
    echo "spop-load failed (exit $rc)" >&2
    exit "$rc"
  fi
}

field() {  # field OUTPUT PATTERN: the first number after PATTERN
  sed -nE "s/.*$2 ([0-9.]+).*/\1/p" <<<"$1" | head -1
}

echo "machine: $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $cpus CPUs"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"

run "agent 1 thread on CPU 0, spop-load on CPU 1, closed loop" "$WORK/one" 1 0 1
run "agent 2 threads, unpinned, closed loop" "$WORK/two" 2 "" ""
max1=$(sed -nE 's/^([0-9]+) decisions\/s$/\1/p' "$WORK/one")
half=$((max1 / 2))
run "agent 1 thread on CPU 0, spop-load on CPU 1, open loop at half the 1-thread max" \
  "$WORK/open" 1 0 1 --rate "$half"

summary() {  # summary LABEL OUTFILE
  local out
  out=$(cat "$2")
  printf '%-32s %8s decisions/s  p50 %7s us  p99 %7s us  p999 %7s us  agent CPU %5s us/decision\n' \
    "$1" "$(sed -nE 's/^([0-9]+) decisions\/s$/\1/p' <<<"$out")" "$(field "$out" p50)" \
    "$(field "$out" p99)" "$(field "$out" p999)" "$(field "$out" "agent cpu")"
}
echo
echo "== summary ($(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $cpus CPUs; load after: $(cut -d' ' -f1-3 /proc/loadavg))"
echo "spop-load --connections $CONNECTIONS --depth $DEPTH --duration $DURATION --warmup $WARMUP"
summary "1 agent thread, closed loop" "$WORK/one"
summary "2 agent threads, closed loop" "$WORK/two"
summary "1 agent thread, --rate $half" "$WORK/open"
