#include "agent/config/validate.h"

#include <google/protobuf/duration.pb.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "agent/config/glob.h"
#include "agent/config/validate_state.h"

namespace keymux::config {
namespace {

constexpr std::size_t kMaxProviderName = 32;
constexpr std::size_t kMaxKeyId = 40;
constexpr std::size_t kMaxClientName = 64;
constexpr std::size_t kSha256HexLength = 64;
constexpr std::string_view kAnonymousName = "anonymous";  // router::kAnonymousClient
constexpr std::uint32_t kMaxAttempts = 10;
constexpr std::uint32_t kMinRequestMemoryEntries = 1000;
constexpr std::uint32_t kMaxEjectionMultiplier = 10;
// policy.limit_window: a second keeps a window's ring meaningful, an hour is
// far past any provider's window.
constexpr std::int64_t kMinLimitWindowMicros = 1'000'000;
constexpr std::int64_t kMaxLimitWindowMicros = 3'600'000'000;

bool is_lower_or_digit(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_letter_or_digit(char c) { return is_lower_or_digit(c) || (c >= 'A' && c <= 'Z'); }

bool only_chars(std::string_view text, bool (*allowed)(char)) {
  for (const char c : text) {
    if (!allowed(c)) return false;
  }
  return true;
}

bool provider_name_char(char c) { return is_lower_or_digit(c) || c == '_' || c == '-'; }
// Key ids and client names.
bool key_id_char(char c) { return is_letter_or_digit(c) || c == '_' || c == '.' || c == '-'; }
bool lower_hex_char(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
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
    for (int i = 0; i < config_.clients_size(); ++i) {
      client(config_.clients(i), element_path("clients", static_cast<std::size_t>(i)));
    }
    if (config_.has_admin()) admin(config_.admin(), "admin");
    if (config_.has_state()) validate_state(config_.state(), d_);
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
      if (name.size() > kMaxProviderName || !only_chars(name, provider_name_char)) {
        d_.error(name_path, label + ": name must be 1 to 32 characters of a-z, 0-9, '_' and '-'");
      }
      // Kept even when malformed, so that routes naming it do not add errors.
      if (const auto [it, fresh] = providers_.emplace(name, name_path); !fresh) {
        d_.error(name_path, label + ": name is used twice" + at_line(d_, it->second));
      }
    }
    patterns(provider.models(), field_path(path, "models"), label);
    const std::string backend_path = field_path(path, "backend");
    if (provider.backend().empty()) {
      d_.error(backend_path, label + ": no backend (the HAProxy backend that reaches it)");
    } else if (!only_chars(provider.backend(), backend_char)) {
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
    const std::string label = key.id().empty() ? path : "key '" + key.id() + "'";
    identifier({"key", key.id(), field_path(path, "id"), label, "id", kMaxKeyId,
                "; key ids are unique across all providers"},
               keys_);
    if (key.weight() < 1)
      d_.error(field_path(path, "weight"), label + ": weight must be at least 1");
    patterns(key.models(), field_path(path, "models"), label);
  }

  // A key id or a client name: given, of [A-Za-z0-9_.-], at most `max` long,
  // unique among those in `seen` (value -> path).
  struct Identifier {
    std::string_view owner;  // "key", "client"
    const std::string& value;
    std::string path;
    const std::string& label;
    std::string_view field;  // "id", "name"
    std::size_t max;
    std::string_view unique_note;  // appended to "used twice"
  };
  void identifier(const Identifier& id, std::map<std::string, std::string, std::less<>>& seen) {
    const std::string field(id.field);
    if (id.value.empty()) {
      d_.error(id.path, id.label + ": " + std::string(id.owner) + " has no " + field);
      return;
    }
    if (id.value.size() > id.max || !only_chars(id.value, key_id_char)) {
      d_.error(id.path, id.label + ": " + field + " must be 1 to " + std::to_string(id.max) +
                            " characters of A-Z, a-z, 0-9, '_', '.' and '-'");
    }
    if (const auto [it, fresh] = seen.emplace(id.value, id.path); !fresh) {
      d_.error(id.path, id.label + ": " + field + " is used twice" + at_line(d_, it->second) +
                            std::string(id.unique_note));
    }
  }

  void patterns(const google::protobuf::RepeatedPtrField<std::string>& models,
                const std::string& path, const std::string& label) {
    for (int i = 0; i < models.size(); ++i) {
      const std::string element = element_path(path, static_cast<std::size_t>(i));
      if (models[i].empty()) {
        d_.error(element, label + ": empty model pattern");
      } else if (!only_chars(models[i], pattern_char)) {
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
      } else {
        served_models(route, target.provider(), provider_path, label);
      }
      if (target.weight() < 1) {
        d_.error(field_path(target_path, "weight"), label + ": target weight must be at least 1");
      }
    }
  }

  // A provider receives the model name the client sent (keymux cannot rename
  // it in the body): every model a route may send must be one it serves. A
  // route pattern is read as a name: "gpt-4o*" is served by "gpt-*", "*" only
  // by a provider without a model list.
  void served_models(const Route& route, const std::string& provider_name,
                     const std::string& provider_path, const std::string& label) {
    const Provider* provider = nullptr;
    for (const Provider& p : config_.providers()) {
      if (p.name() == provider_name) provider = &p;
    }
    if (provider == nullptr || provider->models().empty()) return;
    for (const std::string& model : route.models()) {
      const bool served = std::any_of(provider->models().begin(), provider->models().end(),
                                      [&](const std::string& p) { return glob_match(p, model); });
      if (served) continue;
      std::string list;
      for (const std::string& p : provider->models()) list += (list.empty() ? "" : ", ") + p;
      d_.error(provider_path, label + ": provider '" + provider_name + "' does not serve '" +
                                  model + "' (its models: " + list +
                                  "); keymux sends the model name the client gave, so route it "
                                  "to providers that serve that name");
    }
  }

  void client(const Client& client, const std::string& path) {
    const std::string& name = client.name();
    const std::string label = name.empty() ? path : "client '" + name + "'";
    identifier({"client", name, field_path(path, "name"), label, "name", kMaxClientName, ""},
               clients_);
    if (name == kAnonymousName) {
      d_.error(field_path(path, "name"),
               label + ": the name is reserved for requests without a token (allow_anonymous)");
    }
    const std::string token_path = field_path(path, "token_sha256");
    const std::string& token = client.token_sha256();
    if (token.size() != kSha256HexLength || !only_chars(token, lower_hex_char)) {
      // Never echo the value: an operator may have pasted the token itself.
      d_.error(token_path, label + ": token_sha256 must be 64 lower-case hex characters (the " +
                               "SHA-256 of the token: keymux-agent hash-token prints it)");
    } else if (const auto [it, fresh] = tokens_.emplace(token, token_path); !fresh) {
      d_.error(token_path, label + ": token_sha256 is used twice" + at_line(d_, it->second) +
                               "; every client needs its own token");
    }
    patterns(client.models(), field_path(path, "models"), label);
    const auto at_least_one = [&](bool given, std::uint64_t value, std::string_view field) {
      if (given && value < 1) {
        d_.error(field_path(path, field), label + ": " + std::string(field) +
                                              " must be at least 1 (leave it out for no limit)");
      }
    };
    at_least_one(client.has_rpm(), client.rpm(), "rpm");
    at_least_one(client.has_tpm(), client.tpm(), "tpm");
    at_least_one(client.has_max_in_flight(), client.max_in_flight(), "max_in_flight");
    at_least_one(client.has_tokens_per_day(), client.tokens_per_day(), "tokens_per_day");
  }

  void admin(const Admin& admin, const std::string& path) {
    const std::string token_path = field_path(path, "token_sha256");
    const std::string& token = admin.token_sha256();
    if (token.empty()) return;  // the /v1/ endpoints stay closed
    if (token.size() != kSha256HexLength || !only_chars(token, lower_hex_char)) {
      d_.error(token_path,
               "admin: token_sha256 must be 64 lower-case hex characters (the " +
                   std::string("SHA-256 of the token: keymux-agent hash-token prints it)"));
    } else if (const auto it = tokens_.find(token); it != tokens_.end()) {
      // A client holding the admin token could reconfigure the gateway.
      d_.error(token_path, "admin: token_sha256 is a client's token too" + at_line(d_, it->second) +
                               "; the admin token must be its own");
    }
  }

  void positive(const google::protobuf::Duration& value, const std::string& path,
                std::string_view name) {
    if (micros(value) <= 0) {
      d_.error(path, "policy: " + std::string(name) + " must be longer than 0");
    }
  }

  // 0 (off) or a percentage.
  void percent(std::uint32_t value, const std::string& path, std::string_view name) {
    if (value > 100) {
      d_.error(field_path(path, name),
               "policy: " + std::string(name) + " must be between 0 (off) and 100");
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
    positive(policy.ejection_window(), field_path(path, "ejection_window"), "ejection_window");
    if (const std::int64_t window = micros(policy.limit_window());
        window < kMinLimitWindowMicros || window > kMaxLimitWindowMicros) {
      d_.error(field_path(path, "limit_window"), "policy: limit_window must be between 1s and 1h");
    }
    percent(policy.ejection_failure_percent(), path, "ejection_failure_percent");
    percent(policy.provider_ejection_failure_percent(), path, "provider_ejection_failure_percent");
    if (policy.ejection_minimum_requests() < 1) {
      d_.error(field_path(path, "ejection_minimum_requests"),
               "policy: ejection_minimum_requests must be at least 1");
    }
    if (policy.ejection_multiplier() < 1 || policy.ejection_multiplier() > kMaxEjectionMultiplier) {
      d_.error(field_path(path, "ejection_multiplier"),
               "policy: ejection_multiplier must be between 1 and 10");
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
  std::map<std::string, std::string, std::less<>> clients_;    // name -> path of its name
  std::map<std::string, std::string, std::less<>> tokens_;     // token_sha256 -> path
  std::string default_route_;                                  // path of the first default
  bool unnamed_provider_ = false;
};

}  // namespace

void validate(const Config& config, Diagnostics& diagnostics) {
  Validator(config, diagnostics).run();
}

}  // namespace keymux::config
