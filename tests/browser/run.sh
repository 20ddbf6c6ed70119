#!/usr/bin/env bash
# The status page in a real browser (browser_suite.py): Debian's Chromium, headless,
# driven by puppeteer-core, against HAProxy + the agent + the mock on free ports.
#   run.sh
#   KEYMUX_AGENT      agent binary (default build/keymux-agent)
#   KEYMUX_MOCK       mock provider binary (default build/keymux-mock-upstream)
#   KEYMUX_HAPROXY    haproxy (default /usr/sbin/haproxy)
#   KEYMUX_BROWSER_ARTIFACTS  where the screenshots go (default build/browser-artifacts)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$PWD
AGENT=${KEYMUX_AGENT:-$ROOT/build/keymux-agent}
MOCK=${KEYMUX_MOCK:-$ROOT/build/keymux-mock-upstream}
HAPROXY=${KEYMUX_HAPROXY:-/usr/sbin/haproxy}
ARTIFACTS=${KEYMUX_BROWSER_ARTIFACTS:-$ROOT/build/browser-artifacts}
for bin in "$AGENT" "$MOCK"; do
  [[ -x "$bin" ]] || { echo "run.sh: no $bin (build it first)" >&2; exit 1; }
done
exec python3 tests/browser/browser_suite.py "$HAPROXY" "$AGENT" "$MOCK" --artifacts "$ARTIFACTS"
