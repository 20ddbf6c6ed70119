#include "agent/router/upstream_report.h"

#include <array>
#include <cstddef>
#include <cstdint>

#include "agent/router/header_values.h"

namespace keymux::router {
namespace {

// `t + d`, or nullopt when that leaves the representable range.
std::optional<Time> add_checked(Time t, Duration d) {
  std::int64_t out = 0;
  if (__builtin_add_overflow(t.time_since_epoch().count(), d.count(), &out)) return std::nullopt;
  return Time(Duration(out));
}

// Overwrites `field` only with a well-formed value, so a malformed repeat of a
// header does not erase a good one.
template <typename T>
void keep(std::optional<T>& field, std::optional<T> parsed) {
  if (parsed) field = parsed;
}

// The longest name this builder knows is 43 characters; longer ones are unknown.
constexpr std::size_t kMaxKnownName = 48;

}  // namespace

void UpstreamReportBuilder::add(std::string_view raw_name, std::string_view value) {
  // Names should arrive lower-case; fold ASCII case anyway, it costs nothing.
  if (raw_name.size() > kMaxKnownName) return;
  std::array<char, kMaxKnownName> folded{};
  for (std::size_t i = 0; i < raw_name.size(); ++i) {
    const char c = raw_name[i];
    folded[i] = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  }
  const std::string_view name(folded.data(), raw_name.size());

  const auto relative = [this](std::string_view v) -> std::optional<Time> {
    const std::optional<Duration> d = parse_reset_duration(v);
    return d ? add_checked(now_, *d) : std::nullopt;
  };

  // OpenAI: counts and resets relative to now ("6m0s").
  if (name == "x-ratelimit-remaining-requests") {
    keep(report_.remaining_requests, parse_count(value));
  } else if (name == "x-ratelimit-remaining-tokens") {
    keep(report_.remaining_tokens, parse_count(value));
  } else if (name == "x-ratelimit-reset-requests") {
    keep(report_.requests_reset, relative(value));
  } else if (name == "x-ratelimit-reset-tokens") {
    keep(report_.tokens_reset, relative(value));
    // Anthropic: counts and absolute RFC 3339 resets.
  } else if (name == "anthropic-ratelimit-requests-remaining") {
    keep(report_.remaining_requests, parse_count(value));
  } else if (name == "anthropic-ratelimit-requests-reset") {
    keep(report_.requests_reset, parse_rfc3339(value));
  } else if (name == "anthropic-ratelimit-tokens-remaining") {
    keep(report_.remaining_tokens, parse_count(value));
  } else if (name == "anthropic-ratelimit-tokens-reset") {
    keep(report_.tokens_reset, parse_rfc3339(value));
  } else if (name == "anthropic-ratelimit-input-tokens-remaining") {
    keep(input_tokens_remaining_, parse_count(value));
  } else if (name == "anthropic-ratelimit-input-tokens-reset") {
    keep(input_tokens_reset_, parse_rfc3339(value));
  } else if (name == "anthropic-ratelimit-output-tokens-remaining") {
    keep(output_tokens_remaining_, parse_count(value));
  } else if (name == "anthropic-ratelimit-output-tokens-reset") {
    keep(output_tokens_reset_, parse_rfc3339(value));
    // When to come back.
  } else if (name == "retry-after-ms") {
    keep(retry_after_ms_, parse_retry_after_ms(value));
  } else if (name == "retry-after") {
    keep(retry_after_, parse_retry_after(value, now_));
  }
}

UpstreamReport UpstreamReportBuilder::finish() const {
  UpstreamReport report = report_;
  // Without an overall token count, the tighter of Anthropic's input and output
  // budgets stands for it, with its own reset. On a tie the later reset wins:
  // the budget is not back before both have reset.
  if (!report.remaining_tokens && (input_tokens_remaining_ || output_tokens_remaining_)) {
    bool use_input;
    if (input_tokens_remaining_ && output_tokens_remaining_) {
      if (*input_tokens_remaining_ != *output_tokens_remaining_) {
        use_input = *input_tokens_remaining_ < *output_tokens_remaining_;
      } else {
        use_input = !output_tokens_reset_ ||
                    (input_tokens_reset_ && *input_tokens_reset_ >= *output_tokens_reset_);
      }
    } else {
      use_input = input_tokens_remaining_.has_value();
    }
    report.remaining_tokens = use_input ? input_tokens_remaining_ : output_tokens_remaining_;
    const std::optional<Time>& reset = use_input ? input_tokens_reset_ : output_tokens_reset_;
    if (reset) report.tokens_reset = reset;
  }
  // retry-after-ms is the more precise of the two and wins when both came.
  if (retry_after_ms_) {
    report.retry_at = add_checked(now_, *retry_after_ms_);
  }
  if (!report.retry_at) report.retry_at = retry_after_;
  return report;
}

}  // namespace keymux::router
