// Changes of condition as the router learns them, for whoever logs them: a
// key's (cooling, quarantined, ejected, probed, recovered), a provider's
// health (ejected, probed, recovered) and a route's panic (entered, left).
// Each is a state change, told once, never once per failure. The router
// stays pure: it only calls the sink it was given.
#pragma once

#include <string_view>

#include "agent/router/clock.h"
#include "agent/router/key_state.h"
#include "agent/router/outlier_detector.h"

namespace keymux::router {

struct KeyEvent {
  std::string_view key_id;
  std::string_view provider;  // empty when the key left the configuration
  const KeyChange& change;
  Time now;
  int upstream_status = 0;   // what caused it: the HTTP status, 0 for no response
  bool by_operator = false;  // the admin API, not a response
};

struct ProviderEvent {
  std::string_view provider;
  const HealthChange& change;
  Time now;
  int upstream_status = 0;  // kEjected, kRecovered: the answer that caused it
};

struct RouteEvent {
  std::string_view route;
  bool panic = false;  // true: every eligible key is ejected, routing to the least recently
                       // failed; false: a key in service took a request again
  Time now;
};

class KeyEventSink {
 public:
  virtual ~KeyEventSink() = default;
  // Called on the deciding thread, never under a key's lock.
  virtual void on_key_event(const KeyEvent& event) = 0;
  virtual void on_provider_event(const ProviderEvent& /*event*/) {}
  virtual void on_route_event(const RouteEvent& /*event*/) {}
};

}  // namespace keymux::router
