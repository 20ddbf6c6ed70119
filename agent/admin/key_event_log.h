// Writes one log line per change of condition, with the reason:
//   key K (provider P) cooling until T (12.0s): rate_limited (upstream 429)
//   key K (provider P) quarantined: upstream 401 -- re-enable with POST /v1/keys/K/enable
//   key K (provider P) ejected until T (1.0s): 5 provider faults in a row (upstream 502)
//   key K (provider P) probing: one request let through
//   key K (provider P) recovered
//   provider P ejected until T (2.0s): 18 of 20 attempts failed within the window
//   route R in panic: every key it could use is ejected; sending to the least recently failed
// At most LineBudget::kLinesPerSecond lines per key, provider or route a second.
#pragma once

#include <string>

#include "agent/admin/line_budget.h"
#include "agent/admin/recent_events.h"
#include "agent/router/key_events.h"

namespace keymux::admin {

class KeyEventLog final : public router::KeyEventSink {
 public:
  // `recent`, when given, also keeps each change for the status page.
  explicit KeyEventLog(RecentEvents* recent = nullptr) : recent_(recent) {}
  void on_key_event(const router::KeyEvent& event) override;
  void on_provider_event(const router::ProviderEvent& event) override;
  void on_route_event(const router::RouteEvent& event) override;

 private:
  RecentEvents* recent_;
  LineBudget budget_;
};

// The lines the log writes (without the level), for tests.
std::string describe_key_event(const router::KeyEvent& event);
// "cooling", "quarantined", "ejected", "probing", "recovered", or "disabled" /
// "enabled" when by the operator.
std::string_view key_event_kind(const router::KeyEvent& event);
std::string describe_provider_event(const router::ProviderEvent& event);
std::string describe_route_event(const router::RouteEvent& event);

}  // namespace keymux::admin
