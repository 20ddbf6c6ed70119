// Decisions are values: what to do with one request, and why. The SPOP
// handler turns them into variables; tests and metrics read them as they are.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/router/clock.h"
#include "agent/router/model_source.h"
#include "agent/router/outcome.h"
#include "agent/router/snapshot.h"
#include "agent/router/upstream_report.h"

namespace keymux::router {

// The "route" message, as HAProxy sends it. Views live as long as the NOTIFY.
struct RouteRequest {
  std::string_view method;
  std::string_view path;
  std::optional<std::string_view> model;  // nullopt: HAProxy found none
  std::string_view request_id;            // empty: no retry memory
  std::uint64_t body_size = 0;  // HAProxy's req.body_size (Content-Length when it has one)
  std::optional<std::uint64_t> body_len;  // req.body_len, what HAProxy holds; nullopt: not said
  std::string_view body_prefix;
  std::string_view header_model;  // x-keymux-model; empty: none (model_source.h)
  std::string_view content_type;  // the request's Content-Type; empty: none
  std::string_view client_token;  // empty: the request carries none (see client_token.h)
  // The caller can hold the request for a shared slice on its way (state:):
  // then, when no key can take it now but a shared key can once its refill
  // lands, the decision waits (Decision::wait_for) instead of refusing.
  bool may_wait = false;
};

struct Decision {
  Outcome outcome = Outcome::kRouted;
  // Who asked; nullptr when refused before authentication (401).
  const ClientEntry* client = nullptr;
  // kRouted: the key (with its provider) and the ticket to settle.
  const KeyEntry* key = nullptr;
  std::uint64_t ticket = 0;
  std::uint64_t reserved_tokens = 0;
  // The key or the client counts tokens: HAProxy should read the answer's
  // real count (usage) for the settle.
  bool want_usage = false;
  std::uint32_t attempt = 1;  // 1 for the first try of a request id
  bool panic = false;         // every key the route could use was ejected: sent anyway
  // Where the model came from, and whether HAProxy held only part of the body
  // (then it cannot retry the request on another key). Set once authenticated.
  ModelSource model_source = ModelSource::kBody;
  bool body_partial = false;
  std::string_view route_name;  // the route that served or refused it; empty: none
  // Errors: what the client gets, in the OpenAI error shape.
  int http_status = 200;
  std::string_view error_type;  // e.g. "rate_limit_error"
  std::string_view error_code;  // e.g. "keys_exhausted"
  std::string message;          // never holds a secret
  // kKeysExhausted: until the soonest key of the route frees up; client 429s:
  // until the client could take the request. Exact (may be 0); the caller
  // rounds it up to whole seconds, at least 1, for retry-after.
  std::optional<Duration> retry_after;
  // Keeps `key` and `client` (and their strings) alive while the decision is used.
  std::shared_ptr<const Snapshot> snapshot;
  // Not decided yet (only with RouteRequest::may_wait): no key can take the
  // request now, these shared keys can once the slice asked from Redis
  // arrives. Nothing is reserved (key, client, request memory): decide again
  // on a refill or at the caller's deadline (then without may_wait). The
  // outcome reads kKeysExhausted meanwhile, with no error fields.
  std::vector<const KeyEntry*> wait_for;

  bool routed() const { return outcome == Outcome::kRouted; }
  bool waiting() const { return !wait_for.empty(); }
};

// The "settle" message: how the upstream answered one attempt.
struct SettleRequest {
  std::uint64_t ticket = 0;
  std::string_view key_id;  // used when the ticket is no longer known
  int status = 0;           // HTTP status; 0: no response (connection failure)
  UpstreamReport report;
  // The answer's real token count (its usage, read by HAProxy from a JSON
  // body); nullopt: none (a stream, a body past HAProxy's buffer, no usage),
  // the estimate stays charged.
  std::optional<std::uint64_t> tokens;
  // The outcome line (outcome_line.h) may come after a synchronous settle of
  // the same attempt, or after the ticket expired: it counts only while its
  // ticket is open (first outcome wins), never through key_id.
  bool ticket_only = false;
};

// What a settle did with its attempt's tokens (for metrics).
struct TokenSettle {
  bool closed = false;          // the settle closed its ticket
  bool counted = false;         // its key or client counts tokens (the real count was asked for)
  std::uint64_t estimated = 0;  // charged at the decision
  std::uint64_t settled = 0;    // the real count, else the estimate
  bool real = false;            // the real count replaced the estimate
};

}  // namespace keymux::router
