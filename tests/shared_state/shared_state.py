#!/usr/bin/env python3
"""Several gateways, one budget: N gateways (HAProxy + keymux agent each) that
share their keys through one redis-server, in front of one mock provider, all
on free loopback ports.

  shared_state.py HAPROXY AGENT MOCK REDIS_SERVER [--nodes N] [--duration S]
                  [--fault-duration S] [--events N] [--only PHASES] [--report FILE]
                  [--report-only PATTERNS] [--window S] [--keep]

Phases (--only takes a comma-separated subset):
  rr          round-robin traffic over the gateways, offered at 3x the keys'
              capacity, on an rpm-limited and a tpm-limited route at once
  skew        the same with 90% of the traffic on one gateway
  cooldown    a 429 seen by gateway 1 (only it gets traffic): how long until
              every other gateway shows the key cooling (admin API, polled),
              and whether they still send to it afterwards (mock audit)
  quarantine  the same for a 401 (quarantine), and an operator's enable
  faults      Redis faults under traffic: kill -9 + restart, CLIENT PAUSE 2000
              ALL, DEBUG SLEEP 2, FUNCTION FLUSH, CLIENT KILL TYPE pubsub; each
              reported as overshoot, refused requests that fit the budget
              (a route offered 50% of its limit) and recovery time (keymux_state_healthy)
  startup     every gateway restarted at once under traffic (3x a key's capacity):
              the overshoot while they first reach Redis

The figures come from the mock's sliding-window audit (POST /_mock/audit):
the most requests and tokens each key received in any window of the agents'
limit window. Overshoot is that peak minus the limit.

What the agent supports is probed: `keymux-agent --check` tells whether it
knows `policy.limit_window` (else the window is 60 s) and `state:` (else each
gateway keeps its own budget: the baseline, overshoot about N x); Redis tells,
a few seconds after the gateways start, whether they loaded a FUNCTION library
(the leases) and subscribed to a channel (cooldowns, quarantines). A check
whose feature is missing, or named in --report-only, is printed as REPORT
(measured, not asserted) with the reason; the exit status counts only
asserted checks.
Standard library only; everything started here is stopped by PID.
"""

import argparse
import asyncio
import fnmatch
import hashlib
import http.client
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
from loopback import free_port, port_open, wait_until  # noqa: E402
from http1 import read_response  # noqa: E402
from prometheus import metric, parse_samples  # noqa: E402

CLIENT_TOKEN = "shared-state-client-token"
ADMIN_TOKEN = "shared-state-admin-token"
WINDOW_S = 2.0          # policy.limit_window when the agent has it (--window)
LEASE_LIFETIME = "1s"     # the shortest state.lease_lifetime
LEASE_SECONDS = 1.0
RPM = 40                # per key and window, rpm route (and the fault route)
TPM = 1200              # per key and window, tpm route
FIT_RPM = 200           # the route offered half its limit during the faults
OVERLOAD = 3.0          # offered traffic / capacity when saturating
RECOVERY_BOUND = 3.0    # seconds from a Redis fault's end to every node healthy again

FAULTS = ["kill", "pause", "sleep", "flush", "pubsub"]

# Providers: name -> (key count, rpm, tpm). Every phase has keys of its own, so
# that no window, lease or cooldown carries over from one phase to the next.
PROVIDERS = {"cool": (4, 0, 0), "quar": (2, 0, 0), "warm": (1, 0, 0)}
for _phase in ("rr", "skew"):
    PROVIDERS[f"{_phase}-rpm"] = (2, RPM, 0)
    PROVIDERS[f"{_phase}-tpm"] = (2, 0, TPM)
PROVIDERS["start-sat"] = (2, RPM, 0)  # saturated while every gateway restarts
for _fault in FAULTS:
    PROVIDERS[f"{_fault}-sat"] = (2, RPM, 0)   # saturated: the overshoot
    PROVIDERS[f"{_fault}-fit"] = (1, FIT_RPM, 0)  # offered half its limit: refusals that fit


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


def key_ids(provider):
    return [f"{provider}-{chr(ord('a') + i)}" for i in range(PROVIDERS[provider][0])]


def body_for(model):
    """A chat body whose real usage (what the mock reports and its audit counts) is
    below keymux's estimate: its length is 0 mod 3 (tests/mock_upstream/llm_request.h).
    The agents settle each answer's real count, so the tpm checks below measure
    real tokens against the limit, surpluses given back included."""
    pad = ""
    while True:
        body = json.dumps({"model": model, "max_tokens": 16,
                           "messages": [{"role": "user", "content": "Hello" + pad}]})
        if len(body) % 3 == 0:
            return body
        pad += "!"


def real_tokens(model):
    """The mock's usage for body_for(model): prompt bytes/4, half the output cap."""
    return len(body_for(model)) // 4 + 16 // 2


def flatten_bytes(reply):
    """Every bulk string of a RESP reply (nested lists), joined."""
    if isinstance(reply, list):
        return b" ".join(flatten_bytes(r) for r in reply)
    return reply if isinstance(reply, bytes) else b""


def percentile(values, q):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(seconds):
    return "n/a" if seconds is None else f"{seconds * 1000:.1f} ms"


# ---------------------------------------------------------------- Redis


def resp_command(port, *args, timeout=5.0):
    """One Redis command over RESP; the reply as bytes/int/list, or an Exception for -ERR."""
    out = f"*{len(args)}\r\n".encode()
    for a in args:
        a = str(a).encode()
        out += f"${len(a)}\r\n".encode() + a + b"\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(out)
        f = s.makefile("rb")

        def read():
            line = f.readline().rstrip(b"\r\n")
            kind, rest = line[:1], line[1:]
            if kind == b"+":
                return rest
            if kind == b"-":
                return RuntimeError(rest.decode())
            if kind == b":":
                return int(rest)
            if kind == b"$":
                n = int(rest)
                return None if n < 0 else f.read(n + 2)[:-2]
            if kind == b"*":
                n = int(rest)
                return None if n < 0 else [read() for _ in range(n)]
            raise RuntimeError(f"bad RESP reply {line!r}")
        return read()


