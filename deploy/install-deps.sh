#!/usr/bin/env bash
# Installs the Debian packages keymux needs, on Debian 12 (bookworm) or 13 (trixie).
# Idempotent: asks dpkg what is missing and only then runs apt-get (update + install).
# Runs as root, or through sudo when it is available.
#
#   deploy/install-deps.sh              everything scripts/test needs: --run, plus the test
#                                       toolchain (googletest, benchmark, clang + libFuzzer,
#                                       Node.js, debootstrap, wrk) (default; same as --test)
#   deploy/install-deps.sh --run        what scripts/run needs: the build toolchain, the
#                                       libraries, HAProxy and curl
#   deploy/install-deps.sh --build-only what compiling keymux-agent needs (deploy/Dockerfile's build stage)
#   deploy/install-deps.sh --runtime    what running the gateway needs: HAProxy and the agent's
#                                       shared libraries (the image's runtime stage, deploy/install.sh hosts)
#   add --print to list the mode's packages and install nothing
set -euo pipefail

MODE=test
PRINT=0
usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; }
for arg in "$@"; do
  case $arg in
    --test) MODE=test ;;
    --run) MODE=run ;;
    --build-only) MODE=build ;;
    --runtime) MODE=runtime ;;
    --print) PRINT=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install-deps: unknown argument '$arg' (--test, --run, --build-only, --runtime, --print)" >&2
       exit 2 ;;
  esac
done

# The release: package names of shared libraries change between releases (Debian 13's
# 64-bit time_t transition added a t64 suffix; new upstream versions changed sonames).
RELEASE=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}") || RELEASE=

SUDO=()
if [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null; then SUDO=(sudo); fi
apt=("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get)
updated=0
apt_update() {
  ((updated)) && return 0
  [[ $(id -u) -eq 0 || ${#SUDO[@]} -gt 0 ]] || { echo "install-deps: need root or sudo" >&2; exit 1; }
  "${apt[@]}" update -q
  updated=1
}

is_installed() {
  [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == installed ]]
}

# CLANG: the major version of the release's default clang. The `clang` package depends on
# clang-N, and libFuzzer and the sanitizer runtimes come in libclang-rt-N-dev of that same N.
find_clang() {
  local depends=
  if is_installed clang; then
    depends=$(dpkg-query -W -f='${Depends}' clang)
  else
    [[ -n "$(apt-cache show --no-all-versions clang 2>/dev/null)" ]] || apt_update
    depends=$(apt-cache show --no-all-versions clang 2>/dev/null | sed -n 's/^Depends: //p') || true
  fi
  [[ "$depends" =~ (^|[ ,])clang-([0-9]+) ]] || {
    echo "install-deps: cannot tell which clang this release has (apt-cache show clang)" >&2
    exit 1
  }
  CLANG=${BASH_REMATCH[2]}
}

# ---------------------------------------------------------------- the lists

BUILD_PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libevent-dev libssl-dev libprotobuf-dev protobuf-compiler
  libspdlog-dev libfmt-dev libyaml-cpp-dev libhiredis-dev
)
# scripts/run: builds, starts HAProxy and checks the gateway with curl.
RUN_PACKAGES=("${BUILD_PACKAGES[@]}" haproxy curl ca-certificates)

test_packages() {
  find_clang
  TEST_PACKAGES=(
    "${RUN_PACKAGES[@]}"
    # shared state between gateways (state:): the Redis the tests (and the shared-state tier) start
    redis-server
    # tests and benchmarks
    libgtest-dev libgmock-dev googletest libbenchmark-dev
    # fuzzing: the release's clang with its runtime (libFuzzer, ASan, UBSan)
    clang "libclang-rt-$CLANG-dev"
    # end to end: a Debian sid root for HAProxy 3.x (tests/e2e/sid-root.sh), and
    # the Debian 13 root of the debian13 tier
    debootstrap debian-archive-keyring
    # tools used by the tests and the bench
    wrk socat python3
    # the status page's browser tests (tests/browser/): Debian's Chromium, driven headless
    # by puppeteer-core, which downloads no browser
    chromium
  )
  # The e2e suite runs the official OpenAI Node SDK: Debian's Node.js and npm,
  # unless a Node.js is already installed (e.g. from NodeSource, which bundles npm).
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    TEST_PACKAGES+=(nodejs npm)
  fi
}

# The shared libraries keymux-agent links (CMakeLists.txt: libevent_core and libevent_extra,
# protobuf and its zlib, yaml-cpp, spdlog/fmt, OpenSSL's libcrypto; tests/static/
# check_runtime_packages compares this list with ldd); the CAs for providers.cfg's
# `ca-file @system-ca`.
runtime_packages() {
  case $RELEASE in
    bookworm)
      RUNTIME_PACKAGES=(haproxy libevent-core-2.1-7 libevent-extra-2.1-7 libprotobuf32 zlib1g
                        libyaml-cpp0.7 libspdlog1.10 libfmt9 libssl3 libhiredis0.14 ca-certificates) ;;
    trixie)
      RUNTIME_PACKAGES=(haproxy libevent-core-2.1-7t64 libevent-extra-2.1-7t64 libprotobuf32t64
                        zlib1g libyaml-cpp0.8 libspdlog1.15 libfmt10 libssl3t64 libhiredis1.1.0
                        ca-certificates) ;;
    *)
      echo "install-deps: --runtime knows the library packages of Debian 12 (bookworm) and" \
           "13 (trixie), not of '${RELEASE:-this system}'; --build-only and --run work elsewhere" >&2
      exit 1 ;;
  esac
}

case $MODE in
  build) PACKAGES=("${BUILD_PACKAGES[@]}") ;;
  run) PACKAGES=("${RUN_PACKAGES[@]}") ;;
  runtime) runtime_packages; PACKAGES=("${RUNTIME_PACKAGES[@]}") ;;
  test) test_packages; PACKAGES=("${TEST_PACKAGES[@]}") ;;
esac

if ((PRINT)); then
  printf '%s\n' "${PACKAGES[@]}"
  exit 0
fi

# ---------------------------------------------------------------- install

missing=()
for p in "${PACKAGES[@]}"; do
  is_installed "$p" || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
else
  echo "install-deps: missing: ${missing[*]}"
  apt_update
  "${apt[@]}" install -y -q --no-install-recommends "${missing[@]}"
fi

# The fuzz tier needs clang's libFuzzer: check that -fsanitize=fuzzer links.
if [[ $MODE == test && "${KEYMUX_SKIP_FUZZ_CHECK:-}" != 1 ]]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  cat >"$tmp/f.cc" <<'CC'
#include <cstddef>
#include <cstdint>
extern "C" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }
CC
  if clang++ -fsanitize=fuzzer,address,undefined "$tmp/f.cc" -o "$tmp/f" 2>"$tmp/err" &&
     "$tmp/f" -runs=1 >/dev/null 2>&1; then
    echo "install-deps: clang -fsanitize=fuzzer links and runs"
  else
    cat "$tmp/err" >&2
    echo "install-deps: clang -fsanitize=fuzzer does not link (libclang-rt-$CLANG-dev?)" >&2
    exit 1
  fi
fi
