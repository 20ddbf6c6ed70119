#include "tests/mock_upstream/mock_state.h"

#include "tests/mock_upstream/json_write.h"

namespace keymux::mock {

MockState::MockState(std::vector<KeySpec> keys, const Faults& faults, const router::Clock& clock,
                     Duration window)
    : clock_(clock), window_(window), faults_(faults) {
  for (KeySpec& spec : keys) {
    const int index = static_cast<int>(keys_.size());
    by_secret_.emplace(spec.secret, index);
    by_id_.emplace(spec.id, index);
    keys_.push_back(std::make_unique<Key>(std::move(spec), window_));
  }
}

int MockState::find_by_secret(std::string_view secret) const {
  const auto found = by_secret_.find(secret);
  return found == by_secret_.end() ? -1 : found->second;
}

int MockState::find_by_id(std::string_view id) const {
  const auto found = by_id_.find(id);
  return found == by_id_.end() ? -1 : found->second;
}

void MockState::record(const HttpRequest& request, int key) {
  requests_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(recent_mutex_);
  recent_.record(request, key);
}

KeyOutcome MockState::settle(int index, AuthStyle style, const FaultRolls& rolls,
                             std::uint64_t tokens, FaultDice& dice) {
  Key& key = *keys_[static_cast<std::size_t>(index)];
  const Time now = clock_.now();
  std::lock_guard lock(key.mutex);
  ++key.counters.requests;
  ++key.counters.by_style[static_cast<std::size_t>(style)];

  KeyOutcome outcome;
  if (rolls.drop) {
    outcome.kind = KeyOutcome::Kind::kDropped;
    outcome.status = 0;
    key.audit.record(now, tokens, 0);
    return outcome;
  }
  if (key.override_status != 0) {
    outcome.kind = KeyOutcome::Kind::kOverride;
    outcome.status = key.override_status;
    outcome.retry_after = std::chrono::seconds(key.override_retry_after_s);
    outcome.rate = key.limiter.status(now);
  } else if (rolls.error || dice.roll(key.error_rate)) {
    outcome.kind = KeyOutcome::Kind::kFault;
    outcome.status = rolls.error ? rolls.error_status : key.error_status;
    outcome.rate = key.limiter.status(now);
  } else {
    const RateDecision decision = key.limiter.admit(now, tokens);
    outcome.rate = decision.status;
    if (decision.allowed) {
      key.counters.tokens += tokens;
    } else {
      outcome.kind = KeyOutcome::Kind::kRateLimited;
      outcome.status = 429;
      outcome.retry_after = decision.retry_after;
    }
  }
  if (outcome.status >= 0 && static_cast<std::size_t>(outcome.status) < kMaxStatus) {
    ++key.counters.by_status[static_cast<std::size_t>(outcome.status)];
  }
  key.audit.record(now, tokens, outcome.status);
  return outcome;
}

void MockState::control_key(int index, const KeyControl& control) {
  Key& key = *keys_[static_cast<std::size_t>(index)];
  std::lock_guard lock(key.mutex);
  if (control.status) key.override_status = *control.status;
  if (control.retry_after_s) key.override_retry_after_s = *control.retry_after_s;
  if (control.error_rate) key.error_rate = *control.error_rate;
  if (control.error_status) key.error_status = *control.error_status;
  RateLimits limits = key.limiter.limits();
  if (control.rpm) limits.rpm = *control.rpm;
  if (control.tpm) limits.tpm = *control.tpm;
  key.limiter.set_limits(limits);
}

void MockState::reset() {
  for (const auto& key : keys_) {
    std::lock_guard lock(key->mutex);
    key->counters = KeyCounters{};
    key->limiter = RateLimiter(key->spec.limits, window_);
    key->audit.clear();
    key->override_status = 0;
    key->override_retry_after_s = 0;
    key->error_rate = 0;
    key->error_status = 500;
  }
  requests_.store(0, std::memory_order_relaxed);
  unauthorized_.store(0, std::memory_order_relaxed);
  dropped_.store(0, std::memory_order_relaxed);
  std::lock_guard lock(recent_mutex_);
  recent_.clear();
}

void MockState::append_stats_json(std::string& out) {
  StatsSnapshot stats;
  stats.requests = requests_.load(std::memory_order_relaxed);
  stats.unauthorized = unauthorized_.load(std::memory_order_relaxed);
  stats.dropped = dropped_.load(std::memory_order_relaxed);
  stats.keys.reserve(keys_.size());
  for (const auto& key : keys_) {
    std::lock_guard lock(key->mutex);
    stats.keys.push_back(KeyStats{key->spec.id, key->spec.secret, key->counters});
  }
  std::lock_guard lock(recent_mutex_);
  mock::append_stats_json(out, stats, recent_);
}

}  // namespace keymux::mock

namespace keymux::mock {
namespace {

std::uint64_t micros(Time at) { return static_cast<std::uint64_t>(at.time_since_epoch().count()); }

}  // namespace

void MockState::append_audit_json(std::string& out, const AuditQuery& query) {
  out += "{\"window_ms\":";
  append_uint(out,
              static_cast<std::uint64_t>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(query.window).count()));
  out += ",\"now_us\":";
  append_uint(out, micros(clock_.now()));
  out += ",\"keys\":{";
  bool first_key = true;
  for (std::size_t k = 0; k < keys_.size(); ++k) {
    if (query.key >= 0 && static_cast<std::size_t>(query.key) != k) continue;
    Key& key = *keys_[k];
    std::lock_guard lock(key.mutex);
    const WindowPeak peak = key.audit.peak(query.window);
    if (!first_key) out += ',';
    first_key = false;
    append_json_string(out, key.spec.id);
    out += ":{\"requests\":";
    append_uint(out, key.audit.requests());
    out += ",\"tokens\":";
    append_uint(out, key.audit.tokens());
    out += ",\"max_requests\":";
    append_uint(out, peak.requests);
    out += ",\"max_requests_from_us\":";
    append_uint(out, peak.requests == 0 ? 0 : micros(peak.requests_from));
    out += ",\"max_tokens\":";
    append_uint(out, peak.tokens);
    out += ",\"max_tokens_from_us\":";
    append_uint(out, peak.tokens == 0 ? 0 : micros(peak.tokens_from));
    out += ",\"truncated\":";
    out += key.audit.truncated() ? "true" : "false";
    if (query.events) {
      // [time in us, tokens, status]: compact, since a saturated key logs thousands.
      out += ",\"events\":[";
      bool first_event = true;
      for (const AuditEvent& event : key.audit.events()) {
        if (event.at < query.since) continue;
        if (!first_event) out += ',';
        first_event = false;
        out += '[';
        append_uint(out, micros(event.at));
        out += ',';
        append_uint(out, event.tokens);
        out += ',';
        append_uint(out, static_cast<std::uint64_t>(event.status));
        out += ']';
      }
      out += ']';
    }
    out += '}';
  }
  out += "}}";
}

}  // namespace keymux::mock
