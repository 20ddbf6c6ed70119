#include "tests/mock_upstream/rate_headers.h"

#include <cstdio>

#include "tests/mock_upstream/json_write.h"

namespace keymux::mock {
namespace {

using std::chrono::milliseconds;

void append_header(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ": ";
  out += value;
  out += "\r\n";
}

void append_header(std::string& out, std::string_view name, std::uint64_t value) {
  out += name;
  out += ": ";
  append_uint(out, value);
  out += "\r\n";
}

}  // namespace

std::string format_go_duration(Duration d) {
  const std::int64_t ms = std::chrono::ceil<milliseconds>(d).count();
  if (ms <= 0) return "0s";
  std::string out;
  if (ms < 1000) {
    append_uint(out, static_cast<std::uint64_t>(ms));
    return out + "ms";
  }
  const std::int64_t hours = ms / 3'600'000;
  const std::int64_t minutes = ms / 60'000 % 60;
  const std::int64_t seconds = ms / 1000 % 60;
  const std::int64_t fraction = ms % 1000;
  if (hours > 0) {
    append_uint(out, static_cast<std::uint64_t>(hours));
    out += 'h';
  }
  if (hours > 0 || minutes > 0) {
    append_uint(out, static_cast<std::uint64_t>(minutes));
    out += 'm';
  }
  append_uint(out, static_cast<std::uint64_t>(seconds));
  if (fraction > 0) {
    char digits[5];
    std::snprintf(digits, sizeof(digits), ".%03d", static_cast<int>(fraction));
    std::string_view text(digits);
    while (text.back() == '0') text.remove_suffix(1);  // Go drops trailing zeros
    out += text;
  }
  return out + "s";
}

std::string format_rfc3339(Time t) {
  const auto seconds = std::chrono::ceil<std::chrono::seconds>(t);
  const auto day = std::chrono::floor<std::chrono::days>(seconds);
  const std::chrono::year_month_day date(day);
  const std::chrono::hh_mm_ss time(seconds - day);
  char text[32];
  std::snprintf(text, sizeof(text), "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()),
                static_cast<int>(time.seconds().count()));
  return text;
}

void append_openai_rate_headers(std::string& out, const RateStatus& status, Time now) {
  const std::string reset = format_go_duration(status.reset_at - now);
  if (status.limits.rpm != 0) {
    append_header(out, "x-ratelimit-limit-requests", status.limits.rpm);
    append_header(out, "x-ratelimit-remaining-requests", status.remaining_requests);
    append_header(out, "x-ratelimit-reset-requests", reset);
  }
  if (status.limits.tpm != 0) {
    append_header(out, "x-ratelimit-limit-tokens", status.limits.tpm);
    append_header(out, "x-ratelimit-remaining-tokens", status.remaining_tokens);
    append_header(out, "x-ratelimit-reset-tokens", reset);
  }
}

void append_anthropic_rate_headers(std::string& out, const RateStatus& status) {
  const std::string reset = format_rfc3339(status.reset_at);
  if (status.limits.rpm != 0) {
    append_header(out, "anthropic-ratelimit-requests-limit", status.limits.rpm);
    append_header(out, "anthropic-ratelimit-requests-remaining", status.remaining_requests);
    append_header(out, "anthropic-ratelimit-requests-reset", reset);
  }
  if (status.limits.tpm != 0) {
    append_header(out, "anthropic-ratelimit-tokens-limit", status.limits.tpm);
    append_header(out, "anthropic-ratelimit-tokens-remaining", status.remaining_tokens);
    append_header(out, "anthropic-ratelimit-tokens-reset", reset);
  }
}

void append_retry_after(std::string& out, Duration wait) {
  const std::int64_t ms = std::max<std::int64_t>(1, std::chrono::ceil<milliseconds>(wait).count());
  append_header(out, "retry-after", static_cast<std::uint64_t>((ms + 999) / 1000));
  append_header(out, "retry-after-ms", static_cast<std::uint64_t>(ms));
}

}  // namespace keymux::mock
