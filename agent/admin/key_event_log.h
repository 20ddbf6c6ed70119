// Writes one log line per change of a key's condition, with the reason:
//   key K (provider P) cooling until T (12.0s): rate_limited (upstream 429)
//   key K (provider P) quarantined: upstream 401 -- re-enable with POST /v1/keys/K/enable
//   key K (provider P) recovered
#pragma once

#include "agent/router/key_events.h"

namespace keymux::admin {

class KeyEventLog final : public router::KeyEventSink {
 public:
  void on_key_event(const router::KeyEvent& event) override;
};

// The line on_key_event logs (without the level), for tests.
std::string describe_key_event(const router::KeyEvent& event);

}  // namespace keymux::admin
