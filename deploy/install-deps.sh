#!/usr/bin/env bash
# Installs the Debian packages needed to build keymux and run every test tier.
# Idempotent: asks dpkg what is missing and only then runs apt-get (update + install).
# Runs as root, or through sudo when it is available.
#
#   deploy/install-deps.sh              everything: build, tests, fuzzing, end to end (default)
#   deploy/install-deps.sh --build-only what compiling keymux-agent needs (deploy/Dockerfile's build stage)
#   deploy/install-deps.sh --runtime    what running the gateway needs: HAProxy and the agent's
#                                       shared libraries (the image's runtime stage, deploy/install.sh hosts)
set -euo pipefail

MODE=all
case "${1:-}" in
  "") ;;
  --build-only) MODE=build ;;
  --runtime) MODE=runtime ;;
  -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "install-deps: unknown argument '$1' (--build-only, --runtime)" >&2; exit 2 ;;
esac

PACKAGES=(
  # build
  build-essential cmake ninja-build pkg-config
  # libraries
  libevent-dev libssl-dev libprotobuf-dev protobuf-compiler
  libspdlog-dev libfmt-dev libyaml-cpp-dev libhiredis-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  # fuzzing: clang 14 with its runtime (libFuzzer, ASan, UBSan)
  clang libclang-rt-14-dev
  # end to end: HAProxy 2.6 from Debian 12, a Debian sid root for HAProxy 3.x
  haproxy debootstrap debian-archive-keyring
  # tools used by the tests and the bench
  wrk curl socat python3 ca-certificates
  # the status page's browser tests (tests/browser/): Debian's Chromium, driven headless
  # by puppeteer-core, which downloads no browser
  chromium
)

# The e2e suite runs the official OpenAI Node SDK: Debian's Node.js and npm,
# unless a Node.js is already installed (e.g. from NodeSource, which bundles npm).
if [[ $MODE == all ]] && { ! command -v node >/dev/null || ! command -v npm >/dev/null; }; then
  PACKAGES+=(nodejs npm)
fi
# Subsets for images and hosts that only build or only run the agent.
if [[ $MODE == build ]]; then
  PACKAGES=(build-essential cmake ninja-build pkg-config
            libevent-dev libssl-dev libprotobuf-dev protobuf-compiler
            libspdlog-dev libfmt-dev libyaml-cpp-dev)
elif [[ $MODE == runtime ]]; then
  # The shared libraries keymux-agent links (CMakeLists.txt: libevent_core and
  # libevent_extra, protobuf and its zlib, yaml-cpp, spdlog/fmt, OpenSSL's
  # libcrypto; tests/static/check_deploy compares with ldd); the CAs for
  # providers.cfg's `ca-file @system-ca`.
  PACKAGES=(haproxy libevent-core-2.1-7 libevent-extra-2.1-7 libprotobuf32 zlib1g
            libyaml-cpp0.7 libspdlog1.10 libfmt9 libssl3 ca-certificates)
fi

is_installed() {
  [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == installed ]]
}

missing=()
for p in "${PACKAGES[@]}"; do
  is_installed "$p" || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
else
  echo "install-deps: missing: ${missing[*]}"
  SUDO=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "install-deps: need root or sudo" >&2; exit 1; }
    SUDO=(sudo)
  fi
  apt=("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get)
  "${apt[@]}" update -q
  "${apt[@]}" install -y -q --no-install-recommends "${missing[@]}"
fi

# The fuzz tier needs clang's libFuzzer: check that -fsanitize=fuzzer links.
if [[ $MODE == all && "${KEYMUX_SKIP_FUZZ_CHECK:-}" != 1 ]]; then
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
    echo "install-deps: clang -fsanitize=fuzzer does not link (libclang-rt-14-dev?)" >&2
    exit 1
  fi
fi
