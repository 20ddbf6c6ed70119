#include "agent/config/validate.h"

#include <google/protobuf/duration.pb.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace keymux::config {
namespace {

constexpr std::size_t kMaxProviderName = 32;
constexpr std::size_t kMaxKeyId = 40;
constexpr std::uint32_t kMaxAttempts = 10;
constexpr std::uint32_t kMinRequestMemoryEntries = 1000;

bool is_lower_or_digit(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_letter_or_digit(char c) { return is_lower_or_digit(c) || (c >= 'A' && c <= 'Z'); }

bool all_of(std::string_view text, bool (*allowed)(char)) {
  for (const char c : text) {
    if (!allowed(c)) return false;
  }
  return true;
}

bool provider_name_char(char c) { return is_lower_or_digit(c) || c == '_' || c == '-'; }
bool key_id_char(char c) { return is_letter_or_digit(c) || c == '_' || c == '.' || c == '-'; }
// What HAProxy accepts in a proxy name.
bool backend_char(char c) {
  return is_letter_or_digit(c) || c == '_' || c == '.' || c == ':' || c == '-';
}
// Model names are compared with what clients send; spaces and control
// characters in a pattern are always a mistake.
bool pattern_char(char c) { return c > 0x20 && c < 0x7f; }

std::string at_line(const Diagnostics& diagnostics, const std::string& path) {
  const int line = diagnostics.find(path).line;
  return line > 0 ? " (first at line " + std::to_string(line) + ")" : "";
}

std::int64_t micros(const google::protobuf::Duration& d) {
  return d.seconds() * 1'000'000 + d.nanos() / 1000;
}

class Validator {
 public:
  Validator(const Config& config, Diagnostics& diagnostics) : config_(config), d_(diagnostics) {}

  void run() {
    if (config_.providers().empty()) {
      d_.error("providers", "no providers: a configuration needs at least one provider");
    }
    for (int i = 0; i < config_.providers_size(); ++i) {
      provider(config_.providers(i), element_path("providers", static_cast<std::size_t>(i)));
    }
    if (config_.routes().empty()) {
      d_.error("routes", "no routes: a configuration needs at least one route");
    }
    for (int i = 0; i < config_.routes_size(); ++i) {
      route(config_.routes(i), element_path("routes", static_cast<std::size_t>(i)));
    }
    policy(config_.policy(), "policy");
  }

 private:
  void provider(const Provider& provider, const std::string& path) {
    const std::string name_path = field_path(path, "name");
    const std::string& name = provider.name();
    const std::string label = name.empty() ? path : "provider '" + name + "'";
    if (name.empty()) {
      // Routes may name this provider: do not also report them.
      unnamed_provider_ = true;
      d_.error(name_path, path + ": provider has no name");
    } else {
      if (name.size() > kMaxProviderName || !all_of(name, provider_name_char)) {
        d_.error(name_path, label + ": name must be 1 to 32 characters of a-z, 0-9, '_' and '-'");
      }
      // Kept even when malformed, so that routes naming it do not add errors.
      if (const auto [it, fresh] = providers_.emplace(name, name_path); !fresh) {
        d_.error(name_path, label + ": name is used twice" + at_line(d_, it->second));
      }
    }
    const std::string backend_path = field_path(path, "backend");
    if (provider.backend().empty()) {
      d_.error(backend_path, label + ": no backend (the HAProxy backend that reaches it)");
    } else if (!all_of(provider.backend(), backend_char)) {
      d_.error(backend_path, label + ": backend '" + provider.backend() +
                                 "' is not a HAProxy backend name (letters, digits, '_', '.', "
                                 "':' and '-')");
    }
    if (provider.auth() == AUTH_STYLE_UNSPECIFIED) {
      d_.error(field_path(path, "auth"), label + ": no auth (bearer, x-api-key or api-key)");
    }
    const std::string keys_path = field_path(path, "keys");
    if (provider.keys().empty()) {
      d_.error(keys_path, label + ": no keys: a provider needs at least one key");
    }
    for (int i = 0; i < provider.keys_size(); ++i) {
      key(provider.keys(i), element_path(keys_path, static_cast<std::size_t>(i)));
    }
  }

  void key(const Key& key, const std::string& path) {
    const std::string id_path = field_path(path, "id");
    const std::string& id = key.id();
    const std::string label = id.empty() ? path : "key '" + id + "'";
    if (id.empty()) {
      d_.error(id_path, path + ": key has no id");
    } else {
      if (id.size() > kMaxKeyId || !all_of(id, key_id_char)) {
        d_.error(id_path,
                 label + ": id must be 1 to 40 characters of A-Z, a-z, 0-9, '_', '.' and '-'");
      }
      if (const auto [it, fresh] = keys_.emplace(id, id_path); !fresh) {
        d_.error(id_path, label + ": id is used twice" + at_line(d_, it->second) +
                              "; key ids are unique across all providers");
      }
    }
    if (key.weight() < 1)
      d_.error(field_path(path, "weight"), label + ": weight must be at least 1");
    patterns(key.models(), field_path(path, "models"), label);
  }

  void patterns(const google::protobuf::RepeatedPtrField<std::string>& models,
                const std::string& path, const std::string& label) {
    for (int i = 0; i < models.size(); ++i) {
      const std::string element = element_path(path, static_cast<std::size_t>(i));
      if (models[i].empty()) {
        d_.error(element, label + ": empty model pattern");
      } else if (!all_of(models[i], pattern_char)) {
        d_.error(element, label + ": model pattern has a space, a control character or a " +
                              "non-ASCII character");
      }
    }
  }

  void route(const Route& route, const std::string& path) {
    const std::string label = "route '" + route.name() + "'";
    const std::string models_path = field_path(path, "models");
    if (route.models().empty() && !route.default_()) {
      d_.error(models_path, label + ": no models: list model names or patterns (\"*\" for all), " +
                                "or mark the route default");
    }
    patterns(route.models(), models_path, label);
    if (route.default_()) {
      const std::string default_path = field_path(path, "default");
      if (default_route_.empty()) {
        default_route_ = default_path;
      } else {
        d_.error(default_path, label + ": a second default route" + at_line(d_, default_route_) +
                                   "; at most one route is the default");
      }
    }
    const std::string targets_path = field_path(path, "targets");
    if (route.targets().empty()) {
      d_.error(targets_path, label + ": no targets: a route needs at least one provider");
    }
    std::map<std::string, std::string, std::less<>> seen;
    for (int i = 0; i < route.targets_size(); ++i) {
      const Target& target = route.targets(i);
      const std::string target_path = element_path(targets_path, static_cast<std::size_t>(i));
      const std::string provider_path = field_path(target_path, "provider");
      if (target.provider().empty()) {
        d_.error(provider_path, label + ": target has no provider");
      } else if (!providers_.contains(target.provider())) {
        if (!unnamed_provider_) {
          d_.error(provider_path, label + ": no provider named '" + target.provider() + "'");
        }
      } else if (const auto [it, fresh] = seen.emplace(target.provider(), provider_path); !fresh) {
        d_.error(provider_path, label + ": provider '" + target.provider() + "' is listed twice" +
                                    at_line(d_, it->second));
      }
      if (target.weight() < 1) {
        d_.error(field_path(target_path, "weight"), label + ": target weight must be at least 1");
      }
    }
  }

  void positive(const google::protobuf::Duration& value, const std::string& path,
                std::string_view name) {
    if (micros(value) <= 0) {
      d_.error(path, "policy: " + std::string(name) + " must be longer than 0");
    }
  }

  void policy(const Policy& policy, const std::string& path) {
    if (policy.attempts() < 1 || policy.attempts() > kMaxAttempts) {
      d_.error(field_path(path, "attempts"), "policy: attempts must be between 1 and 10");
    }
    positive(policy.rate_limit_cooldown(), field_path(path, "rate_limit_cooldown"),
             "rate_limit_cooldown");
    positive(policy.server_error_cooldown(), field_path(path, "server_error_cooldown"),
             "server_error_cooldown");
    positive(policy.server_error_cooldown_max(), field_path(path, "server_error_cooldown_max"),
             "server_error_cooldown_max");
    positive(policy.in_flight_timeout(), field_path(path, "in_flight_timeout"),
             "in_flight_timeout");
    positive(policy.request_memory(), field_path(path, "request_memory"), "request_memory");
    const std::int64_t first = micros(policy.server_error_cooldown());
    const std::int64_t max = micros(policy.server_error_cooldown_max());
    if (first > 0 && max > 0 && first > max) {
      // Where the file gives one of them; the maximum if it gives both.
      const std::string max_path = field_path(path, "server_error_cooldown_max");
      d_.error(d_.given(max_path) ? max_path : field_path(path, "server_error_cooldown"),
               "policy: server_error_cooldown is longer than server_error_cooldown_max");
    }
    if (policy.default_max_tokens() < 1) {
      d_.error(field_path(path, "default_max_tokens"),
               "policy: default_max_tokens must be at least 1");
    }
    if (policy.request_memory_entries() < kMinRequestMemoryEntries) {
      d_.error(field_path(path, "request_memory_entries"),
               "policy: request_memory_entries must be at least 1000");
    }
  }

  const Config& config_;
  Diagnostics& d_;
  std::map<std::string, std::string, std::less<>> providers_;  // name -> path of its name
  std::map<std::string, std::string, std::less<>> keys_;       // id -> path of its id
  std::string default_route_;                                  // path of the first default
  bool unnamed_provider_ = false;
};

}  // namespace

void validate(const Config& config, Diagnostics& diagnostics) {
  Validator(config, diagnostics).run();
}

}  // namespace keymux::config
