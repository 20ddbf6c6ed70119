// What the shared state looks like from this gateway, for operators: the
// /readyz line, the Prometheus families and the JSON of GET /v1/state. Pure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "agent/state/shared_key_budget.h"

namespace keymux::state {

struct StateReport {
  std::string node;
  std::string redis;  // the address (never the password)
  bool healthy = false;
  std::uint32_t live_nodes = 1;
  std::uint64_t mode_changes = 0;
  std::uint64_t replays = 0;
  struct Key {
    std::string key_id;
    SharedKeyBudget::View view;
  };
  std::vector<Key> keys;  // by key id
};

// "redis: healthy (node gw-1, 2 live nodes)" or "redis: degraded ...".
std::string state_readyz_line(const StateReport& report);
std::string state_metrics_text(const StateReport& report);
std::string state_json(const StateReport& report);

}  // namespace keymux::state
