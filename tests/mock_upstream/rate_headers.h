// The rate-limit headers of the two API families, from a RateStatus: OpenAI's
// x-ratelimit-* with Go-style reset durations, Anthropic's
// anthropic-ratelimit-* with RFC 3339 reset times. Only limits that are set
// get headers.
#pragma once

#include <string>

#include "tests/mock_upstream/rate_limiter.h"

namespace keymux::mock {

// Go's time.Duration text at millisecond precision, rounded up: "0s", "250ms",
// "59.5s", "1m0s", "1h2m3.5s".
std::string format_go_duration(Duration d);
// "2026-11-26T16:00:00Z", rounded up to the second.
std::string format_rfc3339(Time t);

// Each header as "name: value\r\n".
void append_openai_rate_headers(std::string& out, const RateStatus& status, Time now);
void append_anthropic_rate_headers(std::string& out, const RateStatus& status);
// retry-after (whole seconds, rounded up, at least 1) and retry-after-ms.
void append_retry_after(std::string& out, Duration wait);

}  // namespace keymux::mock
