#include "agent/router/key_registry.h"

namespace keymux::router {

KeyState& KeyRegistry::get(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = keys_.find(id);
  if (it == keys_.end()) it = keys_.emplace(id, std::make_unique<KeyState>(id)).first;
  return *it->second;
}

std::vector<KeyState*> KeyRegistry::all() {
  std::lock_guard lock(mu_);
  std::vector<KeyState*> out;
  out.reserve(keys_.size());
  for (auto& [id, state] : keys_) out.push_back(state.get());
  return out;
}

}  // namespace keymux::router
