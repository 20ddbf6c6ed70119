#!/usr/bin/env bash
# Installs the npm packages pinned in DIR/package.json + DIR/package-lock.json once, into a
# cache directory outside the repository (npm ci), and copies FILES from DIR there.
#   npm_cached_install.sh DIR CACHE MODULE [FILE...]
# MODULE is the package whose node_modules/MODULE/package.json proves an install happened.
# The install is skipped when the cache's package-lock.json equals DIR's and MODULE exists.
# The last line on stdout is CACHE (the parent of node_modules); run the scripts from there.
# Exit status: 2 when node (>= 18) or npm is missing, 1 when the install fails.
set -euo pipefail

DIR=$1
CACHE=$2
MODULE=$3
shift 3
NAME=$(basename "$DIR")

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "$NAME install: '$tool' not found in PATH: Node.js >= 18 and npm are needed (Debian: apt-get install nodejs npm)" >&2
    exit 2
  fi
done
node_major=$(node -p 'process.versions.node.split(".")[0]')
if (( node_major < 18 )); then
  echo "$NAME install: Node.js $(node --version) is too old: >= 18 is needed" >&2
  exit 2
fi

mkdir -p "$CACHE"
if cmp -s "$DIR/package-lock.json" "$CACHE/package-lock.json" && [[ -f "$CACHE/node_modules/$MODULE/package.json" ]]; then
  echo "$NAME install: $MODULE already installed in $CACHE (lock unchanged)" >&2
else
  echo "$NAME install: installing $MODULE into $CACHE" >&2
  rm -rf "$CACHE/node_modules" "$CACHE/package-lock.json"
  cp "$DIR/package.json" "$CACHE/package.json"
  # The lock is compared next time: a failed npm ci leaves no node_modules/MODULE,
  # so the next run installs again.
  cp "$DIR/package-lock.json" "$CACHE/package-lock.json"
  if ! (cd "$CACHE" && npm ci --no-audit --no-fund --loglevel=error >&2); then
    echo "$NAME install: npm ci failed in $CACHE (is the npm registry reachable?)" >&2
    rm -rf "$CACHE/node_modules"
    exit 1
  fi
fi
# Always refresh the scripts: it is cheap and follows the repository.
for file in "$@"; do cp "$DIR/$file" "$CACHE/$file"; done
echo "$CACHE"
