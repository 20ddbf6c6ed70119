#!/usr/bin/env python3
"""Request size against tune.bufsize (KEYMUX_BUFSIZE), one run: for every request
size and buffer size, the real data path (haproxy/haproxy.cfg + keymux-agent +
the mock provider, bench/request-size.yaml) answers four questions and this
prints them as one table:

  retried   a 429 from the first key is retried on another key (every key of the
            mock answers 429; retried when the mock saw more than one attempt)
  by model  the request, "model" last in its JSON as SDKs write it, is served by
            its model's route (the answer's x-mock-key-id), not the default route
  req/s, cpu us/req   bench/e2e.sh --keymux-only --body-size SIZE --bufsize BUFSIZE
            (wrk -c32; CPU of mock + haproxy + agent per request)
  MiB/1k streams      HAProxy's RSS with STREAMS slow streaming requests open, minus
            its RSS before them, per 1,000 streams (the mock streams one chunk a second)

  bench/request_size.py [--haproxy PATH] [--sizes 4096,65536,409600]
                        [--bufsizes 32768,65536,131072,1048576] [--streams 1000]
                        [--duration 5] [--build-dir build-bench]

Every process runs on a free loopback port and is stopped by PID. The machine
is shared: compare the cells of one run with each other.
"""

import argparse
import collections
import http.client
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
sys.path.insert(0, HERE)
from loopback import free_port, port_open, wait_until  # noqa: E402
from sized_body import sized_body  # noqa: E402

CONFIG = os.path.join(HERE, "request-size.yaml")
MODEL_KEYS = ("rs-named-1", "rs-named-2", "rs-named-3")
KEYS = MODEL_KEYS + ("rs-default-1",)


def exchange(port, method, path, body=None, headers=None, timeout=30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
        conn.request(method, path, data, dict({"content-type": "application/json"}, **(headers or {})))
        r = conn.getresponse()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read()
    finally:
        conn.close()


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


class Processes:
    def __init__(self, work):
        self.work = work
        self.procs = {}

    def start(self, name, argv, port, env=None):
        log = open(os.path.join(self.work, f"{name}.log"), "wb")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                             env=dict(os.environ, **(env or {})))
        self.procs[name] = p
        if not wait_until(10, lambda: port_open(port) or p.poll() is not None, 0.05) or p.poll() is not None:
            raise RuntimeError(f"{name} did not start; see {log.name}")
        return p

    def stop(self, name):
        p = self.procs.pop(name, None)
        if p is not None and p.poll() is None:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def stop_all(self):
        for name in list(self.procs):
            self.stop(name)


