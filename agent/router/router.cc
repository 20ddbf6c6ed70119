#include "agent/router/router.h"

#include <algorithm>
#include <array>
#include <limits>

#include "agent/config/token_sha256.h"
#include "agent/router/token_estimate.h"

namespace keymux::router {
namespace {

constexpr std::size_t kMaxModelInMessage = 100;

// Keys a scan must pass over. Almost always a handful: inline, no allocation.
class KeySet {
 public:
  bool contains(const KeyState* key) const {
    if (std::find(inline_.begin(), inline_.begin() + inline_size_, key) !=
        inline_.begin() + inline_size_) {
      return true;
    }
    return std::find(spill_.begin(), spill_.end(), key) != spill_.end();
  }
  void insert(const KeyState* key) {
    if (inline_size_ < inline_.size()) {
      inline_[inline_size_++] = key;
    } else {
      spill_.push_back(key);
    }
  }
  void clear() {
    inline_size_ = 0;
    spill_.clear();
  }

 private:
  std::array<const KeyState*, 8> inline_{};
  std::size_t inline_size_ = 0;
  std::vector<const KeyState*> spill_;
};

// The model as it may appear in an error message: printable and short.
std::string quote_model(std::string_view model) {
  std::string out;
  out.reserve(std::min(model.size(), kMaxModelInMessage));
  for (char c : model) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) continue;
    if (out.size() == kMaxModelInMessage) break;
    out.push_back(c);
  }
  // Do not end inside a UTF-8 sequence.
  if (out.size() == kMaxModelInMessage) {
    std::size_t end = out.size();
    while (end > 0 && (static_cast<unsigned char>(out[end - 1]) & 0xC0) == 0x80) --end;
    if (end > 0 && static_cast<unsigned char>(out[end - 1]) >= 0xC0) out.resize(end - 1);
  }
  return out;
}

void fail(Decision& d, Outcome outcome, int status, std::string_view type, std::string_view code,
          std::string message) {
  d.outcome = outcome;
  d.http_status = status;
  d.error_type = type;
  d.error_code = code;
  d.message = std::move(message);
}

// Frees what an attempt held: the key's in-flight slot and its client's.
void release_slots(const Ticket& ticket) {
  ticket.key->release();
  if (ticket.client != nullptr) ticket.client->release();
}

// Among the keys of one tier, the one furthest behind its weighted share that
// may take the request now; nullptr when none. A key more than one step
// behind every other eligible key (back from a cooldown, new in a reload) is
// lifted to just behind them: it rejoins the rotation instead of drawing every
// request until its count catches up. Not inlined: inside the caller the
// scan's loop variables were spilled to the stack, a third slower at 1,000 keys.
[[gnu::noinline]] const KeyEntry* pick(const Tier& tier, Time now, std::string_view model,
                                       const std::vector<const KeyState*>& tried,
                                       const KeySet& refused) {
  const Tier::Candidate* best = nullptr;
  double best_share = std::numeric_limits<double>::infinity();
  double second_share = std::numeric_limits<double>::infinity();
  for (const Tier::Candidate& c : tier.candidates) {
    const KeyState* state = c.state;
    // Shares are close to equal under load, so most keys stop at the first test.
    const double share = static_cast<double>(state->served()) * c.inverse_weight;
    if (share >= second_share) continue;
    if (!state->may_admit(now)) continue;
    if (!c.key->allows_model(model)) continue;
    if (std::find(tried.begin(), tried.end(), state) != tried.end()) continue;
    if (refused.contains(state)) continue;
    if (share < best_share) {
      second_share = best_share;
      best = &c;
      best_share = share;
    } else {
      second_share = share;
    }
  }
  if (best == nullptr) return nullptr;
  const double floor = second_share - tier.max_inverse_weight;
  if (second_share != std::numeric_limits<double>::infinity() && best_share < floor) {
    best->state->lift_served(static_cast<std::uint64_t>(floor / best->inverse_weight));
  }
  return best->key;
}

}  // namespace

Router::Router(const Clock& clock, std::shared_ptr<const Snapshot> snapshot, KeyRegistry& registry)
    : clock_(clock),
      registry_(registry),
      snapshot_(snapshot),
      memory_(snapshot->policy().request_memory, snapshot->policy().in_flight_timeout,
              snapshot->policy().request_memory_entries) {}

void Router::apply(std::shared_ptr<const Snapshot> snapshot) {
  const PolicyValues& policy = snapshot->policy();
  memory_.set_limits(policy.request_memory, policy.in_flight_timeout,
                     policy.request_memory_entries);
  snapshot_.store(std::move(snapshot));
}

std::shared_ptr<const Snapshot> Router::snapshot() const { return snapshot_.load(); }