class Redis:
    def __init__(self, binary, run_dir):
        self.binary, self.dir = binary, os.path.join(run_dir, "redis")
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.proc = None
        self.log = open(os.path.join(run_dir, "redis.log"), "ab")

    def start(self):
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--enable-debug-command", "local", "--dir", self.dir],
            stdout=self.log, stderr=subprocess.STDOUT)
        if not wait_until(10, lambda: self.ping() or self.proc.poll() is not None, 0.02) \
                or self.proc.poll() is not None:
            raise RuntimeError("redis-server did not start (see redis.log)")

    def ping(self):
        try:
            return resp_command(self.port, "PING", timeout=0.5) == b"PONG"
        except OSError:
            return False

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---------------------------------------------------------------- gateways


class Gateway:
    """One node: an agent and its HAProxy, with their own ports, run directory
    and instance name."""

    def __init__(self, rig, index):
        self.rig, self.index = rig, index
        self.node = f"gw{index + 1}"
        self.run = os.path.join(rig.run, self.node)
        os.makedirs(self.run, exist_ok=True)
        self.port, self.stats, self.agent_port, self.admin_port = (
            free_port(), free_port(), free_port(), free_port())
        self.config = os.path.join(self.run, "keymux.yaml")
        # HAProxy's outcome lines (a 2xx settles through them) reach this node's agent only.
        self.outcome_socket = os.path.join(self.run, "outcomes.sock")
        self.procs = {}

    def env(self):
        return dict(os.environ,
                    KEYMUX_GATEWAY_BIND=f"127.0.0.1:{self.port}",
                    KEYMUX_STATS_BIND=f"127.0.0.1:{self.stats}",
                    KEYMUX_AGENT_ADDR=f"127.0.0.1:{self.agent_port}",
                    KEYMUX_MOCK_ADDR=f"127.0.0.1:{self.rig.mock_port}",
                    KEYMUX_HAPROXY_DIR=os.path.join(ROOT, "haproxy"),
                    KEYMUX_RUN_DIR=self.run,
                    KEYMUX_INSTANCE=f"shared-{self.node}-{self.port}",
                    KEYMUX_OUTCOME_ADDR=f"unix@{self.outcome_socket}",
                    KEYMUX_SOURCE_RATE_LIMIT="0")

    def spawn(self, name, argv, port):
        log = open(os.path.join(self.run, f"{name}.log"), "ab")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=self.env(),
                                cwd=ROOT)
        self.procs[name] = proc
        if not wait_until(15, lambda: port_open(port) or proc.poll() is not None, 0.02) \
                or proc.poll() is not None:
            raise RuntimeError(f"{self.node} {name} did not start; see {self.run}/{name}.log")

    def start(self):
        self.spawn("agent", [self.rig.agent_bin, "--config", self.config, "--listen",
                             f"127.0.0.1:{self.agent_port}", "--threads", "1",
                             "--admin-listen", f"127.0.0.1:{self.admin_port}",
                             "--outcome-listen", f"unix:{self.outcome_socket}",
                             "--log-level", "warn"], self.agent_port)
        self.spawn("haproxy", [self.rig.haproxy_bin, "-W", "-db", "-f",
                               os.path.join(ROOT, "haproxy", "haproxy.cfg")], self.port)

    def stop(self):
        for name in ("haproxy", "agent"):
            proc = self.procs.pop(name, None)
            if proc is None or proc.poll() is not None:
                continue
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def admin(self, method, path, timeout=2.0):
        conn = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=timeout)
        try:
            conn.request(method, path, headers={"authorization": f"Bearer {ADMIN_TOKEN}"})
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()


def config_text(node, window, state_yaml):
    providers, routes = [], []
    for name, (count, rpm, tpm) in PROVIDERS.items():
        keys = []
        for key in key_ids(name):
            limits = (f", rpm: {rpm}" if rpm else "") + (f", tpm: {tpm}" if tpm else "")
            keys.append(f"{{id: {key}, secret: sk-shared-{key}{limits}}}")
        providers.append(f"  - {{name: p-{name}, backend: be_mock, auth: bearer, "
                         f"keys: [{', '.join(keys)}]}}")
        routes.append(f"  - {{name: {name}, models: [m-{name}], targets: [{{provider: p-{name}}}]"
                      + (", default: true}" if name == "warm" else "}"))
    text = ("# Written by tests/shared_state/shared_state.py for one node.\n"
            "providers:\n" + "\n".join(providers) + "\nroutes:\n" + "\n".join(routes) +
            "\npolicy:\n  attempts: 3\n")
    if window:
        text += f"  limit_window: {window}\n"
    if state_yaml:
        text += state_yaml.replace("@NODE@", node)
    text += (f"admin:\n  token_sha256: \"{sha256(ADMIN_TOKEN)}\"\n"
             f"clients:\n  - name: shared\n    token_sha256: \"{sha256(CLIENT_TOKEN)}\"\n")
    return text


def state_yaml(redis_port, prefix):
    # `state:` as redis-core defines it (proto/keymux/config.proto, message State).
    return ("state:\n"
            f"  redis: \"127.0.0.1:{redis_port}\"\n"
            f"  key_prefix: \"{prefix}\"\n"
            "  node: \"@NODE@\"\n"
            f"  lease_lifetime: {LEASE_LIFETIME}\n")


# ---------------------------------------------------------------- the rig


