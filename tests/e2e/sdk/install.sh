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
exec "$HERE/../../support/npm_cached_install.sh" "$HERE" \
  "${1:-${KEYMUX_SDK_CACHE:-/var/cache/keymux/node-sdk}}" openai sdk_check.mjs
