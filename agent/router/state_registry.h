// Owns live states (of keys, of clients) by name, for the life of the agent:
// a reload that keeps a name keeps its counters. Addresses are stable.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace keymux::router {

template <typename State>  // constructible from its name
class StateRegistry {
 public:
  // The state for `name`, created on first use. Thread-safe; not on the hot path.
  State& get(const std::string& name) {
    std::lock_guard lock(mu_);
    auto it = states_.find(name);
    if (it == states_.end()) it = states_.emplace(name, std::make_unique<State>(name)).first;
    return *it->second;
  }

  // Every state ever seen, in name order (admin API, metrics).
  std::vector<State*> all() {
    std::lock_guard lock(mu_);
    std::vector<State*> out;
    out.reserve(states_.size());
    for (auto& [name, state] : states_) out.push_back(state.get());
    return out;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<State>, std::less<>> states_;
};

}  // namespace keymux::router
