// Go-style durations ("500ms", "30s", "6m0s", "1h", "1.5s", "1h2m3.5s"), as
// written in keymux.yaml and in OpenAI's x-ratelimit-reset-* headers.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace keymux::config {

// A sequence of <decimal number><unit> with units ns, us (or µs), ms, s, m, h;
// "0" alone is zero. No sign, no spaces, no unit-less numbers. Parts below a
// microsecond are dropped (truncated). nullopt when malformed or too large for
// an int64 count of nanoseconds.
std::optional<std::chrono::microseconds> parse_duration(std::string_view text);

}  // namespace keymux::config
