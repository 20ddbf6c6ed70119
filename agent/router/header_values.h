// Parsers for the values of upstream rate-limit headers. Pure and fuzzed:
// anything malformed is nullopt, never an exception or a wrong number.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "agent/router/clock.h"

namespace keymux::router {

// A non-negative decimal integer ("42"); surrounding spaces allowed.
std::optional<std::uint64_t> parse_count(std::string_view text);

// OpenAI reset durations: Go-style "1s", "6m0s", "12ms", "1h2m3.5s", "0.5s",
// also "20us"/"20µs" and a bare number of seconds ("30", "1.5").
std::optional<Duration> parse_reset_duration(std::string_view text);

// RFC 3339 date-time ("2024-05-01T12:00:30Z", fractions, "+02:00" offsets).
std::optional<Time> parse_rfc3339(std::string_view text);

// Retry-After: delta-seconds ("30") or an HTTP-date ("Wed, 21 Oct 2015 07:28:00 GMT").
// Returns the moment to come back. A date in the past gives `now`.
std::optional<Time> parse_retry_after(std::string_view text, Time now);

// retry-after-ms: milliseconds, possibly fractional ("1500", "12.5").
std::optional<Duration> parse_retry_after_ms(std::string_view text);

}  // namespace keymux::router
