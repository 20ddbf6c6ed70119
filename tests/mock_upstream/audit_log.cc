#include "tests/mock_upstream/audit_log.h"

#include <algorithm>

namespace keymux::mock {

void AuditLog::record(Time at, std::uint64_t tokens, int status) {
  if (events_.size() >= kCapacity) {
    events_.erase(events_.begin(), events_.begin() + static_cast<std::ptrdiff_t>(kCapacity / 2));
    truncated_ = true;
  }
  // Two threads may read the clock in one order and take the key's lock in the
  // other: insert in time order so the window scan can rely on it.
  auto at_place = events_.end();
  while (at_place != events_.begin() && std::prev(at_place)->at > at) --at_place;
  events_.insert(at_place, AuditEvent{at, tokens, status});
}

void AuditLog::clear() {
  events_.clear();
  truncated_ = false;
}

std::uint64_t AuditLog::tokens() const {
  std::uint64_t sum = 0;
  for (const AuditEvent& event : events_) sum += event.tokens;
  return sum;
}

WindowPeak AuditLog::peak(Duration window) const {
  // Two pointers: for each first event, the events closer than `window` after it.
  WindowPeak peak;
  if (window <= Duration::zero()) return peak;
  std::size_t end = 0;
  std::uint64_t tokens_inside = 0;
  for (std::size_t first = 0; first < events_.size(); ++first) {
    while (end < events_.size() && events_[end].at - events_[first].at < window) {
      tokens_inside += events_[end].tokens;
      ++end;
    }
    const std::uint64_t requests_inside = end - first;
    if (requests_inside > peak.requests) {
      peak.requests = requests_inside;
      peak.requests_from = events_[first].at;
    }
    if (tokens_inside > peak.tokens) {
      peak.tokens = tokens_inside;
      peak.tokens_from = events_[first].at;
    }
    tokens_inside -= events_[first].tokens;
  }
  return peak;
}

}  // namespace keymux::mock