class Rig:
    def __init__(self, args):
        self.haproxy_bin, self.agent_bin = args.haproxy, args.agent
        self.mock_bin, self.redis_bin = args.mock, args.redis_server
        self.keep = args.keep
        self.wanted_window = args.window
        self.run = tempfile.mkdtemp(prefix="keymux-shared.")
        self.mock_port = free_port()
        self.redis = Redis(self.redis_bin, self.run)
        self.gateways = [Gateway(self, i) for i in range(args.nodes)]
        self.mock_proc = None
        self.features = {}

    def probe(self):
        """Which of limit_window and state: this agent accepts (`--check`)."""
        def accepts(text):
            path = os.path.join(self.run, "probe.yaml")
            with open(path, "w") as f:
                f.write(text)
            r = subprocess.run([self.agent_bin, "--check", "--config", path],
                               capture_output=True, text=True)
            return r.returncode == 0, (r.stdout + r.stderr).strip()
        window = f"{self.wanted_window:g}s"
        self.features["window"], why_w = accepts(config_text("probe", window, None))
        self.features["state"], why_s = accepts(
            config_text("probe", window if self.features["window"] else None,
                        state_yaml(self.redis.port, "probe:")))
        self.window_s = self.wanted_window if self.features["window"] else 60.0
        for name, why in (("window", why_w), ("state", why_s)):
            if not self.features[name]:
                print(f"  the agent lacks {'policy.limit_window' if name == 'window' else 'state:'}"
                      f" ({why.splitlines()[0] if why else 'rejected'})")

    def start(self):
        self.redis.start()
        self.probe()
        window = f"{self.window_s:g}s" if self.features["window"] else None
        shared = state_yaml(self.redis.port, f"keymux-test-{os.getpid()}:") \
            if self.features["state"] else None
        argv = [self.mock_bin, "--listen", f"127.0.0.1:{self.mock_port}", "--threads", "2",
                "--window-ms", str(int(self.window_s * 1000)), "--quiet"]
        for name in PROVIDERS:
            for key in key_ids(name):
                argv += ["--key", f"{key}=sk-shared-{key}"]
        log = open(os.path.join(self.run, "mock.log"), "ab")
        self.mock_proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        if not wait_until(10, lambda: port_open(self.mock_port), 0.02):
            raise RuntimeError("the mock did not start")
        for gw in self.gateways:
            with open(gw.config, "w") as f:
                f.write(config_text(gw.node, window, shared))
            gw.start()
        # Every gateway serves the warm route before any phase.
        for gw in self.gateways:
            if not wait_until(15, lambda: one_request(gw.port, "m-warm") == 200, 0.1):
                raise RuntimeError(f"{gw.node} never answered 200 (see {gw.run})")
        self.probe_redis()

    def probe_redis(self):
        """What the agents do with Redis, from Redis's side."""
        def functions():
            reply = resp_command(self.redis.port, "FUNCTION", "LIST")
            return isinstance(reply, list) and len(reply) > 0

        def channels():
            reply = resp_command(self.redis.port, "PUBSUB", "CHANNELS")
            patterns = resp_command(self.redis.port, "PUBSUB", "NUMPAT")
            return (isinstance(reply, list) and len(reply) > 0) or \
                (isinstance(patterns, int) and patterns > 0)
        on = self.features["state"]
        if on:
            # The phases measure the steady state: every gateway healthy first (how long that
            # takes is printed; before it, each may spend a limit of its own).
            t = time.monotonic()
            # and counting every gateway live (a first heartbeat lists only those that
            # beat already, and an unanswered ask's local share follows that count).
            healthy = wait_until(15, lambda: all(HealthWatcher.healthy(gw) is True and
                                                 live_nodes(gw) == len(self.gateways)
                                                 for gw in self.gateways), 0.05)
            print(f"  every gateway healthy (keymux_state_healthy 1, live nodes {len(self.gateways)}) "
                  f"{'after' if healthy else 'NOT within'} {time.monotonic() - t:.2f} s")
        self.features["leases"] = on and wait_until(5, functions, 0.1)
        self.features["pubsub"] = on and wait_until(2, channels, 0.1)
        # Slices that close once spent (see saturation_phase): the library takes a spend
        # duration (spent_ms) with a give-back. Without, a grant counts for the window plus
        # the lease lifetime, and only a window of 9 lifetimes leaves 90% of a limit usable.
        self.features["closes"] = self.features["leases"] and (
            b"spent_ms" in flatten_bytes(resp_command(
                self.redis.port, "FUNCTION", "LIST", "LIBRARYNAME", "keymux", "WITHCODE"))
            or self.window_s >= 9 * LEASE_SECONDS)
        if on:
            for name, what in (("leases", "loaded no FUNCTION library (no leases)"),
                               ("pubsub", "subscribed to no channel (no shared cooldowns)")):
                if not self.features[name]:
                    print(f"  the agents {what}")

    def close(self):
        for gw in self.gateways:
            gw.stop()
        if self.mock_proc and self.mock_proc.poll() is None:
            self.mock_proc.terminate()
            self.mock_proc.wait(10)
        self.redis.stop()
        if self.keep:
            print(f"run directory kept: {self.run}")
        else:
            shutil.rmtree(self.run, ignore_errors=True)

    def mock(self, path, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.mock_port, timeout=10)
        try:
            conn.request("POST" if body is not None or path != "/_mock/audit" else "GET", path,
                         body=json.dumps(body) if body is not None else None)
            r = conn.getresponse()
            data = r.read()
        finally:
            conn.close()
        if r.status != 200:
            raise RuntimeError(f"mock {path} {body}: {r.status} {data!r}")
        return json.loads(data)

    def audit(self, key, events=False, since_us=0):
        body = {"window_ms": int(self.window_s * 1000), "key": key}
        if events:
            body.update(events=True, since_us=int(since_us))
        return self.mock("/_mock/audit", body)["keys"][key]


def scrape(gw):
    """The gateway's /metrics samples (tests/support/prometheus.py); None when the
    admin API did not answer in time, [] for an answer other than 200."""
    try:
        status, body = gw.admin("GET", "/metrics", timeout=2)
    except OSError:
        return None
    return parse_samples(body.decode(errors="replace")) if status == 200 else []


