// Latency histogram with log-linear buckets (as HdrHistogram does): exact
// below 256, then 128 buckets per power of two, so any recorded value is known
// within 0.8%. Fixed memory, O(1) record, mergeable across threads.
#pragma once

#include <array>
#include <cstdint>

namespace keymux::bench {

class Histogram {
 public:
  // Values are nanoseconds; anything at or above kMaxValue lands in the last bucket.
  static constexpr std::uint64_t kMaxValue = std::uint64_t{1} << 40;  // ~18 minutes

  void record(std::uint64_t value) {
    ++counts_[index_of(value < kMaxValue ? value : kMaxValue - 1)];
    ++total_;
    if (value > max_) max_ = value;
    sum_ += value;
  }
  void merge(const Histogram& other);

  std::uint64_t count() const { return total_; }
  std::uint64_t max() const { return max_; }
  double mean() const { return total_ ? static_cast<double>(sum_) / total_ : 0.0; }
  // The smallest bucket value that `fraction` of the samples do not exceed
  // (the bucket's upper bound, never more than max()). 0 when empty.
  std::uint64_t percentile(double fraction) const;

 private:
  static constexpr int kSubBits = 7;  // 128 sub-buckets per power of two
  static constexpr std::uint64_t kSub = std::uint64_t{1} << kSubBits;
  static constexpr int kBuckets = (40 - kSubBits + 1) * kSub;

  static int index_of(std::uint64_t v) {
    if (v < 2 * kSub) return static_cast<int>(v);
    const int shift = 63 - __builtin_clzll(v) - kSubBits;  // >= 1
    return static_cast<int>(shift * kSub + (v >> shift));
  }
  static std::uint64_t upper_bound_of(int index);

  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t total_ = 0;
  std::uint64_t max_ = 0;
  std::uint64_t sum_ = 0;
};

}  // namespace keymux::bench
