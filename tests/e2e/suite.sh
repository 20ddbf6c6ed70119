#!/usr/bin/env bash
# One run of the end-to-end checks against one HAProxy binary.
#   suite.sh HAPROXY AGENT
# Starts AGENT (--listen 127.0.0.1:PORT --threads 2) and HAPROXY with tests/e2e/haproxy.cfg on
# free loopback ports, runs the checks, prints PASS/FAIL for each and a summary line, and stops
# everything it started (by PID) on exit. Exit status: 0 when every check passed.
#   KEYMUX_E2E_KEEP=1             keep the run directory (logs) after the run
#   KEYMUX_E2E_EXPECT_VERSION=v   the agent_version expected (default: from AGENT --version)
set -uo pipefail

HAPROXY=${1:?usage: suite.sh HAPROXY AGENT}
AGENT=${2:?usage: suite.sh HAPROXY AGENT}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RUN=$(mktemp -d "${TMPDIR:-/tmp}/keymux-e2e.XXXXXX")
CURL=(curl --no-progress-meter --max-time 5 --noproxy '*')

passed=0
failed=0
HAPROXY_PID=
AGENT_PID=

# shellcheck source=../../scripts/lib/processes.sh
source "$HERE/../../scripts/lib/processes.sh"

log() { echo "    $*"; }

