// The admin API, without I/O: a request in, a response out. The HTTP listener
// (http_listener.h) feeds it; tests call it directly.
//
//   GET  /healthz, /readyz, /metrics          open (they hold no secret)
//   GET  /, /ui/app.js, /ui/app.css           the status page, open (it holds no data)
//   GET  /v1/status                           behind the admin token: what the page shows
//   GET  /v1/keys, /v1/keys/{id}              behind the admin token
//   POST /v1/keys/{id}/disable, .../enable
//   GET  /v1/clients
//   POST /v1/reload
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "agent/admin/recent_events.h"
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

using ResponseHeader = std::pair<std::string_view, std::string_view>;

// On every admin answer: nothing cached (the answers hold live state and the
// page is behind a token), a Content-Security-Policy that allows only the
// page's own script, style and requests (no inline script, no other origin,
// no framing), no content sniffing.
inline constexpr ResponseHeader kResponseHeaders[] = {
    {"Cache-Control", "no-store"},
    {"Content-Security-Policy",
     "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
     "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"},
    {"X-Content-Type-Options", "nosniff"},
    {"X-Frame-Options", "DENY"},
    {"Referrer-Policy", "no-referrer"},
};

struct AdminResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  // The HTTP listener writes these too.
  std::span<const ResponseHeader> headers = kResponseHeaders;
};

class AdminApi {
 public:
  // Why the agent is not ready to serve, or an empty string when it is.
  using Readiness = std::function<std::string()>;

  AdminApi(router::Router& router, Reloader& reloader, const metrics::AgentMetrics& metrics,
           const server::SpopStats* spop, Readiness readiness,
           const RecentEvents* recent_events = nullptr);

  AdminResponse handle(const AdminRequest& request);

  // The state shared through Redis (state:), when configured: a line added
  // to /readyz (a degraded gateway is still ready: it serves), families added
  // to /metrics, and GET /v1/state. Set before serving.
  struct SharedStateSource {
    std::function<std::string()> readyz_line;
    std::function<std::string()> metrics;
    std::function<std::string()> json;
  };
  void set_shared_state(SharedStateSource source) { shared_state_ = std::move(source); }

 private:
  AdminResponse status();
  // nullopt when the caller holds the admin token; else the refusal.
  std::optional<AdminResponse> refuse_unless_admin(std::string_view authorization) const;
  AdminResponse keys(const AdminRequest& request, std::string_view rest);

  router::Router& router_;
  Reloader& reloader_;
  const metrics::AgentMetrics& metrics_;
  const server::SpopStats* spop_;
  Readiness readiness_;
  const RecentEvents* recent_events_;
  SharedStateSource shared_state_;
};

}  // namespace keymux::admin
