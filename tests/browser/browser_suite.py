#!/usr/bin/env python3
"""The status page in a real browser: Debian's chromium, headless, driven by
puppeteer-core (status_page_check.mjs), against a running gateway on the mock.

  browser_suite.py HAPROXY AGENT MOCK [--artifacts DIR] [--keep]

Starts HAProxy + agent + mock on free loopback ports as tests/e2e/gateway_suite.py
does (its Gateway, on tests/e2e/gateway.yaml), forces a 429 on rl-a and a 401 on
rv-a through the mock's control API (gateway_suite's own scenarios), then runs
the page checks with the gateway's, the mock's and the admin API's addresses.
A second agent alone, on a generated configuration of 1,000 keys, serves the
scale checks. Screenshots go to --artifacts (default: a new temporary directory, kept).
Exit status 0 when every check passed. Everything started is stopped by PID.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))
sys.path.insert(0, HERE)

import gateway_suite as gs  # noqa: E402
import many_keys  # noqa: E402

CHROMIUM = os.environ.get("KEYMUX_CHROMIUM", "/usr/bin/chromium")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("haproxy")
    parser.add_argument("agent")
    parser.add_argument("mock")
    parser.add_argument("--artifacts", help="where the screenshots go")
    parser.add_argument("--keep", action="store_true", help="keep the run directory")
    args = parser.parse_args()

    if not os.access(CHROMIUM, os.X_OK):
        print(f"  FAIL no browser at {CHROMIUM} (Debian: apt-get install chromium; "
              "deploy/install-deps.sh --test installs it)")
        return 1
    install = subprocess.run([os.path.join(HERE, "install.sh")], capture_output=True, text=True)
    if install.returncode != 0:
        print(f"  FAIL installing puppeteer-core: {install.stderr.strip()}")
        return 1
    cache = install.stdout.strip().splitlines()[-1]

    g = gs.Gateway(args.haproxy, args.agent, args.mock, args.keep)
    scale = None
    artifacts = args.artifacts or tempfile.mkdtemp(prefix="keymux-browser-artifacts.")
    os.makedirs(artifacts, exist_ok=True)
    try:
        g.start()
        # A cooling key (429, retry-after 30 s) and a quarantined one (401).
        gs.check_429_retried_on_another_key(g)
        gs.check_401_key_quarantined(g)
        scale_config = os.path.join(g.run, "scale.yaml")
        many_keys.write_config(scale_config, 1000)
        scale, scale_admin = many_keys.start_agent(args.agent, scale_config,
                                                   os.path.join(g.run, "scale-agent.log"))
        settings = {
            "chromium": CHROMIUM,
            "admin": f"http://127.0.0.1:{g.admin_port}",
            "gateway": f"http://127.0.0.1:{g.gateway}",
            "mock": f"http://127.0.0.1:{g.mock_port}",
            "scale_admin": f"http://127.0.0.1:{scale_admin}",
            "token": gs.ADMIN_TOKEN,
            "client_auth": gs.CANARY_HEADERS["authorization"],
            "artifacts": artifacts,
            "profile": tempfile.mkdtemp(prefix="chromium-profile.", dir=g.run),
        }
        rc = subprocess.run(["node", os.path.join(cache, "status_page_check.mjs"),
                             json.dumps(settings)], cwd=cache, timeout=240).returncode
        if rc != 0:
            for proc in ("agent", "mock", "haproxy"):
                print(f"    --- {proc} log (last lines)")
                print("    | " + g.tail(proc, 8).replace("\n", "\n    | "))
        print(f"  screenshots in {artifacts}")
        return rc
    except gs.CheckFailed as e:
        print(f"  FAIL start: {e}")
        for proc in ("haproxy", "agent", "mock"):
            print(f"    --- {proc}: {g.tail(proc)}")
        return 1
    finally:
        if scale is not None:
            many_keys.stop(scale)
        g.close()


if __name__ == "__main__":
    sys.exit(main())
