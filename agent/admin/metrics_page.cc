#include "agent/admin/metrics_page.h"

#include <chrono>

#include "agent/metrics/prometheus_text.h"
#include "agent/version.h"

namespace keymux::admin {
namespace {

using metrics::PrometheusText;
using router::KeyView;

std::uint64_t load(const std::atomic<std::uint64_t>& value) {
  return value.load(std::memory_order_relaxed);
}

void agent_families(PrometheusText& out, const metrics::AgentMetrics& m) {
  out.family("keymux_build_info", "gauge", "The agent's version; always 1.");
  out.sample("keymux_build_info", {{"version", kAgentVersion}}, std::uint64_t{1});

  out.family("keymux_config_reloads_total", "counter",
             "Configuration reloads (SIGHUP or POST /v1/reload) by result.");
  out.sample("keymux_config_reloads_total", {{"result", "success"}}, load(m.reloads_succeeded));
  out.sample("keymux_config_reloads_total", {{"result", "failure"}}, load(m.reloads_failed));
  out.family("keymux_config_last_reload_successful", "gauge",
             "1 when the last reload went into service, 0 when it was rejected.");
  out.sample("keymux_config_last_reload_successful", {},
             std::uint64_t{m.last_reload_ok.load(std::memory_order_relaxed) ? 1u : 0u});
  out.family("keymux_config_last_reload_success_timestamp_seconds", "gauge",
             "When the configuration in service was loaded (Unix time).");
  out.sample("keymux_config_last_reload_success_timestamp_seconds", {},
             static_cast<double>(m.last_reload_success_unix.load(std::memory_order_relaxed)));

  const metrics::DecisionTotals decisions = m.totals();
  out.family("keymux_decisions_total", "counter", "Route decisions by outcome.");
  for (std::size_t i = 0; i < router::kOutcomeCount; ++i) {
    out.sample("keymux_decisions_total",
               {{"outcome", router::outcome_name(static_cast<router::Outcome>(i))}},
               decisions.by_outcome[i]);
  }
  out.family("keymux_decision_duration_seconds", "histogram",
             "Time the agent spent on one route message.");
  const metrics::LatencyHistogram::Snapshot& h = decisions.time;
  std::array<double, metrics::LatencyHistogram::kBoundsMicros.size()> bounds{};
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    bounds[i] = static_cast<double>(metrics::LatencyHistogram::kBoundsMicros[i]) / 1e6;
  }
  out.histogram("keymux_decision_duration_seconds", bounds, h.cumulative, h.count, h.sum_seconds);
  out.family("keymux_settles_total", "counter", "Settle messages (upstream responses reported).");
  out.sample("keymux_settles_total", {}, decisions.settles);
  out.family("keymux_token_settles_total", "counter",
             "Settled 2xx answers whose key or client counts tokens (tpm, tokens_per_day), by "
             "whether the answer's real token "
             "count (its usage) replaced the estimate (real) or the estimate stayed (estimate: a "
             "body larger than HAProxy's buffer, or no usage). Streams keep the estimate and are "
             "not counted here.");
  out.sample("keymux_token_settles_total", {{"count", "estimate"}}, decisions.token_settles[0]);
  out.sample("keymux_token_settles_total", {{"count", "real"}}, decisions.token_settles[1]);
  out.family("keymux_tokens_estimated_total", "counter",
             "Tokens those answers were charged at the decision (the estimate).");
  out.sample("keymux_tokens_estimated_total", {}, decisions.tokens_estimated);
  out.family("keymux_tokens_settled_total", "counter",
             "Tokens those answers were charged once settled: the real count, else the estimate.");
  out.sample("keymux_tokens_settled_total", {}, decisions.tokens_settled);
  out.family("keymux_spop_unauthenticated_messages_total", "counter",
             "SPOE messages refused for the gateway secret (spop.secret), by reason.");
  out.sample("keymux_spop_unauthenticated_messages_total", {{"reason", "missing"}},
             decisions.unauthenticated[0]);
  out.sample("keymux_spop_unauthenticated_messages_total", {{"reason", "wrong"}},
             decisions.unauthenticated[1]);
  out.family("keymux_panic_routed_total", "counter",
             "Attempts routed although every key their route could use was ejected for failures "
             "(panic routing: to the least recently failed key).");
  out.sample("keymux_panic_routed_total", {}, decisions.panic_routed);
  out.family("keymux_requests_not_retryable_total", "counter",
             "Requests whose body was larger than HAProxy's buffer (tune.bufsize, "
             "KEYMUX_BUFSIZE): sent once, never retried on another key.");
  out.sample("keymux_requests_not_retryable_total", {}, decisions.not_retryable);
  out.family("keymux_requests_model_unseen_total", "counter",
             "Requests larger than HAProxy's buffer whose body's model the agent could not see, "
             "by what routed them: the x-keymux-model header, the API path, the default route, "
             "or none (refused).");
  for (std::size_t i = 0; i < metrics::kUnseenModelRouteNames.size(); ++i) {
    out.sample("keymux_requests_model_unseen_total",
               {{"routed_by", metrics::kUnseenModelRouteNames[i]}}, decisions.model_unseen[i]);
  }

