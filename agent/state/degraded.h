// What a node may spend on its own: while Redis is unreachable (after the
// slices it holds), and its share of a key's max_in_flight. Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keymux::state {

enum class DegradedMode : std::uint8_t { kSplit, kOpen, kClosed };

// The limit this node enforces locally while degraded; 0 stays "no limit";
// nullopt: refuse the key (closed). Split never rounds a limit down to 0.
std::optional<std::uint64_t> degraded_limit(std::uint64_t limit, std::uint32_t live_nodes,
                                            DegradedMode mode);

// This node's part of max_in_flight among the live nodes (sorted names, self
// included): an even split, the remainder to the first names. 0 stays "no
// limit"; with fewer slots than nodes, the last names get none (exact).
std::uint32_t in_flight_share(std::uint32_t max_in_flight, const std::vector<std::string>& nodes,
                              std::string_view self);

}  // namespace keymux::state
