// The admin API, without I/O: a request in, a response out. The HTTP listener
// (http_listener.h) feeds it; tests call it directly.
//
//   GET  /healthz, /readyz, /metrics          open (they hold no secret)
//   GET  /v1/keys, /v1/keys/{id}              behind the admin token
//   POST /v1/keys/{id}/disable, .../enable
//   GET  /v1/clients
//   POST /v1/reload
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "agent/admin/reloader.h"
#include "agent/metrics/agent_metrics.h"
#include "agent/router/router.h"
#include "agent/server/spop_stats.h"

namespace keymux::admin {

struct AdminRequest {
  std::string_view method;         // "GET", "POST", ...
  std::string_view path;           // without the query string
  std::string_view authorization;  // the Authorization header; empty when absent
};

struct AdminResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

class AdminApi {
 public:
  // Why the agent is not ready to serve, or an empty string when it is.
  using Readiness = std::function<std::string()>;

  AdminApi(router::Router& router, Reloader& reloader, const metrics::AgentMetrics& metrics,
           const server::SpopStats* spop, Readiness readiness);

  AdminResponse handle(const AdminRequest& request);

 private:
  // nullopt when the caller holds the admin token; else the refusal.
  std::optional<AdminResponse> refuse_unless_admin(std::string_view authorization) const;
  AdminResponse keys(const AdminRequest& request, std::string_view rest);

  router::Router& router_;
  Reloader& reloader_;
  const metrics::AgentMetrics& metrics_;
  const server::SpopStats* spop_;
  Readiness readiness_;
};

}  // namespace keymux::admin
