// Changes of a key's condition (cooling, quarantined, recovered) as the router
// learns them, for whoever logs them. The router stays pure: it only calls the
// sink it was given.
#pragma once

#include <string_view>

#include "agent/router/clock.h"
#include "agent/router/key_state.h"

namespace keymux::router {

struct KeyEvent {
  std::string_view key_id;
  std::string_view provider;  // empty when the key left the configuration
  const KeyChange& change;
  Time now;
  int upstream_status = 0;   // what caused it: the HTTP status, 0 for no response
  bool by_operator = false;  // the admin API, not a response
};

class KeyEventSink {
 public:
  virtual ~KeyEventSink() = default;
  // Called on the deciding thread, never under a key's lock.
  virtual void on_key_event(const KeyEvent& event) = 0;
};

}  // namespace keymux::router