class Cell:
    """One gateway (agent + HAProxy at one tune.bufsize) in front of the shared mock."""

    def __init__(self, procs, args, mock_port, bufsize, streams):
        self.procs = procs
        self.mock_port = mock_port
        agent_port = free_port()
        run_dir = tempfile.mkdtemp(dir=procs.work)
        outcome_socket = os.path.join(run_dir, "outcomes.sock")  # HAProxy's outcome lines
        procs.start("agent", [os.path.join(args.build_dir, "keymux-agent"), "--listen",
                              f"127.0.0.1:{agent_port}", "--config", CONFIG, "--threads", "1",
                              "--log-level", "warn", "--admin-listen", "off",
                              "--outcome-listen", f"unix:{outcome_socket}"], agent_port)
        self.port = free_port()
        # Room for every slow stream at once (edge protection would queue the rest).
        env = {"KEYMUX_GATEWAY_BIND": f"127.0.0.1:{self.port}",
               "KEYMUX_STATS_BIND": f"127.0.0.1:{free_port()}",
               "KEYMUX_AGENT_ADDR": f"127.0.0.1:{agent_port}",
               "KEYMUX_MOCK_ADDR": f"127.0.0.1:{mock_port}",
               "KEYMUX_HAPROXY_DIR": os.path.join(ROOT, "haproxy"), "KEYMUX_RUN_DIR": run_dir,
               "KEYMUX_INSTANCE": "rs", "KEYMUX_BUFSIZE": str(bufsize),
               "KEYMUX_OUTCOME_ADDR": f"unix@{outcome_socket}",
               "KEYMUX_SOURCE_RATE_LIMIT": "0", "KEYMUX_GATEWAY_MAXCONN": str(streams + 100),
               "KEYMUX_GATEWAY_ACTIVE": str(streams + 100),
               "KEYMUX_MAXCONN": str(2 * streams + 400)}
        self.haproxy = procs.start("haproxy", [args.haproxy, "-db", "-f",
                                               os.path.join(ROOT, "haproxy", "haproxy.cfg")],
                                   self.port, env)
        small = sized_body(200).encode()
        if not wait_until(10, lambda: self.post(small)[0] == 200, 0.1):
            raise RuntimeError("the gateway does not answer 200 (see haproxy.log, agent.log)")

    def close(self):
        self.procs.stop("haproxy")
        self.procs.stop("agent")

    def post(self, body):
        try:
            return exchange(self.port, "POST", "/v1/chat/completions", body)
        except OSError as e:
            return 0, {}, str(e).encode()

    def mock(self, path, body):
        status, _, data = exchange(self.mock_port, "POST", path, body)
        if status != 200:
            raise RuntimeError(f"mock {path}: {status} {data[:200]!r}")

    def mock_requests(self):
        return json.loads(exchange(self.mock_port, "GET", "/_mock/stats")[2])["requests"]

    def by_model(self, size):
        status, headers, data = self.post(sized_body(size).encode())
        if status != 200:
            return f"? ({status})"
        return "yes" if headers.get("x-mock-key-id", "") in MODEL_KEYS else "no: default"

    def retried(self, size):
        for key in KEYS:
            self.mock(f"/_mock/keys/{key}", {"status": 429, "retry_after": 1})
        try:
            before = self.mock_requests()
            status, _, _ = self.post(sized_body(size).encode())
            attempts = self.mock_requests() - before
        finally:
            for key in KEYS:
                self.mock(f"/_mock/keys/{key}", {"status": 0})
        return f"{'yes' if attempts > 1 else 'no'} ({attempts} att.)"

    def memory_per_1k_streams(self, size, streams):
        """HAProxy's RSS growth with `streams` slow streams open, per 1,000 streams, MiB."""
        self.mock("/_mock/faults", {"chunk_delay_ms": 1000, "stream_chunks": 120})
        body = sized_body(size, stream=True).encode()
        head = (f"POST /v1/chat/completions HTTP/1.1\r\nhost: bench\r\n"
                f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n").encode()
        socks = []
        try:
            time.sleep(0.5)
            idle = rss_kib(self.haproxy.pid)
            for _ in range(streams):
                s = socket.create_connection(("127.0.0.1", self.port), timeout=60)
                s.sendall(head + body)
                socks.append(s)
            open_streams = 0
            refused = collections.Counter()  # what the others got instead
            for s in socks:
                s.settimeout(60)
                got = b""
                try:
                    while b"\r\n\r\n" not in got:
                        chunk = s.recv(4096)
                        if not chunk:
                            break
                        got += chunk
                except OSError as e:
                    got = str(e).encode()
                if got.startswith(b"HTTP/1.1 200"):
                    open_streams += 1
                else:
                    refused[got.split(b"\r\n")[0].decode(errors="replace")[:40] or "closed"] += 1
            busy = rss_kib(self.haproxy.pid)
        finally:
            for s in socks:
                s.close()
            self.mock("/_mock/faults", {"chunk_delay_ms": 0, "stream_chunks": 8})
        if open_streams == 0:
            return "? (no stream opened)"
        figure = f"{(busy - idle) / 1024 * 1000 / open_streams:.0f}"
        # Streams refused or timed out hold little: the figure is over those open.
        if open_streams == streams:
            return figure
        others = ", ".join(f"{n}x {what}" for what, n in refused.most_common(2))
        return f"{figure} ({open_streams} open; {others})"


def e2e_figures(args, size, bufsize):
    """req/s and CPU us/req of the keymux data path from bench/e2e.sh."""
    out = subprocess.run([os.path.join(HERE, "e2e.sh"), "--no-build", "--keymux-only",
                          "--duration", str(args.duration), "--haproxy", args.haproxy,
                          "--body-size", str(size), "--bufsize", str(bufsize)],
                         capture_output=True, text=True,
                         env=dict(os.environ, BUILD_DIR=os.path.relpath(args.build_dir, ROOT)))
    for line in out.stdout.splitlines():
        if line.startswith("haproxy + keymux"):
            f = line.split()
            return f[3], f[7] + (" (errors)" if "errors" in line else "")
    return "? (e2e.sh failed)", out.stderr.strip().splitlines()[-1:] or ["?"]


def kib(n):
    return f"{n // 1048576} MiB" if n >= 1048576 else f"{n // 1024} KiB"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--haproxy", default="/usr/sbin/haproxy")
    parser.add_argument("--sizes", default="4096,65536,409600")
    parser.add_argument("--bufsizes", default="32768,65536,131072,1048576")
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--build-dir", default=os.path.join(ROOT, "build-bench"))
    args = parser.parse_args()
    args.build_dir = os.path.abspath(args.build_dir)
    args.haproxy = os.path.abspath(args.haproxy) if os.sep in args.haproxy else args.haproxy
    sizes = [int(x) for x in args.sizes.split(",")]
    bufsizes = [int(x) for x in args.bufsizes.split(",")]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, args.streams + 200)), hard))

    version = subprocess.run([args.haproxy, "-v"], capture_output=True, text=True).stdout.splitlines()
    print(f"haproxy: {version[0] if version else '?'} ({args.haproxy})")
    print(f"command: bench/request_size.py --haproxy {args.haproxy} --sizes {args.sizes} "
          f"--bufsizes {args.bufsizes} --streams {args.streams} --duration {args.duration}")
    print("machine: shared, 2 CPUs, nothing pinned; compare the cells with each other\n")
    rows = []
    with tempfile.TemporaryDirectory(prefix="keymux-request-size.") as work:
        procs = Processes(work)
        try:
            mock_port = free_port()
            keys = [a for k in KEYS for a in ("--key", f"{k}={k.replace('rs-', 'rs-fake-')}")]
            procs.start("mock", [os.path.join(args.build_dir, "keymux-mock-upstream"), "--listen",
                                 f"127.0.0.1:{mock_port}", "--threads", "1", "--quiet", *keys],
                        mock_port)
            for bufsize in bufsizes:
                for size in sizes:
                    # Throughput first: not in the wake of the slow streams' teardown.
                    rps, cpu = e2e_figures(args, size, bufsize)
                    cell = Cell(procs, args, mock_port, bufsize, args.streams)
                    try:
                        model = cell.by_model(size)
                        memory = cell.memory_per_1k_streams(size, args.streams)
                        retry = cell.retried(size)
                    finally:
                        cell.close()
                    row = (kib(size), kib(bufsize), retry, model, rps, cpu, memory)
                    print("  " + " | ".join(row), flush=True)
                    rows.append(row)
        finally:
            procs.stop_all()
    print()
    header = ("request", "tune.bufsize", "retried on 429", "routed by model (model last)",
              "req/s (-c32)", "CPU µs/req", "RSS MiB per 1k streams")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
