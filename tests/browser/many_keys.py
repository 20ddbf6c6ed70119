"""A keymux configuration with many keys, for the status page's scale checks
(browser_suite.py) and the cost of GET /v1/status (status_cost.py).

  write_config(path, keys, providers=10): PROVIDERS providers of KEYS/PROVIDERS keys each,
  every key with rpm/tpm limits (the page draws them as bars), one client, and the admin
  token ADMIN_TOKEN. The agent needs no HAProxy for it: nothing is routed.
"""

import hashlib
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "support"))
from loopback import free_port, port_open, wait_until  # noqa: E402

ADMIN_TOKEN = "admin-canary-token"  # as tests/e2e/gateway.yaml, so the page logs in the same way


def write_config(path, keys, providers=10):
    providers = max(1, min(providers, keys))
    lines = ["providers:"]
    for p in range(providers):
        lines += [f"  - name: provider-{p:02d}", f"    backend: be_p{p:02d}", "    auth: bearer",
                  "    keys:"]
        for k in range(p, keys, providers):
            lines.append(f"      - {{id: key-{k:04d}, secret: sk-scale-{k:04d}, rpm: 600, "
                         f"tpm: 100000}}")
    lines += ["routes:", "  - models: ['*']", "    targets:"]
    lines += [f"      - {{provider: provider-{p:02d}}}" for p in range(providers)]
    digest = hashlib.sha256(ADMIN_TOKEN.encode()).hexdigest()
    lines += ["clients:",
              "  - {name: scale-client, token_sha256: "
              f"\"{hashlib.sha256(b'scale-client-token').hexdigest()}\", rpm: 100}}",
              "admin:", f"  token_sha256: \"{digest}\"", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))



def start_agent(agent_bin, config, log_path):
    """Starts the agent on free ports; returns (process, admin port) once the admin API listens."""
    admin = free_port()
    log = open(log_path, "ab")
    proc = subprocess.Popen([agent_bin, "--config", config, "--listen",
                             f"127.0.0.1:{free_port()}", "--threads", "1", "--admin-listen",
                             f"127.0.0.1:{admin}"], stdout=log, stderr=subprocess.STDOUT)
    if wait_until(10, lambda: proc.poll() is not None or port_open(admin)) and proc.poll() is None:
        return proc, admin
    proc.kill()
    proc.wait()
    raise RuntimeError(f"the agent did not start on {config}: see {log_path}")


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
