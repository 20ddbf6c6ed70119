#include "agent/router/router.h"

#include <algorithm>

#include "agent/config/token_sha256.h"
#include "agent/router/json_prefix.h"
#include "agent/router/refusal.h"
#include "agent/router/selection.h"
#include "agent/router/token_estimate.h"
#include "agent/router/verdict.h"

namespace keymux::router {
namespace {

constexpr std::size_t kMaxModelInMessage = 100;

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

// Frees what an attempt held: the key's in-flight slot and its client's.
void release_slots(const Ticket& ticket) {
  ticket.key->release();
  if (ticket.client != nullptr) ticket.client->release();
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
  if (!d.waiting()) d.client->state->record(d.outcome, d.routed() ? d.reserved_tokens : 0);
  return d;
}

void Router::serve(const RouteRequest& request, Time now, Decision& d) {
  const Snapshot& snap = *d.snapshot;
  const PolicyValues& policy = snap.policy();
  const ClientEntry& client = *d.client;
  // HAProxy holds the whole body when req.body_len reached req.body_size.
  const bool body_whole = !request.body_len || *request.body_len >= request.body_size;
  d.body_partial = !body_whole;
  const RequestModel asked =
      request_model(request.model, body_whole, request.header_model, request.path);
  d.model_source = asked.source;
  const std::string_view model = asked.name;
  // A body sent as JSON that cannot be JSON (what HAProxy shows of it proves
  // it) would go upstream on the default route and spend a key: refused first.
  if (request.body_size > 0 && is_json_content_type(request.content_type) &&
      check_json(request.body_prefix, request.body_size <= request.body_prefix.size()) ==
          JsonCheck::kInvalid) {
    fail(d, Outcome::kInvalidJson, 400, "invalid_request_error", "invalid_json",
         "The request body is not valid JSON, though its content-type says it is.");
    return;
  }
  // A request whose model is not visible (too large a body) cannot be shown
  // to be allowed: a client with a model list is refused rather than let past it.
  if (!client.model_patterns.empty() && (model.empty() || !client.allows_model(model))) {
    fail(d, Outcome::kModelNotAllowed, 403, "permission_error", "model_not_allowed",
         asked.source == ModelSource::kUnseen
             ? "The request's model is past the part of its body the gateway reads (the body "
               "is larger than the gateway's buffer) and this API key may only use some "
               "models; name the model in the x-keymux-model header."
         : model.empty() ? "The request names no model and this API key may only use some models."
                         : "This API key may not use the model '" + quote_model(model) + "'.");
    return;
  }

  RequestMemory::Attempt attempt = memory_.begin(request.request_id, now);
  d.attempt = static_cast<std::uint32_t>(attempt.tried.size()) + 1;
  // Providers that gave this request no response: the rest of it goes to
  // another provider while one can take it.
  std::vector<const ProviderState*> silent;
  for (const Ticket& ticket : attempt.abandoned) {
    // HAProxy retried without a response (refused, reset, timed out).
    release_slots(ticket);
    learn(snap, *ticket.key, ticket.tags.provider, 0, {}, ticket.tags.key_kind,
          ticket.tags.provider_kind, now);
    if (ticket.tags.provider != nullptr) silent.push_back(ticket.tags.provider);
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
           asked.source == ModelSource::kUnseen
               ? "The request's model is past the part of its body the gateway reads (the body "
                 "is larger than the gateway's buffer) and no default route is configured; name "
                 "the model in the x-keymux-model header."
               : "The request names no model and no default route is configured.");
    } else {
      fail(d, Outcome::kUnknownModel, 404, "invalid_request_error", "model_not_found",
           "The model '" + quote_model(model) + "' does not exist or is not served here.");
    }
    return;
  }
  d.route_name = route->name;

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
  const SelectionInput in{now, model, tokens, attempt.tried, attempt.spent, silent};
  Selection selection = select_key(*route, in);
  if (selection.key != nullptr) {
    const KeyEntry& key = *selection.key;
    const ProviderState::Admission pa = key.provider->state->admit(now);
    d.key = &key;
    d.reserved_tokens = tokens;
    d.want_usage =
        key.limits.tpm != 0 || client.limits.window.tpm != 0 || client.limits.tokens_per_day != 0;
    d.panic = selection.panic;
    d.ticket = memory_.admit(request.request_id, *key.state, client.state, tokens, now,
                             {key.provider->state, selection.admission.kind, pa.kind,
                              selection.admission.shared, d.want_usage, !retry});
    tell_admission(snap, *route, key, selection.admission, pa, selection.panic, now);
    return;
  }
  if (retry) {
    client.state->release();
  } else {
    client.state->cancel(now, tokens);
  }
  if (request.may_wait && !selection.refills.empty()) {
    // A cold shared key (or one whose slice ran dry) gets its slice within a
    // Redis round trip: the caller holds the request rather than refuse one
    // that fits. The next decision starts from scratch.
    d.outcome = Outcome::kKeysExhausted;
    d.wait_for = std::move(selection.refills);
    return;
  }
  refuse_for_keys(*route, in, d);
}

