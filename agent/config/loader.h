// Loads a keymux YAML file into the proto messages of proto/keymux/config.proto,
// resolves secrets and validates. Every problem is reported with its place;
// a result with any error has no config.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/keymux/config.pb.h"

namespace keymux::config {

struct ConfigError {
  std::string file;
  int line = 0;         // 1-based; 0 when the problem is not at one place
  int column = 0;       // 1-based; 0 when unknown
  std::string message;  // never contains a secret's value
};

// "file:line:column: message" (line and column omitted when 0).
std::string format_error(const ConfigError& error);

// Where secrets come from; replaceable in tests.
struct Environment {
  // The value of an environment variable, or nullopt when unset.
  std::function<std::optional<std::string>(const std::string& name)> get_variable;
  // A file's content, or nullopt with `error` set.
  std::function<std::optional<std::string>(const std::string& path, std::string& error)> read_file;
  // Completes "environment variable X is not set": which environment was
  // read, and what to do (--check reads the shell's, a reload the agent's).
  std::string unset_variable_hint;

  static Environment process();  // the real environment and file system
};

struct LoadResult {
  std::optional<Config> config;  // set only when `errors` is empty
  std::vector<ConfigError> errors;
};

// Parses YAML text (`file_name` is used in errors), maps it onto Config
// (unknown fields, wrong types and bad enum values are errors), substitutes
// ${VAR} in secrets, reads secret_file, fills defaults, then validates; with
// `haproxy_files`, also that every provider's backend is defined there.
LoadResult load_config_text(std::string_view yaml, const std::string& file_name,
                            const Environment& env,
                            const std::vector<std::string>& haproxy_files = {});
LoadResult load_config_file(const std::string& path, const Environment& env,
                            const std::vector<std::string>& haproxy_files = {});

}  // namespace keymux::config
