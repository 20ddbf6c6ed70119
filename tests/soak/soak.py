#!/usr/bin/env python3
"""Fault-injection soak: a real HAProxy with haproxy/haproxy.cfg, the keymux
agent and the mock provider on free loopback ports, under a load client that
counts every request and its answer, while faults are injected.

  soak.py HAPROXY AGENT MOCK [--only NAME[,NAME...]] [--duration S]
                             [--connections N] [--keep] [--list]

Each scenario is one phase of --duration seconds (default 8: the short form,
under 4 minutes for all of them) on its own route, provider and keys, so that
one scenario's key states never steer another's. Per scenario it prints
requests, answers by status, connection errors, the client failure rate,
latency and the RSS of the agent and the HAProxy worker, then PASS/FAIL for
each check:
  - every request got exactly one HTTP answer (no reset, no EOF, no timeout);
  - failures (answers other than 200) within the scenario's bound: 0 whenever
    some key can serve; with random faults at rate p on every key and 3
    attempts, under p/20 (1% -> 0.05%, 10% -> 0.5%; independent attempts
    would give p^3, far below: the bound leaves room for time-correlated
    failures, not for amplification);
  - agent and HAProxy RSS flat: growth under 10% (and 1 MiB for the agent,
    2 MiB for HAProxy) from the end of the warm-up (a quarter of the phase)
    to the end.
Exit status 0 when every check passed. Standard library only; everything
started here is stopped by PID.
"""

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
from loopback import free_port, port_open, wait_until  # noqa: E402
from http1 import read_response  # noqa: E402
CLIENT_TOKEN = "soak-client-token"
ADMIN_TOKEN = "soak-admin-token"
BODY = json.dumps({"model": "", "messages": [{"role": "user", "content": "Hello"}]})


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()





def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


# ---------------------------------------------------------------- the load client


class Tally:
    """Every request sent and what became of it."""

    def __init__(self):
        self.sent = 0
        self.statuses = {}
        self.conn_errors = {}  # kind -> count: requests that got no answer
        self.latencies = []
        self.answers = []  # (latency, status)
        self.timeline = []  # (t, status or kind) for the restart checks
        self.bad_bodies = 0  # non-200 answers that are not JSON errors
        self.missing_retry_after = 0  # 429s without retry-after

    def answered(self):
        return sum(self.statuses.values())

    def lost(self):
        return sum(self.conn_errors.values())


async def client_loop(port, model, tally, stop_at, timeout, t0, pace):
    body = BODY.replace('"model": ""', f'"model": "{model}"').encode()
    request = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: soak\r\n"
               f"Authorization: Bearer {CLIENT_TOKEN}\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    reader = writer = None
    while time.monotonic() < stop_at:
        if writer is None:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection("127.0.0.1", port), timeout)
            except (OSError, asyncio.TimeoutError) as e:
                # Not a request: nothing was sent. Counted apart.
                tally.conn_errors["connect:" + type(e).__name__] = \
                    tally.conn_errors.get("connect:" + type(e).__name__, 0) + 1
                await asyncio.sleep(0.05)
                continue
        start = time.monotonic()
        tally.sent += 1
        try:
            writer.write(request)
            status, headers, answer = await asyncio.wait_for(read_response(reader), timeout)
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError,
                IndexError) as e:
            kind = type(e).__name__
            tally.conn_errors[kind] = tally.conn_errors.get(kind, 0) + 1
            tally.timeline.append((start - t0, kind))
            writer.close()
            reader = writer = None
            continue
        now = time.monotonic()
        tally.latencies.append(now - start)
        tally.answers.append((now - start, status))
        tally.statuses[status] = tally.statuses.get(status, 0) + 1
        tally.timeline.append((now - t0, status))
        if status != 200:
            try:
                json.loads(answer)["error"]["message"]
            except (ValueError, KeyError, TypeError):
                tally.bad_bodies += 1
            if status == 429 and "retry-after" not in headers:
                tally.missing_retry_after += 1
        if headers.get("connection", "").lower() == "close":
            writer.close()
            reader = writer = None
        if pace:
            await asyncio.sleep(pace)
    if writer is not None:
        writer.close()


