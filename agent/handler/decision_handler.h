// Turns SPOE messages into router calls and decisions into variables.
//
//   "route"  (on-frontend-http-request) -> Router::decide
//       routed: txn.keymux.{backend,secret,key_id,provider,ticket,attempt}
//       error:  txn.keymux.{error_status,error_code,error_body[,retry_after]}
//   "settle" (on-http-response)          -> Router::settle
//   "version"                            -> txn.keymux.agent_version (checks, tests)
//
// Argument names are those of haproxy/keymux.spoe.conf. A sample HAProxy
// could not fetch arrives as NULL and is treated as absent.
#pragma once

#include "agent/router/router.h"
#include "agent/spop/session.h"

namespace keymux::handler {

class DecisionHandler final : public spop::NotifyHandler {
 public:
  explicit DecisionHandler(router::Router& router) : router_(router) {}

  Reply on_notify(spop::Session& session, const spop::NotifyRequest& request,
                  spop::AckEncoder& ack) override;

 private:
  void route(const spop::Message& message, spop::AckEncoder& ack);
  void settle(const spop::Message& message);

  router::Router& router_;
  std::string error_body_;  // reused: no allocation per error once warmed up
};

}  // namespace keymux::handler