void Router::tell_admission(const Snapshot& snap, const RouteEntry& route, const KeyEntry& key,
                            const KeyState::Admission& admission,
                            const ProviderState::Admission& pa, bool panic, Time now) const {
  if (events_ == nullptr) return;
  if (admission.kind == AttemptKind::kProbe) {
    KeyChange probe;
    probe.kind = KeyChange::Kind::kProbing;
    report(snap, *key.state, now, 0, probe);
  }
  if (pa.change) report(*key.provider->state, now, 0, pa.change);
  // A relaxed load on the way: only a change takes the exchange.
  if (route.panic.on() != panic && route.panic.set(panic)) {
    events_->on_route_event({route.name, panic, now});
  }
}

void Router::report(const Snapshot& snap, const KeyState& key, Time now, int status,
                    const KeyChange& change, bool by_operator) const {
  if (!change || events_ == nullptr) return;
  const KeyEntry* entry = snap.find_key(key.id());
  events_->on_key_event({key.id(), entry != nullptr ? std::string_view(entry->provider->name) : "",
                         change, now, status, by_operator});
}

void Router::report(const ProviderState& provider, Time now, int status,
                    const HealthChange& change) const {
  if (!change || events_ == nullptr) return;
  events_->on_provider_event({provider.name(), change, now, status});
}

void Router::learn(const Snapshot& snap, KeyState& key, ProviderState* provider, int status,
                   const UpstreamReport& answer, AttemptKind key_kind, AttemptKind provider_kind,
                   Time now) {
  const PolicyValues& policy = snap.policy();
  const Verdict verdict = classify(status);
  key.record_response(status);
  KeyChange change;
  switch (verdict) {
    case Verdict::kSuccess:
      change = key.on_success(now, answer, key_kind, policy.key_outliers);
      break;
    case Verdict::kKeyOutOfBudget:
      change = key.on_rate_limited(now, answer, policy.cooldowns);
      break;
    case Verdict::kKeyRevoked:
      change = key.quarantine(status == 401 ? "upstream 401" : "upstream 403");
      break;
    case Verdict::kProviderFault:
      change = key.on_provider_fault(now, key_kind, policy.key_outliers);
      break;
    case Verdict::kRequestFault:
      break;  // 400, 404, 408, ...: about the request, not the key
  }
  report(snap, key, now, status, change);
  // The provider hears only what is about it: whether it answered.
  if (provider != nullptr && (verdict == Verdict::kSuccess || verdict == Verdict::kProviderFault)) {
    report(*provider, now, status,
           provider->record(verdict == Verdict::kProviderFault, provider_kind, now,
                            policy.provider_outliers));
  }
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

void Router::apply_shared(std::string_view key_id, SharedChange kind, Time until,
                          CooldownCause cause, std::string reason) {
  const Time now = clock_.now();
  const std::shared_ptr<const Snapshot> snap = snapshot_.load();
  const KeyEntry* entry = snap->find_key(key_id);
  if (entry == nullptr) return;  // not in this gateway's configuration
  KeyState& key = *entry->state;
  switch (kind) {
    case SharedChange::kCooldown:
      report(*snap, key, now, 429, key.apply_cooldown(now, until, cause));
      break;
    case SharedChange::kEjection:
      report(*snap, key, now, 0, key.apply_ejection(now, until));
      break;
    case SharedChange::kQuarantine: {
      const bool by_operator = reason == kDisabledByOperator;
      report(*snap, key, now, 0, key.quarantine(std::move(reason)), by_operator);
      break;
    }
    case SharedChange::kEnable:
      report(*snap, key, now, 0, key.enable(now), true);
      break;
  }
}

void Router::apply_shared_provider_ejection(std::string_view provider, Time until) {
  const Time now = clock_.now();
  const std::shared_ptr<const Snapshot> snap = snapshot_.load();
  for (const ProviderEntry& entry : snap->providers()) {
    if (entry.name == provider && entry.state != nullptr) {
      report(*entry.state, now, 0, entry.state->hold(now, until));
    }
  }
}

bool Router::settle(const SettleRequest& request, TokenSettle* tokens) {
  const Time now = clock_.now();
  const std::shared_ptr<const Snapshot> snap = snapshot_.load();
  for (const Ticket& ticket : memory_.expire(now)) release_slots(ticket);

  const Verdict verdict = classify(request.status);
  // A key that answered this request 429, 401 or 403 never gets it again.
  const bool spent = verdict == Verdict::kKeyOutOfBudget || verdict == Verdict::kKeyRevoked;
  if (auto ticket = memory_.settle(request.ticket, spent)) {
    release_slots(*ticket);
    if (request.tokens) {
      ticket->key->settle_tokens(now, ticket->admitted, ticket->tokens, *request.tokens,
                                 ticket->tags.shared);
      if (ticket->client != nullptr && ticket->tags.client_charged) {
        ticket->client->settle_tokens(ticket->admitted, ticket->tokens, *request.tokens);
      }
    }
    if (tokens != nullptr) {
      *tokens = {true, ticket->tags.counts_tokens, ticket->tokens,
                 request.tokens.value_or(ticket->tokens), request.tokens.has_value()};
    }
    learn(*snap, *ticket->key, ticket->tags.provider, request.status, request.report,
          ticket->tags.key_kind, ticket->tags.provider_kind, now);
    return true;
  }
  if (request.ticket_only) return false;
  if (const KeyEntry* entry = snap->find_key(request.key_id)) {
    // The slot is already gone (expired or evicted); what the provider said
    // about the key still counts.
    learn(*snap, *entry->state, entry->provider->state, request.status, request.report,
          AttemptKind::kNormal, AttemptKind::kNormal, now);
  }
  return false;
}

}  // namespace keymux::router