def run_load(port, model, seconds, connections, tally, t0, timeout=15.0, pace=0.0):
    async def main():
        stop_at = time.monotonic() + seconds
        await asyncio.gather(*(client_loop(port, model, tally, stop_at, timeout, t0, pace)
                               for _ in range(connections)))
    asyncio.run(main())


# ---------------------------------------------------------------- the processes


class Rig:
    """HAProxy (master-worker), the agent and the mock of one run."""

    def __init__(self, haproxy, agent, mock, scenarios, keep):
        self.haproxy_bin, self.agent_bin, self.mock_bin = haproxy, agent, mock
        self.keep = keep
        self.run = tempfile.mkdtemp(prefix="keymux-soak.")
        self.procs = {}
        self.gateway, self.stats, self.agent_port = free_port(), free_port(), free_port()
        self.mock_port, self.admin_port, self.dead_port = free_port(), free_port(), free_port()
        self.config = os.path.join(self.run, "soak.yaml")
        self.keys = []
        self.write_config(scenarios)
        self.env = self.haproxy_env(self.gateway, self.stats, self.run)

    def haproxy_env(self, gateway, stats, run_dir):
        return dict(
            os.environ,
            KEYMUX_GATEWAY_BIND=f"127.0.0.1:{gateway}",
            KEYMUX_STATS_BIND=f"127.0.0.1:{stats}",
            KEYMUX_AGENT_ADDR=f"127.0.0.1:{self.agent_port}",
            KEYMUX_MOCK_ADDR=f"127.0.0.1:{self.mock_port}",
            KEYMUX_SOAK_DEAD_PORT=str(self.dead_port),
            KEYMUX_HAPROXY_DIR=os.path.join(ROOT, "haproxy"),
            KEYMUX_RUN_DIR=run_dir,
            KEYMUX_INSTANCE=f"soak-{gateway}",
            # fe_inner's outcome lines: every HAProxy of the soak to its one agent.
            KEYMUX_OUTCOME_ADDR="unix@" + os.path.join(self.run, "outcomes.sock"),
            # One client address at thousands of requests a second: the
            # per-source limit (edge protection) is not what is soaked here.
            KEYMUX_SOURCE_RATE_LIMIT="0",
        )

    def write_config(self, scenarios):
        providers, routes = [], []
        for sc in scenarios:
            for name, backend, keys in sc.providers():
                key_text = ", ".join(f"{{id: {k}, secret: sk-soak-{k}}}" for k in keys)
                providers.append(f"  - {{name: {name}, backend: {backend}, auth: bearer, "
                                 f"keys: [{key_text}]}}")
                if backend == "be_mock":
                    self.keys += keys
            targets = ", ".join(f"{{provider: {p}, priority: {i}}}"
                                for i, p in enumerate(sc.route_targets()))
            routes.append(f"  - {{name: {sc.name}, models: [m-{sc.name}], targets: [{targets}]}}")
        routes[-1] = routes[-1][:-1] + ", default: true}"
        text = ("# Written by tests/soak/soak.py: one provider and route per scenario.\n"
                "providers:\n" + "\n".join(providers) + "\nroutes:\n" + "\n".join(routes) +
                "\npolicy:\n  attempts: 3\n"
                f"admin:\n  token_sha256: \"{sha256(ADMIN_TOKEN)}\"\n"
                f"clients:\n  - name: soak\n    token_sha256: \"{sha256(CLIENT_TOKEN)}\"\n")
        with open(self.config, "w") as f:
            f.write(text)

    def log(self, name):
        return os.path.join(self.run, f"{name}.log")

    def spawn(self, name, argv, port, env=None):
        log = open(self.log(name), "ab")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                env=env or self.env, cwd=ROOT)
        self.procs[name] = proc
        if not wait_until(10, lambda: port_open(port) or proc.poll() is not None, 0.02):
            raise RuntimeError(f"{name} did not listen on {port}")
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}; see {self.log(name)}")
        return proc

    def stop(self, name, sig=signal.SIGTERM):
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return None
        proc.send_signal(sig)
        try:
            return proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()

    def start_mock(self):
        argv = [self.mock_bin, "--listen", f"127.0.0.1:{self.mock_port}", "--threads", "2",
                "--quiet"]
        for k in self.keys:
            argv += ["--key", f"{k}=sk-soak-{k}"]
        self.spawn("mock", argv, self.mock_port)

    def start_agent(self):
        proc = self.spawn("agent", [self.agent_bin, "--config", self.config, "--listen",
                                    f"127.0.0.1:{self.agent_port}", "--threads", "1",
                                    "--admin-listen", f"127.0.0.1:{self.admin_port}",
                                    "--outcome-listen",
                                    "unix:" + os.path.join(self.run, "outcomes.sock"),
                                    "--log-level", "warn"], self.agent_port)
        return proc

    def agent_pid(self):
        proc = self.procs.get("agent")
        return proc.pid if proc else None

    def start_haproxy(self):
        argv = [self.haproxy_bin, "-W", "-db", "-f", os.path.join(ROOT, "haproxy", "haproxy.cfg"),
                "-f", os.path.join(HERE, "soak-backends.cfg")]
        self.spawn("haproxy", argv, self.gateway)

    def haproxy_worker(self):
        master = self.procs.get("haproxy")
        kids = children(master.pid) if master else []
        return max(kids) if kids else None

    def start(self):
        self.start_mock()
        self.start_agent()
        self.start_haproxy()

    def close(self):
        for name in list(self.procs):
            self.stop(name)
        if self.keep:
            print(f"run directory kept: {self.run}")
        else:
            shutil.rmtree(self.run, ignore_errors=True)

    def http(self, port, method, path, body=None, headers=None):
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def mock(self, path, body=None):
        status, answer = self.http(self.mock_port, "POST", path, body)
        if status != 200:
            raise RuntimeError(f"mock {path} {body}: {status} {answer!r}")

    def reset_mock(self):
        self.mock("/_mock/reset")
        self.mock("/_mock/faults", {"error_rate": 0, "error_status": 500, "drop_rate": 0,
                                    "spike_rate": 0, "spike_ms": 0, "latency_ms": 0})

    def ready(self, port, model):
        """The gateway on `port` answers 200 for `model` (the agent server is up)."""
        def ok():
            tally = Tally()
            run_load(port, model, 0.05, 1, tally, time.monotonic(), timeout=2)
            return tally.statuses.get(200, 0) > 0
        return wait_until(15, ok, 0.1)


