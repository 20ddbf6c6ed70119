#!/usr/bin/env python3
"""A/B of HAProxy configurations of the keymux data path, fair on a busy machine.

  bench/cfg-ab.py HAPROXY NAME=CFG[:VAR=VALUE,...] NAME=CFG[...] ...
  e.g. bench/cfg-ab.py /usr/sbin/haproxy before=/tmp/before.cfg after=haproxy/haproxy.cfg \\
         after-no-edge=haproxy/haproxy.cfg:KEYMUX_SOURCE_RATE_LIMIT=0,KEYMUX_AUTH_FAILURE_LIMIT=0

bench/e2e.sh measures its runs one after the other, so on a shared machine a
change in load between them reads as a cost. Here one mock provider and one
agent (bench/keymux-bench.yaml, --threads 1) serve one HAProxy per
configuration, all started at once, and wrk (-t1 -c32, bench/e2e-post.lua)
measures them in turn, ROUNDS times (default 6) for DURATION seconds (default 4).
Prints, per configuration, the median req/s (and its ratio to the first), the
median HAProxy CPU time per request, the steadier figure under load, and the
median p99 latency.
Run from the repository root with build/ built (keymux-agent, keymux-mock-upstream).
wrk is one client address: KEYMUX_SOURCE_RATE_LIMIT is raised so that it is
counted, never reached, unless a configuration sets it. Every process started
here listens on a free loopback port and is stopped by PID on exit.
"""
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("BUILD_DIR", os.path.join(ROOT, "build"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port):
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"cfg-ab: nothing listens on 127.0.0.1:{port}")


def cpu_ticks(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(") ", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def latency_ms(wrk_output, percentile):
    """wrk --latency's percentile line ("99%   12.34ms") in milliseconds."""
    m = re.search(rf"^\s*{re.escape(percentile)}\s+([\d.]+)(us|ms|s)\s*$", wrk_output, re.M)
    return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)] if m else float("nan")


def main():
    if len(sys.argv) < 3 or sys.argv[1] in ("-h", "--help"):
        sys.exit(__doc__)
    haproxy, variants = sys.argv[1], [a.split("=", 1) for a in sys.argv[2:]]
    rounds, duration = int(os.environ.get("ROUNDS", 6)), os.environ.get("DURATION", "4")
    config = os.path.join(ROOT, "bench", "keymux-bench.yaml")
    keys = re.findall(r"\{id: *([^,]*), *secret: *([^,}]*)", open(config).read())
    procs, work = [], tempfile.mkdtemp(prefix="keymux-cfg-ab.")
    try:
        def start(argv, port, env=None):
            procs.append(subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
            wait_port(port)
            return procs[-1].pid

        mock, agent, outcome = free_port(), free_port(), free_port()
        start([os.path.join(BUILD, "keymux-mock-upstream"), "--listen", f"127.0.0.1:{mock}",
               "--threads", "1", "--quiet"] + [a for k, s in keys for a in ("--key", f"{k}={s}")],
              mock)
        start([os.path.join(BUILD, "keymux-agent"), "--listen", f"127.0.0.1:{agent}", "--config",
               config, "--threads", "1", "--log-level", "warn", "--admin-listen", "off",
               "--outcome-listen", f"127.0.0.1:{outcome}"], agent)
        gateways = {}
        for name, spec in variants:
            cfg, _, overrides = spec.partition(":")
            port = free_port()
            run = os.path.join(work, name)
            os.mkdir(run)
            env = dict(os.environ, KEYMUX_GATEWAY_BIND=f"127.0.0.1:{port}",
                       KEYMUX_STATS_BIND=f"127.0.0.1:{free_port()}",
                       KEYMUX_AGENT_ADDR=f"127.0.0.1:{agent}", KEYMUX_MOCK_ADDR=f"127.0.0.1:{mock}",
                       KEYMUX_HAPROXY_DIR=os.path.join(ROOT, "haproxy"), KEYMUX_RUN_DIR=run,
                       KEYMUX_INSTANCE=f"cfg-ab-{port}", KEYMUX_SOURCE_RATE_LIMIT="1000000000",
                       KEYMUX_OUTCOME_ADDR=f"127.0.0.1:{outcome}")  # fe_inner's outcome lines
            env.update(kv.split("=", 1) for kv in overrides.split(",") if kv)
            gateways[name] = (port, start([haproxy, "-f", os.path.abspath(cfg), "-db"], port, env))
        time.sleep(2)  # HAProxy's first agent health check
        rps = {name: [] for name in gateways}
        cpu = {name: [] for name in gateways}
        p99 = {name: [] for name in gateways}
        for _ in range(rounds):
            for name, (port, pid) in gateways.items():
                before = cpu_ticks(pid)
                out = subprocess.run(["wrk", "-t1", "-c32", f"-d{duration}s", "--latency", "-s",
                                      os.path.join(ROOT, "bench", "e2e-post.lua"),
                                      f"http://127.0.0.1:{port}/v1/chat/completions"],
                                     capture_output=True, text=True).stdout
                n = int(re.search(r"(\d+) requests in", out).group(1))
                rps[name].append(float(re.search(r"Requests/sec:\s+(\S+)", out).group(1)))
                cpu[name].append((cpu_ticks(pid) - before) * 1e6 / os.sysconf("SC_CLK_TCK") / n)
                p99[name].append(latency_ms(out, "99%"))
                non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
                if non2xx:
                    print(f"  {name}: {non2xx.group(1)} non-2xx answers in one run")
        first = statistics.median(rps[variants[0][0]])
        print(f"{'config':16} {'req/s':>8} {'ratio':>6} {'haproxy cpu us/req':>19} {'p99 ms':>7}   "
              f"(median of {rounds} runs of {duration} s each, interleaved)")
        for name in gateways:
            r, c = statistics.median(rps[name]), statistics.median(cpu[name])
            print(f"{name:16} {r:8.0f} {r / first:6.2f} {c:19.1f} {statistics.median(p99[name]):7.2f}"
                  f"   cpu runs {[round(x, 1) for x in cpu[name]]}")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
