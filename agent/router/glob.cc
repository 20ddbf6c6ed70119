#include "agent/router/snapshot.h"

namespace keymux::router {

bool allows_model(const std::vector<std::string>& patterns, std::string_view model) {
  if (patterns.empty()) return true;
  for (const auto& pattern : patterns) {
    if (glob_match(pattern, model)) return true;
  }
  return false;
}

bool KeyEntry::allows_model(std::string_view model) const {
  return router::allows_model(model_patterns, model) &&
         router::allows_model(provider->model_patterns, model);
}

bool ClientEntry::allows_model(std::string_view model) const {
  return router::allows_model(model_patterns, model);
}

}  // namespace keymux::router