# ---------------------------------------------------------------- scenarios


class Scenario:
    """One phase: a route of its own, faults set before the load, an action
    during it, and a failure bound."""
    keys = 3
    max_failure = 0.0  # share of requests; None: failures expected (checked otherwise)
    check_memory = True
    expect_ready = True  # the route answers 200 before the phase starts

    def __init__(self, name, describe, faults=None, key_control=None, max_failure=0.0):
        self.name, self.describe = name, describe
        self.faults = faults or {}
        self.key_control = key_control or {}
        self.max_failure = max_failure

    def key_ids(self):
        return [f"{self.name}-{c}" for c in "abc"[:self.keys]]

    def providers(self):
        return [(f"p-{self.name}", "be_mock", self.key_ids())]

    def route_targets(self):
        return [f"p-{self.name}"]

    def prepare(self, rig):
        rig.reset_mock()
        if self.faults:
            rig.mock("/_mock/faults", self.faults)
        for suffix, control in self.key_control.items():
            rig.mock(f"/_mock/keys/{self.name}-{suffix}", control)

    def during(self, rig, t0, seconds, notes):
        """Runs in a thread beside the load."""

    def haproxy_pid(self, rig):
        """The HAProxy process serving the load (for its RSS)."""
        return rig.haproxy_worker()

    def checks(self, tally, notes):
        """Extra (name, ok, detail) checks."""
        return []


