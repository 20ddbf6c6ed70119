#!/usr/bin/env bash
# Installs puppeteer-core, pinned in package.json/package-lock.json (this directory), once,
# into a cache directory outside the repository, and copies the checks there. puppeteer-core
# downloads no browser: the checks drive Debian's chromium (/usr/bin/chromium).
#   install.sh [CACHE_DIR]      default: ${KEYMUX_BROWSER_CACHE:-/var/cache/keymux/node-browser}
# The last line on stdout is the cache directory; run the checks from there.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
exec "$HERE/../support/npm_cached_install.sh" "$HERE" \
  "${1:-${KEYMUX_BROWSER_CACHE:-/var/cache/keymux/node-browser}}" puppeteer-core \
  status_page_check.mjs
