#include "agent/admin/state_json.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <optional>

#include "agent/handler/error_body.h"
#include "agent/metrics/prometheus_text.h"

namespace keymux::admin {
namespace {

using handler::append_json_escaped;

void field_name(std::string& out, std::string_view name) {
  if (out.back() != '{') out += ',';
  out += '"';
  out += name;
  out += "\":";
}

void string_field(std::string& out, std::string_view name, std::string_view value) {
  field_name(out, name);
  out += '"';
  append_json_escaped(out, value);
  out += '"';
}

void null_field(std::string& out, std::string_view name) {
  field_name(out, name);
  out += "null";
}

void number_field(std::string& out, std::string_view name, std::uint64_t value) {
  field_name(out, name);
  out += std::to_string(value);
}

// A limit of 0 (or none) is written as null: "no limit".
void limit_field(std::string& out, std::string_view name, std::uint64_t value) {
  field_name(out, name);
  out += value == 0 ? std::string("null") : std::to_string(value);
}

void optional_field(std::string& out, std::string_view name,
                    const std::optional<std::uint64_t>& value) {
  field_name(out, name);
  out += value ? std::to_string(*value) : std::string("null");
}

std::string_view condition_name(router::KeyCondition condition) {
  switch (condition) {
    case router::KeyCondition::kOk:
      return "ok";
    case router::KeyCondition::kCooling:
      return "cooling";
    case router::KeyCondition::kQuarantined:
      return "quarantined";
    case router::KeyCondition::kEjected:
      return "ejected";
  }
  return "ok";
}

void string_list(std::string& out, std::string_view name, const std::vector<std::string>& items) {
  field_name(out, name);
  out += json_string_array(items);
}

void client_json(std::string& out, const router::ClientEntry& client, router::Time now) {
  const router::ClientView view = client.state->view(now);
  out += '{';
  string_field(out, "name", client.name);
  number_field(out, "in_flight", view.in_flight);
  number_field(out, "requests_in_window", view.requests_in_window);
  number_field(out, "tokens_in_window", view.tokens_in_window);
  number_field(out, "tokens_today", view.tokens_today);
  number_field(out, "requests_today", view.requests_today);
  number_field(out, "tokens_reserved_total", view.tokens_reserved_total);
  field_name(out, "requests_by_outcome");
  out += '{';
  for (std::size_t i = 0; i < router::kOutcomeCount; ++i) {
    number_field(out, router::outcome_name(static_cast<router::Outcome>(i)),
                 view.requests_by_outcome[i]);
  }
  out += '}';
  field_name(out, "limits");
  out += '{';
  limit_field(out, "rpm", client.limits.window.rpm);
  limit_field(out, "tpm", client.limits.window.tpm);
  limit_field(out, "max_in_flight", client.limits.window.max_in_flight);
  limit_field(out, "tokens_per_day", client.limits.tokens_per_day);
  out += '}';
  string_list(out, "models", client.model_patterns);
  out += '}';
}

}  // namespace

std::string json_string_array(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i != 0) out += ',';
    out += '"';
    append_json_escaped(out, items[i]);
    out += '"';
  }
  out += ']';
  return out;
}

std::string rfc3339(router::Time time) {
  using namespace std::chrono;
  const auto since_epoch = time.time_since_epoch();
  const auto secs = floor<seconds>(since_epoch);
  const auto millis = duration_cast<milliseconds>(since_epoch - secs).count();
  const std::time_t t = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[96];  // ample for any int the compiler imagines
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis));
  return buffer;
}

std::string key_json(const router::KeyEntry& key, const router::KeyView& view, router::Time now) {
  std::string out = "{";
  string_field(out, "id", key.id);
  string_field(out, "provider", key.provider->name);
  string_field(out, "fingerprint", key.fingerprint);
  string_field(out, "state", condition_name(view.condition));
  number_field(out, "weight", key.weight);
  number_field(out, "in_flight", view.in_flight);
  number_field(out, "requests_in_window", view.requests_in_window);
  number_field(out, "tokens_in_window", view.tokens_in_window);
  field_name(out, "limits");
  out += '{';
  limit_field(out, "rpm", key.limits.rpm);
  limit_field(out, "tpm", key.limits.tpm);
  limit_field(out, "max_in_flight", key.limits.max_in_flight);
  out += '}';
  optional_field(out, "reported_remaining_requests", view.reported_remaining_requests);
  optional_field(out, "reported_remaining_tokens", view.reported_remaining_tokens);
  const bool cooling = view.cooldown_until > now;
  if (cooling) {
    string_field(out, "cooldown_until", rfc3339(view.cooldown_until));
  } else {
    null_field(out, "cooldown_until");
  }
  field_name(out, "cooldown_seconds");
  out += metrics::PrometheusText::format_double(
      cooling ? std::chrono::duration<double>(view.cooldown_until - now).count() : 0.0);
  if (cooling) {
    string_field(out, "cooldown_cause", router::cooldown_cause_name(view.cooldown_cause));
  } else {
    null_field(out, "cooldown_cause");
  }
  // Health apart from budget: "serving", "ejected" (out of rotation as an
  // outlier until ejected_until) or "probing" (half-open: one request goes).
  string_field(out, "health", router::health_state_name(view.health));
  if (view.health == router::HealthState::kEjected) {
    string_field(out, "ejected_until", rfc3339(view.ejected_until));
  } else {
    null_field(out, "ejected_until");
  }
  number_field(out, "ejections_total", view.ejections_total);
  number_field(out, "consecutive_failures", view.consecutive_failures);
  if (view.quarantine_reason.empty()) {
    null_field(out, "quarantine_reason");
  } else {
    string_field(out, "quarantine_reason", view.quarantine_reason);
  }
  number_field(out, "admitted_total", view.admitted_total);
  string_list(out, "models", key.model_patterns);
  out += '}';
  return out;
}

void append_clients_array(std::string& out, const router::Snapshot& snapshot, router::Time now) {
  out += '[';
  bool first = true;
  auto add = [&](const router::ClientEntry& client) {
    if (!first) out += ',';
    first = false;
    client_json(out, client, now);
  };
  for (const router::ClientEntry& client : snapshot.clients()) add(client);
  if (const router::ClientEntry* anonymous = snapshot.anonymous_client()) add(*anonymous);
  out += ']';
}

std::string keys_json(const router::Snapshot& snapshot, router::Time now) {
  std::string out = "{\"keys\":[";
  bool first = true;
  for (const router::KeyEntry& key : snapshot.keys()) {
    if (!first) out += ',';
    first = false;
    out += key_json(key, key.state->view(now), now);
  }
  out += "]}";
  return out;
}

std::string clients_json(const router::Snapshot& snapshot, router::Time now) {
  std::string out = "{\"clients\":";
  append_clients_array(out, snapshot, now);
  out += '}';
  return out;
}

}  // namespace keymux::admin
