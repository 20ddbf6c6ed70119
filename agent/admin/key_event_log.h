// Writes one log line per change of a key's condition, with the reason:
//   key K (provider P) cooling until T (12.0s): rate_limited (upstream 429)
//   key K (provider P) quarantined: upstream 401 -- re-enable with POST /v1/keys/K/enable
//   key K (provider P) recovered
#pragma once

#include "agent/admin/recent_events.h"
#include "agent/router/key_events.h"

namespace keymux::admin {

class KeyEventLog final : public router::KeyEventSink {
 public:
  // `recent`, when given, also keeps each change for the status page.
  explicit KeyEventLog(RecentEvents* recent = nullptr) : recent_(recent) {}
  void on_key_event(const router::KeyEvent& event) override;

 private:
  RecentEvents* recent_;
};

// The line on_key_event logs (without the level), for tests.
std::string describe_key_event(const router::KeyEvent& event);
// "cooling", "quarantined", "recovered", or "disabled" / "enabled" when by the operator.
std::string_view key_event_kind(const router::KeyEvent& event);

}  // namespace keymux::admin
