#include "agent/state/degraded.h"

#include <algorithm>

namespace keymux::state {

std::optional<std::uint64_t> degraded_limit(std::uint64_t limit, std::uint32_t live_nodes,
                                            DegradedMode mode) {
  if (limit == 0) return 0;
  switch (mode) {
    case DegradedMode::kOpen:
      return limit;
    case DegradedMode::kClosed:
      return std::nullopt;
    case DegradedMode::kSplit:
      break;
  }
  return std::max<std::uint64_t>(1, limit / std::max<std::uint32_t>(1, live_nodes));
}

std::uint32_t in_flight_share(std::uint32_t max_in_flight, const std::vector<std::string>& nodes,
                              std::string_view self) {
  if (max_in_flight == 0) return 0;
  std::vector<std::string_view> sorted(nodes.begin(), nodes.end());
  if (std::find(sorted.begin(), sorted.end(), self) == sorted.end()) sorted.push_back(self);
  std::sort(sorted.begin(), sorted.end());
  const auto n = static_cast<std::uint32_t>(sorted.size());
  const auto rank =
      static_cast<std::uint32_t>(std::find(sorted.begin(), sorted.end(), self) - sorted.begin());
  return max_in_flight / n + (rank < max_in_flight % n ? 1 : 0);
}

}  // namespace keymux::state