cleanup() {
  stop_pid "$AGENT_PID"
  stop_pid "$HAPROXY_PID"
  if [[ "${KEYMUX_E2E_KEEP:-}" == 1 ]]; then
    echo "    run directory kept: $RUN"
  else
    rm -rf "$RUN"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

show_logs() {
  echo "    --- haproxy log (last 15 lines)"
  tail -n 15 "$RUN/haproxy.log" 2>/dev/null | sed 's/^/    | /'
  echo "    --- agent log (last 15 lines)"
  tail -n 15 "$RUN/agent.log" 2>/dev/null | sed 's/^/    | /'
}

check() {  # check NAME COMMAND...: runs one check, prints PASS/FAIL
  local name=$1 start=$SECONDS
  shift
  if "$@"; then
    echo "  PASS $name ($((SECONDS - start)) s)"
    passed=$((passed + 1))
    return 0
  fi
  echo "  FAIL $name ($((SECONDS - start)) s)"
  failed=$((failed + 1))
  show_logs
  return 1
}

wait_until() {  # wait_until SECONDS COMMAND...: polls every 0.1 s
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

free_ports() {  # prints N distinct free loopback ports
  python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

read -r HTTP_PORT ECHO_PORT AGENT_PORT < <(free_ports 3)
export KEYMUX_E2E_DIR=$HERE KEYMUX_E2E_RUN=$RUN
export KEYMUX_E2E_HTTP_PORT=$HTTP_PORT KEYMUX_E2E_ECHO_PORT=$ECHO_PORT KEYMUX_E2E_AGENT_PORT=$AGENT_PORT
URL=http://127.0.0.1:$HTTP_PORT

HAPROXY_VERSION=$("$HAPROXY" -v 2>/dev/null | sed -n '1s/^HAProxy version \([^ ]*\).*/\1/p')
if [[ -n "${KEYMUX_E2E_EXPECT_VERSION:-}" ]]; then
  EXPECT=$KEYMUX_E2E_EXPECT_VERSION
else
  EXPECT=$("$AGENT" --version 2>/dev/null | sed -n 1p | awk '{print $NF}')
fi
echo "  haproxy $HAPROXY_VERSION ($HAPROXY), agent $AGENT (version '$EXPECT'), ports http $HTTP_PORT agent $AGENT_PORT"

# --- helpers for the checks

# The agent refuses a SPOP listener other hosts could reach when its config has no
# gateway secret: exit 1 and a clear error, before binding anything. Run in a network
# namespace of its own where one can be made (root), so that even a regression could
# not expose a port; else only the --check path (which never binds).
agent_refuses_public_spop() {
  local out rc runner=()
  if unshare --net true 2>/dev/null; then
    runner=(unshare --net)
  else
    log "note: no unshare --net here: checked with --check only"
  fi
  local want="refusing to listen for SPOP on 0.0.0.0:0 without a gateway secret"
  if ((${#runner[@]})); then
    out=$(timeout 10 "${runner[@]}" "$AGENT" --listen 0.0.0.0:0 --admin-listen off 2>&1)
    rc=$?
    [[ $rc == 1 && $out == *"$want"* ]] || { log "start: exit $rc: $out"; return 1; }
  fi
  out=$(timeout 10 "$AGENT" --check --listen 0.0.0.0:0 2>&1)
  rc=$?
  [[ $rc == 1 && $out == *"$want"* ]] || { log "--check: exit $rc: $out"; return 1; }
}

server_state() {  # prints "<status> <check_status>" of be_keymux_agents/agent1 from "show stat"
  echo "show stat" | socat -t 2 - "UNIX-CONNECT:$RUN/haproxy.sock" 2>/dev/null | awk -F, '
    NR == 1 { sub(/^# /, ""); for (i = 1; i <= NF; i++) col[$i] = i; next }
    $1 == "be_keymux_agents" && $2 == "agent1" { print $col["status"], $col["check_status"] }'
}

agent_is() {  # agent_is UP|DOWN: the spop-check state of the agent server
  local state
  state=$(server_state)
  case $1 in
    UP) [[ "$state" == "UP L7OK" ]] ;;
    DOWN) [[ "$state" == DOWN* ]] ;;
  esac
}

start_agent() {
  "$AGENT" --listen "127.0.0.1:$AGENT_PORT" --threads 2 --admin-listen off >>"$RUN/agent.log" 2>&1 &
  AGENT_PID=$!
  wait_until 10 agent_ready
}

agent_ready() { kill -0 "$AGENT_PID" 2>/dev/null && port_open "$AGENT_PORT"; }

start_haproxy() {
  "$HAPROXY" -f "$HERE/haproxy.cfg" -db >>"$RUN/haproxy.log" 2>&1 &
  HAPROXY_PID=$!
  wait_until 10 haproxy_ready
}

haproxy_ready() {  # listening on HTTP and answering on the admin socket
  kill -0 "$HAPROXY_PID" 2>/dev/null && port_open "$HTTP_PORT" && [[ -n "$(server_pid)" ]]
}

one_request_ok() {  # 200 and x-keymux-agent-version equal to the agent's version
  local out
  out=$("${CURL[@]}" -o /dev/null -w '%{http_code} %header{x-keymux-agent-version}' "$URL/v1/check" 2>&1)
  [[ "$out" == "200 $EXPECT" ]] || { log "got '$out', want '200 $EXPECT'"; return 1; }
}

many_requests_ok() {  # many_requests_ok N [curl options]: N requests, all 200 with the header
  local n=$1 bad
  shift
  "${CURL[@]}" "$@" -o /dev/null -w '%{http_code} %header{x-keymux-agent-version}\n' \
    "$URL/v1/many/[1-$n]" >"$RUN/many.out" 2>"$RUN/many.err"
  local got
  got=$(wc -l <"$RUN/many.out")
  bad=$(grep -cvxF "200 $EXPECT" "$RUN/many.out")
  if ((got != n || bad != 0)); then
    log "$got answers, $bad not '200 $EXPECT'; first ones:"
    sort "$RUN/many.out" | uniq -c | head -5 | sed 's/^/    /'
    head -3 "$RUN/many.err" | sed 's/^/    /'
    return 1
  fi
}

fail_closed() {  # without an agent: 503, the JSON error, no version header
  local out
  out=$("${CURL[@]}" -o "$RUN/body" -w '%{http_code} %header{x-keymux-agent-version}' "$URL/v1/check" 2>&1)
  if [[ "$out" != "503 " ]] || ! grep -q '"code":"agent_unavailable"' "$RUN/body"; then
    log "got '$out' body '$(head -c 300 "$RUN/body")'"
    return 1
  fi
  log "body: $(head -c 300 "$RUN/body")"
}

agent_stops_cleanly() {  # SIGTERM: the agent exits 0 within 5 s
  local rc pid=$AGENT_PID
  AGENT_PID=
  kill -TERM "$pid"
  wait_until 5 eval "! kill -0 $pid 2>/dev/null"
  if kill -0 "$pid" 2>/dev/null; then
    log "agent still running 5 s after SIGTERM"
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null
    return 1
  fi
  wait "$pid"
  rc=$?
  ((rc == 0)) || { log "agent exit status $rc"; return 1; }
}

haproxy_not_reloaded() { [[ -n "$HAPROXY_PID" ]] && kill -0 "$HAPROXY_PID" 2>/dev/null && [[ "$(server_pid)" == "$HAPROXY_PID" ]]; }
server_pid() { echo "show info" | socat -t 2 - "UNIX-CONNECT:$RUN/haproxy.sock" 2>/dev/null | sed -n 's/^Pid: //p'; }

# --- the checks

check "haproxy -c accepts tests/e2e/haproxy.cfg" "$HAPROXY" -c -q -f "$HERE/haproxy.cfg" || exit 1
check "agent refuses SPOP on 0.0.0.0 without a gateway secret (exit 1, clear error)" agent_refuses_public_spop
check "agent listens on 127.0.0.1:$AGENT_PORT" start_agent || exit 1
check "haproxy starts" start_haproxy || exit 1
check "spop-check shows the agent UP (L7OK)" wait_until 10 agent_is UP
check "a request gets 200 and x-keymux-agent-version: $EXPECT" wait_until 5 one_request_ok
check "200 sequential requests all carry the header" many_requests_ok 200
check "200 concurrent requests (50 in parallel) all carry the header" many_requests_ok 200 -Z --parallel-max 50
check "agent exits 0 on SIGTERM" agent_stops_cleanly
check "spop-check marks the stopped agent DOWN" wait_until 10 agent_is DOWN
check "without the agent a request fails closed (503 JSON, no header)" fail_closed
check "agent restarts" start_agent
check "spop-check shows the restarted agent UP" wait_until 10 agent_is UP
check "headers come back after the restart" wait_until 10 one_request_ok
check "100 concurrent requests after the restart all carry the header" many_requests_ok 100 -Z --parallel-max 25
check "haproxy was not reloaded (same pid)" haproxy_not_reloaded

echo "  e2e on haproxy $HAPROXY_VERSION: $passed checks passed, $failed failed"
((failed == 0))
