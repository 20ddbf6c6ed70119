#!/usr/bin/env python3
"""How many outcome lines does each transport lose under load?

Runs the keymux data path (haproxy/haproxy.cfg, the agent, the mock) under wrk
with fe_inner's outcome lines sent to the agent over a unix datagram socket
(dgram), over UDP on loopback (udp), or through HAProxy's `ring` forwarded
over TCP with octet counting (ring: to the agent, as haproxy.cfg does;
ring-count: to a counting listener here). Every attempt writes a line here (the
shipped config writes none for a non-stream 2xx). Prints, per run: attempts fe_inner saw (its req_tot), lines received,
lines lost, HAProxy's DroppedLogs.

  bench/outcome_transport.py [--haproxy BIN] [--duration S] [--connections 32,128]
                             [--transport dgram,udp,ring,ring-count]
Needs build/keymux-agent, build/keymux-mock-upstream and wrk.
"""
import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
from loopback import free_port, port_open, wait_until  # noqa: E402
from prometheus import metric, parse_samples  # noqa: E402


def wait_port(port, proc, name):
    if not wait_until(10, lambda: port_open(port) or proc.poll() is not None, 0.1):
        sys.exit(f"{name} did not listen on {port}")
    if proc.poll() is not None:
        sys.exit(f"{name} exited")


def stop_all(procs):
    """Stops what a run started, newest first (by PID, never by name)."""
    for p in reversed(procs):
        p.terminate()
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()


