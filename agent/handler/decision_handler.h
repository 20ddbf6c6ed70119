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
// With a gateway secret (spop.secret), a message without it or with a wrong
// one is refused first: a route gets a 503 error (no key), a settle changes
// nothing; each is counted, and the first on a connection is logged.
//
// Argument names are those of haproxy/keymux.spoe.conf. A sample HAProxy
// could not fetch arrives as NULL and is treated as absent.
#pragma once

#include "agent/handler/gateway_secret.h"
#include "agent/metrics/agent_metrics.h"
#include "agent/router/router.h"
#include "agent/spop/session.h"

namespace keymux::handler {

class DecisionHandler final : public spop::NotifyHandler {
 public:
  // `metrics`, when given (this worker's own shard), counts decisions by
  // outcome and times them. `gateway`: the secret every message must carry
  // (none by default).
  explicit DecisionHandler(router::Router& router, metrics::DecisionMetrics* metrics = nullptr,
                           GatewaySecret gateway = {})
      : router_(router), metrics_(metrics), gateway_(std::move(gateway)) {}

  Reply on_notify(spop::Session& session, const spop::NotifyRequest& request,
                  spop::AckEncoder& ack) override;

 private:
  void route(const spop::Message& message, spop::AckEncoder& ack);
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
  std::string error_body_;  // reused: no allocation per error once warmed up
  std::string answer_;
  std::int64_t unseen_logged_second_ = -1;
  std::uint64_t unseen_unlogged_ = 0;
};

}  // namespace keymux::handler
