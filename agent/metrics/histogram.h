// A latency histogram with fixed buckets, safe to observe from every worker
// thread at once (relaxed atomics: a scrape may see one observation half
// counted, which Prometheus tolerates).
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace keymux::metrics {

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
    buckets_[i].fetch_add(1, std::memory_order_relaxed);  // i == size(): only +Inf
    sum_nanos_.fetch_add(nanos, std::memory_order_relaxed);
  }

  struct Snapshot {
    std::array<std::uint64_t, kBoundsMicros.size()> cumulative{};  // count <= each bound
    std::uint64_t count = 0;
    double sum_seconds = 0;
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