class ProviderDown(Scenario):
    def __init__(self, name, describe, fallback):
        super().__init__(name, describe, max_failure=0.0 if fallback else None)
        self.fallback = fallback
        self.expect_ready = fallback

    def providers(self):
        out = [(f"p-{self.name}-dn", "be_soak_dead", [f"{self.name}-d1", f"{self.name}-d2"])]
        if self.fallback:
            out.append((f"p-{self.name}-up", "be_mock", self.key_ids()))
        return out

    def route_targets(self):
        return [p for p, _, _ in self.providers()]

    def checks(self, tally, notes):
        if self.fallback:
            return []
        p99 = percentile(tally.latencies, 0.99)
        return [("only 502/503 JSON answers", set(tally.statuses) <= {502, 503}
                 and tally.bad_bodies == 0, f"{tally.statuses}"),
                ("answers fast (p99 < 1 s)", p99 < 1.0, f"p99 {p99 * 1000:.0f} ms")]


class AllRateLimited(Scenario):
    expect_ready = False
    def __init__(self):
        super().__init__("all-429", "every key rate limited (429, retry-after 30)",
                         key_control={c: {"status": 429, "retry_after": 30} for c in "abc"},
                         max_failure=None)

    def checks(self, tally, notes):
        return [("only 429 answers, never a 5xx", set(tally.statuses) <= {429},
                 f"{tally.statuses}"),
                ("every 429 has retry-after", tally.missing_retry_after == 0,
                 f"{tally.missing_retry_after} without")]


class AgentRestart(Scenario):
    check_memory = False

    def __init__(self, name, describe, sig, outage):
        super().__init__(name, describe, max_failure=0.0 if sig == signal.SIGTERM else None)
        self.sig, self.outage = sig, outage

    def during(self, rig, t0, seconds, notes):
        time.sleep(seconds * 0.3)
        notes["stopped_at"] = time.monotonic() - t0
        rig.stop("agent", self.sig)
        time.sleep(self.outage)
        rig.start_agent()
        notes["listening_at"] = time.monotonic() - t0

    def checks(self, tally, notes):
        if self.sig == signal.SIGTERM:
            print(f"    agent stopped at {notes.get('stopped_at', 0):.2f} s, the new one listened "
                  f"{(notes.get('listening_at', 0) - notes.get('stopped_at', 0)) * 1000:.0f} ms later")
            return []
        return self.outage_checks(tally, notes)

    @staticmethod
    def outage_checks(tally, notes):
        """Only fast 503 JSON while no agent listens, 200 again within 0.5 s."""
        stopped, back = notes.get("stopped_at", 0), notes.get("listening_at", 0)
        bad = [s for t, s in tally.timeline if s != 200 and not (stopped <= t <= back + 0.5)]
        after = [t for t, s in tally.timeline if t > back and s == 200]
        first_ok = (after[0] - back) if after else float("inf")
        only_503 = all(s in (200, 503) for _, s in tally.timeline)
        slow = max((lat for lat, s in tally.answers if s == 503), default=0.0)
        print(f"    agent down {stopped:.2f}-{back:.2f} s; first 200 {first_ok * 1000:.0f} ms after "
              f"it listened; slowest 503 {slow * 1000:.0f} ms")
        return [("only 503 JSON during the outage", only_503 and tally.bad_bodies == 0 and not bad,
                 f"{tally.statuses}"),
                ("200 again within 0.5 s of the agent listening", first_ok <= 0.5,
                 f"{first_ok * 1000:.0f} ms")]


class HaproxyReloadMasterWorker(Scenario):
    check_memory = False

    def during(self, rig, t0, seconds, notes):
        workers = [rig.haproxy_worker()]
        for i in range(3):
            time.sleep(seconds / 4)
            rig.procs["haproxy"].send_signal(signal.SIGUSR2)
            # The new worker is the master's youngest child.
            wait_until(5, lambda: rig.haproxy_worker() not in workers, 0.02)
            workers.append(rig.haproxy_worker())
        notes["processes"] = workers

    def checks(self, tally, notes):
        return [reloaded_check(notes)]


