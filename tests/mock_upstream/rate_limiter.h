// Per-key request and token budgets over a fixed window (60 s unless the mock's
// --window-ms says) that opens at the key's first request after the previous
// window closed: simple, and exact
// enough for tests to predict every remaining/reset value. Pure (time is a
// parameter) and not thread-safe: the caller holds the key's lock.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "agent/router/clock.h"

namespace keymux::mock {

using router::Duration;
using router::Time;

inline constexpr Duration kRateWindow = std::chrono::seconds(60);

struct RateLimits {
  std::uint64_t rpm = 0;  // requests per window; 0: unlimited
  std::uint64_t tpm = 0;  // tokens per window; 0: unlimited
};

// What the rate-limit headers report.
struct RateStatus {
  RateLimits limits;
  std::uint64_t remaining_requests = 0;
  std::uint64_t remaining_tokens = 0;
  Time reset_at;  // when the current window closes (a full window from now when none is open)
};

struct RateDecision {
  bool allowed = false;
  Duration retry_after{0};  // when refused: until the window closes
  RateStatus status;        // after the request was counted (when allowed)
};

class RateLimiter {
 public:
  explicit RateLimiter(RateLimits limits = {}, Duration window = kRateWindow)
      : limits_(limits), window_(window) {}

  // Counts one request of `tokens` tokens if both budgets have room for it; a
  // refusal consumes nothing.
  RateDecision admit(Time now, std::uint64_t tokens);
  RateStatus status(Time now);

  const RateLimits& limits() const { return limits_; }
  void set_limits(RateLimits limits) { limits_ = limits; }
  // Forgets the window (not the limits).
  void clear();

 private:
  void close_expired_window(Time now);

  RateLimits limits_;
  Duration window_;
  std::optional<Time> window_start_;
  std::uint64_t requests_ = 0;
  std::uint64_t tokens_ = 0;
};

}  // namespace keymux::mock
