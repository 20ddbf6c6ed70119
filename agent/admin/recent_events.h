// The last state changes an operator wants to see on the status page: keys
// cooling, recovering, quarantined or disabled, and configuration reloads.
// A bounded ring (the oldest falls out), written by the deciding threads and
// the reloader, read by the admin API; one mutex, held only to copy.
#pragma once

#include <cstddef>
#include <deque>
#include <mutex>
#include <string>

#include "agent/router/clock.h"

namespace keymux::admin {

struct StateChange {
  router::Time at{};
  std::string kind;      // "cooling", "recovered", "quarantined", "enabled", "disabled", "reload"
  std::string key;       // empty for a reload
  std::string provider;  // empty for a reload or a key that left the configuration
  std::string detail;    // the line the agent logs for it; never a secret
};

class RecentEvents {
 public:
  static constexpr std::size_t kDefaultCapacity = 100;
  explicit RecentEvents(std::size_t capacity = kDefaultCapacity) : capacity_(capacity) {}

  void add(StateChange change);
  // [{"at":..,"kind":..,"key":..,"provider":..,"detail":..}, ...], newest first.
  std::string json() const;

 private:
  const std::size_t capacity_;
  mutable std::mutex mu_;
  std::deque<StateChange> changes_;  // oldest first
};

}  // namespace keymux::admin
