#include "agent/config/diagnostics.h"

#include <algorithm>

namespace keymux::config {
namespace {

// "a.b[2].c" -> "a.b[2]" -> "a.b" -> "a" -> "".
std::string_view parent_of(std::string_view path) {
  const std::size_t cut = path.find_last_of(".[");
  return cut == std::string_view::npos ? std::string_view() : path.substr(0, cut);
}

}  // namespace

std::string field_path(const std::string& parent, std::string_view field) {
  std::string out = parent;
  if (!out.empty()) out += '.';
  out += field;
  return out;
}

std::string element_path(const std::string& list, std::size_t index) {
  return list + "[" + std::to_string(index) + "]";
}

Place Diagnostics::find(std::string_view path) const {
  while (true) {
    if (const auto it = places_.find(path); it != places_.end()) return it->second;
    if (path.empty()) return {};
    path = parent_of(path);
  }
}

bool Diagnostics::is_bad(std::string_view path) const {
  while (true) {
    if (bad_.contains(path)) return true;
    if (path.empty()) return false;
    path = parent_of(path);
  }
}

void Diagnostics::error_at(Place place, const std::string& path, std::string message,
                           bool mark_bad) {
  if (mark_bad) bad_.insert(path);
  errors_.push_back({file_, place.line, place.column, std::move(message)});
}

void Diagnostics::error(const std::string& path, std::string message) {
  if (is_bad(path)) return;
  const Place place = find(path);
  errors_.push_back({file_, place.line, place.column, std::move(message)});
}

void Diagnostics::error_global(std::string message) {
  errors_.push_back({file_, 0, 0, std::move(message)});
}

std::vector<ConfigError> Diagnostics::take_errors() {
  std::stable_sort(errors_.begin(), errors_.end(), [](const ConfigError& a, const ConfigError& b) {
    return std::pair(a.line, a.column) < std::pair(b.line, b.column);
  });
  return std::move(errors_);
}

}  // namespace keymux::config
