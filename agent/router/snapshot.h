// An immutable, compiled view of a validated Config: what decide() reads from
// start to end of one decision. A reload builds a new one and swaps it in.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "agent/config/glob.h"
#include "agent/config/token_sha256.h"
#include "agent/router/client_state.h"
#include "agent/router/clock.h"
#include "agent/router/key_registry.h"
#include "agent/router/key_state.h"
#include "agent/router/provider_state.h"
#include "proto/keymux/config.pb.h"

namespace keymux::router {

struct ProviderEntry;

struct KeyEntry {
  std::string id;
  std::string secret;
  std::string fingerprint;  // key_fingerprint(secret): tells keys apart, reveals nothing
  const ProviderEntry* provider = nullptr;
  std::uint32_t weight = 1;
  std::vector<std::string> model_patterns;  // empty: every model
  KeyLimits limits;
  KeyState* state = nullptr;  // owned by the KeyRegistry

  bool allows_model(std::string_view model) const;
};

struct ProviderEntry {
  std::string name;
  std::string backend;
  config::AuthStyle auth = config::BEARER;
  std::vector<std::string> model_patterns;  // the models it serves; empty: every model
  std::vector<const KeyEntry*> keys;
  ProviderState* state = nullptr;  // owned by the KeyRegistry
};

// Keys of one priority level of a route, spread by weight.
struct Tier {
  struct Candidate {
    const KeyEntry* key;
    KeyState* state;        // key->state, here so the scan reads one fewer line per key
    double inverse_weight;  // 1 / (target weight * key weight)
  };
  std::vector<Candidate> candidates;
  double max_inverse_weight = 0;  // the largest step one admission moves a share
};

// Whether a route is in panic (every key it could use is ejected), so that
// entering and leaving it are told once. Starts false in each snapshot.
class PanicFlag {
 public:
  PanicFlag() = default;
  PanicFlag(const PanicFlag&) {}
  PanicFlag& operator=(const PanicFlag&) { return *this; }
  bool on() const { return on_.load(std::memory_order_relaxed); }
  // True when this call changed it.
  bool set(bool on) const {
    return on_.load(std::memory_order_relaxed) != on &&
           on_.exchange(on, std::memory_order_relaxed) != on;
  }

 private:
  mutable std::atomic<bool> on_{false};
};

struct RouteEntry {
  std::string name;
  std::vector<std::string> model_patterns;
  bool is_default = false;
  std::vector<Tier> tiers;            // lowest priority value first
  std::vector<const KeyEntry*> keys;  // every key of the route, once
  PanicFlag panic;
};

// An application allowed to call the gateway.
struct ClientEntry {
  std::string name;
  config::Sha256 token_sha256{};            // all zero for "anonymous", which has no token
  std::vector<std::string> model_patterns;  // empty: every model
  ClientLimits limits;
  ClientState* state = nullptr;  // owned by the ClientRegistry

  bool allows_model(std::string_view model) const;
};

// The name anonymous requests are served as (with `allow_anonymous`).
inline constexpr std::string_view kAnonymousClient = "anonymous";

struct PolicyValues {
  std::uint32_t attempts = 3;
  CooldownPolicy cooldowns;
  OutlierPolicy key_outliers;
  // As key_outliers, by failure ratio only: a streak of 5 among thousands of
  // attempts a second is chance, not a sign that a provider is down.
  OutlierPolicy provider_outliers{.consecutive_failures = 0};
  std::uint32_t default_max_tokens = 256;
  Duration in_flight_timeout = std::chrono::seconds(330);
  Duration request_memory = std::chrono::seconds(120);
  std::uint32_t request_memory_entries = 100000;
  Duration limit_window = kRateWindowSpan;  // of every rpm and tpm, keys' and clients'
};

class Snapshot {
 public:
  // `config` must be validated (config::load_*); applies key and client
  // limits to the registries' states.
  static std::shared_ptr<const Snapshot> build(const config::Config& config, KeyRegistry& registry,
                                               ClientRegistry& clients);

  // The first route whose patterns match `model`; the default route for an
  // empty model; nullptr when none.
  const RouteEntry* find_route(std::string_view model) const;
  const KeyEntry* find_key(std::string_view id) const;
  // The client whose token has this SHA-256 (compared in constant time);
  // nullptr when none.
  const ClientEntry* find_client(const config::Sha256& token_sha256) const;
  // The client requests without a token are served as; nullptr unless
  // allow_anonymous.
  const ClientEntry* anonymous_client() const { return anonymous_.get(); }

  const std::vector<ProviderEntry>& providers() const { return providers_; }
  const std::vector<KeyEntry>& keys() const { return keys_; }
  const std::vector<RouteEntry>& routes() const { return routes_; }
  const std::vector<ClientEntry>& clients() const { return clients_; }
  const PolicyValues& policy() const { return policy_; }

 private:
  std::vector<ProviderEntry> providers_;
  std::vector<KeyEntry> keys_;
  std::vector<RouteEntry> routes_;
  const RouteEntry* default_route_ = nullptr;
  std::vector<ClientEntry> clients_;
  // The first 8 bytes of a token's digest (uniform already) -> index in clients_.
  std::unordered_multimap<std::uint64_t, std::uint32_t> client_by_digest_;
  std::unique_ptr<ClientEntry> anonymous_;
  PolicyValues policy_;
};

// "sha256:" and the first 8 hex digits of the secret's SHA-256: enough for an
// operator to match a key with their provider's console, useless to an attacker.
std::string key_fingerprint(std::string_view secret);

using config::glob_match;
// True when some pattern matches `model`, or when there are none.
bool allows_model(const std::vector<std::string>& patterns, std::string_view model);

}  // namespace keymux::router
