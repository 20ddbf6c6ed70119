#!/usr/bin/env python3
"""What a 429 storm costs with and without the synchronous settle of failures.

Two keys on one route; the mock makes one answer 429 (retry-after 30 s) and
the gateway is loaded by concurrent clients for a few seconds. A key that
answered 429 is cooled by the agent: with the `settle` message (haproxy.cfg as
it is, failures settled synchronously) before the retry is routed; without it
(fe_inner's `send-spoe-group keymux settle` rule removed) only when the outcome line arrives.
Prints, per run: the 429s the provider sent (each one a request that reached
a rate-limited key), requests served, and how the agent classified them.

  bench/storm_429.py [--haproxy BIN] [--seconds S] [--clients N] [--runs K]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from outcome_transport import (BUILD, ROOT, agent_samples, free_port,  # noqa: E402
                               stop_all, wait_port)
from prometheus import metric  # noqa: E402

CONFIG = """providers:
  - name: storm
    backend: be_mock
    auth: bearer
    keys: [{id: st-a, secret: sk-storm-a}, {id: st-b, secret: sk-storm-b}]
routes:
  - models: ["*"]
    default: true
    targets: [{provider: storm}]
allow_anonymous: true
"""


def http(port, method, path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def run(args, variant, work):
    procs = []
    try:
        run_dir = tempfile.mkdtemp(dir=work)
        mock_port, agent_port, admin_port = free_port(), free_port(), free_port()
        gateway, stats, outcome = free_port(), free_port(), free_port()
        config = os.path.join(run_dir, "storm.yaml")
        open(config, "w").write(CONFIG)
        haproxy_dir = os.path.join(run_dir, "haproxy")
        shutil.copytree(os.path.join(ROOT, "haproxy"), haproxy_dir)
        if variant == "no-settle":
            # fe_inner sends the settle message by its send-spoe-group rule: drop the rule.
            cfg = os.path.join(haproxy_dir, "haproxy.cfg")
            lines = open(cfg).read().splitlines(keepends=True)
            kept = [l for l in lines if "send-spoe-group keymux settle" not in l]
            if len(kept) != len(lines) - 1:
                sys.exit("storm_429: no single send-spoe-group settle rule in haproxy.cfg")
            open(cfg, "w").write("".join(kept))
        log = open(os.path.join(run_dir, "mock.log"), "w")
        procs.append(subprocess.Popen(
            [os.path.join(BUILD, "keymux-mock-upstream"), "--listen", f"127.0.0.1:{mock_port}",
             "--threads", "1", "--quiet", "--key", "st-a=sk-storm-a", "--key", "st-b=sk-storm-b"],
            stdout=log, stderr=log))
        wait_port(mock_port, procs[-1], "mock")
        log = open(os.path.join(run_dir, "agent.log"), "w")
        procs.append(subprocess.Popen(
            [os.path.join(BUILD, "keymux-agent"), "--listen", f"127.0.0.1:{agent_port}",
             "--config", config, "--threads", "1", "--log-level", "warn",
             "--admin-listen", f"127.0.0.1:{admin_port}",
             "--outcome-listen", f"127.0.0.1:{outcome}"], stdout=log, stderr=log))
        wait_port(admin_port, procs[-1], "agent")
        env = dict(os.environ, KEYMUX_GATEWAY_BIND=f"127.0.0.1:{gateway}",
                   KEYMUX_STATS_BIND=f"127.0.0.1:{stats}",
                   KEYMUX_AGENT_ADDR=f"127.0.0.1:{agent_port}",
                   KEYMUX_MOCK_ADDR=f"127.0.0.1:{mock_port}", KEYMUX_HAPROXY_DIR=haproxy_dir,
                   KEYMUX_RUN_DIR=run_dir, KEYMUX_INSTANCE=f"storm-{gateway}",
                   KEYMUX_OUTCOME_ADDR=f"127.0.0.1:{outcome}", KEYMUX_SOURCE_RATE_LIMIT="0")
        log = open(os.path.join(run_dir, "haproxy.log"), "w")
        procs.append(subprocess.Popen(
            [args.haproxy, "-db", "-f", os.path.join(haproxy_dir, "haproxy.cfg")], env=env,
            stdout=log, stderr=log))
        wait_port(gateway, procs[-1], "haproxy")
        body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 8}
        while http(gateway, "POST", "/v1/chat/completions", body)[0] != 200:
            time.sleep(0.2)
        # The storm: st-a starts answering 429 under load (one per run, each
        # with fresh processes, so that st-a is in service when it starts).
        http(mock_port, "POST", "/_mock/keys/st-a", {"status": 429, "retry_after": 30})
        before = json.loads(http(mock_port, "GET", "/_mock/stats")[1])["keys"]
        statuses = []
        stop = time.monotonic() + args.seconds

        def client():
            while time.monotonic() < stop:
                statuses.append(http(gateway, "POST", "/v1/chat/completions", body)[0])

        threads = [threading.Thread(target=client) for _ in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        after = json.loads(http(mock_port, "GET", "/_mock/stats")[1])["keys"]
        total_429 = (after["st-a"]["by_status"].get("429", 0)
                     - before.get("st-a", {}).get("by_status", {}).get("429", 0))
        served = statuses.count(200)
        faults = metric(agent_samples(admin_port), "keymux_key_requests_total",
                        status_class="no_response") or 0
        print(f"{variant:10} {args.clients} clients x {args.seconds}s: 429s reaching the "
              f"provider {total_429}, served {served} of {len(statuses)}, attempts the agent "
              f"counted as unanswered {faults:.0f}", flush=True)
    finally:
        stop_all(procs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--haproxy", default="/usr/sbin/haproxy")
    parser.add_argument("--seconds", type=float, default=2)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="keymux-storm.")
    try:
        for _ in range(args.runs):
            for variant in ("settle", "no-settle"):
                run(args, variant, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
