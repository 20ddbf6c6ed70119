// Small builders for router tests: a validated-looking config::Config made
// with the generated setters, and a router over it on a fake clock.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/router/clock.h"
#include "agent/router/key_registry.h"
#include "agent/router/router.h"
#include "agent/router/snapshot.h"
#include "proto/keymux/config.pb.h"

namespace keymux::router::test {

struct KeySpec {
  std::string id{};
  std::uint32_t weight = 1;
  std::uint32_t rpm = 0;
  std::uint64_t tpm = 0;
  std::uint32_t max_in_flight = 0;
  std::vector<std::string> models{};
};

inline config::Provider* AddProvider(config::Config& c, const std::string& name,
                                     const std::vector<KeySpec>& keys) {
  config::Provider* p = c.add_providers();
  p->set_name(name);
  p->set_backend("be_" + name);
  p->set_auth(config::BEARER);
  for (const KeySpec& spec : keys) {
    config::Key* k = p->add_keys();
    k->set_id(spec.id);
    k->set_secret("sk-secret-" + spec.id);
    k->set_weight(spec.weight);
    k->set_rpm(spec.rpm);
    k->set_tpm(spec.tpm);
    k->set_max_in_flight(spec.max_in_flight);
    for (const auto& m : spec.models) k->add_models(m);
  }
  return p;
}

struct TargetSpec {
  std::string provider;
  std::uint32_t priority = 0;
  std::uint32_t weight = 1;
};

inline config::Route* AddRoute(config::Config& c, const std::vector<std::string>& models,
                               const std::vector<TargetSpec>& targets, bool is_default = false) {
  config::Route* r = c.add_routes();
  for (const auto& m : models) r->add_models(m);
  r->set_default_(is_default);
  for (const TargetSpec& t : targets) {
    config::Target* target = r->add_targets();
    target->set_provider(t.provider);
    target->set_priority(t.priority);
    target->set_weight(t.weight);
  }
  return r;
}

// The loader's defaults, filled in as a validated config has them; and
// anonymous access, as the tests about keys send no client token (client
// tests set allow_anonymous as they need).
inline void SetTestDefaults(config::Config& c) {
  c.set_allow_anonymous(true);
  config::Policy* p = c.mutable_policy();
  if (!p->has_attempts()) p->set_attempts(3);
  if (!p->has_rate_limit_cooldown()) p->mutable_rate_limit_cooldown()->set_seconds(10);
  if (!p->has_server_error_cooldown()) p->mutable_server_error_cooldown()->set_seconds(1);
  if (!p->has_server_error_cooldown_max()) p->mutable_server_error_cooldown_max()->set_seconds(60);
  if (!p->has_default_max_tokens()) p->set_default_max_tokens(256);
  if (!p->has_in_flight_timeout()) p->mutable_in_flight_timeout()->set_seconds(330);
  if (!p->has_request_memory()) p->mutable_request_memory()->set_seconds(120);
  if (!p->has_request_memory_entries()) p->set_request_memory_entries(100000);
}

// One provider "p" with `keys`, one default route "*" over it.
inline config::Config OneRoute(const std::vector<KeySpec>& keys) {
  config::Config c;
  AddProvider(c, "p", keys);
  AddRoute(c, {"*"}, {{"p", 0, 1}}, /*is_default=*/true);
  SetTestDefaults(c);
  return c;
}

// A router on its config; ClockT is FakeClock for unit tests, SystemClock
// for tests with real I/O (shared state through a real Redis).
template <typename ClockT>
struct BasicRouterRig {
  explicit BasicRouterRig(config::Config c)
      : config(std::move(c)), router(clock, Snapshot::build(config, registry, clients), registry) {}

  Decision Decide(std::string_view model = "gpt-4o", std::string_view request_id = {},
                  std::uint64_t body_size = 400, std::string_view body_prefix = {}) {
    RouteRequest r;
    r.method = "POST";
    r.path = "/v1/chat/completions";
    r.model = model;
    r.request_id = request_id;
    r.body_size = body_size;
    r.body_prefix = body_prefix;
    return router.decide(r);
  }
  // `tokens`: the answer's real token count (its usage); nullopt: none.
  void Settle(const Decision& d, int status, UpstreamReport report = {},
              std::optional<std::uint64_t> tokens = std::nullopt) {
    SettleRequest s;
    s.ticket = d.ticket;
    s.key_id = d.key != nullptr ? std::string_view(d.key->id) : std::string_view();
    s.status = status;
    s.report = report;
    s.tokens = tokens;
    router.settle(s);
  }
  KeyState& Key(const std::string& id) { return registry.get(id); }

  ClockT clock;
  KeyRegistry registry;
  ClientRegistry clients;
  config::Config config;
  Router router;
};

using RouterRig = BasicRouterRig<FakeClock>;

}  // namespace keymux::router::test