void Router::reclaim() {
  // Slots whose settle never came (or whose request was evicted): free them.
  // No verdict on the key: a lost settle says nothing about it.
  for (const Ticket& ticket : memory_.expire(clock_.now())) release_slots(ticket);
}

Decision Router::authenticate(std::string_view token) const {
  Decision d;
  d.snapshot = snapshot_.load();
  const Snapshot& snap = *d.snapshot;
  // The message never repeats the token.
  if (token.empty()) {
    d.client = snap.anonymous_client();
    if (d.client == nullptr) {
      fail(d, Outcome::kMissingClientToken, 401, "authentication_error", "missing_client_token",
           "No API key was given: send it as 'Authorization: Bearer <key>' or 'x-api-key: <key>'.");
    }
    return d;
  }
  if (!snap.clients().empty()) d.client = snap.find_client(config::sha256(token));
  if (d.client == nullptr) {
    fail(d, Outcome::kInvalidClientToken, 401, "authentication_error", "invalid_client_token",
         "The API key given is not valid for this gateway.");
  }
  return d;
}

Decision Router::decide(const RouteRequest& request) {
  const Time now = clock_.now();
  for (const Ticket& ticket : memory_.expire(now)) release_slots(ticket);
  // First, so that a refused client touches no key and no request memory.
  Decision d = authenticate(request.client_token);
  if (d.client == nullptr) return d;
  serve(request, now, d);
  d.client->state->record(d.outcome, d.routed() ? d.reserved_tokens : 0);
  return d;
}

void Router::serve(const RouteRequest& request, Time now, Decision& d) {
  const Snapshot& snap = *d.snapshot;
  const PolicyValues& policy = snap.policy();
  const ClientEntry& client = *d.client;
  const std::string_view model = request.model.value_or(std::string_view());
  // A request whose model is not visible (too large a body) cannot be shown
  // to be allowed: a client with a model list is refused rather than let past it.
  if (!client.model_patterns.empty() && (model.empty() || !client.allows_model(model))) {
    fail(d, Outcome::kModelNotAllowed, 403, "permission_error", "model_not_allowed",
         model.empty() ? "The request names no model and this API key may only use some models."
                       : "This API key may not use the model '" + quote_model(model) + "'.");
    return;
  }

  RequestMemory::Attempt attempt = memory_.begin(request.request_id, now);
  d.attempt = static_cast<std::uint32_t>(attempt.tried.size()) + 1;
  for (const Ticket& ticket : attempt.abandoned) {
    // HAProxy retried without a response: the key failed to answer.
    release_slots(ticket);
    ticket.key->record_response(0);
    report(snap, *ticket.key, now, 0,
           ticket.key->on_failure(now, CooldownCause::kConnectionFailure, policy.cooldowns));
    // No response at all is about the provider (refused, unreachable, timed
    // out), not the key: the rest of this request goes to another provider.
    if (const KeyEntry* failed = snap.find_key(ticket.key->id())) {
      for (const KeyEntry* sibling : failed->provider->keys)
        attempt.tried.push_back(sibling->state);
    }
  }
  if (d.attempt > policy.attempts) {
    fail(d, Outcome::kAttemptsExhausted, 503, "service_unavailable", "attempts_exhausted",
         "Every attempt allowed for this request has been used.");
    return;
  }

  const RouteEntry* route = snap.find_route(model);
  if (route == nullptr) {
    if (model.empty()) {
      fail(d, Outcome::kNoModel, 400, "invalid_request_error", "model_required",
           "The request names no model and no default route is configured.");
    } else {
      fail(d, Outcome::kUnknownModel, 404, "invalid_request_error", "model_not_found",
           "The model '" + quote_model(model) + "' does not exist or is not served here.");
    }
    return;
  }

  const std::uint64_t tokens =
      estimate_request_tokens(request.body_size, request.body_prefix, policy.default_max_tokens);
  // The client's budget is taken before a key's and given back when no key
  // takes the request. A retry was charged with its first attempt.
  const bool retry = !attempt.tried.empty();
  if (retry) {
    client.state->admit_retry();
  } else if (const ClientState::Admission admission = client.state->try_admit(now, tokens);
             !admission.admitted) {
    if (admission.daily_budget_spent) {
      fail(d, Outcome::kClientDailyBudgetExhausted, 429, "rate_limit_error",
           "client_daily_budget_exhausted",
           "This API key has used its daily token budget; it renews at 00:00 UTC.");
    } else {
      fail(d, Outcome::kClientRateLimited, 429, "rate_limit_error", "client_rate_limited",
           "This API key is at its rate limit; retry later.");
    }
    d.retry_after = std::max(Duration::zero(), admission.next_chance - now);
    return;
  }
  KeySet refused;
  for (const Tier& tier : route->tiers) {
    refused.clear();
    // Another thread may take the last room of the key we pick; then the
    // scan goes on without it.
    while (const KeyEntry* key = pick(tier, now, model, attempt.tried, refused)) {
      if (key->state->try_admit(now, tokens).admitted) {
        d.key = key;
        d.reserved_tokens = tokens;
        d.ticket = memory_.admit(request.request_id, *key->state, client.state, tokens, now);
        return;
      }
      refused.insert(key->state);
    }
  }
  if (retry) {
    client.state->release();
  } else {
    client.state->cancel(now, tokens);
  }

  // Nothing could take it: 503 when only an operator can help or every key
  // already failed this request, else 429 with the soonest moment a key of
  // the route frees up.
  Time soonest = Time::max();
  bool untried = false;
  for (const KeyEntry* key : route->keys) {
    if (!key->allows_model(model)) continue;
    soonest = std::min(soonest, key->state->next_chance(now, tokens));
    untried = untried || std::find(attempt.tried.begin(), attempt.tried.end(), key->state) ==
                             attempt.tried.end();
  }
  // Every key already failed this request, and not for want of budget: the
  // upstream is down, not busy. (Causes are read only then: a 429 storm on an
  // exhausted pool never gets here.)
  const auto for_want_of_budget = [&] {
    return std::any_of(route->keys.begin(), route->keys.end(), [&](const KeyEntry* key) {
      const CooldownCause cause = key->state->view(now).cooldown_cause;
      return key->allows_model(model) &&
             (cause == CooldownCause::kRateLimited || cause == CooldownCause::kExhausted);
    });
  };
  if (!untried && !attempt.tried.empty() && !for_want_of_budget()) {
    fail(d, Outcome::kUpstreamUnavailable, 503, "service_unavailable", "upstream_unavailable",
         "Every upstream key of this route was tried for this request and none answered it.");
    if (soonest != Time::max()) d.retry_after = std::max(Duration::zero(), soonest - now);
    return;
  }
  if (soonest == Time::max()) {
    fail(d, Outcome::kKeysUnavailable, 503, "service_unavailable", "keys_unavailable",
         "No upstream key of this route is in service.");
    return;
  }
  fail(d, Outcome::kKeysExhausted, 429, "rate_limit_error", "keys_exhausted",
       "Every upstream key of this route is at its limit; retry later.");
  d.retry_after = std::max(Duration::zero(), soonest - now);
}

