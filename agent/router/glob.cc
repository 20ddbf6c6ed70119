#include "agent/router/snapshot.h"

namespace keymux::router {

// Iterative matcher: on a mismatch, let the last '*' swallow one more
// character. Linear in practice, never exponential.
bool glob_match(std::string_view pattern, std::string_view text) {
  std::size_t p = 0;
  std::size_t t = 0;
  std::size_t star = std::string_view::npos;
  std::size_t star_text = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || (pattern[p] != '*' && pattern[p] == text[t]))) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_text = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++star_text;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool allows_model(const std::vector<std::string>& patterns, std::string_view model) {
  if (patterns.empty()) return true;
  for (const auto& pattern : patterns) {
    if (glob_match(pattern, model)) return true;
  }
  return false;
}

bool KeyEntry::allows_model(std::string_view model) const {
  return router::allows_model(model_patterns, model);
}

bool ClientEntry::allows_model(std::string_view model) const {
  return router::allows_model(model_patterns, model);
}

}  // namespace keymux::router
