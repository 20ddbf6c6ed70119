#include "tests/mock_upstream/rate_limiter.h"

namespace keymux::mock {
namespace {

std::uint64_t remaining(std::uint64_t limit, std::uint64_t used) {
  return used >= limit ? 0 : limit - used;
}

}  // namespace

void RateLimiter::close_expired_window(Time now) {
  if (window_start_ && now >= *window_start_ + window_) clear();
}

void RateLimiter::clear() {
  window_start_.reset();
  requests_ = 0;
  tokens_ = 0;
}

RateDecision RateLimiter::admit(Time now, std::uint64_t tokens) {
  close_expired_window(now);
  const bool requests_full = limits_.rpm != 0 && requests_ + 1 > limits_.rpm;
  const bool tokens_full = limits_.tpm != 0 && tokens_ + tokens > limits_.tpm;
  RateDecision decision;
  if (requests_full || tokens_full) {
    // With no window open (a single request larger than the token budget),
    // waiting a full window is the honest answer: it will never fit.
    decision.retry_after = window_start_ ? *window_start_ + window_ - now : window_;
  } else {
    if (!window_start_) window_start_ = now;
    ++requests_;
    tokens_ += tokens;
    decision.allowed = true;
  }
  decision.status = status(now);
  return decision;
}

RateStatus RateLimiter::status(Time now) {
  close_expired_window(now);
  RateStatus status;
  status.limits = limits_;
  status.remaining_requests = remaining(limits_.rpm, requests_);
  status.remaining_tokens = remaining(limits_.tpm, tokens_);
  status.reset_at = window_start_ ? *window_start_ + window_ : now + window_;
  return status;
}

}  // namespace keymux::mock
