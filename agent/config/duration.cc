#include "agent/config/duration.h"

#include <array>
#include <cstdint>
#include <limits>
#include <utility>

namespace keymux::config {
namespace {

constexpr std::uint64_t kMaxNanos = std::numeric_limits<std::int64_t>::max();

// Longest spellings first so that "ms" is not read as "m" followed by "s".
constexpr std::array<std::pair<std::string_view, std::uint64_t>, 8> kUnits{{
    {"ns", 1},
    {"us", 1'000},
    {"\xC2\xB5s", 1'000},  // U+00B5 micro sign
    {"\xCE\xBCs", 1'000},  // U+03BC greek small letter mu
    {"ms", 1'000'000},
    {"s", 1'000'000'000},
    {"m", 60'000'000'000},
    {"h", 3'600'000'000'000},
}};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::optional<std::chrono::microseconds> parse_duration(std::string_view text) {
  if (text == "0") return std::chrono::microseconds(0);
  if (text.empty()) return std::nullopt;
  std::uint64_t total_nanos = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    // The whole part.
    std::uint64_t whole = 0;
    const std::size_t whole_start = i;
    while (i < text.size() && is_digit(text[i])) {
      const std::uint64_t digit = static_cast<std::uint64_t>(text[i] - '0');
      if (whole > (kMaxNanos - digit) / 10) return std::nullopt;
      whole = whole * 10 + digit;
      ++i;
    }
    const bool has_whole = i > whole_start;
    // The fraction, kept as digits until the unit is known.
    std::string_view fraction;
    if (i < text.size() && text[i] == '.') {
      ++i;
      const std::size_t fraction_start = i;
      while (i < text.size() && is_digit(text[i])) ++i;
      fraction = text.substr(fraction_start, i - fraction_start);
    }
    if (!has_whole && fraction.empty()) return std::nullopt;  // "", ".", "s"
    // The unit.
    std::uint64_t unit = 0;
    for (const auto& [spelling, nanos] : kUnits) {
      if (text.substr(i).starts_with(spelling)) {
        unit = nanos;
        i += spelling.size();
        break;
      }
    }
    if (unit == 0) return std::nullopt;
    if (whole > kMaxNanos / unit) return std::nullopt;
    std::uint64_t part = whole * unit;
    // Each further fraction digit is worth a tenth of the previous one; digits
    // below a nanosecond add nothing.
    std::uint64_t scale = unit;
    for (const char c : fraction) {
      scale /= 10;
      if (scale == 0) break;
      part += static_cast<std::uint64_t>(c - '0') * scale;
    }
    if (part > kMaxNanos - total_nanos) return std::nullopt;
    total_nanos += part;
  }
  return std::chrono::microseconds(static_cast<std::int64_t>(total_nanos / 1000));
}

}  // namespace keymux::config
