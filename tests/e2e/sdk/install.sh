#!/usr/bin/env bash
# Installs the OpenAI Node SDK pinned in package.json/package-lock.json (this directory)
# once, into a cache directory outside the repository, and copies sdk_check.mjs there.
#   install.sh [CACHE_DIR]      default: ${KEYMUX_SDK_CACHE:-/var/cache/keymux/node-sdk}
# The install is skipped when the cache's package-lock.json equals ours and node_modules/openai
# exists. The last line on stdout is the cache directory (the parent of node_modules); run the
# check from there:  node "$DIR/sdk_check.mjs" --base-url ... (see sdk_check.mjs).
# Exit status: non-zero when node/npm are missing or the install fails.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${1:-${KEYMUX_SDK_CACHE:-/var/cache/keymux/node-sdk}}

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "install.sh: '$tool' not found in PATH: the SDK check needs Node.js >= 18 and npm (Debian: apt-get install nodejs npm)" >&2
    exit 2
  fi
done
node_major=$(node -p 'process.versions.node.split(".")[0]')
if (( node_major < 18 )); then
  echo "install.sh: Node.js $(node --version) is too old: the OpenAI SDK needs >= 18" >&2
  exit 2
fi

mkdir -p "$CACHE"
if cmp -s "$HERE/package-lock.json" "$CACHE/package-lock.json" && [[ -f "$CACHE/node_modules/openai/package.json" ]]; then
  echo "install.sh: SDK already installed in $CACHE (lock unchanged)" >&2
else
  echo "install.sh: installing the SDK into $CACHE" >&2
  rm -rf "$CACHE/node_modules" "$CACHE/package-lock.json"
  cp "$HERE/package.json" "$CACHE/package.json"
  # The lock is copied last-but-one and compared next time: a failed npm ci leaves no
  # node_modules/openai, so the next run installs again.
  cp "$HERE/package-lock.json" "$CACHE/package-lock.json"
  if ! (cd "$CACHE" && npm ci --no-audit --no-fund --loglevel=error >&2); then
    echo "install.sh: npm ci failed in $CACHE (is the npm registry reachable?)" >&2
    rm -rf "$CACHE/node_modules"
    exit 1
  fi
fi
# Always refresh the script: it is cheap and follows the repository.
cp "$HERE/sdk_check.mjs" "$CACHE/sdk_check.mjs"
echo "$CACHE"
