#!/usr/bin/env bash
# Checks that need no running gateway: every tests/static/check_* program, each
# run from the repository root with the agent binary as $KEYMUX_AGENT (default
# build/keymux-agent). Prints PASS/FAIL per check; exit status 0 when all passed.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export KEYMUX_AGENT=${KEYMUX_AGENT:-$PWD/build/keymux-agent}
failed=0
for check in tests/static/check_*; do
  [[ -x "$check" ]] || continue
  if "$check"; then
    echo "PASS $(basename "$check")"
  else
    echo "FAIL $(basename "$check")"
    failed=$((failed + 1))
  fi
done
echo "static checks: $failed failed"
((failed == 0))