class SecondGateway(Scenario):
    """A second gateway on the same host (its own port, run directory and
    instance name, the same agent and mock), in daemon mode as an operator
    without a master process runs it."""
    check_memory = False

    def start(self, rig):
        self.run_dir = os.path.join(rig.run, self.name)
        os.makedirs(self.run_dir, exist_ok=True)
        self.port, stats = free_port(), free_port()
        self.env = rig.haproxy_env(self.port, stats, self.run_dir)
        self.pidfile = os.path.join(self.run_dir, "haproxy.pid")
        self.argv = [rig.haproxy_bin, "-D", "-p", self.pidfile,
                     "-f", os.path.join(ROOT, "haproxy", "haproxy.cfg"),
                     "-f", os.path.join(HERE, "soak-backends.cfg")]
        self.log = open(os.path.join(rig.run, f"haproxy-{self.name}.log"), "ab")
        self.before_start(rig)
        subprocess.run(self.argv, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
                       check=True)
        wait_until(10, lambda: port_open(self.port), 0.02)
        return self.port

    def before_start(self, rig):
        pass

    def pid(self):
        with open(self.pidfile) as f:
            return int(f.read().split()[0])

    def haproxy_pid(self, rig):
        try:
            return self.pid()
        except (OSError, ValueError, IndexError):
            return None

    def stop(self):
        try:
            os.kill(self.pid(), signal.SIGTERM)
        except OSError:
            pass


class HaproxyFirst(SecondGateway):
    """HAProxy starts while no agent listens; the agent comes 2.5 s later."""
    expect_ready = False

    def __init__(self):
        super().__init__("haproxy-first", "start-up order: HAProxy first, the agent 2.5 s later",
                         max_failure=None)

    def before_start(self, rig):
        rig.stop("agent")

    def during(self, rig, t0, seconds, notes):
        time.sleep(2.5)
        rig.start_agent()
        notes["stopped_at"], notes["listening_at"] = 0.0, time.monotonic() - t0

    def checks(self, tally, notes):
        return AgentRestart.outage_checks(tally, notes)


class HaproxyReloadSf(SecondGateway):
    """Reloaded with -sf and -x as an operator would."""

    def during(self, rig, t0, seconds, notes):
        notes["processes"] = [self.pid()]
        for i in range(3):
            time.sleep(seconds / 4)
            subprocess.run(self.argv + ["-x", os.path.join(self.run_dir, "haproxy.sock"),
                                        "-sf", str(self.pid())],
                           env=self.env, stdout=self.log, stderr=subprocess.STDOUT, check=True)
            notes["processes"].append(self.pid())

    def checks(self, tally, notes):
        # An old process that crashed leaves a core or a log line; its clients
        # see resets, counted above. Say so when one is seen.
        text = open(self.log.name, errors="replace").read()
        crashed = "SIGSEGV" in text or "FATAL" in text
        return [reloaded_check(notes),
                ("no crash in HAProxy's log", not crashed, f"see {self.log.name}" if crashed else "")]


def reloaded_check(notes):
    processes = notes.get("processes", [])
    return ("three reloads, each a new process", len(set(processes)) == 4 and None not in processes,
            f"processes {processes}")


class ConfigReload(Scenario):
    def during(self, rig, t0, seconds, notes):
        auth = {"authorization": f"Bearer {ADMIN_TOKEN}"}
        results = []
        for i in range(3):
            time.sleep(seconds / 7)
            os.kill(rig.agent_pid(), signal.SIGHUP)
            time.sleep(seconds / 7)
            results.append(rig.http(rig.admin_port, "POST", "/v1/reload", None, auth)[0])
        notes["reload_statuses"] = results

    def checks(self, tally, notes):
        return [("POST /v1/reload answered 200", notes.get("reload_statuses") == [200] * 3,
                 f"{notes.get('reload_statuses')}")]