class Counter(threading.Thread):
    """A TCP syslog listener that counts outcome lines (octet counting or not)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.lines = 0

    def run(self):
        while True:
            conn, _ = self.sock.accept()
            threading.Thread(target=self.read, args=(conn,), daemon=True).start()

    def read(self, conn):
        tail = b""
        while True:
            data = conn.recv(1 << 16)
            if not data:
                return
            data = tail + data
            self.lines += data.count(b"keymux1 ")
            tail = data[-7:]  # a tag cut between two reads is counted once
            self.lines -= tail.count(b"keymux1 ")


def stats_socket(path, command):
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(path)
        s.sendall(command.encode() + b"\n")
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    return out.decode()


def fe_inner_requests(path):
    for line in stats_socket(path, "show stat").splitlines():
        fields = line.split(",")
        if fields[:2] == ["fe_inner", "FRONTEND"]:
            header = stats_socket(path, "show stat").splitlines()[0].lstrip("# ").split(",")
            return int(fields[header.index("req_tot")])
    return -1


def dropped_logs(path):
    m = re.search(r"^DroppedLogs: (\d+)", stats_socket(path, "show info"), re.M)
    return int(m.group(1)) if m else -1


def agent_samples(admin_port):
    """The agent's /metrics samples (tests/support/prometheus.py)."""
    return parse_samples(
        urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/metrics").read().decode())


def agent_lines(admin_port):
    lines = metric(agent_samples(admin_port), "keymux_outcome_lines_total")
    return -1 if lines is None else int(lines)


def bench_config(src, dst, datagram):
    """haproxy.cfg with an outcome line for every attempt (the shipped one
    silences a non-stream 2xx, which its settle message reports), so that
    every request loads the transport; with `datagram`, fe_inner logs straight
    to KEYMUX_OUTCOME_ADDR (a unix socket path or UDP HOST:PORT), not its ring."""
    text = open(src).read()
    silent = re.compile(r"^    http-response set-log-level silent if \{ var\(txn\.keymux\.ticket\).*\n",
                        re.M)
    assert silent.search(text), "haproxy.cfg's rule silencing a 2xx's outcome line changed"
    text = silent.sub("", text)
    if datagram:
        old = "    log ring@keymux_outcomes len 4096 format raw local0 info\n"
        assert old in text, "haproxy.cfg's outcome log line changed"
        text = text.replace(old, '    log "${KEYMUX_OUTCOME_ADDR}" len 4096 format raw local0 info\n')
    open(dst, "w").write(text)


def run(args, transport, connections, work):
    procs = []
    try:
        mock_port, agent_port, admin_port = free_port(), free_port(), free_port()
        gateway, stats = free_port(), free_port()
        run_dir = tempfile.mkdtemp(dir=work)
        # ring (haproxy.cfg's ring): the agent's TCP listener; ring-count: a
        # counting listener instead of the agent (the agent's CPU left out).
        outcome = f"127.0.0.1:{free_port()}"
        listen = outcome
        if transport == "udp":
            listen = "udp@" + outcome
        elif transport == "unix":  # the ring to the agent's unix stream socket
            outcome = "unix@" + os.path.join(run_dir, "outcomes.sock")
            listen = "unix:" + os.path.join(run_dir, "outcomes.sock")
        elif transport == "dgram":
            outcome = os.path.join(run_dir, "outcomes.sock")
            listen = "unixgram:" + outcome
        keys = re.findall(r"\{id: (\S+), secret: ([^,}]+)", open(
            os.path.join(ROOT, "bench/keymux-bench.yaml")).read())
        argv = [os.path.join(BUILD, "keymux-mock-upstream"), "--listen", f"127.0.0.1:{mock_port}",
                "--threads", "1", "--quiet"]
        for k, s in keys:
            argv += ["--key", f"{k}={s}"]
        log = open(os.path.join(run_dir, "mock.log"), "w")
        procs.append(subprocess.Popen(argv, stdout=log, stderr=log))
        wait_port(mock_port, procs[-1], "mock")
        log = open(os.path.join(run_dir, "agent.log"), "w")
        procs.append(subprocess.Popen(
            [os.path.join(BUILD, "keymux-agent"), "--listen", f"127.0.0.1:{agent_port}",
             "--config", os.path.join(ROOT, "bench/keymux-bench.yaml"), "--threads", "1",
             "--log-level", "warn", "--admin-listen", f"127.0.0.1:{admin_port}",
             "--outcome-listen", listen], stdout=log, stderr=log))
        wait_port(admin_port, procs[-1], "agent")
        counter = None
        if transport == "ring-count":
            counter = Counter()
            counter.start()
            outcome = f"127.0.0.1:{counter.port}"
        cfg = os.path.join(run_dir, "haproxy.cfg")
        bench_config(os.path.join(ROOT, "haproxy/haproxy.cfg"), cfg, transport in ("dgram", "udp"))
        env = dict(os.environ, KEYMUX_GATEWAY_BIND=f"127.0.0.1:{gateway}",
                   KEYMUX_STATS_BIND=f"127.0.0.1:{stats}",
                   KEYMUX_AGENT_ADDR=f"127.0.0.1:{agent_port}",
                   KEYMUX_MOCK_ADDR=f"127.0.0.1:{mock_port}",
                   KEYMUX_HAPROXY_DIR=os.path.join(ROOT, "haproxy"), KEYMUX_RUN_DIR=run_dir,
                   KEYMUX_INSTANCE=f"ot-{gateway}", KEYMUX_OUTCOME_ADDR=outcome,
                   KEYMUX_SOURCE_RATE_LIMIT="0")
        log = open(os.path.join(run_dir, "haproxy.log"), "w")
        procs.append(subprocess.Popen([args.haproxy, "-db", "-f", cfg], env=env, stdout=log,
                                      stderr=log))
        wait_port(gateway, procs[-1], "haproxy")
        time.sleep(1.5)  # spop-check finds the agent
        out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{args.duration}s",
                              "-s", os.path.join(ROOT, "bench/e2e-post.lua"),
                              f"http://127.0.0.1:{gateway}"], capture_output=True, text=True).stdout
        rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        time.sleep(1.0)  # lines still on the way
        admin_sock = os.path.join(run_dir, "haproxy.sock")
        attempts = fe_inner_requests(admin_sock)
        got = counter.lines if counter else agent_lines(admin_port)
        print(f"{transport:10} -c{connections:<4} {float(rps.group(1)) if rps else 0:9.0f} req/s  "
              f"attempts {attempts:8}  lines {got:8}  lost {attempts - got:6}  "
              f"DroppedLogs {dropped_logs(admin_sock)}  non-2xx {non2xx.group(1) if non2xx else 0}",
              flush=True)
    finally:
        stop_all(procs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--haproxy", default="/usr/sbin/haproxy")
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--connections", default="32,128")
    parser.add_argument("--transport", default="dgram,udp,ring")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="keymux-outcome-transport.")
    try:
        print(f"haproxy: {subprocess.run([args.haproxy, '-v'], capture_output=True, text=True).stdout.splitlines()[0]}")
        for transport in args.transport.split(","):
            for c in args.connections.split(","):
                run(args, transport, int(c), work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
