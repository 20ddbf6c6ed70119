// The sliding-window audit: every request a key received, with its time, the
// tokens it would cost and the status it got, so a test can ask after the fact
// for the most requests and tokens that fell inside any window of a given
// length (what a provider enforcing a sliding window would have seen). Pure
// (times are parameters) and not thread-safe: the caller holds the key's lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "agent/router/clock.h"

namespace keymux::mock {

using router::Duration;
using router::Time;

struct AuditEvent {
  Time at;
  std::uint64_t tokens = 0;
  int status = 0;  // 0: dropped unanswered
};

// The busiest windows of one length: requests and tokens are each maximised on
// their own (the two peaks may lie in different windows).
struct WindowPeak {
  std::uint64_t requests = 0;
  std::uint64_t tokens = 0;
  Time requests_from{};  // where the busiest window (by requests) starts: its first request
  Time tokens_from{};
};

class AuditLog {
 public:
  // Beyond this many events the oldest are forgotten and truncated() says so.
  static constexpr std::size_t kCapacity = std::size_t{1} << 21;

  void record(Time at, std::uint64_t tokens, int status);
  void clear();

  // The peaks over every window [t, t + window) (window > 0).
  WindowPeak peak(Duration window) const;
  const std::vector<AuditEvent>& events() const { return events_; }
  std::uint64_t requests() const { return events_.size(); }
  std::uint64_t tokens() const;
  bool truncated() const { return truncated_; }

 private:
  std::vector<AuditEvent> events_;  // by time (record() keeps them sorted)
  bool truncated_ = false;
};

}  // namespace keymux::mock
