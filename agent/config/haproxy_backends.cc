// check_haproxy_backends: every provider's backend must be a section of the
// haproxy.cfg that serves this agent, else HAProxy answers with its
// no-route backend for every request the agent sends there.
#include <set>
#include <string>
#include <string_view>

#include "agent/config/loader.h"

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

std::vector<ConfigError> check_haproxy_backends(const Config& config, std::string_view haproxy_cfg,
                                                const std::string& haproxy_file) {
  const auto sections = backend_sections(haproxy_cfg);
  std::vector<ConfigError> errors;
  for (const Provider& provider : config.providers()) {
    if (sections.contains(provider.backend())) continue;
    errors.push_back({haproxy_file, 0, 0,
                      "provider '" + provider.name() + "' uses backend '" + provider.backend() +
                          "', but " + haproxy_file + " has no 'backend " + provider.backend() +
                          "' or 'listen " + provider.backend() + "' section"});
  }
  return errors;
}

}  // namespace keymux::config
