// What a provider's response says about the key that served it.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "agent/router/clock.h"

namespace keymux::router {

struct UpstreamReport {
  // x-ratelimit-remaining-requests / anthropic-ratelimit-requests-remaining, with
  // the matching reset turned into a moment.
  std::optional<std::uint64_t> remaining_requests;
  std::optional<Time> requests_reset;
  // x-ratelimit-remaining-tokens / anthropic-ratelimit-tokens-remaining (or, when
  // Anthropic reports only input/output tokens, the smaller of those).
  std::optional<std::uint64_t> remaining_tokens;
  std::optional<Time> tokens_reset;
  // retry-after-ms, else retry-after, as a moment.
  std::optional<Time> retry_at;
};

// Feed every response header (names lower-case, as HAProxy's res.hdrs_bin
// gives them); unknown headers are ignored, malformed values skipped.
class UpstreamReportBuilder {
 public:
  explicit UpstreamReportBuilder(Time now) : now_(now) {}
  void add(std::string_view name, std::string_view value);
  UpstreamReport finish() const;

 private:
  Time now_;
  UpstreamReport report_;
  std::optional<Duration> retry_after_ms_;
  std::optional<Time> retry_after_;
  std::optional<std::uint64_t> input_tokens_remaining_, output_tokens_remaining_;
  std::optional<Time> input_tokens_reset_, output_tokens_reset_;
};

}  // namespace keymux::router
