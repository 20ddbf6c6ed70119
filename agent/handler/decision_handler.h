// Turns SPOE messages into router calls and decisions into variables.
//
//   "route"  (on-frontend-http-request) -> Router::decide
//       routed: txn.keymux.{backend,secret,auth,key_id,provider,ticket,attempt,client}
//       and, only when so: body=partial (HAProxy held part of the body: no
//       retry), model_from=header|path|default|none (not the body's model;
//       "default": not visible at all, the default route serves it, logged;
//       "none": not visible, refused)
//       GET /v1/models[/id]: txn.keymux.{answer_body,client} (the gateway answers 200)
//       error:  txn.keymux.{error_status,error_code,error_body[,retry_after][,client]}
//       (`client` is the client's name, set once the token is known; the
//       token comes from client_auth, else client_api_key)
//   "settle" (fe_inner send-spoe-group)  -> Router::settle, with the answer's
//       real token count when HAProxy read it (usage_total, else
//       usage_input + usage_output); routed, when the key or client counts tokens:
//       txn.keymux.want_usage (HAProxy then reads the usage of a 2xx JSON body)
//   "version"                            -> txn.keymux.agent_version (checks, tests)
//
// Held routes (state:, `wait_deadline` > 0): when no key can take a request
// now but a shared key can once its slice lands (Decision::wait_for), the
// NOTIFY is held (no ACK yet, the worker goes on) and decided again when the
// worker is woken for a refill, or at the deadline without waiting more; the
// late ACK goes out on the same connection (HAProxy matches it by its ids).
// Only a NOTIFY whose one message is "route" is held.
//
// With a gateway secret (spop.secret), a message without it or with a wrong
// one is refused first: a route gets a 503 error (no key), a settle changes
// nothing; each is counted, and the first on a connection is logged.
//
// Argument names are those of haproxy/keymux.spoe.conf. A sample HAProxy
// could not fetch arrives as NULL and is treated as absent.
#pragma once

#include <list>
#include <vector>

#include "agent/handler/gateway_secret.h"
#include "agent/handler/held_route.h"
#include "agent/metrics/agent_metrics.h"
#include "agent/router/router.h"
#include "agent/spop/session.h"

namespace keymux::handler {

class DecisionHandler final : public spop::NotifyHandler {
 public:
  // `metrics`, when given (this worker's own shard), counts decisions by
  // outcome and times them. `gateway`: the secret every message must carry
  // (none by default).
  // `wait_deadline`: how long a route may be held for a shared slice (0: never).
  explicit DecisionHandler(router::Router& router, metrics::DecisionMetrics* metrics = nullptr,
                           GatewaySecret gateway = {}, router::Duration wait_deadline = {})
      : router_(router),
        metrics_(metrics),
        gateway_(std::move(gateway)),
        wait_deadline_(wait_deadline) {}

  Reply on_notify(spop::Session& session, const spop::NotifyRequest& request,
                  spop::AckEncoder& ack) override;

  bool holding() const override { return !held_.empty(); }
  std::chrono::microseconds next_deadline_in() const override;
  void resume(bool woken, std::vector<spop::Session*>& answered) override;
  void answer_held(spop::Session& session) override;
  void forget(spop::Session& session) override;

 private:
  // False when the request was held (no ACK yet).
  bool route(spop::Session& session, const spop::NotifyRequest& notify,
             const spop::Message& message, bool may_wait, spop::AckEncoder& ack);
  // The decision's variables (or error) into `ack`, counted.
  void answer(const router::RouteRequest& request, const router::Decision& decision,
              spop::AckEncoder& ack);
  // Decides a held route again (without waiting when `last`) and answers it;
  // false when it still waits.
  bool answer_held_route(const HeldRoute& held, bool last, metrics::WaitEnd why);
  void count_wait_end(metrics::WaitEnd why);
  void settle(const spop::Message& message);
  // A message without the gateway secret: count it, log the first on this
  // connection, answer a route with an error.
  void refuse(spop::Session& session, const spop::Message& message, GatewayRefusal why,
              spop::AckEncoder& ack);
  // GET /v1/models and /v1/models/{id}, for the models the client may use;
  // false when the path is not one of them.
  bool answer_models(std::string_view path, std::string_view token, spop::AckEncoder& ack);
  void set_error(spop::AckEncoder& ack, int status, std::string_view type, std::string_view code,
                 std::string_view message);
  // A partial body or a model not read from the body: variables for HAProxy's
  // log line, metrics, and a log line when the default route serves a model
  // the gateway could not see (at most one a second per worker, with a count).
  void tell_request_size(const router::RouteRequest& request, const router::Decision& decision,
                         spop::AckEncoder& ack);

  router::Router& router_;
  metrics::DecisionMetrics* const metrics_;
  const GatewaySecret gateway_;
  const router::Duration wait_deadline_;
  std::list<HeldRoute> held_;  // in the order held: the first has the soonest deadline
  std::string error_body_;     // reused: no allocation per error once warmed up
  std::string answer_;
  std::int64_t unseen_logged_second_ = -1;
  std::uint64_t unseen_unlogged_ = 0;
};

}  // namespace keymux::handler
