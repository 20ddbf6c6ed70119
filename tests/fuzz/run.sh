#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for a bounded time.
#   tests/fuzz/run.sh [SECONDS [TARGET...]]   (default: 60 s each, every tests/fuzz/*_fuzz.cc)
# Each target runs on a scratch copy of its seed corpus plus the captured
# HAProxy frames in tests/fixtures/: the repository is never written to.
# Exits non-zero on any crash, leak, timeout or out-of-memory; the input that
# caused it is kept in the scratch directory, whose path is printed.
set -euo pipefail

seconds="${1:-60}"
shift || true
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${KEYMUX_FUZZ_BUILD_DIR:-$root/build-fuzz}"
jobs="${KEYMUX_BUILD_JOBS:-2}"

cd "$root"
launcher=()
if command -v ccache >/dev/null; then  # as scripts/test: reuse earlier builds of the same sources
  export CCACHE_BASEDIR=$root
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DKEYMUX_FUZZ=ON "${launcher[@]}" >/dev/null

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  for src in tests/fuzz/*_fuzz.cc; do
    targets+=("$(basename "$src" .cc)")
  done
fi
cmake --build "$build" --target "${targets[@]}" -j "$jobs"

work="$(mktemp -d "${TMPDIR:-/tmp}/keymux-fuzz.XXXXXX")"
status=0
for target in "${targets[@]}"; do
  corpus="$work/$target/corpus"
  artifacts="$work/$target/artifacts"
  mkdir -p "$corpus" "$artifacts"
  if [[ -d "tests/fuzz/corpus/$target" ]]; then
    cp tests/fuzz/corpus/"$target"/* "$corpus"/ 2>/dev/null || true
  fi
  # Real frames from HAProxy 2.6 and 3.2, when they have been captured.
  for version in 2.6 3.2; do
    hello="tests/fixtures/haproxy-$version-hello.bin"
    notify="tests/fixtures/haproxy-$version-notify.bin"
    [[ -f "$hello" && -f "$notify" ]] || continue
    case "$target" in
      session_fuzz)
        # Two option bytes first (see session_fuzz.cc), then what HAProxy sent.
        { printf '\x00\x00'; cat "$hello" "$notify"; } >"$corpus/fixture-$version"
        { printf '\x22\x01'; cat "$hello" "$notify" "$notify"; } >"$corpus/fixture-$version-split"
        ;;
      *)
        cp "$hello" "$corpus/fixture-$version-hello"
        cp "$notify" "$corpus/fixture-$version-notify"
        ;;
    esac
  done

  echo "== $target: ${seconds}s, $(ls "$corpus" | wc -l) seeds, scratch $work/$target"
  if ! "$build/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$artifacts/" -print_final_stats=1 "$corpus" >"$work/$target/log" 2>&1; then
    status=1
    echo "!! $target failed; log and crashing input under $work/$target" >&2
    tail -n 40 "$work/$target/log" >&2
    continue
  fi
  grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ +DONE)' \
    "$work/$target/log" || true
  if compgen -G "$artifacts/*" >/dev/null; then
    status=1
    echo "!! $target left artifacts in $artifacts" >&2
  fi
done

if [[ "$status" -eq 0 ]]; then
  rm -rf "$work"
  echo "fuzz: no findings"
fi
exit "$status"
