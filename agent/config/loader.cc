// The loading pipeline: YAML text -> Config -> secrets -> defaults -> checks.
#include "agent/config/loader.h"

#include "agent/config/defaults.h"
#include "agent/config/diagnostics.h"
#include "agent/config/haproxy_backends.h"
#include "agent/config/secrets.h"
#include "agent/config/validate.h"
#include "agent/config/yaml_document.h"
#include "agent/config/yaml_to_proto.h"

namespace keymux::config {

std::string format_error(const ConfigError& error) {
  // Appended piece by piece: GCC 12 at -O3 warns falsely (-Wrestrict) on
  // `out += ":" + std::to_string(...)`.
  std::string out = error.file;
  if (error.line > 0) {
    out += ':';
    out += std::to_string(error.line);
    if (error.column > 0) {
      out += ':';
      out += std::to_string(error.column);
    }
  }
  out += ": ";
  out += error.message;
  return out;
}

LoadResult load_config_text(std::string_view yaml, const std::string& file_name,
                            const Environment& env, const std::vector<std::string>& haproxy_files) {
  LoadResult result;
  Diagnostics diagnostics(file_name);
  const std::optional<YAML::Node> root = parse_yaml_document(yaml, diagnostics);
  if (!root) {
    result.errors = diagnostics.take_errors();
    return result;
  }
  Config config;
  yaml_to_message(*root, config, diagnostics);
  resolve_secrets(config, env, diagnostics);
  fill_defaults(config);
  validate(config, diagnostics);
  if (!diagnostics.has_errors()) check_haproxy_backends(config, haproxy_files, env, diagnostics);
  result.errors = diagnostics.take_errors();
  if (result.errors.empty()) result.config = std::move(config);
  return result;
}

LoadResult load_config_file(const std::string& path, const Environment& env,
                            const std::vector<std::string>& haproxy_files) {
  std::string reason;
  const std::optional<std::string> text =
      env.read_file ? env.read_file(path, reason) : std::nullopt;
  if (!text) {
    LoadResult result;
    result.errors.push_back({path, 0, 0, "cannot read the configuration: " + reason});
    return result;
  }
  return load_config_text(*text, path, env, haproxy_files);
}

}  // namespace keymux::config
