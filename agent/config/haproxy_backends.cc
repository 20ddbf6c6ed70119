#include "agent/config/haproxy_backends.h"

#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "agent/config/edit_distance.h"

namespace keymux::config {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view next_word(std::string_view& line) {
  std::size_t start = 0;
  while (start < line.size() && is_space(line[start])) ++start;
  std::size_t end = start;
  while (end < line.size() && !is_space(line[end])) ++end;
  const std::string_view word = line.substr(start, end - start);
  line.remove_prefix(end);
  return word;
}

// The names of the `backend NAME` and `listen NAME` sections.
std::set<std::string, std::less<>> backend_sections(std::string_view cfg) {
  std::set<std::string, std::less<>> names;
  while (!cfg.empty()) {
    const std::size_t newline = cfg.find('\n');
    std::string_view line = cfg.substr(0, newline);
    cfg.remove_prefix(newline == std::string_view::npos ? cfg.size() : newline + 1);
    line = line.substr(0, line.find('#'));
    const std::string_view keyword = next_word(line);
    if (keyword != "backend" && keyword != "listen") continue;
    const std::string_view name = next_word(line);
    if (!name.empty()) names.emplace(name);
  }
  return names;
}

}  // namespace

void check_haproxy_backends(const Config& config, const std::vector<std::string>& haproxy_files,
                            const Environment& env, Diagnostics& diagnostics) {
  if (haproxy_files.empty()) return;
  std::set<std::string, std::less<>> sections;
  std::string names;
  bool readable = true;
  for (const std::string& path : haproxy_files) {
    std::string reason;
    const std::optional<std::string> text =
        env.read_file ? env.read_file(path, reason) : std::nullopt;
    if (!text) {
      diagnostics.error_global("cannot read the HAProxy configuration " + path + ": " + reason);
      readable = false;
      continue;
    }
    sections.merge(backend_sections(*text));
    names += (names.empty() ? "" : ", ") + path;
  }
  if (!readable) return;
  for (int i = 0; i < config.providers_size(); ++i) {
    const Provider& provider = config.providers(i);
    const std::string& backend = provider.backend();
    if (sections.contains(backend)) continue;
    std::string message = "provider '" + provider.name() + "' uses backend '" + backend +
                          "', which the HAProxy configuration (" + names +
                          ") does not define: no 'backend " + backend + "' or 'listen " + backend +
                          "' section";
    std::string meant;
    for (const std::string& section : sections) {
      if (close_name(backend, section)) meant += (meant.empty() ? "'" : " or '") + section + "'";
    }
    if (!meant.empty()) message += "; did you mean " + meant + "?";
    diagnostics.error(field_path(element_path("providers", static_cast<std::size_t>(i)), "backend"),
                      std::move(message));
  }
}

}  // namespace keymux::config
