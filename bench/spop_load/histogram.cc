#include "bench/spop_load/histogram.h"

#include <algorithm>
#include <cmath>

namespace keymux::bench {

void Histogram::merge(const Histogram& other) {
  for (int i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  total_ += other.total_;
  sum_ += other.sum_;
  max_ = std::max(max_, other.max_);
}

std::uint64_t Histogram::upper_bound_of(int index) {
  const auto i = static_cast<std::uint64_t>(index);
  if (i < 2 * kSub) return i;
  const std::uint64_t shift = i / kSub - 1;
  const std::uint64_t sub = i % kSub + kSub;
  return ((sub + 1) << shift) - 1;
}

std::uint64_t Histogram::percentile(double fraction) const {
  if (total_ == 0) return 0;
  const double wanted = std::ceil(fraction * static_cast<double>(total_));
  const std::uint64_t target = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(wanted));
  std::uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    // The last bucket also holds everything above kMaxValue.
    if (seen >= target) return i == kBuckets - 1 ? max_ : std::min(upper_bound_of(i), max_);
  }
  return max_;
}

}  // namespace keymux::bench