def live_nodes(gw):
    """keymux_state_live_nodes on the gateway's /metrics (None: not answered)."""
    value = metric(scrape(gw) or [], "keymux_state_live_nodes")
    return None if value is None else int(value)


def wait_counts(gateways):
    """Route requests held for a shared slice, summed over the gateways' /metrics:
    started, and ended by refill / deadline (zeros from an agent without them)."""
    counts = {"started": 0, "refill": 0, "deadline": 0}
    for gw in gateways:
        samples = scrape(gw) or []
        counts["started"] += int(metric(samples, "keymux_shared_waits_started_total") or 0)
        for by in ("refill", "deadline"):
            counts[by] += int(metric(samples, "keymux_shared_waits_ended_total", by=by) or 0)
    return counts


def redis_calls(port):
    """The FCALLs Redis has run (INFO commandstats; what the functions call
    inside counts apart): the gateways' asks, give-backs, heartbeats..."""
    reply = resp_command(port, "INFO", "commandstats")
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else ""
    return sum(int(part.split("=", 1)[1]) for line in text.splitlines()
               if line.startswith("cmdstat_fcall:") for part in line.split(":", 1)[1].split(",")
               if part.startswith("calls="))


def key_counter(gateways, name, keys):
    """The sum of a per-key counter (`name{key="..."}`) over the gateways' /metrics."""
    total = 0
    for gw in gateways:
        samples = scrape(gw) or []
        total += sum(metric(samples, name, key=k) or 0 for k in keys)
    return int(total)


def one_request(port, model):
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("POST", "/v1/chat/completions", body=body_for(model),
                     headers={"authorization": f"Bearer {CLIENT_TOKEN}",
                              "content-type": "application/json"})
        status = conn.getresponse().status
        conn.close()
        return status
    except OSError:
        return None


# ---------------------------------------------------------------- load


class Load:
    """Paced traffic: per (model, rate, gateway weights), connections that each
    send at a fixed rate and record (sent at, wall clock; gateway; status)."""

    def __init__(self):
        self.records = []  # (t_wall, gateway index, model, status or error name)

    async def connection(self, port, gw, model, rate, stop_at):
        body = body_for(model).encode()
        request = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: shared\r\n"
                   f"Authorization: Bearer {CLIENT_TOKEN}\r\nContent-Type: application/json\r\n"
                   f"Content-Length: {len(body)}\r\n\r\n").encode() + body
        reader = writer = None
        next_at = time.monotonic()
        while True:
            next_at += 1.0 / rate
            delay = next_at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if time.monotonic() >= stop_at:
                break
            sent = time.time()
            try:
                if writer is None:
                    reader, writer = await asyncio.wait_for(
                        asyncio.open_connection("127.0.0.1", port), 5)
                writer.write(request)
                status, headers, _ = await asyncio.wait_for(read_response(reader), 10)
                if headers.get("connection", "").lower() == "close":
                    writer.close()
                    reader = writer = None
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError,
                    IndexError) as e:
                status = type(e).__name__
                if writer is not None:
                    writer.close()
                reader = writer = None
            self.records.append((sent, gw, model, status))
        if writer is not None:
            writer.close()

    def run(self, ports, flows, seconds):
        """flows: [(model, total rate, [weight per gateway])]."""
        async def main():
            stop_at = time.monotonic() + seconds
            tasks = []
            for model, rate, weights in flows:
                total = sum(weights)
                for gw, weight in enumerate(weights):
                    share = rate * weight / total
                    if share <= 0:
                        continue
                    conns = max(1, math.ceil(share / 40))
                    tasks += [self.connection(ports[gw], gw, model, share / conns, stop_at)
                              for _ in range(conns)]
            await asyncio.gather(*tasks)
        asyncio.run(main())
        return self

    def statuses(self, model=None):
        out = {}
        for _, _, m, status in self.records:
            if model is None or m == model:
                out[status] = out.get(status, 0) + 1
        return out


def round_robin(n):
    return [1] * n


def skewed(n):
    return [0.9] + [0.1 / (n - 1)] * (n - 1) if n > 1 else [1]


# ---------------------------------------------------------------- checks


# Why a check that needs a feature is only reported without it.
WHY_NOT = {
    "window": "the agent lacks policy.limit_window",
    "state": "the agent lacks state:",
    "leases": "the agents loaded no FUNCTION library in Redis (no leases yet)",
    "pubsub": "the agents subscribed to no Redis channel (no shared cooldowns yet)",
    "closes": "the agents' slices do not close once spent: a grant counts for the window plus "
              "the lease lifetime, which caps utilisation below 90% at a window under 9 lifetimes",
}


class Checks:
    def __init__(self, features, report_only):
        self.features, self.report_only = features, set(report_only)
        self.rows = []  # (status, name, detail)
        self.figures = {}

    def add(self, name, ok, detail, needs=None):
        """needs: the agent feature without which this is reported, not asserted."""
        if needs and not self.features.get(needs):
            status = "REPORT"
            detail += f" [not asserted: {WHY_NOT[needs]}]"
        elif any(fnmatch.fnmatchcase(name, pattern) for pattern in self.report_only):
            status = "REPORT"
            detail += " [not asserted: --report-only]"
        else:
            status = "PASS" if ok else "FAIL"
        if status == "REPORT":
            detail = f"{'would pass' if ok else 'would fail'}: {detail}"
        self.rows.append((status, name, detail))
        print(f"    {status} {name}: {detail}")

    def failed(self):
        return sum(1 for s, _, _ in self.rows if s == "FAIL")


