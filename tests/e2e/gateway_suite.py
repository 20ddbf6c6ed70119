#!/usr/bin/env python3
"""The gateway end to end: a real HAProxy with haproxy/haproxy.cfg, the keymux
agent and the mock provider, on free loopback ports.

  gateway_suite.py HAPROXY AGENT MOCK [--only NAME[,NAME...]] [--keep]

Every scenario has its own route, provider and keys in tests/e2e/gateway.yaml.
The agent runs on a copy of it in the run directory (the reload checks edit
the copy), with its admin API on a free port.
Prints PASS/FAIL per check and a summary; exit status 0 when all passed.
Everything started here is stopped by PID on exit. Standard library only.

  KEYMUX_E2E_ARTIFACTS=DIR   save the agent's /metrics and GET /v1/keys at the
                             end, as DIR/metrics-<haproxy version>.txt and
                             DIR/keys-<haproxy version>.json
"""

import argparse
import hashlib
import http.client
import json
import os
import re
from secrets import token_hex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
from loopback import free_port, port_open, wait_until  # noqa: E402
from prometheus import metric, parse_samples  # noqa: E402
AGENT_CONFIG = os.path.join(HERE, "gateway.yaml")
# The edge checks' own agent config (a second agent and HAProxy, same mock).
EDGE_CONFIG = os.path.join(HERE, "edge.yaml")

# The main client's credentials (gateway.yaml, client e2e-main), which must
# never reach an upstream; x-api-key and api-key are decoys (Bearer wins).
CANARY_HEADERS = {
    "authorization": "Bearer client-canary-bearer",
    "x-api-key": "client-canary-xapikey",
    "api-key": "client-canary-apikey",
}
# Other clients of gateway.yaml, by their tokens.
XAPIKEY_CLIENT = {"x-api-key": "client-xapikey-token"}
LIMITED_CLIENT = {"authorization": "Bearer client-limited-token"}
GREEDY_CLIENT = {"authorization": "bearer client-greedy-token"}
TOKENS_CLIENT = {"authorization": "Bearer client-tokens-token"}
CLIENT_TOKENS = ["client-canary-bearer", "client-xapikey-token", "client-limited-token",
                 "client-greedy-token", "client-tokens-token"]
CLIENT_NAMES = ["e2e-main", "e2e-xapikey", "e2e-limited", "e2e-greedy", "e2e-tokens"]
# The admin API's token (gateway.yaml admin.token_sha256); a secret like the others.
ADMIN_TOKEN = "admin-canary-token"
ADMIN_AUTH = {"authorization": f"Bearer {ADMIN_TOKEN}"}
# The gateway secret (gateway.yaml spop.secret) HAProxy sends in every SPOE message.
GATEWAY_SECRET = "e2e-gateway-" + token_hex(16)


class CheckFailed(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)





# Mock-side limits (the mock then sends rate-limit headers), by key id.
MOCK_LIMITS = {"hd-o": ":rpm=50:tpm=100000", "hd-a": ":rpm=50:tpm=100000"}


def agent_keys(config=AGENT_CONFIG):
    """(id, secret) of every sk-e2e- key of an agent config, read without a YAML library."""
    text = open(config).read()
    return re.findall(r"id: ([\w-]+), secret: (sk-e2e-[\w-]+)", text)


def agent_providers():
    """The provider names of gateway.yaml."""
    return re.findall(r"name: ([\w-]+)(?:,|\n)\s*backend:", open(AGENT_CONFIG).read())


def fingerprint(secret):
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()[:8]


def parse_prometheus(text):
    """[(name, {label: value}, float)] of every sample line (tests/support/prometheus.py)."""
    try:
        return parse_samples(text)
    except ValueError as e:
        raise CheckFailed(str(e)) from None


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError as e:
            raise CheckFailed(f"not JSON ({e}): {self.body[:300]!r}")

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