def scenarios():
    def rand(name, rate, status=502):
        return Scenario(name, f"random {status} at {rate:.1%} on every key",
                        faults={"error_rate": rate, "error_status": status}, max_failure=rate / 20)
    return [
        rand("rand502-01", 0.001),
        rand("rand502-1", 0.01),
        rand("rand502-10", 0.10),
        rand("rand529-1", 0.01, 529),
        Scenario("drop-1", "1% of connections dropped unanswered", faults={"drop_rate": 0.01},
                 max_failure=0.01 / 20),
        Scenario("spike-1", "1% latency spikes of +2 s",
                 faults={"spike_rate": 0.01, "spike_ms": 2000}),
        Scenario("mixed", "one key 429 (retry-after 30), one 500, one healthy",
                 key_control={"a": {"status": 429, "retry_after": 30}, "b": {"status": 500}}),
        Scenario("key-401", "one key answering 401, two healthy", key_control={"a": {"status": 401}}),
        ProviderDown("down-fb", "provider down (refused), fallback provider", True),
        ProviderDown("down-only", "provider down (refused), no fallback", False),
        AllRateLimited(),
        AgentRestart("agent-kill9", "agent kill -9, restarted after 1.5 s", signal.SIGKILL, 1.5),
        AgentRestart("agent-term", "agent SIGTERM, restarted at once", signal.SIGTERM, 0.0),
        HaproxyReloadMasterWorker("reload-mw", "three HAProxy reloads, master-worker (SIGUSR2)"),
        HaproxyReloadSf("reload-sf", "three HAProxy reloads, -sf -x (second gateway)"),
        HaproxyFirst(),
        ConfigReload("config-reload", "agent config reloads: 3 SIGHUP + 3 POST /v1/reload"),
    ]


# ---------------------------------------------------------------- running and reporting


def percentile(values, q):
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_scenario(rig, sc, seconds, connections):
    sc.prepare(rig)
    port = rig.gateway
    if isinstance(sc, SecondGateway):
        port = sc.start(rig)
    if sc.expect_ready and not rig.ready(port, f"m-{sc.name}"):
        print(f"  {sc.name}: the gateway never answered 200 before the phase")
    tally, notes = Tally(), {}
    t0 = time.monotonic()
    memory = {}

    samples = []  # (t, agent KiB, haproxy worker KiB), every 0.25 s

    def side():
        try:
            sc.during(rig, t0, seconds, notes)
        except Exception as e:  # reported as a failed check, never lost
            notes["error"] = f"{type(e).__name__}: {e}"

    def sampler():
        while time.monotonic() - t0 < seconds:
            samples.append((time.monotonic() - t0, rss_kib(rig.agent_pid()),
                            rss_kib(sc.haproxy_pid(rig))))
            time.sleep(0.25)

    threads = [threading.Thread(target=side), threading.Thread(target=sampler)]
    for t in threads:
        t.start()
    run_load(port, f"m-{sc.name}", seconds, connections, tally, t0)
    for t in threads:
        t.join()

    # RSS moves with pool trimming: compare the highest sample just after the
    # warm-up (a quarter to a half of the phase) with the highest of the last
    # quarter. A leak grows the second; a pool that breathes does not.
    def peak(lo, hi, i):
        values = [row[i] for row in samples if lo <= row[0] / seconds < hi and row[i]]
        return max(values) if values else None
    memory["warm"] = (peak(0.25, 0.5, 1), peak(0.25, 0.5, 2))
    memory["end"] = (peak(0.75, 2, 1), peak(0.75, 2, 2))
    if isinstance(sc, SecondGateway):
        sc.stop()
    return tally, notes, memory, time.monotonic() - t0


