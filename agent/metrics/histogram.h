// A latency histogram with fixed buckets. One thread observes (a worker's
// own histogram: plain loads and stores, no locked instruction on the hot
// path); any thread may take a snapshot (relaxed atomics: a scrape may see one
// observation half counted, which Prometheus tolerates).
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace keymux::metrics {

// Adds to a counter only its owner thread writes: no read-modify-write
// instruction needed, readers on other threads see whole values.
inline void bump(std::atomic<std::uint64_t>& counter, std::uint64_t amount = 1) {
  counter.store(counter.load(std::memory_order_relaxed) + amount, std::memory_order_relaxed);
}

class LatencyHistogram {
 public:
  // Upper bounds in microseconds: a decision takes microseconds; the tail
  // buckets catch a stalled thread.
  static constexpr std::array<std::uint64_t, 14> kBoundsMicros = {
      1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 100000};

  void observe(std::chrono::nanoseconds elapsed) {
    const auto nanos = static_cast<std::uint64_t>(std::max<std::int64_t>(elapsed.count(), 0));
    std::size_t i = 0;
    while (i < kBoundsMicros.size() && nanos > kBoundsMicros[i] * 1000) ++i;
    bump(buckets_[i]);  // i == size(): only +Inf
    bump(sum_nanos_, nanos);
  }

  struct Snapshot {
    std::array<std::uint64_t, kBoundsMicros.size()> cumulative{};  // count <= each bound
    std::uint64_t count = 0;
    double sum_seconds = 0;

    void add(const Snapshot& other) {
      for (std::size_t i = 0; i < cumulative.size(); ++i) cumulative[i] += other.cumulative[i];
      count += other.count;
      sum_seconds += other.sum_seconds;
    }
  };
  Snapshot snapshot() const {
    Snapshot s;
    std::uint64_t running = 0;
    for (std::size_t i = 0; i < kBoundsMicros.size(); ++i) {
      running += buckets_[i].load(std::memory_order_relaxed);
      s.cumulative[i] = running;
    }
    s.count = running + buckets_[kBoundsMicros.size()].load(std::memory_order_relaxed);
    s.sum_seconds = static_cast<double>(sum_nanos_.load(std::memory_order_relaxed)) / 1e9;
    return s;
  }

 private:
  std::array<std::atomic<std::uint64_t>, kBoundsMicros.size() + 1> buckets_{};
  std::atomic<std::uint64_t> sum_nanos_{0};
};

}  // namespace keymux::metrics
