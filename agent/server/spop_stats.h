// SPOP traffic of the whole agent, for metrics: connections and frames as the
// sessions count them, protocol errors by status. Workers add; the metrics
// page reads (relaxed atomics).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "agent/spop/session.h"
#include "agent/spop/status.h"

namespace keymux::server {

struct SpopStats {
  std::atomic<std::uint64_t> connections_accepted{0};
  std::atomic<std::int64_t> connections_open{0};
  std::atomic<std::uint64_t> hellos{0};  // health checks included
  std::atomic<std::uint64_t> notifies{0};
  std::atomic<std::uint64_t> haproxy_disconnects{0};
  std::atomic<std::uint64_t> acks{0};
  std::atomic<std::uint64_t> agent_disconnects{0};
  // Statuses 0..13 by value; the last slot for any other.
  static constexpr std::size_t kStatusSlots = 15;
  std::array<std::atomic<std::uint64_t>, kStatusSlots> protocol_errors{};

  static std::size_t status_slot(spop::Status status) {
    const auto value = static_cast<std::size_t>(status);
    return value < kStatusSlots - 1 ? value : kStatusSlots - 1;
  }

  // Adds what `now` counted since `published`, then remembers `now`.
  void publish(const spop::SessionCounters& now, spop::SessionCounters& published) {
    auto add = [](std::atomic<std::uint64_t>& total, std::uint64_t current, std::uint64_t& seen) {
      if (current != seen) total.fetch_add(current - seen, std::memory_order_relaxed);
      seen = current;
    };
    std::uint64_t hellos_now = now.hellos + now.healthchecks;
    std::uint64_t hellos_seen = published.hellos + published.healthchecks;
    add(hellos, hellos_now, hellos_seen);
    published.hellos = now.hellos;
    published.healthchecks = now.healthchecks;
    add(notifies, now.notifies, published.notifies);
    add(haproxy_disconnects, now.haproxy_disconnects, published.haproxy_disconnects);
    add(acks, now.acks, published.acks);
    add(agent_disconnects, now.agent_disconnects, published.agent_disconnects);
  }
};

// "invalid frame received" -> "invalid_frame_received": a label value.
inline std::string status_label(spop::Status status) {
  std::string out(spop::status_text(status));
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) c = '_';
  }
  return out;
}

}  // namespace keymux::server
