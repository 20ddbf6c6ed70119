#!/usr/bin/env bash
# The debian13 tier's steps, run by tests/debian13/run.sh inside the Debian 13 root, from the
# clone there: scripts/test's own tiers on the root's GCC 14 and HAProxy 3.0, the runtime
# package list against ldd, scripts/run as an operator starts it, and the agent with clang.
#   inside.sh [--no-clang]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export JOBS=${JOBS:-2} CCACHE_DIR=/var/cache/ccache CCACHE_MAXSIZE=2G
export CMAKE_CXX_COMPILER_LAUNCHER=ccache   # read by cmake's first configure of each build dir
export KEYMUX_HAPROXY_3=/usr/sbin/haproxy    # the root's own HAProxy 3.0 for tier e2e-3
echo "gcc: $(g++ --version | sed -n 1p); $(haproxy -v | sed -n 1p)"

scripts/test --tiers deps,build,unit,integration,e2e-3

echo "== runtime packages: deploy/install-deps.sh --runtime against the agent's ldd"
tests/static/check_runtime_packages
echo "PASS runtime packages"

echo "== scripts/run --print-only on free loopback ports"
read -r gateway stats agent admin mock <<<"$(python3 -c '
import socket
socks = [socket.socket() for _ in range(5)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))')"
out=$(scripts/run --print-only --gateway "127.0.0.1:$gateway" --stats "127.0.0.1:$stats" \
        --agent "127.0.0.1:$agent" --admin "127.0.0.1:$admin" --mock "127.0.0.1:$mock")
grep '"chat.completion"' <<<"$out" || { echo "$out"; echo "FAIL scripts/run"; exit 1; }
echo "PASS scripts/run"

if [[ "${1:-}" != --no-clang ]]; then
  echo "== keymux-agent with $(clang++ --version | sed -n 1p)"
  cmake -S . -B build-clang -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Release \
        -DKEYMUX_TESTS=OFF -DKEYMUX_BENCH=OFF >/dev/null
  cmake --build build-clang -j "$JOBS" --target keymux-agent
  build-clang/keymux-agent --version
  echo "PASS clang build"
fi
