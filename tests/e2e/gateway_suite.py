#!/usr/bin/env python3
"""The gateway end to end: a real HAProxy with haproxy/haproxy.cfg, the keymux
agent and the mock provider, on free loopback ports.

  gateway_suite.py HAPROXY AGENT MOCK [--only NAME[,NAME...]] [--keep]

Every scenario has its own route, provider and keys in tests/e2e/gateway.yaml.
Prints PASS/FAIL per check and a summary; exit status 0 when all passed.
Everything started here is stopped by PID on exit. Standard library only.
"""

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
AGENT_CONFIG = os.path.join(HERE, "gateway.yaml")

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
CLIENT_TOKENS = ["client-canary-bearer", "client-xapikey-token", "client-limited-token",
                 "client-greedy-token"]


class CheckFailed(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def wait_until(seconds, predicate, interval=0.05):
    deadline = time.monotonic() + seconds
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def agent_keys():
    """(id, secret) of every key in gateway.yaml, read without a YAML library."""
    text = open(AGENT_CONFIG).read()
    return re.findall(r"id: ([\w-]+), secret: (sk-e2e-[\w-]+)", text)


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


def request(port, method, path, body=None, headers=None, timeout=20):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
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
        )

    def log_path(self, name):
        return os.path.join(self.run, f"{name}.log")

    def spawn(self, name, argv, port):
        log = open(self.log_path(name), "ab")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                                cwd=ROOT)
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
        for key_id, secret in agent_keys():
            argv += ["--key", f"{key_id}={secret}"]
        self.spawn("mock", argv, self.mock_port)

    def start_agent(self):
        self.spawn("agent", [self.agent_bin, "--config", AGENT_CONFIG, "--listen",
                             f"127.0.0.1:{self.agent_port}", "--threads", "2"], self.agent_port)

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


def check_refused_provider_fails_over(g):
    before = g.key_stats("live-a")["requests"]
    for i in range(4):
        r = chat(g.gateway, "gpt-failover")
        expect(r.status == 200, f"request {i}: {r}")
        expect(r.headers.get("x-mock-key-id") == "live-a", f"request {i}: {r.headers}")
    expect(g.key_stats("live-a")["requests"] == before + 4, g.key_stats("live-a"))


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


def check_body_larger_than_buffer(g):
    # 200 KiB: over tune.bufsize (128 KiB), so HAProxy streams it and cannot retry it.
    content = "x" * (200 * 1024)
    body = json.dumps({"model": "gpt-big", "messages": [{"role": "user", "content": content}]})
    r = request(g.gateway, "POST", "/v1/chat/completions", body.encode(), CANARY_HEADERS)
    expect(r.status == 200, r)
    expect(r.headers.get("x-mock-key-id") == "big-a", r.headers)
    # The mock counts prompt tokens as body bytes / 4: the whole body arrived.
    expect(r.json()["usage"]["prompt_tokens"] == len(body) // 4, (r.json()["usage"], len(body)))


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
    ports = {name: free_port() for name in ("gateway", "stats", "agent", "mock")}
    run = subprocess.run(
        [os.path.join(ROOT, "scripts", "run"), "--no-build", "--print-only",
         "--haproxy", g.haproxy_bin,
         "--gateway", f"127.0.0.1:{ports['gateway']}", "--stats", f"127.0.0.1:{ports['stats']}",
         "--agent", f"127.0.0.1:{ports['agent']}", "--mock", f"127.0.0.1:{ports['mock']}"],
        capture_output=True, text=True, timeout=60, cwd=ROOT)
    expect(run.returncode == 0, f"scripts/run: {run.stdout[-600:]} {run.stderr[-600:]}")
    expect(f"http://127.0.0.1:{ports['gateway']}/v1" in run.stdout, run.stdout)
    expect(f"http://127.0.0.1:{ports['stats']}/metrics" in run.stdout, run.stdout)
    answer = run.stdout.strip().splitlines()[-1]
    expect('"chat.completion"' in answer, f"the printed curl's answer: {answer}")
    for port in ports.values():
        expect(not port_open(port), f"port {port} still open after scripts/run stopped")


def check_metrics_and_stats(g):
    r = request(g.stats, "GET", "/metrics")
    expect(r.status == 200 and b"haproxy_backend_http_responses_total" in r.body, r.status)
    r = request(g.stats, "GET", "/stats")
    expect(r.status == 200 and b"be_attempts" in r.body, r.status)


def check_no_secret_in_any_output(g):
    secrets = [s for _, s in agent_keys()] + CLIENT_TOKENS
    for name in ("haproxy", "agent", "mock"):
        text = open(g.log_path(name), errors="replace").read()
        for secret in secrets:
            expect(secret not in text, f"{secret[:10]}... appears in the {name} log")
    stats = json.dumps(g.mock_stats())
    expect(all(s not in stats for s in secrets), "a secret in the mock's stats")


CHECKS = [
    ("routes by model to the right provider and key style", check_routes_by_model_and_key_style),
    ("client credentials never reach the upstream", check_client_credentials_never_reach_upstream),
    ("429 on one key is retried on another; cooldown holds", check_429_retried_on_another_key),
    ("401 key is quarantined and never chosen again", check_401_key_quarantined),
    ("refused provider fails over to the next provider", check_refused_provider_fails_over),
    ("pool exhausted: 429 + retry-after + OpenAI error", check_pool_exhausted_is_429_with_retry_after),
    ("GET /v1/models answered by the gateway", check_models_list),
    ("client: no token or an unknown one is 401", check_client_without_or_with_unknown_token_is_401),
    ("client: token in x-api-key (Anthropic SDKs)", check_client_token_in_x_api_key),
    ("client: model allow-list is 403, /v1/models filtered", check_client_model_allow_list),
    ("client over its own limit: 429, other clients served", check_client_over_its_limit_while_others_served),
    ("unknown path: 404 JSON", check_unknown_path),
    ("SSE streaming: first chunk early, stream whole", check_streaming),
    ("body larger than the buffer is forwarded whole", check_body_larger_than_buffer),
    ("agent down: 503 JSON, nothing upstream; back without reload", check_agent_down_fails_closed),
    ("official OpenAI Node SDK: chat, stream, rate limit", check_openai_node_sdk),
    ("HAProxy stats page and /metrics", check_metrics_and_stats),
    ("scripts/run prints a curl that answers", check_scripts_run_prints_a_working_curl),
    ("no secret in any log", check_no_secret_in_any_output),
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
