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

std::string upstream(int status) {
  return status == 0 ? "no response" : "upstream " + std::to_string(status);
}

// " until T (1.5s)"
std::string until(router::Time until, router::Time now) {
  const double seconds = std::chrono::duration<double>(until - now).count();
  char length[32];
  std::snprintf(length, sizeof length, "%.1fs", seconds);
  return " until " + rfc3339(until) + " (" + length + ")";
}

// Why a detector ejected: its streak, its ratio or a failed probe.
std::string ejection(const router::HealthChange& change, router::Time now, int status) {
  std::string out = " ejected" + until(change.until, now) + ": ";
  if (change.probe_failed) {
    out += "the probe failed";
  } else if (change.consecutive_failures > 0) {
    out += std::to_string(change.consecutive_failures) + " provider faults in a row";
  } else {
    out += std::to_string(change.window_failures) + " of " +
           std::to_string(change.window_attempts) + " attempts failed within the window";
  }
  out += " (" + upstream(status) + ")";
  if (change.ejections_in_row > 1) {
    out += ", ejection " + std::to_string(change.ejections_in_row) + " in a row";
  }
  return out;
}

constexpr std::string_view kProbing = " probing: one request let through";

// Writes `line` at `level` unless `subject` is over its budget.
void write(LineBudget& budget, std::string_view subject, router::Time now,
           spdlog::level::level_enum level, const std::string& line) {
  std::uint64_t suppressed = 0;
  if (!budget.allow(subject, now, suppressed)) return;
  if (suppressed == 0) {
    spdlog::log(level, "{}", line);
  } else {
    spdlog::log(level, "{} ({} earlier lines about it suppressed)", line, suppressed);
  }
}

}  // namespace

std::string describe_key_event(const router::KeyEvent& event) {
  const router::KeyChange& change = event.change;
  switch (change.kind) {
    case router::KeyChange::Kind::kCooling: {
      const std::string why = change.cause == router::CooldownCause::kExhausted
                                  ? "the provider reported none left until its reset"
                                  : upstream(event.upstream_status);
      return who(event) + " cooling" + until(change.until, event.now) + ": " +
             std::string(router::cooldown_cause_name(change.cause)) + " (" + why + ")";
    }
    case router::KeyChange::Kind::kQuarantined:
      return who(event) + " quarantined: " + change.reason +
             (event.by_operator ? std::string()
                                : " -- re-enable with POST /v1/keys/" + std::string(event.key_id) +
                                      "/enable once the key is fixed");
    case router::KeyChange::Kind::kEjected:
      return who(event) + ejection(change.health, event.now, event.upstream_status);
    case router::KeyChange::Kind::kProbing:
      return who(event) + std::string(kProbing);
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
    case router::KeyChange::Kind::kEjected:
      return "ejected";
    case router::KeyChange::Kind::kProbing:
      return "probing";
    case router::KeyChange::Kind::kRecovered:
      return event.by_operator ? "enabled" : "recovered";
    case router::KeyChange::Kind::kNone:
      break;
  }
  return {};
}

std::string describe_provider_event(const router::ProviderEvent& event) {
  const std::string who = "provider " + std::string(event.provider);
  switch (event.change.kind) {
    case router::HealthChange::Kind::kEjected:
      return who + ejection(event.change, event.now, event.upstream_status) +
             "; no new requests while its routes have another tier";
    case router::HealthChange::Kind::kProbing:
      return who + std::string(kProbing);
    case router::HealthChange::Kind::kRecovered:
      return who + " recovered";
    case router::HealthChange::Kind::kNone:
      break;
  }
  return {};
}

std::string describe_route_event(const router::RouteEvent& event) {
  return "route " + std::string(event.route) +
         (event.panic ? " in panic: every key it could use is ejected; sending to the least "
                        "recently failed"
                      : " out of panic: a key in service took a request");
}

void KeyEventLog::on_key_event(const router::KeyEvent& event) {
  spdlog::level::level_enum level = spdlog::level::info;
  switch (event.change.kind) {
    case router::KeyChange::Kind::kQuarantined:
      level = event.by_operator ? spdlog::level::warn : spdlog::level::err;
      break;
    case router::KeyChange::Kind::kCooling:
    case router::KeyChange::Kind::kEjected:
      level = spdlog::level::warn;
      break;
    case router::KeyChange::Kind::kProbing:
    case router::KeyChange::Kind::kRecovered:
      level = spdlog::level::info;
      break;
    case router::KeyChange::Kind::kNone:
      return;
  }
  const std::string line = describe_key_event(event);
  // The status page keeps every change; only the log is budgeted.
  if (recent_ != nullptr) {
    recent_->add({event.now, std::string(key_event_kind(event)), std::string(event.key_id),
                  std::string(event.provider), line});
  }
  write(budget_, event.key_id, event.now, level, line);
}

void KeyEventLog::on_provider_event(const router::ProviderEvent& event) {
  if (!event.change) return;
  const auto level = event.change.kind == router::HealthChange::Kind::kEjected
                         ? spdlog::level::warn
                         : spdlog::level::info;
  const std::string line = describe_provider_event(event);
  if (recent_ != nullptr) {
    const char* kind = event.change.kind == router::HealthChange::Kind::kEjected   ? "ejected"
                       : event.change.kind == router::HealthChange::Kind::kProbing ? "probing"
                                                                                   : "recovered";
    recent_->add({event.now, kind, "", std::string(event.provider), line});
  }
  // Providers and keys may share a name: the subject says which.
  write(budget_, "provider " + std::string(event.provider), event.now, level, line);
}

void KeyEventLog::on_route_event(const router::RouteEvent& event) {
  const std::string line = describe_route_event(event);
  if (recent_ != nullptr) {
    recent_->add({event.now, event.panic ? "panic" : "panic_over", "", "", line});
  }
  write(budget_, "route " + std::string(event.route), event.now,
        event.panic ? spdlog::level::warn : spdlog::level::info, line);
}

}  // namespace keymux::admin
