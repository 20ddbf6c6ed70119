#!/usr/bin/env python3
"""The cost of GET /v1/status (what the status page polls once a second) at
several numbers of keys: an agent alone per size, on a generated configuration
(tests/browser/many_keys.py), asked N times in a row over one keep-alive
connection from this process. Prints the answer's size and the wall time per
request (median, 95th percentile, max) as the client sees it, and the agent's
CPU time per request (from /proc, so it holds whatever else the machine runs).

  bench/status_endpoint.py [--agent build/keymux-agent] [--keys 10,1000] [--requests 200]
                           [--paths /v1/status,/v1/keys]   (/v1/keys: a reference in the same run)
"""

import argparse
import http.client
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "browser"))

import many_keys  # noqa: E402


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(agent, keys, requests, run, path):
    config = os.path.join(run, f"keys-{keys}.yaml")
    many_keys.write_config(config, keys)
    proc, port = many_keys.start_agent(agent, config, os.path.join(run, f"agent-{keys}.log"))
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        headers = {"authorization": f"Bearer {many_keys.ADMIN_TOKEN}"}

        def get():
            conn.request("GET", path, headers=headers)
            r = conn.getresponse()
            body = r.read()
            assert r.status == 200, (r.status, body[:200])
            return body

        for _ in range(10):  # warm up
            body = get()
        cpu_before = cpu_seconds(proc.pid)
        times = []
        for _ in range(requests):
            start = time.perf_counter()
            get()
            times.append((time.perf_counter() - start) * 1000)
        cpu = (cpu_seconds(proc.pid) - cpu_before) / requests * 1000
        conn.close()
    finally:
        many_keys.stop(proc)
    times.sort()
    return {
        "keys": keys,
        "path": path,
        "bytes": len(body),
        "median_ms": statistics.median(times),
        "p95_ms": times[int(len(times) * 0.95) - 1],
        "max_ms": times[-1],
        "agent_cpu_ms": cpu,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agent", default=os.path.join(ROOT, "build", "keymux-agent"))
    parser.add_argument("--keys", default="10,1000")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--paths", default="/v1/status,/v1/keys")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="keymux-status-bench.") as run:
        print(f"{args.requests} requests in a row per size and path, {os.cpu_count()} CPUs, "
              f"load average {os.getloadavg()[0]:.1f}")
        print(f"{'path':<11} {'keys':>6} {'bytes':>9} {'median ms':>10} {'p95 ms':>8} "
              f"{'max ms':>8} {'agent CPU ms/req':>17}")
        for keys in (int(k) for k in args.keys.split(",")):
            for path in args.paths.split(","):
                m = measure(args.agent, keys, args.requests, run, path)
                print(f"{m['path']:<11} {m['keys']:>6} {m['bytes']:>9} {m['median_ms']:>10.2f} "
                      f"{m['p95_ms']:>8.2f} {m['max_ms']:>8.2f} {m['agent_cpu_ms']:>17.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
