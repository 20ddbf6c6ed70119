#include "agent/admin/key_event_log.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>

#include "agent/admin/state_json.h"

namespace keymux::admin {
namespace {

std::string who(const router::KeyEvent& event) {
  std::string out = "key ";
  out += event.key_id;
  if (!event.provider.empty()) {
    out += " (provider ";
    out += event.provider;
    out += ')';
  }
  return out;
}

std::string cause_detail(const router::KeyEvent& event) {
  const router::KeyChange& change = event.change;
  if (change.cause == router::CooldownCause::kExhausted) {
    return "the provider reported none left until its reset";
  }
  std::string out = event.upstream_status == 0
                        ? "no response"
                        : "upstream " + std::to_string(event.upstream_status);
  if (change.consecutive_failures > 1) {
    out += ", " + std::to_string(change.consecutive_failures) + " consecutive failures";
  }
  return out;
}

}  // namespace

std::string describe_key_event(const router::KeyEvent& event) {
  const router::KeyChange& change = event.change;
  switch (change.kind) {
    case router::KeyChange::Kind::kCooling: {
      const double seconds = std::chrono::duration<double>(change.until - event.now).count();
      char length[32];
      std::snprintf(length, sizeof length, "%.1fs", seconds);
      return who(event) + " cooling until " + rfc3339(change.until) + " (" + length +
             "): " + std::string(router::cooldown_cause_name(change.cause)) + " (" +
             cause_detail(event) + ")";
    }
    case router::KeyChange::Kind::kQuarantined:
      return who(event) + " quarantined: " + change.reason +
             (event.by_operator ? std::string()
                                : " -- re-enable with POST /v1/keys/" + std::string(event.key_id) +
                                      "/enable once the key is fixed");
    case router::KeyChange::Kind::kRecovered:
      return who(event) + (event.by_operator ? " enabled by operator" : " recovered");
    case router::KeyChange::Kind::kNone:
      break;
  }
  return {};
}

std::string_view key_event_kind(const router::KeyEvent& event) {
  switch (event.change.kind) {
    case router::KeyChange::Kind::kCooling:
      return "cooling";
    case router::KeyChange::Kind::kQuarantined:
      return event.by_operator ? "disabled" : "quarantined";
    case router::KeyChange::Kind::kRecovered:
      return event.by_operator ? "enabled" : "recovered";
    case router::KeyChange::Kind::kNone:
      break;
  }
  return {};
}

void KeyEventLog::on_key_event(const router::KeyEvent& event) {
  const std::string line = describe_key_event(event);
  if (recent_ != nullptr && event.change.kind != router::KeyChange::Kind::kNone) {
    recent_->add({event.now, std::string(key_event_kind(event)), std::string(event.key_id),
                  std::string(event.provider), line});
  }
  switch (event.change.kind) {
    case router::KeyChange::Kind::kQuarantined:
      if (event.by_operator) {
        spdlog::warn("{}", line);
      } else {
        spdlog::error("{}", line);
      }
      break;
    case router::KeyChange::Kind::kCooling:
      spdlog::warn("{}", line);
      break;
    case router::KeyChange::Kind::kRecovered:
      spdlog::info("{}", line);
      break;
    case router::KeyChange::Kind::kNone:
      break;
  }
}

}  // namespace keymux::admin