def report(sc, tally, notes, memory, elapsed):
    answered = tally.answered()
    failures = answered - tally.statuses.get(200, 0)
    rate = failures / answered if answered else 0.0
    statuses = " ".join(f"{s}:{n}" for s, n in sorted(tally.statuses.items()))
    errors = " ".join(f"{k}:{n}" for k, n in sorted(tally.conn_errors.items())) or "0"
    warm, end = memory.get("warm", (None, None)), memory.get("end", (None, None))

    def mem(i):
        if warm[i] is None or end[i] is None:
            return "n/a"
        return f"{warm[i] / 1024:.1f}->{end[i] / 1024:.1f}M"
    p50, p99 = percentile(tally.latencies, 0.5), percentile(tally.latencies, 0.99)
    print(f"  {sc.name:<14} req {tally.sent:>6} ({tally.sent / elapsed:>5.0f}/s)  answers {statuses}"
          f"  conn-errors {errors}  fail {rate:.3%}  p50/p99 {p50 * 1000:.1f}/{p99 * 1000:.0f} ms"
          f"  rss agent {mem(0)} haproxy {mem(1)}")
    checks = [("every request answered once (no reset/EOF/timeout)",
               tally.lost() == 0 and answered == tally.sent,
               f"{tally.sent} sent, {answered} answered, lost {errors}")]
    if sc.max_failure is not None:
        checks.append((f"failure rate <= {sc.max_failure:.3%}", rate <= sc.max_failure,
                       f"{failures} of {answered} ({rate:.3%})"))
    checks += sc.checks(tally, notes)
    if "error" in notes:
        checks.append(("the scenario's action ran", False, notes["error"]))
    if sc.check_memory:
        # HAProxy's pools keep their high-water mark: a burst of retries that
        # holds a few more attempts at once keeps two 128 KiB buffers each
        # (10% faults once took 14.2 -> 15.6 MiB and stayed). A leak of even
        # 32 bytes per request passes 2 MiB within a phase.
        for i, who, floor_kib in ((0, "agent", 1024), (1, "haproxy", 2048)):
            if warm[i] and end[i]:
                growth = end[i] - warm[i]
                checks.append((f"{who} RSS flat", growth < max(warm[i] * 0.10, floor_kib),
                               f"{warm[i]} -> {end[i]} KiB"))
    ok = True
    for name, passed, detail in checks:
        ok &= bool(passed)
        print(f"    {'PASS' if passed else 'FAIL'} {name}" + (f": {detail}" if not passed else ""))
    return ok, rate


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("haproxy")
    ap.add_argument("agent")
    ap.add_argument("mock")
    ap.add_argument("--only", help="comma-separated scenario names")
    ap.add_argument("--duration", type=float, default=8.0, help="seconds per scenario (8)")
    ap.add_argument("--connections", type=int, default=16, help="client connections (16)")
    ap.add_argument("--keep", action="store_true", help="keep the run directory")
    ap.add_argument("--list", action="store_true", help="list the scenarios and exit")
    args = ap.parse_args()
    all_scenarios = scenarios()
    if args.list:
        for sc in all_scenarios:
            print(f"{sc.name:<14} {sc.describe}")
        return 0
    chosen = all_scenarios
    if args.only:
        names = args.only.split(",")
        unknown = set(names) - {sc.name for sc in all_scenarios}
        if unknown:
            print(f"soak.py: unknown scenario(s) {sorted(unknown)} (see --list)", file=sys.stderr)
            return 2
        chosen = [sc for sc in all_scenarios if sc.name in names]
    rig = Rig(args.haproxy, args.agent, args.mock, all_scenarios, args.keep)
    passed = failed = 0
    try:
        rig.start()
        print(f"  {len(chosen)} scenarios, {args.duration:g} s each, {args.connections} connections")
        for sc in chosen:
            print(f"  -- {sc.name}: {sc.describe}")
            tally, notes, memory, elapsed = run_scenario(rig, sc, args.duration, args.connections)
            ok, _ = report(sc, tally, notes, memory, elapsed)
            passed, failed = passed + ok, failed + (not ok)
            if "agent" not in rig.procs or rig.procs["agent"].poll() is not None:
                rig.start_agent()
    finally:
        rig.close()
    print(f"  soak: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
