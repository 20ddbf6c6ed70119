// Where each value of a configuration came from, and the errors found in it.
// Places are kept by field path ("providers[0].keys[1].secret") so that the
// passes after the YAML walk (secrets, validation) can point at the line.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "agent/config/loader.h"

namespace keymux::config {

struct Place {
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based; 0 when unknown
};

// "providers[0]" + "keys" -> "providers[0].keys"; "" + "policy" -> "policy".
std::string field_path(const std::string& parent, std::string_view field);
// "providers" + 2 -> "providers[2]".
std::string element_path(const std::string& list, std::size_t index);

class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}

  // The YAML walk records the place of every value it maps.
  void record(const std::string& path, Place place) { places_.emplace(path, place); }
  // True when the file gave a value for `path` (even an empty one).
  bool given(const std::string& path) const { return places_.contains(path); }
  // The place of `path`, else of its closest ancestor that has one.
  Place find(std::string_view path) const;

  // An error at an exact place. The value at `path` is marked as bad, so that
  // later passes do not report the same problem again in other words.
  void error_at(Place place, const std::string& path, std::string message, bool mark_bad = true);
  void mark_bad(const std::string& path) { bad_.insert(path); }
  // An error about the value at `path` (or, when the file does not give it,
  // about the closest enclosing value). Dropped when `path` or an ancestor is
  // already marked bad.
  void error(const std::string& path, std::string message);
  // An error about the file as a whole.
  void error_global(std::string message);

  bool has_errors() const { return !errors_.empty(); }
  // The errors in file order, global ones first.
  std::vector<ConfigError> take_errors();

 private:
  bool is_bad(std::string_view path) const;

  std::string file_;
  std::map<std::string, Place, std::less<>> places_;
  std::set<std::string, std::less<>> bad_;
  std::vector<ConfigError> errors_;
};

}  // namespace keymux::config
