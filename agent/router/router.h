// The routing brain: decide(route request) and settle(response), pure (no
// I/O; time from a Clock) and safe to call from every worker thread at once.
//
// Before any key: the client is authenticated by its token (401), its model
// list checked (403) and its own budget reserved (429); a refused client
// touches no key.
//
// Selection within a route (selection.h): tiers in priority order; within a
// tier, among keys in service that may take the request now (not
// quarantined, not cooling, not tried for this request id, window and
// in-flight headroom, model allowed), the one furthest behind its weighted
// share (served / weight) -- load follows the weights exactly and a key with
// no room is skipped, never waited on. Keys ejected for failures are routed
// to only in panic (every eligible key ejected). What a refused request gets
// is in refusal.h.
//
// Settle: classify() says whose fault an answer is (verdict.h); the key's
// budget, standing and health and its provider's health take it from there.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string_view>

#include "agent/router/clock.h"
#include "agent/router/decision.h"
#include "agent/router/key_events.h"
#include "agent/router/key_registry.h"
#include "agent/router/request_memory.h"
#include "agent/router/snapshot.h"

namespace keymux::router {

class Router {
 public:
  Router(const Clock& clock, std::shared_ptr<const Snapshot> snapshot, KeyRegistry& registry);

  // Swaps the configuration in between decisions; states of kept keys stay.
  void apply(std::shared_ptr<const Snapshot> snapshot);
  std::shared_ptr<const Snapshot> snapshot() const;

  Decision decide(const RouteRequest& request);
  // Only who the token belongs to (GET /v1/models): `client` set, or a 401
  // refusal with `client` nullptr. `token` as RouteRequest::client_token.
  Decision authenticate(std::string_view token) const;
  // True when the ticket was open (this settle closed it). A real token
  // count (request.tokens) replaces the estimate the ticket charged: the
  // surplus goes back to the key's token window, an excess is charged there,
  // both where the estimate sits, and the key's shared budget settles too;
  // so does the client's budget, when this attempt was the one charged to it.
  // `tokens`, when given, says what was settled.
  bool settle(const SettleRequest& request, TokenSettle* tokens = nullptr);

  // Where changes of a key's condition are reported; set before any decision.
  void set_event_sink(KeyEventSink* sink) { events_ = sink; }

  // Operator actions (admin API): disable quarantines the key with the reason
  // kDisabledByOperator; enable puts it back in service. nullopt when the key
  // is not in the configuration; else its view after the change.
  std::optional<KeyView> set_key_enabled(std::string_view key_id, bool enabled);

  // What another gateway saw (state:), applied and reported as a change
  // here: a cooldown or an ejection until `until`, a quarantine, or an
  // operator's enable.
  enum class SharedChange : std::uint8_t { kCooldown, kEjection, kQuarantine, kEnable };
  void apply_shared(std::string_view key_id, SharedChange kind, Time until, CooldownCause cause,
                    std::string reason);
  // A provider's ejection another gateway saw: held until `until`.
  void apply_shared_provider_ejection(std::string_view provider, Time until);

  // Releases slots whose settle never came; decide() and settle() also do it
  // as they pass, so calling it is only needed when traffic stops.
  void reclaim();

  KeyRegistry& registry() { return registry_; }
  const Clock& clock() const { return clock_; }

 private:
  // decide() for an authenticated client: its model list and budget, then a key.
  void serve(const RouteRequest& request, Time now, Decision& d);
  // Hands a change of `key`'s condition to the event sink, if any.
  void report(const Snapshot& snap, const KeyState& key, Time now, int status,
              const KeyChange& change, bool by_operator = false) const;
  void report(const ProviderState& provider, Time now, int status,
              const HealthChange& change) const;
  // What an attempt's answer (0: none) does to its key and its provider.
  void learn(const Snapshot& snap, KeyState& key, ProviderState* provider, int status,
             const UpstreamReport& report, AttemptKind key_kind, AttemptKind provider_kind,
             Time now);
  // A key was admitted: tells its probe and the route's panic changes.
  void tell_admission(const Snapshot& snap, const RouteEntry& route, const KeyEntry& key,
                      const KeyState::Admission& admission, const ProviderState::Admission& pa,
                      bool panic, Time now) const;

  const Clock& clock_;
  KeyRegistry& registry_;
  std::atomic<std::shared_ptr<const Snapshot>> snapshot_;
  RequestMemory memory_;
  KeyEventSink* events_ = nullptr;
};

inline constexpr std::string_view kDisabledByOperator = "disabled by operator";

}  // namespace keymux::router
