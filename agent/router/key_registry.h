// Owns every KeyState by id, for the life of the agent: a reload that keeps a
// key id keeps its counters, cooldown and quarantine. Addresses are stable.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "agent/router/key_state.h"

namespace keymux::router {

class KeyRegistry {
 public:
  // The state for `id`, created on first use. Thread-safe; not on the hot path.
  KeyState& get(const std::string& id);
  // Every key ever seen, in id order (admin API, metrics).
  std::vector<KeyState*> all();

 private:
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<KeyState>, std::less<>> keys_;
};

}  // namespace keymux::router
