// libFuzzer target: upstream header values and header blocks.
//
// The input goes, whole, to every header-value parser, to for_each_header (as
// a res.hdrs_bin block, each header then fed to an UpstreamReportBuilder) and,
// split into name/value pairs by its first byte, to another builder. Nothing
// may crash or trip a sanitizer, and cheap invariants are checked.
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "agent/router/header_values.h"
#include "agent/router/upstream_report.h"
#include "agent/spop/header_block.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using keymux::router::Duration;
using keymux::router::Time;

const Time kNow = Time(std::chrono::seconds(1'714'564'800));  // 2024-05-01T12:00:00Z

// A one-byte name stands for one of these, so the fuzzer reaches every branch
// of the builder without having to guess 40-character names.
constexpr std::array<std::string_view, 16> kKnownNames{
    "x-ratelimit-remaining-requests",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-requests",
    "x-ratelimit-reset-tokens",
    "anthropic-ratelimit-requests-remaining",
    "anthropic-ratelimit-requests-reset",
    "anthropic-ratelimit-tokens-remaining",
    "anthropic-ratelimit-tokens-reset",
    "anthropic-ratelimit-input-tokens-remaining",
    "anthropic-ratelimit-input-tokens-reset",
    "anthropic-ratelimit-output-tokens-remaining",
    "anthropic-ratelimit-output-tokens-reset",
    "retry-after-ms",
    "retry-after",
    "x-ratelimit-limit-requests",
    "content-type",
};

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

void check_report(const keymux::router::UpstreamReport& report, Time now) {
  if (report.retry_at) FUZZ_CHECK(*report.retry_at >= now);
}

void fuzz_parsers(std::string_view text) {
  using namespace keymux::router;

  const std::optional<std::uint64_t> count = parse_count(text);
  if (count) {
    // Round trip: the digits, less surrounding blanks and leading zeros.
    std::string_view digits = trim(text);
    while (digits.size() > 1 && digits.front() == '0') digits.remove_prefix(1);
    FUZZ_CHECK(std::to_string(*count) == digits);
  }

  const std::optional<Duration> reset = parse_reset_duration(text);
  if (reset) FUZZ_CHECK(reset->count() >= 0);
  // A bare count is that many seconds.
  if (count && *count <= 9'000'000'000u) {
    FUZZ_CHECK(reset == Duration(static_cast<std::int64_t>(*count) * 1'000'000));
  }

  const std::optional<Time> at = parse_rfc3339(text);
  if (at) {
    // Years 0000..9999, offsets under a day, a leap second at most.
    constexpr std::int64_t kYear0 = -62'167'219'200;    // 0000-01-01T00:00:00Z
    constexpr std::int64_t kYear10k = 253'402'300'800;  // 10000-01-01T00:00:00Z
    const std::int64_t s = std::chrono::floor<std::chrono::seconds>(at->time_since_epoch()).count();
    FUZZ_CHECK(s >= kYear0 - 86'400 && s <= kYear10k + 86'400);
  }

  const std::optional<Time> retry = parse_retry_after(text, kNow);
  if (retry) FUZZ_CHECK(*retry >= kNow);
  // Delta-seconds and a bare reset duration read a plain number the same way.
  if (retry && reset && !text.empty() &&
      trim(text).find_first_not_of("0123456789.") == std::string_view::npos) {
    FUZZ_CHECK(*retry - kNow == *reset);
  }

  const std::optional<Duration> retry_ms = parse_retry_after_ms(text);
  if (retry_ms) FUZZ_CHECK(retry_ms->count() >= 0);
}

// Splits `text` by `sep` into name, value, name, value, ...
void fuzz_builder(char sep, std::string_view text, Time now) {
  keymux::router::UpstreamReportBuilder builder(now);
  while (!text.empty()) {
    std::size_t cut = text.find(sep);
    std::string_view name = text.substr(0, cut);
    text = cut == std::string_view::npos ? std::string_view() : text.substr(cut + 1);
    cut = text.find(sep);
    const std::string_view value = text.substr(0, cut);
    text = cut == std::string_view::npos ? std::string_view() : text.substr(cut + 1);
    if (name.size() == 1) {
      name = kKnownNames[static_cast<std::uint8_t>(name[0]) % kKnownNames.size()];
    }
    builder.add(name, value);
  }
  check_report(builder.finish(), now);
}

void fuzz_header_block(std::string_view block) {
  keymux::router::UpstreamReportBuilder builder(kNow);
  keymux::spop::for_each_header(block, [&](std::string_view name, std::string_view value) {
    // Non-empty names, views inside the block.
    FUZZ_CHECK(!name.empty());
    FUZZ_CHECK(keymux::fuzz::within(name, block));
    FUZZ_CHECK(keymux::fuzz::within(value, block));
    builder.add(name, value);
  });
  check_report(builder.finish(), kNow);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  fuzz_parsers(input);
  fuzz_header_block(input);
  if (!input.empty()) fuzz_builder(input[0], input.substr(1), kNow);

  // The same with an arbitrary `now` from the first 8 bytes, to reach the edges
  // of the time range (relative resets and retry-after near overflow).
  if (size >= 8) {
    std::int64_t raw = 0;
    std::memcpy(&raw, data, sizeof raw);
    const Time now = Time(Duration(raw));
    const std::string_view rest = input.substr(8);
    const std::optional<Time> retry = keymux::router::parse_retry_after(rest, now);
    if (retry) FUZZ_CHECK(*retry >= now);
    if (!rest.empty()) fuzz_builder(rest[0], rest.substr(1), now);
  }
  return 0;
}
