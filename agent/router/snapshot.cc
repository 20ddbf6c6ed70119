#include "agent/router/snapshot.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <unordered_set>

namespace keymux::router {
namespace {

Duration to_duration(const google::protobuf::Duration& d) {
  return std::chrono::duration_cast<Duration>(std::chrono::seconds(d.seconds()) +
                                              std::chrono::nanoseconds(d.nanos()));
}

PolicyValues compile_policy(const config::Policy& p) {
  PolicyValues out;
  if (p.has_attempts()) out.attempts = p.attempts();
  if (p.has_rate_limit_cooldown()) out.cooldowns.rate_limit = to_duration(p.rate_limit_cooldown());
  // Keys and providers share the ejection lengths, window and volume.
  for (OutlierPolicy* o : {&out.key_outliers, &out.provider_outliers}) {
    if (p.has_server_error_cooldown()) o->base_ejection = to_duration(p.server_error_cooldown());
    if (p.has_server_error_cooldown_max()) {
      o->max_ejection = to_duration(p.server_error_cooldown_max());
    }
    if (p.has_ejection_window()) o->window = to_duration(p.ejection_window());
    if (p.has_ejection_minimum_requests()) o->minimum_requests = p.ejection_minimum_requests();
    if (p.has_ejection_multiplier()) o->multiplier = p.ejection_multiplier();
  }
  if (p.has_ejection_consecutive_failures()) {
    out.key_outliers.consecutive_failures = p.ejection_consecutive_failures();
  }
  if (p.has_ejection_failure_percent()) {
    out.key_outliers.failure_percent = p.ejection_failure_percent();
  }
  if (p.has_provider_ejection_failure_percent()) {
    out.provider_outliers.failure_percent = p.provider_ejection_failure_percent();
  }
  if (p.has_default_max_tokens()) out.default_max_tokens = p.default_max_tokens();
  if (p.has_in_flight_timeout()) out.in_flight_timeout = to_duration(p.in_flight_timeout());
  if (p.has_request_memory()) out.request_memory = to_duration(p.request_memory());
  if (p.has_request_memory_entries()) out.request_memory_entries = p.request_memory_entries();
  if (p.has_limit_window()) out.limit_window = to_duration(p.limit_window());
  return out;
}

ClientLimits client_limits(const config::Client& client, Duration window) {
  return {{client.rpm(), client.tpm(), client.max_in_flight(), window}, client.tokens_per_day()};
}

std::uint64_t digest_prefix(const config::Sha256& digest) {
  std::uint64_t prefix;
  std::memcpy(&prefix, digest.data(), sizeof prefix);
  return prefix;
}

}  // namespace

std::shared_ptr<const Snapshot> Snapshot::build(const config::Config& config, KeyRegistry& registry,
                                                ClientRegistry& clients) {
  auto snap = std::make_shared<Snapshot>();
  snap->policy_ = compile_policy(config.policy());

  snap->clients_.reserve(config.clients_size());
  snap->client_by_digest_.reserve(config.clients_size());
  for (const auto& client : config.clients()) {
    ClientEntry& c = snap->clients_.emplace_back();
    c.name = client.name();
    config::parse_hex_sha256(client.token_sha256(), c.token_sha256);  // validated
    c.model_patterns.assign(client.models().begin(), client.models().end());
    c.limits = client_limits(client, snap->policy_.limit_window);
    c.state = &clients.get(c.name);
    c.state->configure(c.limits);
    snap->client_by_digest_.emplace(digest_prefix(c.token_sha256),
                                    static_cast<std::uint32_t>(snap->clients_.size() - 1));
  }
  if (config.allow_anonymous()) {
    snap->anonymous_ = std::make_unique<ClientEntry>();
    snap->anonymous_->name = kAnonymousClient;
    snap->anonymous_->state = &clients.get(snap->anonymous_->name);
    snap->anonymous_->state->configure({.window = {.span = snap->policy_.limit_window}});
  }

  // Entries point at each other: reserve first so addresses never move.
  std::size_t key_count = 0;
  for (const auto& provider : config.providers()) key_count += provider.keys_size();
  snap->providers_.reserve(config.providers_size());
  snap->keys_.reserve(key_count);
  std::map<std::string_view, ProviderEntry*> provider_by_name;

  for (const auto& provider : config.providers()) {
    ProviderEntry& p = snap->providers_.emplace_back();
    p.name = provider.name();
    p.backend = provider.backend();
    p.auth = provider.auth();
    p.model_patterns.assign(provider.models().begin(), provider.models().end());
    p.state = &registry.providers().get(p.name);
    provider_by_name[p.name] = &p;
    for (const auto& key : provider.keys()) {
      KeyEntry& k = snap->keys_.emplace_back();
      k.id = key.id();
      k.secret = key.secret();
      k.fingerprint = key_fingerprint(k.secret);
      k.provider = &p;
      k.weight = std::max<std::uint32_t>(1, key.has_weight() ? key.weight() : 1);
      k.model_patterns.assign(key.models().begin(), key.models().end());
      k.limits = {key.rpm(), key.tpm(), key.max_in_flight(), snap->policy_.limit_window};
      k.state = &registry.get(k.id);
      k.state->configure(k.limits);
      p.keys.push_back(&k);
    }
  }

  snap->routes_.reserve(config.routes_size());
  for (const auto& route : config.routes()) {
    RouteEntry& r = snap->routes_.emplace_back();
    std::unordered_set<const KeyEntry*> seen;
    r.model_patterns.assign(route.models().begin(), route.models().end());
    r.name =
        route.name().empty() && !r.model_patterns.empty() ? r.model_patterns.front() : route.name();
    r.is_default = route.default_();

    // Targets of one priority form one tier, in priority order.
    std::vector<const config::Target*> targets;
    for (const auto& target : route.targets()) targets.push_back(&target);
    std::stable_sort(targets.begin(), targets.end(),
                     [](auto* a, auto* b) { return a->priority() < b->priority(); });
    for (std::size_t i = 0; i < targets.size(); ++i) {
      if (i == 0 || targets[i]->priority() != targets[i - 1]->priority()) r.tiers.emplace_back();
      auto it = provider_by_name.find(targets[i]->provider());
      if (it == provider_by_name.end()) continue;  // validation rules this out
      const double target_weight =
          std::max<std::uint32_t>(1, targets[i]->has_weight() ? targets[i]->weight() : 1);
      for (const KeyEntry* key : it->second->keys) {
        Tier& tier = r.tiers.back();
        const double inverse_weight = 1.0 / (target_weight * key->weight);
        tier.candidates.push_back({key, key->state, inverse_weight});
        tier.max_inverse_weight = std::max(tier.max_inverse_weight, inverse_weight);
        if (seen.insert(key).second) r.keys.push_back(key);
      }
    }
    if (r.is_default && snap->default_route_ == nullptr) snap->default_route_ = &r;
  }
  return snap;
}

const RouteEntry* Snapshot::find_route(std::string_view model) const {
  if (model.empty()) return default_route_;
  for (const auto& route : routes_) {
    for (const auto& pattern : route.model_patterns) {
      if (glob_match(pattern, model)) return &route;
    }
  }
  return nullptr;
}

const ClientEntry* Snapshot::find_client(const config::Sha256& token_sha256) const {
  const auto [first, last] = client_by_digest_.equal_range(digest_prefix(token_sha256));
  for (auto it = first; it != last; ++it) {
    const ClientEntry& client = clients_[it->second];
    if (CRYPTO_memcmp(client.token_sha256.data(), token_sha256.data(), token_sha256.size()) == 0) {
      return &client;
    }
  }
  return nullptr;
}

const KeyEntry* Snapshot::find_key(std::string_view id) const {
  for (const auto& key : keys_) {
    if (key.id == id) return &key;
  }
  return nullptr;
}

std::string key_fingerprint(std::string_view secret) {
  return "sha256:" + config::to_hex(config::sha256(secret)).substr(0, 8);
}

}  // namespace keymux::router