void Router::report(const Snapshot& snap, const KeyState& key, Time now, int status,
                    const KeyChange& change, bool by_operator) const {
  if (!change || events_ == nullptr) return;
  const KeyEntry* entry = snap.find_key(key.id());
  events_->on_key_event({key.id(), entry != nullptr ? std::string_view(entry->provider->name) : "",
                         change, now, status, by_operator});
}

std::optional<KeyView> Router::set_key_enabled(std::string_view key_id, bool enabled) {
  const Time now = clock_.now();
  const std::shared_ptr<const Snapshot> snap = snapshot_.load();
  const KeyEntry* entry = snap->find_key(key_id);
  if (entry == nullptr) return std::nullopt;
  report(*snap, *entry->state, now, 0,
         enabled ? entry->state->enable(now)
                 : entry->state->quarantine(std::string(kDisabledByOperator)),
         true);
  return entry->state->view(now);
}

void Router::settle(const SettleRequest& request) {
  const Time now = clock_.now();
  const std::shared_ptr<const Snapshot> snap = snapshot_.load();
  for (const Ticket& ticket : memory_.expire(now)) release_slots(ticket);

  KeyState* key = nullptr;
  if (auto ticket = memory_.settle(request.ticket)) {
    key = ticket->key;
    release_slots(*ticket);
  } else if (const KeyEntry* entry = snap->find_key(request.key_id)) {
    // The slot is already gone (expired or evicted); what the provider said
    // about the key still counts.
    key = entry->state;
  }
  if (key == nullptr) return;

  const CooldownPolicy& cooldowns = snap->policy().cooldowns;
  const int status = request.status;
  key->record_response(status);
  KeyChange change;
  if (status >= 200 && status < 300) {
    change = key->on_success(now, request.report);
  } else if (status == 429) {
    change = key->on_rate_limited(now, request.report, cooldowns);
  } else if (status == 401 || status == 403) {
    change = key->quarantine(status == 401 ? "upstream 401" : "upstream 403");
  } else if (status >= 500 || status == 0) {
    change = key->on_failure(
        now, status == 0 ? CooldownCause::kConnectionFailure : CooldownCause::kServerError,
        cooldowns);
  }
  report(*snap, *key, now, status, change);
  // Other statuses (400, 404, 408, ...) are about the request, not the key.
}

}  // namespace keymux::router