def key_figures(rig, provider, limit_kind, t_from, t_to):
    """Per key: the audit's peak window and the share of the limit used in the
    whole windows between t_from + one window (warm-up) and t_to."""
    out = {}
    w = rig.window_s
    for key in key_ids(provider):
        a = rig.audit(key, events=True)
        limit = PROVIDERS[provider][1] if limit_kind == "rpm" else PROVIDERS[provider][2]
        peak = a["max_requests"] if limit_kind == "rpm" else a["max_tokens"]
        start = t_from + w
        windows = int((t_to - start) // w)
        used = 0
        for t_us, tokens, status in a["events"]:
            t = t_us / 1e6
            if start <= t < start + windows * w and status == 200:
                used += 1 if limit_kind == "rpm" else tokens
        util = used / (windows * limit) if windows > 0 else None
        out[key] = {"peak": peak, "limit": limit, "overshoot": peak - limit,
                    "utilisation": util, "windows": windows, "received": a["requests"]}
        if peak > limit:
            out[key]["over"] = over_window(a["events"], w, limit, limit_kind)
    return out


def over_window(events, w, limit, limit_kind):
    """Where the first window over the limit lies: from its first arrival, how far
    (ms) its last arrival came before the window's end. A few ms: the gateways'
    decisions kept the limit and the hop to the mock bunched them; hundreds: the
    decisions themselves went over."""
    times = sorted((t_us / 1e6, 1 if limit_kind == "rpm" else tokens) for t_us, tokens, _ in events)
    first, inside = 0, 0
    for last, (t, n) in enumerate(times):
        inside += n
        while times[first][0] <= t - w:
            inside -= times[first][1]
            first += 1
        if inside > limit:
            return {"slack_ms": round((times[first][0] + w - t) * 1000, 1),
                    "requests": last - first + 1}
    return None


def saturation_phase(rig, checks, phase, name, weights, seconds):
    rig.mock("/_mock/reset")
    ports = [gw.port for gw in rig.gateways]
    # Saturating: more than the limits allow in a window, or in half the phase when the
    # window is longer than that (the 60 s baseline).
    span = min(rig.window_s, seconds / 2)
    rpm_capacity = PROVIDERS[f"{phase}-rpm"][0] * RPM / span
    tpm_capacity = PROVIDERS[f"{phase}-tpm"][0] * TPM / span / real_tokens(f"m-{phase}-tpm")
    calls0 = redis_calls(rig.redis.port)
    t0 = time.time()
    load = Load().run(ports, [(f"m-{phase}-rpm", OVERLOAD * rpm_capacity, weights),
                              (f"m-{phase}-tpm", OVERLOAD * tpm_capacity, weights)], seconds)
    t1 = time.time()
    calls = redis_calls(rig.redis.port) - calls0
    errors = {s: n for s, n in load.statuses().items() if not isinstance(s, int)}
    print(f"    {len(load.records)} requests ({len(load.records) / seconds:.0f}/s): "
          f"rpm route {load.statuses(f'm-{phase}-rpm')}, "
          f"tpm route {load.statuses(f'm-{phase}-tpm')}; Redis FCALLs "
          f"{calls / (t1 - t0) / len(rig.gateways):.0f}/s per gateway (4 keys, heartbeats too)")
    checks.add(f"{name}: every request answered", not errors, f"connection errors {errors or 0}")
    n = len(rig.gateways)
    for kind, provider in (("rpm", f"{phase}-rpm"), ("tpm", f"{phase}-tpm")):
        figures = key_figures(rig, provider, kind, t0, t1)
        checks.figures[f"{name}-{kind}"] = figures
        worst = max(f["overshoot"] for f in figures.values())
        ratio = max(f["peak"] / f["limit"] for f in figures.values())
        utils = [f["utilisation"] for f in figures.values() if f["utilisation"] is not None]
        util = min(utils) if utils else None
        detail = ", ".join(f"{k} peak {f['peak']}/{f['limit']}" +
                           (f" (its last arrival {f['over']['slack_ms']} ms before the end of "
                            f"a window from its first)" if f.get("over") else "")
                           for k, f in figures.items())
        # Requests a node took from its local share while an ask went unanswered (Redis
        # slow): not checked against the shared log, the usual cause of an overshoot.
        local = key_counter(rig.gateways, "keymux_key_shared_taken_degraded_total",
                            key_ids(provider))
        checks.add(f"{name}: {kind} overshoot <= 0", worst <= 0,
                   f"{detail} (worst {worst:+d}, {ratio:.2f}x the limit; {n} nodes; "
                   f"{local} taken from a local share)", "leases")
        # A closed slice counts in Redis's log for the window plus its spend duration (short
        # when saturated), so the nodes together use nearly the whole limit, also at a 2 s
        # window. Agents whose slices count for their whole lifetime are only reported.
        windows = min(f["windows"] for f in figures.values())
        where = "n/a (no whole window)" if util is None else \
            f"lowest key {util:.1%} of the limit over {windows} windows of {rig.window_s:g} s"
        checks.add(f"{name}: {kind} utilisation >= 90% of the limit",
                   util is not None and util >= 0.9, where,
                   "closes" if rig.features["leases"] else "window")
        if not rig.features["leases"]:
            # The harness sees what it must catch: without sharing, each node spends it all.
            checks.add(f"{name}: {kind} baseline overshoot is visible", worst > 0,
                       f"{ratio:.2f}x the limit without leases")


# ---------------------------------------------------------------- propagation


class KeyWatcher:
    """Polls GET /v1/keys on some gateways; remembers when each key first showed `state`."""

    def __init__(self, gateways, keys, state):
        self.gateways, self.keys, self.state = gateways, set(keys), state
        self.seen = {}  # (node, key) -> wall time
        self.stop = False
        self.threads = [threading.Thread(target=self.poll, args=(gw,)) for gw in gateways]

    def poll(self, gw):
        conn = http.client.HTTPConnection("127.0.0.1", gw.admin_port, timeout=2)
        while not self.stop and any((gw.node, k) not in self.seen for k in self.keys):
            try:
                conn.request("GET", "/v1/keys", headers={"authorization": f"Bearer {ADMIN_TOKEN}"})
                keys = json.loads(conn.getresponse().read())
            except (OSError, http.client.HTTPException, ValueError):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", gw.admin_port, timeout=2)
                continue
            now = time.time()
            items = keys.get("keys", keys) if isinstance(keys, dict) else keys
            for item in items:
                if item.get("id") in self.keys and item.get("state") == self.state:
                    self.seen.setdefault((gw.node, item["id"]), now)
            time.sleep(0.0005)
        conn.close()

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def wait(self, seconds):
        wait_until(seconds, lambda: len(self.seen) == len(self.gateways) * len(self.keys), 0.005)

    def __exit__(self, *exc):
        self.stop = True
        for t in self.threads:
            t.join()


def first_status_time(rig, key, status, since_us):
    for t_us, _, s in rig.audit(key, events=True, since_us=since_us)["events"]:
        if s == status:
            return t_us / 1e6
    return None


def key_states(gw, keys):
    status, body = gw.admin("GET", "/v1/keys")
    data = json.loads(body)
    items = data.get("keys", data) if isinstance(data, dict) else data
    return {item["id"]: item.get("state") for item in items if item.get("id") in keys}


def cooldown_phase(rig, checks, events):
    """Each event: keys a-c of p-cool answer 429 (retry-after 1 s); gateway 1
    alone gets traffic until it has seen all three; the others are watched."""
    first, others = rig.gateways[0], rig.gateways[1:]
    hit = ["cool-a", "cool-b", "cool-c"]
    delays, failing_429s, later_uses, unseen = [], 0, 0, 0
    for event in range(events):
        rig.mock("/_mock/reset")
        for k in hit:
            rig.mock(f"/_mock/keys/{k}", {"status": 429, "retry_after": 1})
        since = time.time() * 1e6
        with KeyWatcher(others, hit, "cooling") as watcher:
            for _ in range(30):
                one_request(first.port, "m-cool")
                if all(rig.audit(k)["requests"] > 0 for k in hit):
                    break
            watcher.wait(1.0)
        for k in hit:
            t429 = first_status_time(rig, k, 429, since)
            for gw in others:
                seen = watcher.seen.get((gw.node, k))
                if t429 is None or seen is None:
                    unseen += 1
                else:
                    delays.append(max(0.0, seen - t429))
        # The others, asked now, must not send to a cooling key.
        before = {k: rig.audit(k)["requests"] for k in hit}
        for gw in others:
            for _ in range(6):
                one_request(gw.port, "m-cool")
        later_uses += sum(rig.audit(k)["requests"] - before[k] for k in hit)
        failing_429s += sum(1 for k in hit for e in rig.audit(k, events=True)["events"]
                            if e[2] == 429)
        for k in hit:
            rig.mock(f"/_mock/keys/{k}", {"status": 0})
        # Back in service everywhere before the next event.
        wait_until(6, lambda: all(set(key_states(gw, hit).values()) == {"ok"}
                                  for gw in rig.gateways), 0.05)
    p50, p99 = percentile(delays, 0.5), percentile(delays, 0.99)
    checks.figures["cooldown"] = {"samples": len(delays), "unseen": unseen, "p50_s": p50,
                                  "p99_s": p99, "max_s": max(delays) if delays else None,
                                  "later_uses": later_uses, "upstream_429s": failing_429s,
                                  "events": events}
    print(f"    {events} events x {len(hit)} keys x {len(others)} nodes: propagation p50 {ms(p50)},"
          f" p99 {ms(p99)}, max {ms(max(delays) if delays else None)}; {unseen} never seen; "
          f"{failing_429s} upstream 429s in all ({events * len(hit)} needed)")
    checks.add("cooldown: every other node shows the 429's cooldown",
               unseen == 0, f"{unseen} of {events * len(hit) * len(others)} (node, key) never "
               f"seen cooling within 1 s", "pubsub")
    checks.add("cooldown: propagation p99 <= 100 ms", p99 is not None and p99 <= 0.1 and unseen == 0,
               f"p50 {ms(p50)}, p99 {ms(p99)} over {len(delays)} samples", "pubsub")
    checks.add("cooldown: no other node sends to the cooled key", later_uses == 0,
               f"{later_uses} requests to a cooled key from the other nodes "
               f"({6 * len(others)} per event asked)", "pubsub")


def quarantine_phase(rig, checks):
    first, others = rig.gateways[0], rig.gateways[1:]
    rig.mock("/_mock/reset")
    rig.mock("/_mock/keys/quar-a", {"status": 401})
    since = time.time() * 1e6
    with KeyWatcher(others, ["quar-a"], "quarantined") as watcher:
        for _ in range(30):
            one_request(first.port, "m-quar")
            if rig.audit("quar-a")["requests"] > 0:
                break
        watcher.wait(2.0)
    t401 = first_status_time(rig, "quar-a", 401, since)
    delays = [watcher.seen[(gw.node, "quar-a")] - t401 for gw in others
              if (gw.node, "quar-a") in watcher.seen and t401 is not None]
    checks.figures["quarantine"] = {"reached": len(delays), "of": len(others),
                                    "max_s": max(delays) if delays else None}
    checks.add("quarantine: a 401 reaches every node", len(delays) == len(others),
               f"{len(delays)} of {len(others)} nodes quarantined quar-a"
               + (f", the last after {ms(max(delays))}" if delays else ""), "pubsub")
    rig.mock("/_mock/keys/quar-a", {"status": 0})
    # An operator's enable on one node applies to all.
    first.admin("POST", "/v1/keys/quar-a/enable")
    enabled = wait_until(2, lambda: all(key_states(gw, ["quar-a"]).get("quar-a") == "ok"
                                        for gw in others), 0.02)
    checks.add("quarantine: an enable on one node applies to all", enabled,
               "every node back to ok" if enabled else "some node still quarantined", "pubsub")
    for gw in others:
        gw.admin("POST", "/v1/keys/quar-a/enable")


# ---------------------------------------------------------------- Redis faults


def fault_actions(rig):
    r = rig.redis

    def kill_restart():
        r.kill9()
        time.sleep(1.0)
        r.start()
    # (provider prefix, name, action, how long Redis stays unusable after the action returns)
    return [
        ("kill", "kill -9 + restart (1 s down)", kill_restart, 0.0),
        ("pause", "CLIENT PAUSE 2000 ALL",
         lambda: resp_command(r.port, "CLIENT", "PAUSE", 2000, "ALL"), 2.0),
        ("sleep", "DEBUG SLEEP 2", lambda: resp_command(r.port, "DEBUG", "SLEEP", 2, timeout=5),
         0.0),
        ("flush", "FUNCTION FLUSH", lambda: resp_command(r.port, "FUNCTION", "FLUSH"), 0.0),
        ("pubsub", "CLIENT KILL TYPE pubsub",
         lambda: resp_command(r.port, "CLIENT", "KILL", "TYPE", "pubsub"), 0.0),
    ]


class HealthWatcher:
    """Polls every gateway's /metrics for keymux_state_healthy (0 while it
    considers Redis unusable: degraded; /readyz stays ready then); remembers
    the first and the last time any gateway was not healthy."""

    def __init__(self, gateways):
        self.gateways = gateways
        self.first_unhealthy = self.last_unhealthy = None
        self.stop = False
        self.thread = threading.Thread(target=self.poll)

    @staticmethod
    def healthy(gw):
        """True, False, or None when the admin API did not answer in time."""
        samples = scrape(gw)
        if samples is None:
            return None
        value = metric(samples, "keymux_state_healthy")
        # No such gauge (no state:): nothing to be unhealthy about, if it answered 200.
        return bool(samples) if value is None else value == 1

    def poll(self):
        while not self.stop:
            for gw in self.gateways:
                if self.healthy(gw) is False:
                    now = time.time()
                    self.first_unhealthy = self.first_unhealthy or now
                    self.last_unhealthy = now
            time.sleep(0.02)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop = True
        self.thread.join()


def faults_phase(rig, checks, seconds, only=None):
    ports = [gw.port for gw in rig.gateways]
    n = len(rig.gateways)
    span = min(rig.window_s, seconds / 2)
    table = []
    for prefix, name, action, extra_down in fault_actions(rig):
        if only and prefix not in only:
            continue
        rig.mock("/_mock/reset")
        healthy_before = all(HealthWatcher.healthy(gw) is True for gw in rig.gateways)
        waits_before = wait_counts(rig.gateways)
        t0 = time.time()
        done = {}

        def inject():
            time.sleep(seconds * 0.3)
            done["start"] = time.time()
            try:
                action()
            except Exception as e:  # reported, never lost
                done["error"] = f"{type(e).__name__}: {e}"
            done["end"] = time.time() + extra_down

        side = threading.Thread(target=inject)
        with HealthWatcher(rig.gateways) as health:
            side.start()
            load = Load().run(ports, [
                (f"m-{prefix}-sat", OVERLOAD * PROVIDERS[f"{prefix}-sat"][0] * RPM / span,
                 round_robin(n)),
                (f"m-{prefix}-fit", 0.5 * FIT_RPM / rig.window_s, round_robin(n))], seconds)
            side.join()
        t1 = time.time()
        waits_after = wait_counts(rig.gateways)
        waits = {k: waits_after[k] - waits_before[k] for k in waits_after}
        figures = key_figures(rig, f"{prefix}-sat", "rpm", t0, t1)
        overshoot = max(f["overshoot"] for f in figures.values())
        fit = [r for r in load.records if r[2] == f"m-{prefix}-fit"]
        refused = [r for r in fit if r[3] != 200]
        errors = {s: n for s, n in load.statuses().items() if not isinstance(s, int) or s >= 500}
        end = done.get("end", t1)
        last_refused = max((r[0] for r in refused), default=None)
        recovery = detected = None
        if health.last_unhealthy is not None:
            recovery = max(0.0, health.last_unhealthy - end)
            detected = health.first_unhealthy - done.get("start", t0)
        row = {"fault": name, "overshoot": overshoot,
               "peak": max(f["peak"] for f in figures.values()), "limit": RPM,
               "refused_fitting": len(refused), "fitting_sent": len(fit),
               "errors": errors, "degraded_seen": health.last_unhealthy is not None,
               "detected_after_s": detected, "recovery_s": recovery,
               "last_refused_after_end_s": None if last_refused is None else last_refused - end,
               "waits": waits, "error": done.get("error")}
        table.append(row)
        late = row["last_refused_after_end_s"]
        print(f"    {name}: overshoot {overshoot:+d} (peak {row['peak']}/{RPM}), refused fitting "
              f"{len(refused)}/{len(fit)}"
              + (f" (the last {ms(late)} after the fault ended)" if late is not None else "") +
              f", 5xx/errors {errors or 0}, "
              + (f"degraded {ms(detected)} after the fault began, healthy again {ms(recovery)} "
                 "after it ended" if recovery is not None else "never degraded")
              + (f"; action failed: {done['error']}" if done.get("error") else ""))
        print(f"      requests held for a shared slice: {waits['started']} (answered when it came "
              f"{waits['refill']}, at the deadline {waits['deadline']})")
        checks.add(f"fault {name}: the fault was applied", "error" not in done,
                   done.get("error", "ok"))
        # A phase that starts degraded measures the previous fault, not this one.
        checks.add(f"fault {name}: every node healthy when it began", healthy_before,
                   "yes" if healthy_before else "some node still degraded from before "
                   "(keymux_state_healthy 0): this fault's figures are not its own", "leases")
        checks.add(f"fault {name}: every node healthy again within {RECOVERY_BOUND:g} s",
                   recovery is None or recovery <= RECOVERY_BOUND,
                   "never degraded" if recovery is None else f"{recovery:.2f} s after the fault "
                   "ended" + (" (still degraded when the phase ended)"
                              if health.last_unhealthy and health.last_unhealthy > t1 - 0.2 else ""),
                   "leases")
        checks.add(f"fault {name}: no client request fails (no 5xx, no reset)", not errors,
                   f"{errors or 'none'}", "leases")
        checks.add(f"fault {name}: overshoot <= 0", overshoot <= 0,
                   f"peak {row['peak']} for a limit of {RPM}", "leases")
        checks.add(f"fault {name}: no refusal of a request that fits", not refused,
                   f"{len(refused)} of {len(fit)} refused (route at 50% of its limit)", "leases")
        # Settle before the next fault: Redis up, every node healthy (or 10 s).
        wait_until(10, lambda: rig.redis.ping(), 0.05)
        wait_until(10, lambda: all(HealthWatcher.healthy(gw) is True for gw in rig.gateways), 0.05)
    checks.figures["faults"] = table


# ---------------------------------------------------------------- start-up


def startup_phase(rig, checks, seconds):
    """Every gateway restarted at once under saturating traffic: until a node
    first hears from Redis it does not know how many share a limit, and must
    not spend one of its own (it did: +13 of 40 with 3 gateways)."""
    for gw in rig.gateways:
        gw.stop()
    rig.mock("/_mock/reset")
    ports = [gw.port for gw in rig.gateways]
    capacity = PROVIDERS["start-sat"][0] * RPM / min(rig.window_s, seconds / 2)
    load = Load()
    runner = threading.Thread(target=load.run, args=(
        ports, [("m-start-sat", OVERLOAD * capacity, round_robin(len(ports)))], seconds))
    runner.start()
    t = time.monotonic()
    starters = [threading.Thread(target=gw.start) for gw in rig.gateways]
    for s in starters:
        s.start()
    for s in starters:
        s.join()
    healthy = wait_until(15, lambda: all(HealthWatcher.healthy(gw) is True
                                         for gw in rig.gateways), 0.02)
    took = time.monotonic() - t
    runner.join()
    served = load.statuses().get(200, 0)
    print(f"    {len(load.records)} requests while starting: {load.statuses()}; every gateway "
          f"healthy {'after' if healthy else 'NOT within'} {took:.2f} s of the restart")
    figures = key_figures(rig, "start-sat", "rpm", 0, 0)
    checks.figures["startup"] = {"keys": figures, "healthy_after_s": took}
    worst = max(f["overshoot"] for f in figures.values())
    detail = ", ".join(f"{k} peak {f['peak']}/{f['limit']}" for k, f in figures.items())
    checks.add("startup: rpm overshoot <= 0 while the gateways first reach Redis", worst <= 0,
               f"{detail} (worst {worst:+d}; {len(rig.gateways)} nodes restarted at once)",
               "leases")
    checks.add("startup: requests served", served > 0, f"{served} answered 200")


# ---------------------------------------------------------------- main


PHASES = ["rr", "skew", "cooldown", "quarantine", "faults", "startup"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("haproxy")
    ap.add_argument("agent")
    ap.add_argument("mock")
    ap.add_argument("redis_server")
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--window", type=float, default=WINDOW_S,
                    help=f"policy.limit_window in seconds, whole ({WINDOW_S:g})")
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per traffic phase (10)")
    ap.add_argument("--fault-duration", type=float, default=8.0, help="seconds per fault (8)")
    ap.add_argument("--faults", help="comma-separated subset of the faults: " + ",".join(FAULTS))
    ap.add_argument("--events", type=int, default=12, help="429 events for propagation (12)")
    ap.add_argument("--only", help="comma-separated phases: " + ",".join(PHASES))
    ap.add_argument("--report", help="write the figures as JSON to this file")
    ap.add_argument("--report-only", default="",
                    help="comma-separated check names (shell patterns) measured but not asserted")
    ap.add_argument("--keep", action="store_true", help="keep the run directory")
    args = ap.parse_args()
    phases = args.only.split(",") if args.only else PHASES
    unknown = set(phases) - set(PHASES)
    if unknown or args.nodes < 2:
        print(f"shared_state.py: unknown phase(s) {sorted(unknown)}" if unknown
              else "shared_state.py: --nodes wants at least 2", file=sys.stderr)
        return 2
    rig = Rig(args)
    checks = None
    try:
        rig.start()
        checks = Checks(rig.features, [c for c in args.report_only.split(",") if c])
        print(f"  {args.nodes} gateways, Redis on 127.0.0.1:{rig.redis.port}, window "
              f"{rig.window_s:g} s, state: {'shared' if rig.features['state'] else 'none (baseline)'}"
              f"; features {rig.features}")
        for phase in phases:
            print(f"  -- {phase}")
            if phase == "rr":
                saturation_phase(rig, checks, "rr", "round-robin", round_robin(args.nodes),
                                 args.duration)
            elif phase == "skew":
                saturation_phase(rig, checks, "skew", "skewed 90/10", skewed(args.nodes),
                                 args.duration)
            elif phase == "cooldown":
                cooldown_phase(rig, checks, args.events)
            elif phase == "quarantine":
                quarantine_phase(rig, checks)
            elif phase == "startup":
                startup_phase(rig, checks, args.fault_duration)
            elif phase == "faults":
                faults_phase(rig, checks, args.fault_duration,
                             args.faults.split(",") if args.faults else None)
    finally:
        rig.close()
    counts = {s: sum(1 for r in checks.rows if r[0] == s) for s in ("PASS", "FAIL", "REPORT")}
    print(f"  shared state: {counts['PASS']} passed, {counts['FAIL']} failed, "
          f"{counts['REPORT']} reported (not asserted)")
    if args.report:
        with open(args.report, "w") as f:
            json.dump({"features": rig.features, "window_s": rig.window_s, "nodes": args.nodes,
                       "checks": checks.rows, "figures": checks.figures}, f, indent=1)
    return 0 if checks.failed() == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