  out.family("keymux_shared_waits_started_total", "counter",
             "Route requests held for a shared key's slice on its way from Redis (state:), "
             "because no key could take them at once.");
  out.sample("keymux_shared_waits_started_total", {}, decisions.waits_started);
  out.family("keymux_shared_waits_ended_total", "counter",
             "Held route requests by how they ended: refill (decided again when a slice or the "
             "local share came), deadline (state.wait_deadline passed), stop (the agent stopped), "
             "closed (HAProxy closed or left the connection; nothing was reserved).");
  for (std::size_t i = 0; i < metrics::kWaitEndNames.size(); ++i) {
    out.sample("keymux_shared_waits_ended_total", {{"by", metrics::kWaitEndNames[i]}},
               decisions.waits_ended[i]);
  }
  out.family("keymux_shared_wait_duration_seconds", "histogram",
             "How long a held route request waited before its answer.");
  const metrics::LatencyHistogram::Snapshot& w = decisions.wait_time;
  out.histogram("keymux_shared_wait_duration_seconds", bounds, w.cumulative, w.count,
                w.sum_seconds);

  const metrics::OutcomeMetrics& o = m.outcomes;
  out.family("keymux_outcome_lines_total", "counter",
             "Outcome lines received from HAProxy's log (fe_inner: failed attempts, streams, its "
             "own 502/504).");
  out.sample("keymux_outcome_lines_total", {}, load(o.lines));
  out.family("keymux_outcome_line_errors_total", "counter",
             "Outcome lines refused by the parser (each logged at warn, rate-limited).");
  out.sample("keymux_outcome_line_errors_total", {}, load(o.parse_errors));
  out.family("keymux_outcome_lines_settled_total", "counter",
             "Outcome lines that closed an open ticket (released its in-flight slot).");
  out.sample("keymux_outcome_lines_settled_total", {}, load(o.settled));
  out.family("keymux_outcome_unknown_tickets_total", "counter",
             "Outcome lines whose ticket was no longer open (settled by a synchronous settle "
             "first, expired, or from another agent) and were ignored.");
  out.sample("keymux_outcome_unknown_tickets_total", {}, load(o.unknown_tickets));
}

void spop_families(PrometheusText& out, const server::SpopStats& s) {
  out.family("keymux_spop_connections_total", "counter", "SPOP connections accepted.");
  out.sample("keymux_spop_connections_total", {}, load(s.connections_accepted));
  out.family("keymux_spop_connections", "gauge", "SPOP connections open now.");
  out.sample("keymux_spop_connections", {},
             static_cast<double>(s.connections_open.load(std::memory_order_relaxed)));
  out.family("keymux_spop_frames_received_total", "counter", "SPOP frames from HAProxy by type.");
  out.sample("keymux_spop_frames_received_total", {{"type", "haproxy_hello"}}, load(s.hellos));
  out.sample("keymux_spop_frames_received_total", {{"type", "notify"}}, load(s.notifies));
  out.sample("keymux_spop_frames_received_total", {{"type", "haproxy_disconnect"}},
             load(s.haproxy_disconnects));
  out.family("keymux_spop_frames_sent_total", "counter", "SPOP frames to HAProxy by type.");
  out.sample("keymux_spop_frames_sent_total", {{"type", "agent_hello"}}, load(s.hellos));
  out.sample("keymux_spop_frames_sent_total", {{"type", "ack"}}, load(s.acks));
  out.sample("keymux_spop_frames_sent_total", {{"type", "agent_disconnect"}},
             load(s.agent_disconnects));
  out.family("keymux_spop_protocol_errors_total", "counter",
             "SPOP connections closed on a protocol error, by SPOP status.");
  for (std::size_t slot = 1; slot < server::SpopStats::kStatusSlots; ++slot) {
    const auto status = slot == server::SpopStats::kStatusSlots - 1
                            ? spop::Status::kUnknown
                            : static_cast<spop::Status>(slot);
    out.sample("keymux_spop_protocol_errors_total", {{"status", server::status_label(status)}},
               load(s.protocol_errors[slot]));
  }
}

void key_families(PrometheusText& out, const router::Snapshot& snapshot, router::Time now) {
  std::vector<KeyView> views;
  views.reserve(snapshot.keys().size());
  for (const router::KeyEntry& key : snapshot.keys()) views.push_back(key.state->view(now));
  const auto& keys = snapshot.keys();
  auto each = [&](auto&& emit) {
    for (std::size_t i = 0; i < keys.size(); ++i) emit(keys[i], views[i]);
  };

  out.family("keymux_key_requests_total", "counter",
             "Settled attempts per key by the upstream's status class (no_response: none came).");
  each([&](const router::KeyEntry& k, const KeyView& v) {
    for (std::size_t c = 0; c < router::kResponseClassCount; ++c) {
      if (c == 1) continue;  // a 1xx never ends an attempt
      out.sample("keymux_key_requests_total",
                 {{"key", k.id},
                  {"provider", k.provider->name},
                  {"status_class", router::response_class_name(c)}},
                 v.responses_by_class[c]);
    }
  });
  out.family("keymux_key_attempts_total", "counter", "Attempts admitted per key.");
  each([&](const router::KeyEntry& k, const KeyView& v) {
    out.sample("keymux_key_attempts_total", {{"key", k.id}, {"provider", k.provider->name}},
               v.admitted_total);
  });
  out.family("keymux_key_tokens_reserved_total", "counter",
             "Tokens reserved per key at admission (prompt estimate + expected output).");
  each([&](const router::KeyEntry& k, const KeyView& v) {
    out.sample("keymux_key_tokens_reserved_total", {{"key", k.id}, {"provider", k.provider->name}},
               v.tokens_reserved_total);
  });
  out.family("keymux_key_in_flight", "gauge", "Attempts in progress per key.");
  each([&](const router::KeyEntry& k, const KeyView& v) {
    out.sample("keymux_key_in_flight", {{"key", k.id}, {"provider", k.provider->name}},
               std::uint64_t{v.in_flight});
  });
  out.family("keymux_key_requests_in_window", "gauge",
             "Attempts admitted in the last policy.limit_window (60 s by default).");
  each([&](const router::KeyEntry& k, const KeyView& v) {
    out.sample("keymux_key_requests_in_window", {{"key", k.id}, {"provider", k.provider->name}},
               std::uint64_t{v.requests_in_window});
  });
  out.family("keymux_key_tokens_in_window", "gauge",
             "Tokens reserved in the last policy.limit_window (60 s by default).");
  each([&](const router::KeyEntry& k, const KeyView& v) {
    out.sample("keymux_key_tokens_in_window", {{"key", k.id}, {"provider", k.provider->name}},
               v.tokens_in_window);
  });
  out.family("keymux_key_cooldowns_total", "counter", "Cooldowns started per key by cause.");
  each([&](const router::KeyEntry& k, const KeyView& v) {
    for (std::size_t c = 1; c < router::kCooldownCauseCount; ++c) {
      out.sample("keymux_key_cooldowns_total",
                 {{"key", k.id},
                  {"provider", k.provider->name},
                  {"cause", router::cooldown_cause_name(static_cast<router::CooldownCause>(c))}},
                 v.cooldowns_by_cause[c]);
    }
  });
  out.family("keymux_key_quarantines_total", "counter",
             "Times a key was taken out of service (upstream 401/403 or an operator).");
  each([&](const router::KeyEntry& k, const KeyView& v) {
    out.sample("keymux_key_quarantines_total", {{"key", k.id}, {"provider", k.provider->name}},
               v.quarantines_total);
  });
  out.family("keymux_key_ejections_total", "counter",
             "Times a key was ejected as an outlier (provider faults: 5xx, no response).");
  each([&](const router::KeyEntry& k, const KeyView& v) {
    out.sample("keymux_key_ejections_total", {{"key", k.id}, {"provider", k.provider->name}},
               v.ejections_total);
  });
  out.family("keymux_key_state", "gauge",
             "Key condition: 0 ok, 1 cooling, 2 quarantined, 3 ejected (or half-open).");
  each([&](const router::KeyEntry& k, const KeyView& v) {
    out.sample("keymux_key_state", {{"key", k.id}, {"provider", k.provider->name}},
               std::uint64_t{static_cast<std::uint8_t>(v.condition)});
  });
  out.family("keymux_key_cooldown_seconds", "gauge", "Seconds left in the key's cooldown.");
  each([&](const router::KeyEntry& k, const KeyView& v) {
    const double left =
        v.cooldown_until > now ? std::chrono::duration<double>(v.cooldown_until - now).count() : 0;
    out.sample("keymux_key_cooldown_seconds", {{"key", k.id}, {"provider", k.provider->name}},
               left);
  });
  out.family("keymux_key_remaining_requests", "gauge",
             "Requests left as the provider last reported (less admissions since).");
  each([&](const router::KeyEntry& k, const KeyView& v) {
    if (!v.reported_remaining_requests) return;
    out.sample("keymux_key_remaining_requests", {{"key", k.id}, {"provider", k.provider->name}},
               *v.reported_remaining_requests);
  });
  out.family("keymux_key_remaining_tokens", "gauge",
             "Tokens left as the provider last reported (less reservations since).");
  each([&](const router::KeyEntry& k, const KeyView& v) {
    if (!v.reported_remaining_tokens) return;
    out.sample("keymux_key_remaining_tokens", {{"key", k.id}, {"provider", k.provider->name}},
               *v.reported_remaining_tokens);
  });
}

void client_families(PrometheusText& out, const router::Snapshot& snapshot, router::Time now) {
  std::vector<const router::ClientEntry*> clients;
  for (const router::ClientEntry& c : snapshot.clients()) clients.push_back(&c);
  if (const router::ClientEntry* anonymous = snapshot.anonymous_client()) {
    clients.push_back(anonymous);
  }
  std::vector<router::ClientView> views;
  for (const router::ClientEntry* c : clients) views.push_back(c->state->view(now));

  out.family("keymux_client_requests_total", "counter", "Requests per client by outcome.");
  for (std::size_t i = 0; i < clients.size(); ++i) {
    for (std::size_t o = 0; o < router::kOutcomeCount; ++o) {
      out.sample("keymux_client_requests_total",
                 {{"client", clients[i]->name},
                  {"outcome", router::outcome_name(static_cast<router::Outcome>(o))}},
                 views[i].requests_by_outcome[o]);
    }
  }
  out.family("keymux_client_tokens_reserved_total", "counter", "Tokens reserved per client.");
  for (std::size_t i = 0; i < clients.size(); ++i) {
    out.sample("keymux_client_tokens_reserved_total", {{"client", clients[i]->name}},
               views[i].tokens_reserved_total);
  }
  out.family("keymux_client_tokens_today", "gauge",
             "Tokens counted against the client's daily budget (UTC day).");
  for (std::size_t i = 0; i < clients.size(); ++i) {
    out.sample("keymux_client_tokens_today", {{"client", clients[i]->name}}, views[i].tokens_today);
  }
  out.family("keymux_client_in_flight", "gauge", "Requests in progress per client.");
  for (std::size_t i = 0; i < clients.size(); ++i) {
    out.sample("keymux_client_in_flight", {{"client", clients[i]->name}},
               std::uint64_t{views[i].in_flight});
  }
}

void provider_families(PrometheusText& out, const router::Snapshot& snapshot, router::Time now) {
  std::vector<router::ProviderView> views;
  for (const router::ProviderEntry& p : snapshot.providers()) views.push_back(p.state->view(now));
  const auto& providers = snapshot.providers();
  out.family("keymux_provider_health", "gauge",
             "Provider health: 0 serving, 1 ejected (no new requests while a route has another "
             "tier), 2 probing (half-open).");
  for (std::size_t i = 0; i < providers.size(); ++i) {
    out.sample("keymux_provider_health", {{"provider", providers[i].name}},
               std::uint64_t{static_cast<std::uint8_t>(views[i].health)});
  }
  out.family("keymux_provider_ejections_total", "counter",
             "Times a provider was ejected for its failure ratio.");
  for (std::size_t i = 0; i < providers.size(); ++i) {
    out.sample("keymux_provider_ejections_total", {{"provider", providers[i].name}},
               views[i].ejections_total);
  }
}

}  // namespace

std::string render_metrics(const MetricsSources& sources) {
  PrometheusText out;
  agent_families(out, sources.agent);
  if (sources.spop != nullptr) spop_families(out, *sources.spop);
  provider_families(out, sources.snapshot, sources.now);
  key_families(out, sources.snapshot, sources.now);
  client_families(out, sources.snapshot, sources.now);
  return out.text();
}

}  // namespace keymux::admin