def request(port, method, path, body=None, headers=None, timeout=20, source=None):
    """One request on its own connection; `source`: the client's loopback address."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout,
                                      source_address=(source, 0) if source else None)
    try:
        data = None
        all_headers = dict(headers or {})
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            all_headers.setdefault("content-type", "application/json")
        conn.request(method, path, body=data, headers=all_headers)
        r = conn.getresponse()
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        conn.close()


def chat(port, model, headers=None, **extra):
    body = {"model": model, "messages": [{"role": "user", "content": "Hello"}], "max_tokens": 16}
    body.update(extra)
    return request(port, "POST", "/v1/chat/completions", body,
                   CANARY_HEADERS if headers is None else headers)


def mock_usage(size, max_tokens=None):
    """The usage (prompt, completion) the mock reports for a body of `size` bytes:
    below, at or above keymux's estimate by size % 3 (tests/mock_upstream/llm_request.h)."""
    shape = size % 3
    prompt = max(1, size // 4 + (size // 8 if shape == 2 else 0))
    completion = 16 if max_tokens is None else min(max_tokens, 16)
    if shape == 0:
        completion = max(1, completion // 2)
    return prompt, completion


def keymux_estimate(size, max_tokens):
    """What the agent reserves for a request (agent/router/token_estimate.h)."""
    return -(-size // 4) + max_tokens


def chat_body(model, shape, max_tokens=16):
    """A chat body (bytes) whose length is `shape` mod 3 (see mock_usage)."""
    pad = ""
    while True:
        body = json.dumps({"model": model, "max_tokens": max_tokens,
                           "messages": [{"role": "user", "content": "Hello" + pad}]}).encode()
        if len(body) % 3 == shape:
            return body
        pad += "!"


class Gateway:
    """The processes of one run and what the checks need to reach them."""

    def __init__(self, haproxy, agent, mock, keep):
        self.haproxy_bin, self.agent_bin, self.mock_bin = haproxy, agent, mock
        self.keep = keep
        self.run = tempfile.mkdtemp(prefix="keymux-gw-e2e.")
        self.procs = {}
        self.gateway = free_port()
        self.stats = free_port()
        self.agent_port = free_port()
        self.mock_port = free_port()
        self.dead_port = free_port()  # nothing listens there: connection refused
        self.admin_port = free_port()
        # The agent's config: a copy the reload checks may rewrite.
        self.config = os.path.join(self.run, "gateway.yaml")
        shutil.copyfile(AGENT_CONFIG, self.config)
        # Every admin API body and metrics page fetched, for the final secret grep.
        self.fetched = []
        self.edges = {}
        self.env = dict(
            os.environ,
            KEYMUX_GATEWAY_BIND=f"127.0.0.1:{self.gateway}",
            KEYMUX_STATS_BIND=f"127.0.0.1:{self.stats}",
            KEYMUX_AGENT_ADDR=f"127.0.0.1:{self.agent_port}",
            KEYMUX_MOCK_ADDR=f"127.0.0.1:{self.mock_port}",
            KEYMUX_E2E_DEAD_PORT=str(self.dead_port),
            KEYMUX_HAPROXY_DIR=os.path.join(ROOT, "haproxy"),
            KEYMUX_RUN_DIR=self.run,
            KEYMUX_INSTANCE=f"e2e-{self.gateway}",
            # fe_inner's outcome lines (one per attempt) to the agent.
            KEYMUX_OUTCOME_ADDR="unix@" + os.path.join(self.run, "outcomes.sock"),
            KEYMUX_SPOP_SECRET=GATEWAY_SECRET,
            # Every check here comes from 127.0.0.1, the reload check at full
            # speed (thousands a second): the per-source rate limit is the edge
            # checks' business (EdgeGateway). The rest of the edge stays on.
            KEYMUX_SOURCE_RATE_LIMIT="0",
        )

    def log_path(self, name):
        return os.path.join(self.run, f"{name}.log")

    def spawn(self, name, argv, port, env=None):
        log = open(self.log_path(name), "ab")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                env=self.env if env is None else env, cwd=ROOT)
        self.procs[name] = proc
        if not wait_until(10, lambda: port_open(port) or proc.poll() is not None):
            raise CheckFailed(f"{name} did not listen on {port}")
        if proc.poll() is not None:
            raise CheckFailed(f"{name} exited with {proc.returncode}: {self.tail(name)}")

    def stop(self, name):
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return None
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()

    def start_mock(self):
        argv = [self.mock_bin, "--listen", f"127.0.0.1:{self.mock_port}", "--threads", "2"]
        for key_id, secret in agent_keys() + agent_keys(EDGE_CONFIG):
            argv += ["--key", f"{key_id}={secret}{MOCK_LIMITS.get(key_id, '')}"]
        self.spawn("mock", argv, self.mock_port)

    def start_agent(self):
        self.spawn("agent", [self.agent_bin, "--config", self.config, "--listen",
                             f"127.0.0.1:{self.agent_port}", "--threads", "2",
                             "--admin-listen", f"127.0.0.1:{self.admin_port}",
                             "--outcome-listen", "unix:" + os.path.join(self.run, "outcomes.sock")],
                   self.agent_port)
        if not wait_until(10, lambda: port_open(self.admin_port)):
            raise CheckFailed(f"the agent's admin API did not listen on {self.admin_port}")

    def agent_pid(self):
        return self.procs["agent"].pid

    def agent_log(self):
        return open(self.log_path("agent"), errors="replace").read()

    def haproxy_files(self):
        return ["-f", os.path.join(ROOT, "haproxy", "haproxy.cfg"),
                "-f", os.path.join(HERE, "gateway-backends.cfg")]

    def start_haproxy(self):
        self.spawn("haproxy", [self.haproxy_bin, "-db"] + self.haproxy_files(), self.gateway)

    def start(self):
        self.start_mock()
        self.start_agent()
        self.start_haproxy()
        # The agent server is up once spop-check has seen it.
        if not wait_until(10, lambda: chat(self.gateway, "gpt-route").status == 200, 0.2):
            raise CheckFailed(f"the gateway never answered 200: {chat(self.gateway, 'gpt-route')}")

    def edge(self, **limits):
        """The edge checks' gateway: a second HAProxy (haproxy.cfg, EDGE_LIMITS
        overridden by `limits`) and agent (edge.yaml), sharing the mock; started
        once per set of limits."""
        key = tuple(sorted(limits.items()))
        if key not in self.edges:
            self.edges[key] = EdgeGateway(self, f"edge{len(self.edges)}", dict(EDGE_LIMITS, **limits))
        return self.edges[key]

    def close(self):
        for name in list(self.procs):
            self.stop(name)
        if self.keep:
            print(f"    run directory kept: {self.run}")
        else:
            shutil.rmtree(self.run, ignore_errors=True)

    def tail(self, name, lines=15):
        try:
            with open(self.log_path(name), errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return "(no log)"

    # The mock's control endpoints.
    def mock(self, method, path, body=None):
        r = request(self.mock_port, method, path, body)
        expect(r.status == 200, f"mock {method} {path}: {r}")
        return r.json()

    def mock_stats(self):
        return self.mock("GET", "/_mock/stats")

    def key_stats(self, key_id):
        return self.mock_stats()["keys"].get(key_id, {"requests": 0, "by_status": {},
                                                      "by_style": {}})

    # The agent's admin API.
    def admin(self, method, path, headers=ADMIN_AUTH, body=None):
        r = request(self.admin_port, method, path, body, headers)
        self.fetched.append(r.body.decode(errors="replace"))
        return r

    def admin_key(self, key_id):
        r = self.admin("GET", f"/v1/keys/{key_id}")
        expect(r.status == 200, f"GET /v1/keys/{key_id}: {r}")
        return r.json()

    def reload(self):
        """POST /v1/reload: the Response."""
        return self.admin("POST", "/v1/reload")

    def metrics_text(self):
        r = self.admin("GET", "/metrics", headers={})
        expect(r.status == 200, f"agent /metrics: {r}")
        return r.body.decode()

    def metrics(self):
        return parse_prometheus(self.metrics_text())

    def metric(self, name, **labels):
        return metric(self.metrics(), name, **labels)

    def haproxy_version(self):
        out = subprocess.run([self.haproxy_bin, "-v"], capture_output=True, text=True).stdout
        m = re.search(r"version (\S+)", out)
        return re.sub(r"[^\w.+-]", "_", m.group(1)) if m else "unknown"


# ---------------------------------------------------------------- edge protection

# The edge gateway's settings (haproxy.cfg's presetenv names): low enough that
# a few requests reach each limit.
EDGE_LIMITS = {
    "KEYMUX_SOURCE_RATE_LIMIT": "20",
    "KEYMUX_AUTH_FAILURE_LIMIT": "5",
    "KEYMUX_AUTH_FAILURE_WINDOW": "60",
    "KEYMUX_AUTH_FAILURE_BLOCK": "2",
    "KEYMUX_MAXCONN": "100",
    "KEYMUX_GATEWAY_MAXCONN": "10",
    "KEYMUX_GATEWAY_ACTIVE": "2",
    "KEYMUX_QUEUE_TIMEOUT": "1",
    "KEYMUX_REQUEST_TIMEOUT": "1",
    "KEYMUX_MAX_HEADER_BYTES": "8192",
    "KEYMUX_MAX_BODY_BYTES": "65536",
    "KEYMUX_TRUST_XFF_FROM": "127.0.0.9",
    "KEYMUX_TRUST_PROXY_PROTOCOL_FROM": "127.0.0.10",
}
EDGE_MODEL = "gpt-edge"
BAD_TOKEN = {"authorization": "Bearer not-a-client"}


class EdgeGateway:
    """A second gateway for the edge checks: its own HAProxy and agent (so that
    their limits and decision counts are theirs alone), the suite's mock."""

    def __init__(self, g, name, limits):
        self.g, self.name, self.limits = g, name, limits
        self.gateway, self.stats = free_port(), free_port()
        self.agent_port, self.admin_port = free_port(), free_port()
        run = os.path.join(g.run, name)  # its own admin socket and outcome socket
        os.mkdir(run)
        outcomes = os.path.join(run, "outcomes.sock")
        g.spawn(f"{name}-agent", [g.agent_bin, "--config", EDGE_CONFIG, "--listen",
                                  f"127.0.0.1:{self.agent_port}", "--threads", "2",
                                  "--admin-listen", f"127.0.0.1:{self.admin_port}",
                                  "--outcome-listen", "unix:" + outcomes],
                self.agent_port)
        if not wait_until(10, lambda: port_open(self.admin_port)):
            raise CheckFailed(f"{name}: the agent's admin API did not listen on {self.admin_port}")
        env = dict(g.env, KEYMUX_GATEWAY_BIND=f"127.0.0.1:{self.gateway}",
                   KEYMUX_STATS_BIND=f"127.0.0.1:{self.stats}", KEYMUX_RUN_DIR=run,
                   KEYMUX_AGENT_ADDR=f"127.0.0.1:{self.agent_port}",
                   KEYMUX_OUTCOME_ADDR="unix@" + outcomes,
                   KEYMUX_INSTANCE=f"e2e-{name}-{self.gateway}", **limits)
        g.spawn(f"{name}-haproxy", [g.haproxy_bin, "-db"] + g.haproxy_files(), self.gateway, env)
        if not wait_until(10, lambda: self.chat("127.0.0.1").status == 200, 0.2):
            raise CheckFailed(f"{name}: never answered 200: {self.chat('127.0.0.1')}")

    def limit(self, name):
        return int(self.limits[name])

    def chat(self, source, headers=None, model=EDGE_MODEL, **extra):
        body = {"model": model, "messages": [{"role": "user", "content": "Hello"}], "max_tokens": 16}
        body.update(extra)
        return request(self.gateway, "POST", "/v1/chat/completions", body,
                       CANARY_HEADERS if headers is None else headers, source=source)

    def decisions(self, **labels):
        """keymux_decisions_total of the edge agent (0 when absent)."""
        r = request(self.admin_port, "GET", "/metrics")
        expect(r.status == 200, f"{self.name} agent /metrics: {r}")
        return metric(parse_prometheus(r.body.decode()), "keymux_decisions_total", **labels) or 0

    def haproxy_metric(self, name, **labels):
        r = request(self.stats, "GET", "/metrics")
        expect(r.status == 200, f"{self.name} HAProxy /metrics: {r.status}")
        return metric(parse_prometheus(r.body.decode()), name, **labels)

    def log(self):
        return open(self.g.log_path(f"{self.name}-haproxy"), errors="replace").read()


def raw_exchange(port, data, source, timeout=10):
    """Sends bytes on a fresh connection from `source` and reads one answer (to
    its content-length, or to the close): (status, headers, body); status None
    when the server closed without an answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                  source_address=(source, 0)) as s:
        s.sendall(data)
        answer = b""
        while True:
            head, sep, body = answer.partition(b"\r\n\r\n")
            length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            if sep and length and len(body) >= int(length.group(1)):
                break  # HAProxy 3.x may keep reading the unsent rest of a body before it closes
            chunk = s.recv(65536)
            if not chunk:
                break
            answer += chunk
    lines = head.decode(errors="replace").split("\r\n")
    m = re.match(r"HTTP/1\.1 (\d{3})", lines[0])
    headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
    return (int(m.group(1)) if m else None), headers, body


def expect_edge_error(r, status, code, retry_after=None):
    """r is the gateway's own JSON refusal `status`/`code`; retry_after: (lo, hi) seconds."""
    expect(r.status == status, f"expected {status} {code}: {r}")
    expect(r.headers.get("content-type") == "application/json", f"{code}: {r.headers}")
    expect(r.json()["error"]["code"] == code and r.json()["error"]["message"], f"{code}: {r}")
    if retry_after:
        value = r.headers.get("retry-after", "")
        expect(value.isdigit() and retry_after[0] <= int(value) <= retry_after[1],
               f"{code}: retry-after {value!r}, not in {retry_after}")


def check_edge_source_rate_limit(g):
    e = g.edge()
    limit = e.limit("KEYMUX_SOURCE_RATE_LIMIT")
    greedy, other = "127.0.0.2", "127.0.0.3"
    routed = e.decisions(outcome="routed")
    statuses, others = [], 0
    for i in range(limit + 3):
        r = e.chat(greedy)
        statuses.append(r.status)
        if i % 5 == 0:  # another address is served throughout
            expect(e.chat(other).status == 200, f"{other} refused while {greedy} was limited")
            others += 1
    expect(statuses == [200] * limit + [429] * 3, f"{greedy}: {statuses}")
    expect_edge_error(r, 429, "source_rate_limited", (10, 10))
    # The refusals cost the agent nothing.
    expect(e.decisions(outcome="routed") == routed + limit + others, "a refused request reached the agent")
    # Behind a trusted proxy the address is the last X-Forwarded-For value (or
    # the PROXY header's); from anyone else those are ignored.
    expect_edge_error(e.chat("127.0.0.9", dict(CANARY_HEADERS, **{"x-forwarded-for": f"203.0.113.1, {greedy}"})),
                      429, "source_rate_limited")
    expect(e.chat("127.0.0.9", dict(CANARY_HEADERS, **{"x-forwarded-for": "203.0.113.2"})).status == 200,
           "a trusted proxy's client address was not its own")
    expect(e.chat("127.0.0.8", dict(CANARY_HEADERS, **{"x-forwarded-for": greedy})).status == 200,
           "an untrusted X-Forwarded-For was believed")
    body = json.dumps({"model": EDGE_MODEL, "messages": []}).encode()
    req = (b"POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\nconnection: close\r\n"
           b"authorization: Bearer client-canary-bearer\r\ncontent-type: application/json\r\n"
           b"content-length: %d\r\n\r\n%s" % (len(body), body))
    proxied = f"PROXY TCP4 {greedy} 127.0.0.1 40000 80\r\n".encode()
    status, _, _ = raw_exchange(e.gateway, proxied + req, "127.0.0.10")
    expect(status == 429, f"PROXY protocol from a trusted proxy: {status}")
    status, _, _ = raw_exchange(e.gateway, proxied.replace(greedy.encode(), b"203.0.113.3") + req,
                                "127.0.0.10")
    expect(status == 200, f"PROXY protocol, another client: {status}")
    # (HAProxy writes a request's line once its answer is sent: wait for it.)
    expect(wait_until(2, lambda: re.search(r"^203\.0\.113\.3:40000 .* fe_public ", e.log(), re.M)),
           "the PROXY header's address is not in the log")
    log = [l for l in e.log().splitlines() if l.startswith(f"{greedy}:") and " 429 " in l]
    expect(len(log) >= 3 and all("edge=rate_limited" in l for l in log), f"log: {log[:3]}")
    denied = e.haproxy_metric("haproxy_frontend_requests_denied_total", proxy="fe_public") or 0
    expect(denied >= 5, f"haproxy_frontend_requests_denied_total{{proxy=fe_public}} is {denied}")
    # 0 switches the per-source limits off.
    off = g.edge(KEYMUX_SOURCE_RATE_LIMIT="0", KEYMUX_AUTH_FAILURE_LIMIT="0")
    statuses = [off.chat(greedy).status for _ in range(limit + 3)]
    statuses += [off.chat(greedy, BAD_TOKEN).status
                 for _ in range(off.limit("KEYMUX_AUTH_FAILURE_LIMIT") + 3)]
    expect(set(statuses[:limit + 3]) == {200} and set(statuses[limit + 3:]) == {401},
           f"limits off: {statuses}")


def check_edge_auth_failure_block(g):
    e = g.edge()
    n = e.limit("KEYMUX_AUTH_FAILURE_LIMIT")
    block = e.limit("KEYMUX_AUTH_FAILURE_BLOCK")
    guesser, other = "127.0.0.5", "127.0.0.6"
    # An upstream key's 401, relayed once the three attempts are spent, is not
    # a client-token failure: it does not count.
    r = e.chat(guesser, model="gpt-edge-revoked")
    expect(r.status == 401 and r.json()["error"]["code"] == "invalid_api_key", f"upstream 401: {r}")
    refused = e.decisions(outcome="invalid_client_token")
    for i in range(n):
        r = e.chat(guesser, BAD_TOKEN)
        expect(r.status == 401 and r.json()["error"]["code"] == "invalid_client_token",
               f"failure {i + 1} of {n}: {r}")
    expect(e.decisions(outcome="invalid_client_token") == refused + n, "not n decisions")
    # Blocked: refused here, whatever the token, without asking the agent.
    total = e.decisions()
    for headers in (BAD_TOKEN, {"authorization": "Bearer another-guess"}, CANARY_HEADERS):
        expect_edge_error(e.chat(guesser, headers), 429, "source_blocked", (1, block))
    expect(e.decisions() == total, f"the agent decided while {guesser} was blocked")
    # Other addresses are served, and their failures are their own.
    expect(e.chat(other).status == 200, f"{other} refused while {guesser} was blocked")
    expect(e.chat(other, BAD_TOKEN).status == 401, f"{other}'s bad token")
    blocked_lines = lambda: [l for l in e.log().splitlines() if "edge=source_blocked" in l]
    wait_until(2, blocked_lines)
    lines = blocked_lines()
    expect(len(lines) == 1 and lines[0].startswith(f"{guesser}:") and " 401 " in lines[0],
           f"not one edge=source_blocked line for {guesser}: {lines}")
    # The block ends by itself; one more failure in the window blocks again
    # at once. (Polled slowly: every request counts for the per-source rate.)
    expect(wait_until(block + 1, lambda: e.chat(guesser).status == 200, 0.5),
           f"{guesser} still refused {block + 1} s after its block")
    r = e.chat(guesser, BAD_TOKEN)
    expect(r.status == 401, f"the first failure after the block: {r}")
    expect_edge_error(e.chat(guesser), 429, "source_blocked", (1, block))


def check_edge_connection_flood(g):
    e = g.edge()
    cap = e.limit("KEYMUX_GATEWAY_MAXCONN")
    n = cap + 6  # 6 wait in the kernel's accept queue
    results = [None] * n
    start = threading.Barrier(n)

    def one(i):
        try:
            start.wait()
            # Four addresses: the flood stays under the per-source rate limit.
            r = e.chat(f"127.0.0.{20 + i % 4}")
            results[i] = (r.status, r.json()["error"]["code"] if r.status != 200 else None,
                          r.headers.get("retry-after"))
        except Exception as ex:  # a reset or a timeout is the failure this check looks for
            results[i] = ("error", repr(ex), None)

    g.mock("POST", "/_mock/faults", {"latency_ms": 800})
    try:
        threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        g.mock("POST", "/_mock/faults", {"latency_ms": 0})
    served = sum(1 for r in results if r[0] == 200)
    busy = sum(1 for r in results if r == (503, "gateway_busy", "5"))
    print(f"      {n} connections at once (maxconn {cap}, {e.limit('KEYMUX_GATEWAY_ACTIVE')} active, "
          f"queue {e.limit('KEYMUX_QUEUE_TIMEOUT')} s): {served} served, {busy} busy")
    expect(served + busy == n, f"not only 200 and 503 gateway_busy: {results}")
    expect(served >= 2 and busy >= 1, f"{served} served, {busy} busy")
    expect(e.haproxy_metric("haproxy_frontend_max_sessions", proxy="fe_public") == cap,
           "fe_public never reached its maxconn")
    expect((e.haproxy_metric("haproxy_backend_max_queue", proxy="be_attempts") or 0) >= 1,
           "nothing waited in be_attempts' queue")
    for i in range(4):
        r = e.chat("127.0.0.24")
        expect(r.status == 200, f"after the flood, request {i}: {r}")


def check_edge_slow_and_oversized(g):
    e = g.edge()
    src = "127.0.0.11"
    timeout = e.limit("KEYMUX_REQUEST_TIMEOUT")

    # Headers that never end, and a body that never ends (both at once): 408
    # after KEYMUX_REQUEST_TIMEOUT.
    slow = [b"POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\n",
            b"POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\n"
            b"content-type: application/json\r\ncontent-length: 100\r\n\r\n{\"model\":"]
    answers = [None, None]

    def send(i):
        began = time.monotonic()
        answers[i] = raw_exchange(e.gateway, slow[i], src) + (time.monotonic() - began,)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for what, answer in zip(("headers", "body"), answers):
        expect(answer is not None, f"slow {what}: no answer (see the traceback above)")
        status, _, body, waited = answer
        expect(status == 408 and timeout - 0.1 <= waited < timeout + 2,
               f"slow {what}: {status} after {waited:.1f} s: {body[:200]!r}")
        # Slow headers are answered by HAProxy's HTTP/1 layer, below the stream:
        # 2.6 sends its built-in HTML page there and 3.0 no body at all; 3.2
        # applies errorfile (JSON). A slow body gets the JSON 408 everywhere.
        major_minor = tuple(int(n) for n in re.findall(r"\d+", g.haproxy_version())[:2])
        if what == "body" or major_minor >= (3, 2):
            expect(json.loads(body)["error"]["code"] == "request_timeout", f"slow {what}: {body}")
    big = "x" * (e.limit("KEYMUX_MAX_HEADER_BYTES") + 1)
    expect_edge_error(e.chat(src, dict(CANARY_HEADERS, **{"x-big": big})), 431, "headers_too_large")
    expect(e.chat(src, dict(CANARY_HEADERS, **{"x-big": big[:4000]})).status == 200, "4000-byte header")
    content = "x" * e.limit("KEYMUX_MAX_BODY_BYTES")
    expect_edge_error(e.chat(src, messages=[{"role": "user", "content": content}]), 413,
                      "request_too_large")
    expect(e.chat(src, messages=[{"role": "user", "content": content[:60000]}]).status == 200,
           "a body under the limit")


# ---------------------------------------------------------------- checks

def check_routes_by_model_and_key_style(g):
    for model, key_id, style, path in [("gpt-route", "rt-bearer", "bearer", "/v1/chat/completions"),
                                       ("claude-route", "rt-xapikey", "x-api-key", "/v1/messages"),
                                       ("azure-route", "rt-apikey", "api-key", "/v1/chat/completions")]:
        body = {"model": model, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}
        r = request(g.gateway, "POST", path, body, CANARY_HEADERS)
        expect(r.status == 200, f"{model}: {r}")
        expect(r.headers.get("x-mock-key-id") == key_id, f"{model}: key {r.headers}")
        expect(r.headers.get("x-mock-auth-style") == style, f"{model}: style {r.headers}")
        stats = g.key_stats(key_id)
        expect(stats["by_style"].get(style, 0) >= 1, f"{key_id}: {stats}")
    r = request(g.gateway, "POST", "/v1/messages",
                {"model": "claude-route", "max_tokens": 8, "messages": []}, CANARY_HEADERS)
    expect(r.json().get("type") == "message", f"Anthropic shape through the gateway: {r}")


def check_client_credentials_never_reach_upstream(g):
    chat(g.gateway, "gpt-route")
    last = g.mock_stats()["last_requests"]
    expect(last, "the mock saw no request")
    for entry in last:
        for name, value in entry["headers"].items():
            expect("client-canary" not in value, f"client credential upstream: {name}: {value}")
            expect(not name.startswith("x-keymux"), f"internal header upstream: {name}")
        expect(entry["key_id"] is not None, f"a request without a known key: {entry}")


def check_429_retried_on_another_key(g):
    g.mock("POST", "/_mock/keys/rl-a", {"status": 429, "retry_after": 30})
    g.mock("POST", "/_mock/keys/rl-b", {"status": 0})
    for i in range(6):
        r = chat(g.gateway, "gpt-ratelimit")
        expect(r.status == 200, f"request {i}: {r}")
        expect(r.headers.get("x-mock-key-id") == "rl-b", f"request {i} served by {r.headers}")
    a = g.key_stats("rl-a")
    # Fair sharing sends rl-a one of the first two requests; its 429 is retried
    # on rl-b, and its cooldown keeps it out for the rest.
    expect(a["requests"] == 1 and a["by_status"].get("429") == 1, f"rl-a: {a}")
    expect(g.key_stats("rl-b")["by_status"].get("200", 0) == 6, g.key_stats("rl-b"))
    g.mock("POST", "/_mock/keys/rl-a", {"status": 0})
    # The failed attempt's outcome line, as the agent logs it: 503 (what it
    # became for the retry) and the provider's own status.
    def rl_a_line():
        return next((l for l in g.agent_log().splitlines()
                     if "attempt failed" in l and "key=rl-a " in l), None)
    wait_until(5, lambda: rl_a_line() is not None)
    line = rl_a_line()
    expect(line is not None and " status=503 " in line and " upstream=429 " in line,
           f"the agent's log line for rl-a's 429: {line}")


def check_401_key_quarantined(g):
    g.mock("POST", "/_mock/keys/rv-a", {"status": 401})
    for i in range(8):
        r = chat(g.gateway, "gpt-revoke")
        expect(r.status == 200, f"request {i}: {r}")
    a, b = g.key_stats("rv-a"), g.key_stats("rv-b")
    expect(a["requests"] <= 1, f"a revoked key was chosen again: {a}")
    expect(b["by_status"].get("200", 0) == 8, f"rv-b: {b}")
    # Even once the provider accepts the key again, only an operator brings it back.
    g.mock("POST", "/_mock/keys/rv-a", {"status": 0})
    for _ in range(4):
        chat(g.gateway, "gpt-revoke")
    expect(g.key_stats("rv-a")["requests"] == a["requests"], "quarantine lifted by itself")


def check_failing_key_ejected_then_probed_back(g):
    # A key that answers every request 500: each such attempt is retried on the
    # other key (the client sees 200), and after 5 in a row the key is ejected
    # (not cooled on its first failure), told once in the log.
    g.mock("POST", "/_mock/keys/fl-a", {"status": 500})
    for i in range(16):
        r = chat(g.gateway, "gpt-flaky")
        expect(r.status == 200, f"request {i}: {r}")
    a = g.key_stats("fl-a")
    expect(a["by_status"].get("500", 0) == 5, f"fl-a should fail 5 times in a row, then rest: {a}")
    k = g.admin_key("fl-a")
    expect(k["state"] == "ejected" and k["health"] == "ejected" and k["ejections_total"] == 1, k)
    expect(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", k["ejected_until"] or ""), k)
    expect(k["cooldown_cause"] is None, f"a 5xx cooled the key: {k}")
    samples = g.metrics()
    expect(metric(samples, "keymux_key_state", key="fl-a", provider="flaky") == 3, "state not 3")
    expect(metric(samples, "keymux_key_ejections_total", key="fl-a") == 1, "ejections_total")
    expect(metric(samples, "keymux_provider_health", provider="flaky") == 0,
           "the provider itself is healthy (16 of 21 attempts succeeded)")
    log = g.agent_log()
    expect(log.count("key fl-a (provider flaky) ejected until") == 1,
           "not exactly one 'ejected' line for fl-a")
    expect("5 provider faults in a row (upstream 500)" in log, "the ejection line gives no reason")
    # The key works again: after its 1 s ejection one probe goes to it, and its
    # success brings it back.
    g.mock("POST", "/_mock/keys/fl-a", {"status": 0})
    time.sleep(1.2)
    for i in range(6):
        r = chat(g.gateway, "gpt-flaky")
        expect(r.status == 200, f"request {i} after: {r}")
    expect(g.key_stats("fl-a")["by_status"].get("200", 0) >= 1, g.key_stats("fl-a"))
    k = g.admin_key("fl-a")
    expect(k["state"] == "ok" and k["health"] == "serving", k)
    log = g.agent_log()
    expect("key fl-a (provider flaky) probing: one request let through" in log, "no probe line")
    expect("key fl-a (provider flaky) recovered" in log, "no 'recovered' line")


def check_refused_provider_fails_over(g):
    before = g.key_stats("live-a")["requests"]
    for i in range(4):
        r = chat(g.gateway, "gpt-failover")
        expect(r.status == 200, f"request {i}: {r}")
        expect(r.headers.get("x-mock-key-id") == "live-a", f"request {i}: {r.headers}")
    expect(g.key_stats("live-a")["requests"] == before + 4, g.key_stats("live-a"))


def check_body_that_is_not_json_is_400(g):
    """A body sent as application/json that cannot be JSON is refused by the
    agent (400 invalid_json) before any key is spent; other content types pass."""
    before = g.key_stats("rt-bearer")["requests"]
    for body in (b"model=gpt-route&messages=hello", b'{"model":"gpt-route",,}'):
        r = request(g.gateway, "POST", "/v1/chat/completions", body,
                    dict(CANARY_HEADERS, **{"content-type": "application/json"}))
        expect(r.status == 400 and r.json()["error"]["code"] == "invalid_json", r)
    expect(g.key_stats("rt-bearer")["requests"] == before, "a refused body reached the provider")
    expect(chat(g.gateway, "gpt-route").status == 200, "a valid body was refused")


def check_backend_haproxy_lacks_fails_over(g):
    """The agent's config names a backend HAProxy does not have: that target
    fails like an unreachable one; the request goes to the next provider, and
    the key is ejected after a few such failures instead of costing every request."""
    for i in range(8):
        r = chat(g.gateway, "gpt-ghost")
        expect(r.status == 200, f"request {i}: {r}")
        expect(r.headers.get("x-mock-key-id") == "live-a", f"request {i} served by {r.headers}")
    expect(g.key_stats("gh-a")["requests"] == 0, "be_ghost reached the mock?")
    ghost = g.admin("GET", "/v1/keys/gh-a").json()
    expect(ghost["state"] == "ejected", f"gh-a after 8 failures: {ghost}")


def check_pool_exhausted_is_429_with_retry_after(g):
    statuses = []
    for _ in range(4):
        r = chat(g.gateway, "gpt-exhaust")
        statuses.append(r.status)
        if r.status == 429:
            break
    expect(r.status == 429, f"statuses {statuses}, last {r}")
    retry_after = r.headers.get("retry-after", "")
    expect(retry_after.isdigit() and 1 <= int(retry_after) <= 60, f"retry-after {r.headers}")
    error = r.json().get("error", {})
    expect(error.get("type") == "rate_limit_error", r)
    expect(error.get("code") == "keys_exhausted", r)
    expect(error.get("message"), r)
    expect(r.headers.get("content-type") == "application/json", r.headers)


def check_models_list(g):
    r = request(g.gateway, "GET", "/v1/models", headers=CANARY_HEADERS)
    expect(r.status == 200, r)
    body = r.json()
    ids = [m["id"] for m in body["data"]]
    expect(body["object"] == "list" and "gpt-route" in ids and "claude-route" in ids, body)
    expect(all(m["object"] == "model" for m in body["data"]), body)
    r = request(g.gateway, "GET", "/v1/models/gpt-sdk", headers=CANARY_HEADERS)
    expect(r.status == 200 and r.json()["id"] == "gpt-sdk", r)
    r = request(g.gateway, "GET", "/v1/models/no-such-model", headers=CANARY_HEADERS)
    expect(r.status == 404 and r.json()["error"]["code"] == "model_not_found", r)


def check_unknown_path(g):
    r = request(g.gateway, "GET", "/admin")
    expect(r.status == 404 and r.json()["error"]["code"] == "unknown_path", r)


def check_streaming(g):
    g.mock("POST", "/_mock/faults", {"chunk_delay_ms": 300, "stream_chunks": 5})
    try:
        conn = http.client.HTTPConnection("127.0.0.1", g.gateway, timeout=20)
        body = {"model": "gpt-stream", "stream": True, "stream_options": {"include_usage": True},
                "messages": [{"role": "user", "content": "Hello"}]}
        start = time.monotonic()
        conn.request("POST", "/v1/chat/completions", json.dumps(body),
                     dict(CANARY_HEADERS, **{"content-type": "application/json"}))
        r = conn.getresponse()
        expect(r.status == 200, f"status {r.status}")
        expect(r.getheader("content-type", "").startswith("text/event-stream"), r.getheaders())
        first = None
        events = []
        while True:
            line = r.readline()
            if not line:
                break
            if line.startswith(b"data: "):
                if first is None:
                    first = time.monotonic() - start
                events.append(line[6:].strip())
        total = time.monotonic() - start
        conn.close()
    finally:
        g.mock("POST", "/_mock/faults", {"chunk_delay_ms": 0, "stream_chunks": 8})
    expect(first is not None and first < total - 0.6,
           f"first chunk at {first:.3f} s, stream over at {total:.3f} s: buffered?")
    expect(events and events[-1] == b"[DONE]", f"stream not whole: {events[-3:]}")
    chunks = [json.loads(e) for e in events[:-1]]
    expect(len(chunks) == 6, f"{len(chunks)} chunks (5 content + usage)")
    expect(chunks[-1].get("usage", {}).get("total_tokens", 0) > 0, chunks[-1])
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    expect(text, "no content in the stream")


def open_stream(g, model):
    """A streamed chat request, its first chunk read; the connection and response."""
    conn = http.client.HTTPConnection("127.0.0.1", g.gateway, timeout=20)
    body = {"model": model, "stream": True, "messages": [{"role": "user", "content": "Hello"}]}
    conn.request("POST", "/v1/chat/completions", json.dumps(body),
                 dict(CANARY_HEADERS, **{"content-type": "application/json"}))
    r = conn.getresponse()
    expect(r.status == 200, f"stream: status {r.status}")
    expect(r.readline().startswith(b"data: "), "stream: no first chunk")
    return conn, r


def check_stream_holds_its_slot_to_the_end(g):
    # if-a has max_in_flight 2. A stream's slot is released by its outcome
    # line, written when the stream ends, not when its headers pass.
    g.mock("POST", "/_mock/faults", {"chunk_delay_ms": 400, "stream_chunks": 5})
    streams = []
    try:
        streams = [open_stream(g, "gpt-inflight") for _ in range(2)]
        third = chat(g.gateway, "gpt-inflight")
        expect(third.status == 429, f"a third request while two streams hold if-a: {third}")
        expect(g.key_stats("if-a")["requests"] == 2, f"if-a got a third: {g.key_stats('if-a')}")
        for conn, r in streams:
            r.read()  # to the stream's end
            conn.close()
    finally:
        for conn, _ in streams:
            conn.close()
        g.mock("POST", "/_mock/faults", {"chunk_delay_ms": 0, "stream_chunks": 8})
    expect(wait_until(5, lambda: chat(g.gateway, "gpt-inflight").status == 200, 0.1),
           f"if-a not usable after its streams ended: {chat(g.gateway, 'gpt-inflight')}")


def check_success_headers_reach_the_agent(g):
    # A 2xx's rate-limit headers (OpenAI's relative resets, Anthropic's RFC
    # 3339 ones) reach the router (its settle message; a stream's outcome line).
    for model, key_id, path in [("gpt-headers", "hd-o", "/v1/chat/completions"),
                                ("claude-headers", "hd-a", "/v1/messages")]:
        body = {"model": model, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}
        for i in range(3):
            r = request(g.gateway, "POST", path, body, CANARY_HEADERS)
            expect(r.status == 200 and r.headers.get("x-mock-key-id") == key_id, f"{model} {i}: {r}")
        ok = wait_until(3, lambda: g.admin_key(key_id).get("reported_remaining_requests") == 47, 0.1)
        k = g.admin_key(key_id)
        expect(ok, f"{key_id}: the mock's remaining 47 (rpm 50, 3 used) never reached the agent: {k}")
        expect(0 < k.get("reported_remaining_tokens", 0) < 100000, f"{key_id}: tokens {k}")


def check_body_larger_than_buffer(g):
    # 200 KiB: over tune.bufsize (128 KiB), so HAProxy streams it and cannot retry it.
    content = "x" * (200 * 1024)
    body = json.dumps({"model": "gpt-big", "messages": [{"role": "user", "content": content}]})
    r = request(g.gateway, "POST", "/v1/chat/completions", body.encode(), CANARY_HEADERS)
    expect(r.status == 200, r)
    expect(r.headers.get("x-mock-key-id") == "big-a", r.headers)
    # The mock counts prompt tokens from the body's bytes: the whole body arrived.
    expect(r.json()["usage"]["prompt_tokens"] == mock_usage(len(body))[0],
           (r.json()["usage"], len(body)))


def check_tpm_settles_real_token_counts(g):
    """A key's tpm window holds the answers' real counts (the usage HAProxy reads
    from the JSON body), not the estimates: below the estimate, the surplus lets
    more requests in and the real tokens in any window never exceed the limit;
    above it, the excess is charged and the key refuses sooner. The agent's
    window equals what the mock reported, token for token. OpenAI's usage
    (total_tokens) and Anthropic's (input_tokens + output_tokens)."""
    # A tpm key's answer must come uncompressed (its usage read): accept-encoding
    # never reaches the provider for it, and still does for a key without tpm.
    gzip = dict(CANARY_HEADERS, **{"accept-encoding": "gzip"})
    for model, key_id, kept in (("gpt-route", "rt-bearer", True), ("gpt-metered", "mt-a", False)):
        r = request(g.gateway, "POST", "/v1/chat/completions", chat_body(model, 0), gzip)
        expect(r.status == 200 and r.headers.get("x-mock-key-id") == key_id, r)
        last = [e for e in g.mock_stats()["last_requests"] if e["key_id"] == key_id][-1]
        expect((last["headers"].get("accept-encoding") == "gzip") == kept,
               f"{key_id}: {last['headers']}")
    before = g.metrics()
    served_total = estimated_total = settled_total = 0
    for key_id, model, shape, path in (("tk-below", "gpt-tokens-below", 0, "/v1/chat/completions"),
                                       ("tk-above", "gpt-tokens-above", 2, "/v1/chat/completions"),
                                       ("tk-anthropic", "claude-tokens", 0, "/v1/messages")):
        limit = 600
        body = chat_body(model, shape)
        estimate = keymux_estimate(len(body), 16)
        real = sum(mock_usage(len(body), 16))
        expect(real < estimate if shape == 0 else real > estimate, (shape, real, estimate))
        # What the agent admits: while the real tokens so far and one more estimate fit.
        expected, used = 0, 0
        while used + estimate <= limit:
            used += real
            expected += 1
        served = 0
        for i in range(expected + 3):
            r = request(g.gateway, "POST", path, body, CANARY_HEADERS)
            if r.status != 200:
                expect(r.status == 429 and r.json()["error"]["code"] == "keys_exhausted",
                       f"{key_id} request {i}: {r}")
                break
            usage = r.json()["usage"]
            expect(usage.get("total_tokens", usage.get("input_tokens", 0) +
                             usage.get("output_tokens", 0)) == real, (usage, real))
            served += 1
        expect(served == expected, f"{key_id}: {served} served, {expected} expected "
               f"(estimate {estimate}, real {real}, tpm {limit}; by estimates alone "
               f"{limit // estimate})")
        audit = g.mock("POST", "/_mock/audit", {"key": key_id})["keys"][key_id]
        expect(audit["max_tokens"] == served * real, f"{key_id}: mock audit {audit}")
        if shape == 0:  # below: the real tokens never exceed the limit
            expect(served > limit // estimate, f"{key_id}: the surpluses let no more in")
            expect(audit["max_tokens"] <= limit, f"{key_id}: over its tpm in real tokens: {audit}")
        k = g.admin_key(key_id)
        expect(k["tokens_in_window"] == served * real,
               f"{key_id}: the agent's window {k['tokens_in_window']}, the mock's {served * real}")
        served_total += served
        estimated_total += served * estimate
        settled_total += served * real
    # A client that counts tokens, on a key that does not: its window holds the real count.
    body = chat_body("gpt-route", 0)
    r = request(g.gateway, "POST", "/v1/chat/completions", body, TOKENS_CLIENT)
    expect(r.status == 200, r)
    real = sum(mock_usage(len(body), 16))
    clients = {c["name"]: c for c in g.admin("GET", "/v1/clients").json()["clients"]}
    expect(clients["e2e-tokens"]["tokens_in_window"] == real,
           f"e2e-tokens: {clients['e2e-tokens']}, real {real}")
    served_total += 1
    estimated_total += keymux_estimate(len(body), 16)
    settled_total += real
    after = g.metrics()
    delta = lambda name, **labels: metric(after, name, **labels) - metric(before, name, **labels)
    expect(delta("keymux_token_settles_total", count="real") == served_total,
           f"real-count settles {delta('keymux_token_settles_total', count='real')}, "
           f"{served_total} expected")
    expect(delta("keymux_tokens_estimated_total") == estimated_total, "tokens estimated")
    expect(delta("keymux_tokens_settled_total") == settled_total, "tokens settled")


def fe_public_line(g, request_id):
    """fe_public's log line of one request (its x-keymux-request-id), or None."""
    return next((l for l in open(g.log_path("haproxy"), errors="replace")
                 if " fe_public " in l and f"req={request_id} " in l), None)


def check_large_body_model_last_never_silently_rerouted(g):
    # 200 KiB, "model" last as SDKs write it: past HAProxy's 128 KiB buffer, so
    # the agent cannot read it. Without a header or path model, the default
    # route serves it, and the log line, the agent's log and a metric say so.
    content = "x" * (200 * 1024)
    body = ('{"messages":[{"role":"user","content":"' + content + '"}],"max_tokens":16,'
            '"model":"gpt-route"}').encode()
    before_default = g.metric("keymux_requests_model_unseen_total", routed_by="default") or 0
    before_header = g.metric("keymux_requests_model_unseen_total", routed_by="header") or 0
    before_path = g.metric("keymux_requests_model_unseen_total", routed_by="path") or 0
    before_partial = g.metric("keymux_requests_not_retryable_total") or 0

    r = request(g.gateway, "POST", "/v1/chat/completions", body, CANARY_HEADERS)
    expect(r.status == 200, r)
    expect(r.headers.get("x-mock-key-id") == "big-a", f"not the default route: {r.headers}")
    rid = r.headers.get("x-keymux-request-id")
    expect(wait_until(5, lambda: fe_public_line(g, rid) is not None), f"no log line for {rid}")
    line = fe_public_line(g, rid)
    expect("body=partial " in line and "model_from=default " in line and "key=big-a " in line,
           f"fe_public's line: {line}")
    expect(wait_until(5, lambda: f"request {rid}: its body is larger" in g.agent_log()),
           "no agent log line for the default route")
    expect("default route 'big'" in g.agent_log(), "the agent's line names no route")
    expect(g.metric("keymux_requests_model_unseen_total", routed_by="default") == before_default + 1,
           g.metrics_text())

    # The same body with x-keymux-model: its own route, and the header stays here.
    r = request(g.gateway, "POST", "/v1/chat/completions", body,
                dict(CANARY_HEADERS, **{"x-keymux-model": "gpt-route"}))
    expect(r.status == 200, r)
    expect(r.headers.get("x-mock-key-id") == "rt-bearer", f"not gpt-route's key: {r.headers}")
    rid = r.headers.get("x-keymux-request-id")
    expect(wait_until(5, lambda: fe_public_line(g, rid) is not None), f"no log line for {rid}")
    line = fe_public_line(g, rid)
    expect("body=partial " in line and "model_from=header " in line, f"fe_public's line: {line}")
    last = g.mock_stats().get("last_requests", [])
    expect("x-keymux-model" not in json.dumps(last).lower(), f"the header went upstream: {last}")
    expect(g.metric("keymux_requests_model_unseen_total", routed_by="header") == before_header + 1,
           g.metrics_text())

    # Azure's path names the deployment: its route (the mock knows no Azure
    # path and answers 404; the key chosen is what counts here).
    no_model = ('{"messages":[{"role":"user","content":"' + content + '"}]}').encode()
    r = request(g.gateway, "POST", "/openai/deployments/azure-route/chat/completions", no_model,
                CANARY_HEADERS)
    rid = r.headers.get("x-keymux-request-id")
    expect(wait_until(5, lambda: fe_public_line(g, rid) is not None), f"no log line for {rid}")
    line = fe_public_line(g, rid)
    expect("key=rt-apikey " in line and "model_from=path " in line, f"fe_public's line: {line}")
    expect(g.metric("keymux_requests_model_unseen_total", routed_by="path") == before_path + 1,
           g.metrics_text())
    expect(g.metric("keymux_requests_not_retryable_total") == before_partial + 3, g.metrics_text())

    # Chunked (no content-length), 16 KiB chunks: marked the same way.
    head = ("POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\n"
            f"authorization: {CANARY_HEADERS['authorization']}\r\ntransfer-encoding: chunked\r\n\r\n")
    chunks = b"".join(b"%x\r\n" % len(body[i:i + 16384]) + body[i:i + 16384] + b"\r\n"
                      for i in range(0, len(body), 16384))
    status, headers, _ = raw_exchange(g.gateway, head.encode() + chunks + b"0\r\n\r\n", "127.0.0.1")
    expect(status == 200 and headers.get("x-mock-key-id") == "big-a", (status, headers))
    rid = headers.get("x-keymux-request-id")
    expect(wait_until(5, lambda: fe_public_line(g, rid) is not None), f"no log line for {rid}")
    line = fe_public_line(g, rid)
    expect("body=partial " in line and "model_from=default " in line, f"fe_public's line: {line}")

    # A body that fits: no mark.
    r = chat(g.gateway, "gpt-route")
    expect(r.status == 200, r)
    rid = r.headers.get("x-keymux-request-id")
    expect(wait_until(5, lambda: fe_public_line(g, rid) is not None), f"no log line for {rid}")
    line = fe_public_line(g, rid)
    expect("body=- " in line and "model_from=- " in line, f"fe_public's line: {line}")


def check_agent_down_fails_closed(g):
    upstream_before = g.mock_stats()["requests"]
    expect(g.stop("agent") == 0, "the agent did not exit 0 on SIGTERM")
    start = time.monotonic()
    r = chat(g.gateway, "gpt-down")
    expect(r.status == 503, f"agent down: {r}")
    expect(r.json()["error"]["code"] == "agent_unavailable", r)
    # Stays closed while HAProxy's health check marks the agent down (inter 1 s, fall 2).
    while time.monotonic() - start < 3:
        r = chat(g.gateway, "gpt-down")
        expect(r.status == 503 and r.json()["error"]["code"] == "agent_unavailable", r)
        time.sleep(0.2)
    expect(g.mock_stats()["requests"] == upstream_before, "a request went upstream without a key")
    g.start_agent()
    expect(wait_until(10, lambda: chat(g.gateway, "gpt-down").status == 200, 0.2),
           "traffic did not resume after the agent came back")


def check_openai_node_sdk(g):
    install = subprocess.run([os.path.join(HERE, "sdk", "install.sh")], capture_output=True,
                             text=True, timeout=600)
    expect(install.returncode == 0, f"SDK install failed: {install.stderr[-800:]}")
    sdk_dir = install.stdout.strip().splitlines()[-1]
    run = subprocess.run(["node", os.path.join(sdk_dir, "sdk_check.mjs"),
                          "--base-url", f"http://127.0.0.1:{g.gateway}/v1",
                          "--api-key", "client-canary-bearer", "--model", "gpt-sdk",
                          "--limited-model", "gpt-exhaust"],
                         capture_output=True, text=True, timeout=120, cwd=sdk_dir)
    for line in run.stdout.splitlines():
        print(f"      sdk: {line}")
    expect(run.returncode == 0, f"SDK checks failed: {run.stderr[-800:]}")


def check_client_without_or_with_unknown_token_is_401(g):
    before = g.mock_stats()["requests"]
    for headers, code in [({}, "missing_client_token"),
                          ({"authorization": "Bearer not-a-client"}, "invalid_client_token"),
                          ({"x-api-key": "not-a-client"}, "invalid_client_token")]:
        r = chat(g.gateway, "gpt-route", headers)
        expect(r.status == 401, f"{headers}: {r}")
        error = r.json()["error"]
        expect(error["code"] == code and error["type"] == "authentication_error", r)
        expect("not-a-client" not in r.body.decode(), "the token echoed back")
    r = request(g.gateway, "GET", "/v1/models")
    expect(r.status == 401, f"/v1/models without a token: {r}")
    expect(g.mock_stats()["requests"] == before, "a refused client reached the upstream")


def check_client_token_in_x_api_key(g):
    body = {"model": "claude-route", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}
    r = request(g.gateway, "POST", "/v1/messages", body, XAPIKEY_CLIENT)
    expect(r.status == 200 and r.json().get("type") == "message", r)
    for entry in g.mock_stats()["last_requests"]:
        for name, value in entry["headers"].items():
            expect("client-xapikey-token" not in value, f"client token upstream: {name}")


def check_client_model_allow_list(g):
    r = chat(g.gateway, "gpt-ratelimit", LIMITED_CLIENT)
    expect(r.status == 403, r)
    expect(r.json()["error"]["code"] == "model_not_allowed", r)
    expect(chat(g.gateway, "gpt-route", LIMITED_CLIENT).status == 200, "allowed model refused")
    ids = [m["id"] for m in request(g.gateway, "GET", "/v1/models", headers=LIMITED_CLIENT)
           .json()["data"]]
    expect(ids == ["gpt-route"], f"the limited client is shown {ids}")


def check_client_over_its_limit_while_others_served(g):
    statuses = []
    for _ in range(4):
        r = chat(g.gateway, "gpt-route", GREEDY_CLIENT)
        statuses.append(r.status)
        # Another client on the same route and keys is not affected.
        expect(chat(g.gateway, "gpt-route").status == 200, "the other client was refused")
    expect(statuses[:2] == [200, 200] and statuses[2:] == [429, 429], statuses)
    expect(r.json()["error"]["code"] == "client_rate_limited", r)
    expect(r.headers.get("retry-after", "").isdigit(), r.headers)
    # The refusal cost no upstream key anything: rt-bearer served only the 200s.
    expect(g.key_stats("rt-bearer")["by_status"].get("429", 0) == 0, g.key_stats("rt-bearer"))


def check_scripts_run_prints_a_working_curl(g):
    ports = {name: free_port() for name in ("gateway", "stats", "agent", "mock", "admin")}
    run = subprocess.run(
        [os.path.join(ROOT, "scripts", "run"), "--no-build", "--print-only",
         "--haproxy", g.haproxy_bin,
         "--gateway", f"127.0.0.1:{ports['gateway']}", "--stats", f"127.0.0.1:{ports['stats']}",
         "--agent", f"127.0.0.1:{ports['agent']}", "--mock", f"127.0.0.1:{ports['mock']}",
         "--admin", f"127.0.0.1:{ports['admin']}"],
        capture_output=True, text=True, timeout=60, cwd=ROOT)
    expect(run.returncode == 0, f"scripts/run: {run.stdout[-600:]} {run.stderr[-600:]}")
    expect(f"http://127.0.0.1:{ports['gateway']}/v1" in run.stdout, run.stdout)
    expect(f"http://127.0.0.1:{ports['stats']}/metrics" in run.stdout, run.stdout)
    expect(f"http://127.0.0.1:{ports['admin']}/v1/keys" in run.stdout, run.stdout)
    expect(re.search(rf"status page .* http://127\.0\.0\.1:{ports['admin']}/ ", run.stdout),
           f"no status page URL: {run.stdout}")
    answer = run.stdout.strip().splitlines()[-1]
    expect('"chat.completion"' in answer, f"the printed curl's answer: {answer}")
    for port in ports.values():
        expect(not port_open(port), f"port {port} still open after scripts/run stopped")


def docs_recipe(name):
    """The code block that follows `<!-- recipe: NAME -->` in docs/operations.md."""
    text = open(os.path.join(ROOT, "docs", "operations.md")).read()
    m = re.search(r"<!-- recipe: " + re.escape(name) + r" -->\n```[a-z]*\n(.*?)```", text, re.S)
    expect(m is not None, f"docs/operations.md has no recipe {name}")
    return m.group(1)


def check_scripts_run_with_a_backend_of_its_own(g):
    """docs/operations.md's "A provider backend of your own", through scripts/run
    --haproxy-config: a plain HTTP backend and a TLS one with a CA of its own."""
    work = tempfile.mkdtemp(dir=g.run, prefix="own-backend.")
    ports = {name: free_port() for name in ("gateway", "stats", "agent", "admin", "mock", "tls")}
    # The model server behind both: a mock of our own, with the recipe's two keys.
    mock = subprocess.Popen([g.mock_bin, "--listen", f"127.0.0.1:{ports['mock']}",
                             "--key", "local-1=sk-e2e-own-local", "--key", "relay-1=sk-e2e-own-relay"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    run = None
    try:
        cert, key = os.path.join(work, "relay-ca.pem"), os.path.join(work, "relay.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-keyout", key, "-out", cert, "-subj", "/CN=relay.example.internal",
                        "-addext", "subjectAltName=DNS:relay.example.internal"],
                       check=True, capture_output=True, timeout=30)
        with open(os.path.join(work, "relay.pem"), "w") as pem:
            pem.write(open(cert).read() + open(key).read())
        recipe = (docs_recipe("my-backends.cfg")
                  .replace("10.0.0.5:8000", f"127.0.0.1:{ports['mock']}")
                  .replace("relay.example.internal:443", f"127.0.0.1:{ports['tls']}")
                  .replace("/etc/keymux/haproxy/relay-ca.pem", cert))
        # The relay itself: TLS in front of the same mock (test scaffolding, not the recipe).
        recipe += (f"\nfrontend fe_e2e_relay\n    bind 127.0.0.1:{ports['tls']} ssl crt {work}/relay.pem\n"
                   f"    default_backend be_e2e_relay_server\n"
                   f"backend be_e2e_relay_server\n    server m 127.0.0.1:{ports['mock']}\n")
        backends = os.path.join(work, "my-backends.cfg")
        open(backends, "w").write(recipe)
        config = os.path.join(work, "keymux.yaml")
        open(config, "w").write(
            "providers:\n"
            "  - {name: local, backend: be_local_llm, auth: bearer, keys: [{id: local-1, secret: \"${LOCAL_LLM_KEY}\"}]}\n"
            "  - {name: relay, backend: be_private_relay, auth: bearer, keys: [{id: relay-1, secret: \"${RELAY_KEY}\"}]}\n"
            "routes:\n"
            "  - {models: [\"llama-*\"], targets: [{provider: local}]}\n"
            "  - {models: [\"relay-*\"], targets: [{provider: relay}]}\n"
            "clients:\n"
            f"  - {{name: own, token_sha256: \"{hashlib.sha256(b'client-own-token').hexdigest()}\"}}\n")
        env = dict(os.environ, LOCAL_LLM_KEY="sk-e2e-own-local", RELAY_KEY="sk-e2e-own-relay",
                   TMPDIR=work)
        run = subprocess.Popen(
            [os.path.join(ROOT, "scripts", "run"), "--no-build", "--haproxy", g.haproxy_bin,
             "--config", config, "--haproxy-config", backends,
             "--gateway", f"127.0.0.1:{ports['gateway']}", "--stats", f"127.0.0.1:{ports['stats']}",
             "--agent", f"127.0.0.1:{ports['agent']}", "--admin", f"127.0.0.1:{ports['admin']}"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT)
        own = {"authorization": "Bearer client-own-token"}

        def answers():
            try:
                return chat(ports["gateway"], "llama-3", own).status == 200
            except OSError:
                return False
        expect(wait_until(30, lambda: run.poll() is not None or answers(), 0.2),
               "the gateway with a backend of its own never answered 200")
        if run.poll() is not None:
            raise CheckFailed(f"scripts/run stopped: {run.stdout.read()[-800:]}")
        for model, key in (("llama-3", "local-1"), ("relay-large", "relay-1")):
            r = chat(ports["gateway"], model, own)
            expect(r.status == 200, f"{model}: {r}")
            answer = r.json()["choices"][0]["message"]["content"]
            expect(f"(key {key})" in answer, f"{model} was not served with {key}: {answer}")
        run.send_signal(signal.SIGINT)
        out, _ = run.communicate(timeout=20)
        logs = re.search(r"logs kept in (\S+)", out)
        expect(logs is not None, f"scripts/run did not say where its logs went: {out[-600:]}")
        expect(os.path.isfile(os.path.join(logs.group(1), "agent.log")), os.listdir(logs.group(1)))
    finally:
        if run is not None and run.poll() is None:
            run.kill()
            run.wait()
        mock.kill()
        mock.wait()


def check_metrics_and_stats(g):
    r = request(g.stats, "GET", "/metrics")
    expect(r.status == 200 and b"haproxy_backend_http_responses_total" in r.body, r.status)
    g.fetched.append(r.body.decode(errors="replace"))
    samples = parse_prometheus(r.body.decode())
    expect((metric(samples, "haproxy_frontend_http_requests_total", proxy="fe_public") or 0) > 0,
           "fe_public: no request counted")
    expect((metric(samples, "haproxy_backend_http_responses_total", proxy="be_attempts",
                   code="2xx") or 0) > 0, "be_attempts: no 2xx counted")
    r = request(g.stats, "GET", "/stats")
    expect(r.status == 200 and b"be_attempts" in r.body, r.status)
    g.fetched.append(r.body.decode(errors="replace"))


# ---------------------------------------------------------------- the agent's admin API

def check_admin_api(g):
    for path, body in [("/healthz", b"ok\n"), ("/readyz", b"ready\n")]:
        r = g.admin("GET", path, headers={})
        expect(r.status == 200 and r.body == body, f"{path}: {r}")
    r = g.admin("GET", "/metrics", headers={})
    expect(r.status == 200, f"/metrics: {r}")
    ctype = r.headers.get("content-type", "")
    expect(ctype.startswith("text/plain") and "version=0.0.4" in ctype, f"/metrics: {ctype}")
    # /v1/ needs the admin token.
    for headers, code in [({}, "missing_admin_token"),
                          ({"authorization": "Bearer not-the-admin-token"}, "invalid_admin_token"),
                          ({"authorization": "Bearer client-canary-bearer"}, "invalid_admin_token")]:
        for method, path in [("GET", "/v1/keys"), ("GET", "/v1/clients"),
                             ("POST", "/v1/reload"), ("POST", "/v1/keys/rt-bearer/disable")]:
            r = g.admin(method, path, headers=headers)
            expect(r.status == 401 and r.json()["error"]["code"] == code, f"{method} {path} {headers}: {r}")
    expect(g.admin_key("rt-bearer")["state"] == "ok", "a refused disable took effect")
    # Every configured key, by id, provider and fingerprint; never a secret.
    r = g.admin("GET", "/v1/keys")
    expect(r.status == 200 and r.headers.get("content-type", "").startswith("application/json"), r)
    keys = {k["id"]: k for k in r.json()["keys"]}
    expect(sorted(keys) == sorted(i for i, _ in agent_keys()), f"keys listed: {sorted(keys)}")
    providers = set(agent_providers())
    for key_id, secret in agent_keys():
        k = keys[key_id]
        expect(k["provider"] in providers, k)
        expect(re.fullmatch(r"sha256:[0-9a-f]{8}", k["fingerprint"]), k)
        expect(k["fingerprint"] == fingerprint(secret), f"{key_id}: {k['fingerprint']}")
        for field in ("state", "in_flight", "requests_in_window", "tokens_in_window", "limits",
                      "weight", "reported_remaining_requests", "reported_remaining_tokens",
                      "cooldown_until", "cooldown_seconds", "cooldown_cause", "health",
                      "ejected_until", "ejections_total",
                      "consecutive_failures", "quarantine_reason", "admitted_total"):
            expect(field in k, f"{key_id}: no {field}: {k}")
    expect(keys["ex-a"]["limits"]["rpm"] == 2, keys["ex-a"])
    expect(keys["rt-bearer"]["state"] == "ok" and keys["rt-bearer"]["admitted_total"] >= 1,
           keys["rt-bearer"])
    body = r.body.decode()
    expect(all(s not in body for _, s in agent_keys()), "a key secret in GET /v1/keys")
    one = g.admin_key("rt-bearer")
    stable = ("id", "provider", "fingerprint", "state", "limits", "weight")
    expect({f: one[f] for f in stable} == {f: keys["rt-bearer"][f] for f in stable},
           f"GET /v1/keys/rt-bearer {one} vs {keys['rt-bearer']}")
    r = g.admin("GET", "/v1/keys/NOPE")
    expect(r.status == 404 and r.json()["error"]["code"] == "key_not_found", r)
    r = g.admin("POST", "/v1/keys/NOPE/disable")
    expect(r.status == 404 and r.json()["error"]["code"] == "key_not_found", r)
    # The clients, by name, with their counters; never a token.
    r = g.admin("GET", "/v1/clients")
    expect(r.status == 200, r)
    clients = {c["name"]: c for c in r.json()["clients"]}
    expect(sorted(clients) == sorted(CLIENT_NAMES), f"clients listed: {sorted(clients)}")
    expect(clients["e2e-main"]["requests_by_outcome"]["routed"] >= 1, clients["e2e-main"])
    expect(clients["e2e-limited"]["models"] == ["gpt-route"], clients["e2e-limited"])
    expect(clients["e2e-greedy"]["limits"]["rpm"] == 2, clients["e2e-greedy"])
    expect(all(t not in r.body.decode() for t in CLIENT_TOKENS), "a client token in /v1/clients")
    # Wrong methods and unknown paths: JSON errors.
    for method, path, status in [("DELETE", "/v1/keys", 405), ("POST", "/v1/keys/rt-bearer", 405),
                                 ("GET", "/v1/keys/rt-bearer/disable", 405),
                                 ("GET", "/v1/reload", 405), ("POST", "/v1/clients", 405),
                                 ("POST", "/healthz", 405), ("POST", "/metrics", 405),
                                 ("GET", "/v1/nothing", 404), ("GET", "/nothing", 404)]:
        r = g.admin(method, path)
        expect(r.status == status and "error" in r.json(), f"{method} {path}: {r}")


def after_revoke_and_ratelimit_scenarios(g):
    """The checks that read their state run after check_401_key_quarantined and
    check_429_retried_on_another_key; with --only, run those first."""
    if g.admin_key("rv-a")["state"] != "quarantined":
        check_401_key_quarantined(g)
    if not g.metric("keymux_key_cooldowns_total", key="rl-a", cause="rate_limited"):
        check_429_retried_on_another_key(g)


def check_admin_shows_quarantine_and_cooldown(g):
    # After check_401_key_quarantined: rv-a answered 401 once.
    after_revoke_and_ratelimit_scenarios(g)
    k = g.admin_key("rv-a")
    expect(k["state"] == "quarantined" and k["quarantine_reason"] == "upstream 401", k)
    samples = g.metrics()
    expect(metric(samples, "keymux_key_state", key="rv-a", provider="revoke") == 2,
           f"keymux_key_state rv-a: {metric(samples, 'keymux_key_state', key='rv-a')}")
    expect((metric(samples, "keymux_key_quarantines_total", key="rv-a") or 0) >= 1,
           "keymux_key_quarantines_total rv-a")
    expect(metric(samples, "keymux_key_state", key="rv-b") == 0, "rv-b not ok")
    log = g.agent_log()
    expect("key rv-a (provider revoke) quarantined: upstream 401" in log,
           "no 'quarantined: upstream 401' line in the agent log")
    expect("POST /v1/keys/rv-a/enable" in log, "the quarantine line does not say how to re-enable")
    # After check_429_retried_on_another_key: rl-a answered 429 (retry-after 30).
    k = g.admin_key("rl-a")
    cooling = k["state"] == "cooling"
    if cooling:
        expect(k["cooldown_cause"] == "rate_limited" and k["cooldown_seconds"] > 0, k)
        expect(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", k["cooldown_until"] or ""), k)
        expect(metric(samples, "keymux_key_state", key="rl-a") == 1, "keymux_key_state rl-a")
        expect(metric(samples, "keymux_key_cooldown_seconds", key="rl-a") > 0, "cooldown seconds")
    expect((metric(samples, "keymux_key_cooldowns_total", key="rl-a", provider="ratelimit",
                   cause="rate_limited") or 0) >= 1, "keymux_key_cooldowns_total rl-a rate_limited")
    expect(re.search(r"key rl-a \(provider ratelimit\) cooling until \S+ \([\d.]+s\): "
                     r"rate_limited \(upstream 429\)", log),
           "no 'cooling until ... rate_limited (upstream 429)' line in the agent log")


def check_admin_disable_enable(g):
    def serve(n):
        served = []
        for i in range(n):
            r = chat(g.gateway, "gpt-ops")
            expect(r.status == 200, f"gpt-ops request {i}: {r}")
            served.append(r.headers.get("x-mock-key-id"))
        return served

    expect(set(serve(6)) == {"op-a", "op-b"}, "both keys of gpt-ops do not serve")
    r = g.admin("POST", "/v1/keys/op-a/disable")
    expect(r.status == 200, f"disable: {r}")
    k = r.json()
    expect(k["id"] == "op-a" and k["state"] == "quarantined"
           and k["quarantine_reason"] == "disabled by operator", k)
    expect(g.admin_key("op-a")["state"] == "quarantined", "disable did not hold")
    before = g.key_stats("op-a")["requests"]
    served = serve(8)
    expect(served == ["op-b"] * 8, f"op-a disabled, yet served {served}")
    expect(g.key_stats("op-a")["requests"] == before, "a disabled key went upstream")
    expect(g.metric("keymux_key_state", key="op-a") == 2, "keymux_key_state op-a not 2")
    r = g.admin("POST", "/v1/keys/op-a/enable")
    expect(r.status == 200 and r.json()["state"] == "ok" and r.json()["quarantine_reason"] is None,
           f"enable: {r}")
    served = serve(8)
    expect(served.count("op-a") >= 2, f"op-a enabled, yet served {served}")
    expect(g.key_stats("op-a")["requests"] > before, g.key_stats("op-a"))
    log = g.agent_log()
    expect("key op-a (provider ops) quarantined: disabled by operator" in log,
           "no 'disabled by operator' line in the agent log")
    expect("key op-a (provider ops) enabled by operator" in log,
           "no 'enabled by operator' line in the agent log")


def check_agent_metrics(g):
    samples = g.metrics()
    names = {n for n, _, _ in samples}
    for name in ("keymux_build_info", "keymux_config_reloads_total",
                 "keymux_config_last_reload_successful",
                 "keymux_config_last_reload_success_timestamp_seconds", "keymux_decisions_total",
                 "keymux_decision_duration_seconds_bucket", "keymux_decision_duration_seconds_sum",
                 "keymux_decision_duration_seconds_count", "keymux_settles_total",
                 "keymux_outcome_lines_total", "keymux_outcome_line_errors_total",
                 "keymux_outcome_lines_settled_total", "keymux_outcome_unknown_tickets_total",
                 "keymux_spop_connections_total", "keymux_spop_connections",
                 "keymux_spop_frames_received_total", "keymux_spop_frames_sent_total",
                 "keymux_key_requests_total", "keymux_key_attempts_total",
                 "keymux_key_tokens_reserved_total", "keymux_key_in_flight",
                 "keymux_key_requests_in_window", "keymux_key_tokens_in_window",
                 "keymux_key_cooldowns_total", "keymux_key_quarantines_total", "keymux_key_state",
                 "keymux_key_ejections_total", "keymux_provider_health",
                 "keymux_provider_ejections_total", "keymux_panic_routed_total",
                 "keymux_key_cooldown_seconds", "keymux_client_requests_total",
                 "keymux_client_tokens_reserved_total", "keymux_client_tokens_today",
                 "keymux_client_in_flight"):
        expect(name in names, f"no {name} in the agent's /metrics")
    expect(metric(samples, "keymux_config_last_reload_successful") == 1, "last reload not 1")
    expect(metric(samples, "keymux_decisions_total", outcome="routed") > 0, "no routed decision")
    expect(metric(samples, "keymux_spop_frames_received_total", type="notify") > 0, "no NOTIFY")
    expect(metric(samples, "keymux_spop_frames_received_total", type="haproxy_hello") > 0, "no HELLO")
    expect(metric(samples, "keymux_spop_frames_sent_total", type="ack") > 0, "no ACK sent")
    expect(metric(samples, "keymux_spop_connections") >= 1, "no open SPOP connection")
    expect(metric(samples, "keymux_client_requests_total", client="e2e-main", outcome="routed") > 0,
           "e2e-main: no routed request")
    # Label cardinality comes from the config: exactly its keys, providers and clients.
    key_ids = {i for i, _ in agent_keys()}
    providers = set(agent_providers())
    secrets = [s for _, s in agent_keys()] + CLIENT_TOKENS + [ADMIN_TOKEN]
    for name, labels, _ in samples:
        if "key" in labels:
            expect(labels["key"] in key_ids, f"{name}{labels}: not a configured key")
        if "provider" in labels:
            expect(labels["provider"] in providers, f"{name}{labels}: not a configured provider")
        if "client" in labels:
            expect(labels["client"] in CLIENT_NAMES, f"{name}{labels}: not a configured client")
        for value in labels.values():
            expect(all(s not in value for s in secrets), f"a secret in a label of {name}")
    for name in ("keymux_key_state", "keymux_key_attempts_total", "keymux_key_in_flight"):
        expect(sorted(l["key"] for n, l, _ in samples if n == name) == sorted(key_ids),
               f"{name}: not one series per configured key")
    expect(sorted(l["client"] for n, l, _ in samples if n == "keymux_client_in_flight")
           == sorted(CLIENT_NAMES), "keymux_client_in_flight: not one series per client")
    expect({l["status_class"] for n, l, _ in samples if n == "keymux_key_requests_total"}
           <= {"no_response", "2xx", "3xx", "4xx", "5xx"}, "unexpected status_class")
    # N requests of a route of their own move the counters by exactly N.
    n = 5
    count = lambda s, name, **l: metric(s, name, **l) or 0
    watched = [("keymux_decisions_total", {"outcome": "routed"}),
               ("keymux_key_requests_total", {"key": "mt-a", "status_class": "2xx"}),
               ("keymux_key_attempts_total", {"key": "mt-a", "provider": "metered"}),
               ("keymux_client_requests_total", {"client": "e2e-main", "outcome": "routed"}),
               ("keymux_decision_duration_seconds_count", {}),
               # A 2xx that is not a stream is settled by its settle message and
               # writes no outcome line. Process-wide: the settles may also count
               # another check's late failure.
               ("keymux_settles_total", {})]
    at_least = {"keymux_settles_total"}
    before = {name: count(samples, name, **l) for name, l in watched}
    for i in range(n):
        r = chat(g.gateway, "gpt-metered")
        expect(r.status == 200 and r.headers.get("x-mock-key-id") == "mt-a", f"request {i}: {r}")
    deltas = {}

    def settled():
        s = g.metrics()
        deltas.update({name: count(s, name, **l) - before[name] for name, l in watched})
        return deltas["keymux_key_requests_total"] >= n and deltas["keymux_settles_total"] >= n
    wait_until(3, settled, 0.1)
    expect(all(deltas[name] == n or (name in at_least and deltas[name] > n)
               for name, _ in watched), f"after {n} requests: {deltas}")
    s = g.metrics()
    expect(count(s, "keymux_key_requests_total", key="mt-a") == before["keymux_key_requests_total"] + n,
           "mt-a: requests outside 2xx")
    expect(count(s, "keymux_key_tokens_reserved_total", key="mt-a") > 0, "mt-a: no tokens reserved")
    expect(count(s, "keymux_key_requests_in_window", key="mt-a") >= n, "mt-a: requests in window")
    expect(count(s, "keymux_key_tokens_in_window", key="mt-a") > 0, "mt-a: tokens in window")
    k = g.admin_key("mt-a")
    expect(k["requests_in_window"] >= n and k["admitted_total"] >= n
           and k["limits"] == {"rpm": 100000, "tpm": 100000000, "max_in_flight": None}, k)
    expect(count(s, "keymux_key_in_flight", key="mt-a") == 0, "mt-a: still in flight")
    buckets = sorted(((float(l["le"]), v) for nm, l, v in s
                      if nm == "keymux_decision_duration_seconds_bucket"), key=lambda b: b[0])
    expect(buckets and buckets[-1][0] == float("inf")
           and buckets[-1][1] == count(s, "keymux_decision_duration_seconds_count"),
           f"the +Inf bucket is not the count: {buckets[-3:]}")
    expect(all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])), "buckets not cumulative")


def set_key_weight(g, key_id, weight):
    """Rewrites a key's weight in the agent's copy of the config."""
    text = open(g.config).read()
    new = re.sub(rf"(id: {key_id}, secret: [\w-]+, weight: )\d+", rf"\g<1>{weight}", text)
    expect(new != text or f"weight: {weight}" in text, f"no weight of {key_id} in {g.config}")
    with open(g.config + ".tmp", "w") as f:
        f.write(new)
    os.replace(g.config + ".tmp", g.config)


def check_reload_under_load(g):
    after_revoke_and_ratelimit_scenarios(g)
    successes = g.metric("keymux_config_reloads_total", result="success") or 0
    log_lines = g.agent_log().count(f"configuration reloaded from {g.config}: ")
    attempts_rv_b = g.metric("keymux_key_attempts_total", key="rv-b")
    statuses, stop = [], threading.Event()

    def load():
        while not stop.is_set():
            try:
                r = chat(g.gateway, "gpt-reload")
                statuses.append((r.status, r.headers.get("x-mock-key-id")))
            except Exception as e:  # a failed request is a result, not a crash
                statuses.append((repr(e), None))

    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.3)
        for i in range(5):
            weight = 2 + i  # 1 in gateway.yaml
            set_key_weight(g, "ld-a", weight)
            if i % 2 == 0:
                r = g.reload()
                expect(r.status == 200, f"reload {i}: {r}")
                body = r.json()
                expect(body["result"] == "reloaded" and body["config"] == g.config, body)
                expect(re.fullmatch(r"23 providers, 29 keys, 22 routes, 5 clients", body["summary"]),
                       body)
            else:
                os.kill(g.agent_pid(), signal.SIGHUP)
                expect(wait_until(3, lambda: g.metric("keymux_config_reloads_total",
                                                      result="success") == successes + i + 1),
                       f"SIGHUP {i}: no reload counted")
            expect(wait_until(2, lambda: g.admin_key("ld-a")["weight"] == weight),
                   f"reload {i}: ld-a's weight is {g.admin_key('ld-a')['weight']}, not {weight}")
            time.sleep(0.6)
    finally:
        stop.set()
        for t in threads:
            t.join()
    failed = [s for s in statuses if s[0] != 200]
    print(f"      {len(statuses)} requests from 4 threads across 5 reloads, {len(failed)} failed")
    expect(len(statuses) >= 40, f"only {len(statuses)} requests under load")
    expect(not failed, f"{len(failed)} of {len(statuses)} requests failed: {failed[:5]}")
    expect({k for _, k in statuses} == {"ld-a", "ld-b"}, "not both keys served")
    expect(g.metric("keymux_config_reloads_total", result="success") == successes + 5,
           "keymux_config_reloads_total{result=success} did not rise by 5")
    expect(g.metric("keymux_config_last_reload_successful") == 1, "last reload not successful")
    log = g.agent_log()
    expect(log.count(f"configuration reloaded from {g.config}: ") == log_lines + 5,
           "not 5 more 'configuration reloaded from' lines in the agent log")
    expect("SIGHUP received" in log, "no 'SIGHUP received' line")
    # State survives a reload: the revoked key is still out, counters keep counting.
    k = g.admin_key("rv-a")
    expect(k["state"] == "quarantined" and k["quarantine_reason"] == "upstream 401",
           f"rv-a after the reloads: {k}")
    expect(g.metric("keymux_key_state", key="rv-a") == 2, "keymux_key_state rv-a after reload")
    expect(g.metric("keymux_key_attempts_total", key="rv-b") >= attempts_rv_b, "counters reset")
    r = chat(g.gateway, "gpt-revoke")
    expect(r.status == 200 and r.headers.get("x-mock-key-id") == "rv-b", f"after reload: {r}")
    set_key_weight(g, "ld-a", 1)
    expect(g.reload().status == 200, "reload back to weight 1")


def check_bad_reload_rejected(g):
    good = open(AGENT_CONFIG).read()
    failures = g.metric("keymux_config_reloads_total", result="failure") or 0
    successes = g.metric("keymux_config_reloads_total", result="success") or 0
    rv_a = g.admin_key("rv-a")["state"]

    def write(text):
        with open(g.config + ".tmp", "w") as f:
            f.write(text)
        os.replace(g.config + ".tmp", g.config)

    try:
        # A route naming a provider that does not exist: 422, file:line of the route.
        bad = good.replace("targets: [{provider: metered}]", "targets: [{provider: no-such-provider}]")
        expect(bad != good, "gateway.yaml changed: no metered route")
        line = next(i + 1 for i, l in enumerate(bad.splitlines()) if "no-such-provider" in l)
        write(bad)
        r = g.reload()
        expect(r.status == 422, f"unknown provider: {r}")
        body = r.json()
        expect(body["result"] == "rejected" and body["errors"], body)
        expect(any(re.match(rf"{re.escape(g.config)}:{line}:\d+: .*no-such-provider", e)
                   for e in body["errors"]), f"no {g.config}:{line}:COL error: {body['errors']}")
        expect(chat(g.gateway, "gpt-metered").status == 200, "the old config stopped serving")
        expect(g.metric("keymux_config_last_reload_successful") == 0, "last reload not 0")
        # Broken YAML by SIGHUP: rejected, logged with file:line, the agent serves on.
        broken = good.replace("  - {name: metered, models: [gpt-metered],",
                              "  - {name: metered, models: [gpt-metered,")
        expect(broken != good, "gateway.yaml changed: no metered route")
        write(broken)
        os.kill(g.agent_pid(), signal.SIGHUP)
        expect(wait_until(3, lambda: g.metric("keymux_config_reloads_total", result="failure")
                          == failures + 2), "SIGHUP with broken YAML: no failure counted")
        expect(g.procs["agent"].poll() is None, "the agent exited on a bad config")
        for i in range(3):
            r = chat(g.gateway, "gpt-metered")
            expect(r.status == 200, f"request {i} after a rejected reload: {r}")
        samples = g.metrics()
        expect(metric(samples, "keymux_config_last_reload_successful") == 0, "last reload not 0")
        expect(metric(samples, "keymux_config_reloads_total", result="success") == successes,
               "a rejected reload counted as a success")
        log = g.agent_log()
        expect(log.count("configuration reload rejected (") >= 2, "no 'reload rejected' lines")
        expect("still serving the previous configuration" in log, "no 'still serving' line")
        expect(re.search(rf"\[error\]\s+{re.escape(g.config)}:\d+:\d+: YAML", log),
               "the YAML error not logged as file:line:col")
        expect(g.admin_key("rv-a")["state"] == rv_a, "a rejected reload changed a key's state")
    finally:
        write(good)
    r = g.reload()
    expect(r.status == 200 and r.json()["result"] == "reloaded", f"good config again: {r}")
    samples = g.metrics()
    expect(metric(samples, "keymux_config_last_reload_successful") == 1, "last reload not back to 1")
    expect(metric(samples, "keymux_config_reloads_total", result="success") == successes + 1, "")
    expect(metric(samples, "keymux_config_reloads_total", result="failure") == failures + 2, "")
    expect(chat(g.gateway, "gpt-metered").status == 200, "not serving after the good reload")


def check_save_artifacts(g):
    out = os.environ.get("KEYMUX_E2E_ARTIFACTS")
    text = g.metrics_text()
    parse_prometheus(text)
    r = g.admin("GET", "/v1/keys")
    expect(r.status == 200, r)
    keys = r.json()
    if not out:
        print("      KEYMUX_E2E_ARTIFACTS not set: nothing saved")
        return
    os.makedirs(out, exist_ok=True)
    version = g.haproxy_version()
    with open(os.path.join(out, f"metrics-{version}.txt"), "w") as f:
        f.write(text)
    with open(os.path.join(out, f"keys-{version}.json"), "w") as f:
        json.dump(keys, f, indent=2)
        f.write("\n")
    print(f"      saved {out}/metrics-{version}.txt and keys-{version}.json")


def check_haproxy_without_the_gateway_secret_gets_no_key(g):
    """A second HAProxy on the same agent, without KEYMUX_SPOP_SECRET (haproxy.cfg's
    default "none"): every route is refused, nothing goes upstream, the refusal is
    counted and logged once per connection; the real gateway serves on."""
    before = g.metric("keymux_spop_unauthenticated_messages_total", reason="wrong") or 0
    upstream_before = g.mock_stats()["requests"]
    gateway, stats = free_port(), free_port()
    env = dict(g.env, KEYMUX_GATEWAY_BIND=f"127.0.0.1:{gateway}",
               KEYMUX_STATS_BIND=f"127.0.0.1:{stats}", KEYMUX_INSTANCE=f"e2e-{gateway}",
               KEYMUX_RUN_DIR=os.path.join(g.run, "intruder"))
    del env["KEYMUX_SPOP_SECRET"]
    os.makedirs(env["KEYMUX_RUN_DIR"], exist_ok=True)
    g.spawn("haproxy-intruder", [g.haproxy_bin, "-db"] + g.haproxy_files(), gateway, env)
    try:
        # Until spop-check has seen the agent, HAProxy answers agent_unavailable.
        expect(wait_until(10, lambda: chat(gateway, "gpt-route").json()["error"]["code"]
                          == "gateway_unauthenticated", 0.2),
               f"no gateway_unauthenticated refusal: {chat(gateway, 'gpt-route')}")
        r = chat(gateway, "gpt-route")
        expect(r.status == 503 and r.json()["error"]["type"] == "service_unavailable", r)
        expect(g.mock_stats()["requests"] == upstream_before, "a refused request went upstream")
        expect(g.metric("keymux_spop_unauthenticated_messages_total", reason="wrong") >= before + 2,
               "keymux_spop_unauthenticated_messages_total{reason=wrong} did not rise")
        log = g.agent_log()
        lines = log.count("a wrong gateway secret in a 'route' message; refused")
        expect(lines >= 1, "no 'wrong gateway secret' line in the agent log")
        expect(GATEWAY_SECRET not in log, "the gateway secret in the agent log")
    finally:
        g.stop("haproxy-intruder")
    expect(chat(g.gateway, "gpt-route").status == 200, "the real gateway stopped serving")


def check_no_secret_in_any_output(g):
    secrets = [s for _, s in agent_keys()] + CLIENT_TOKENS + [ADMIN_TOKEN, GATEWAY_SECRET]
    edges = [f"{e.name}-{p}" for e in g.edges.values() for p in ("haproxy", "agent")]
    for name in ["haproxy", "agent", "mock"] + edges:
        text = open(g.log_path(name), errors="replace").read()
        for secret in secrets:
            expect(secret not in text, f"{secret[:10]}... appears in the {name} log")
    stats = json.dumps(g.mock_stats())
    expect(all(s not in stats for s in secrets), "a secret in the mock's stats")
    # Whatever the admin API and the metrics pages answered during the run, and now.
    g.metrics_text()
    g.admin("GET", "/v1/keys")
    g.admin("GET", "/v1/clients")
    expect(len(g.fetched) >= 3, "no admin API answer kept")
    for i, body in enumerate(g.fetched):
        for secret in secrets:
            expect(secret not in body, f"{secret[:10]}... appears in admin/metrics answer {i}: "
                                       f"{body[:200]!r}")


CHECKS = [
    ("routes by model to the right provider and key style", check_routes_by_model_and_key_style),
    ("client credentials never reach the upstream", check_client_credentials_never_reach_upstream),
    ("admin API: health, auth, keys without secrets, clients, 404/405", check_admin_api),
    ("429 on one key is retried on another; cooldown holds", check_429_retried_on_another_key),
    ("401 key is quarantined and never chosen again", check_401_key_quarantined),
    ("admin API, metrics and log show the quarantine and the cooldown",
     check_admin_shows_quarantine_and_cooldown),
    ("admin API: disable takes a key out of service, enable brings it back",
     check_admin_disable_enable),
    ("agent /metrics: series per configured key/client, counters move by N", check_agent_metrics),
    ("reload under load (API and SIGHUP): no failed request, state kept", check_reload_under_load),
    ("bad config reload rejected (422, file:line), old config serves on", check_bad_reload_rejected),
    ("refused provider fails over to the next provider", check_refused_provider_fails_over),
    ("a key failing every request is ejected (not cooled), then probed back",
     check_failing_key_ejected_then_probed_back),
    ("pool exhausted: 429 + retry-after + OpenAI error", check_pool_exhausted_is_429_with_retry_after),
    ("a backend HAProxy lacks fails over to the next provider", check_backend_haproxy_lacks_fails_over),
    ("a JSON body that is not JSON: 400 before any key", check_body_that_is_not_json_is_400),
    ("GET /v1/models answered by the gateway", check_models_list),
    ("client: no token or an unknown one is 401", check_client_without_or_with_unknown_token_is_401),
    ("client: token in x-api-key (Anthropic SDKs)", check_client_token_in_x_api_key),
    ("client: model allow-list is 403, /v1/models filtered", check_client_model_allow_list),
    ("client over its own limit: 429, other clients served", check_client_over_its_limit_while_others_served),
    ("unknown path: 404 JSON", check_unknown_path),
    ("SSE streaming: first chunk early, stream whole", check_streaming),
    ("SSE stream holds its in-flight slot until it ends", check_stream_holds_its_slot_to_the_end),
    ("a 2xx's rate-limit headers reach the agent",
     check_success_headers_reach_the_agent),
    ("body larger than the buffer is forwarded whole", check_body_larger_than_buffer),
    ("tpm counts the answers' real tokens: surplus back, excess charged, never over",
     check_tpm_settles_real_token_counts),
    ("large body, model last: never silently rerouted (log, metric, header, path)",
     check_large_body_model_last_never_silently_rerouted),
    ("edge: per-source 429 + retry-after, other sources served, trusted proxies, off switch",
     check_edge_source_rate_limit),
    ("edge: a token-guessing source is blocked without asking the agent",
     check_edge_auth_failure_block),
    ("edge: a connection flood is queued or 503, never reset, then served",
     check_edge_connection_flood),
    ("edge: slow and oversized requests get 408, 431, 413", check_edge_slow_and_oversized),
    # Before the agent restart below, which starts its counters from zero.
    ("agent /metrics and GET /v1/keys saved for the release note", check_save_artifacts),
    ("agent down: 503 JSON, nothing upstream; back without reload", check_agent_down_fails_closed),
    ("official OpenAI Node SDK: chat, stream, rate limit", check_openai_node_sdk),
    ("HAProxy stats page and /metrics", check_metrics_and_stats),
    ("HAProxy without the gateway secret gets no key (503, counted, logged)",
     check_haproxy_without_the_gateway_secret_gets_no_key),
    ("scripts/run prints a curl that answers", check_scripts_run_prints_a_working_curl),
    ("a backend of one's own (docs recipe): plain HTTP and TLS via scripts/run",
     check_scripts_run_with_a_backend_of_its_own),
    ("no secret in any log, admin API answer or metrics page", check_no_secret_in_any_output),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("haproxy")
    parser.add_argument("agent")
    parser.add_argument("mock")
    parser.add_argument("--only", help="comma-separated substrings of check names")
    parser.add_argument("--keep", action="store_true", help="keep the run directory")
    args = parser.parse_args()

    g = Gateway(args.haproxy, args.agent, args.mock, args.keep)
    passed = failed = 0
    try:
        g.start()
        for name, check in CHECKS:
            if args.only and not any(o in check.__name__ or o in name
                                     for o in args.only.split(",")):
                continue
            start = time.monotonic()
            try:
                check(g)
                passed += 1
                print(f"  PASS {name} ({time.monotonic() - start:.1f} s)", flush=True)
            except Exception as e:  # a check's failure, whatever raised it
                failed += 1
                detail = str(e) if isinstance(e, CheckFailed) else traceback.format_exc()
                print(f"  FAIL {name} ({time.monotonic() - start:.1f} s): {detail}", flush=True)
                for proc in ("haproxy", "agent", "mock"):
                    print(f"    --- {proc} log (last lines)")
                    print("    | " + g.tail(proc, 8).replace("\n", "\n    | "))
    except CheckFailed as e:
        failed += 1
        print(f"  FAIL start: {e}")
        for proc in ("haproxy", "agent", "mock"):
            print(f"    --- {proc}: {g.tail(proc)}")
    finally:
        g.close()
    print(f"  gateway suite: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
