#include "agent/admin/admin_api.h"

#include <openssl/crypto.h>

#include "agent/admin/metrics_page.h"
#include "agent/admin/state_json.h"
#include "agent/admin/status_json.h"
#include "agent/admin/ui_assets.h"
#include "agent/handler/error_body.h"
#include "agent/metrics/prometheus_text.h"
#include "agent/version.h"

namespace keymux::admin {
namespace {

constexpr std::string_view kKeysPrefix = "/v1/keys";

AdminResponse error(int status, std::string_view code, std::string_view message) {
  std::string body = "{\"error\":{\"code\":\"";
  handler::append_json_escaped(body, code);
  body += "\",\"message\":\"";
  handler::append_json_escaped(body, message);
  body += "\"}}";
  return {status, "application/json", std::move(body)};
}

AdminResponse text(int status, std::string body) {
  return {status, "text/plain; charset=utf-8", std::move(body)};
}

AdminResponse wrong_method(std::string_view allowed) {
  return error(405, "method_not_allowed", "Use " + std::string(allowed) + " here.");
}

bool iequals_prefix(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

// The token of "Bearer <token>", trimmed; empty when the header is not one.
std::string_view bearer_token(std::string_view header) {
  constexpr std::string_view kBearer = "bearer ";
  if (!iequals_prefix(header, kBearer)) return {};
  std::string_view token = header.substr(kBearer.size());
  while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
  return token;
}

}  // namespace

AdminApi::AdminApi(router::Router& router, Reloader& reloader, const metrics::AgentMetrics& metrics,
                   const server::SpopStats* spop, Readiness readiness,
                   const RecentEvents* recent_events)
    : router_(router),
      reloader_(reloader),
      metrics_(metrics),
      spop_(spop),
      readiness_(std::move(readiness)),
      recent_events_(recent_events) {}

std::optional<AdminResponse> AdminApi::refuse_unless_admin(std::string_view authorization) const {
  const std::optional<config::Sha256> expected = reloader_.admin_token();
  if (!expected) {
    return error(403, "admin_token_not_configured",
                 "The admin API is closed: set admin.token_sha256 in the configuration "
                 "(keymux-agent hash-token prints it) and reload.");
  }
  const std::string_view token = bearer_token(authorization);
  if (token.empty()) {
    return error(401, "missing_admin_token", "Send the admin token as 'Authorization: Bearer'.");
  }
  const config::Sha256 digest = config::sha256(token);
  if (CRYPTO_memcmp(digest.data(), expected->data(), digest.size()) != 0) {
    return error(401, "invalid_admin_token", "The admin token is not valid.");
  }
  return std::nullopt;
}

AdminResponse AdminApi::status() {
  const std::shared_ptr<const router::Snapshot> snapshot = router_.snapshot();
  const ReloadRecord reload = reloader_.last_reload();
  const std::string events = recent_events_ != nullptr ? recent_events_->json() : "[]";
  return {200, "application/json",
          status_json({*snapshot, router_.clock().now(), kAgentVersion, reloader_.config_name(),
                       reload, events})};
}

AdminResponse AdminApi::handle(const AdminRequest& request) {
  const std::string_view path = request.path;
  if (const UiAsset* asset = find_ui_asset(path)) {
    if (request.method != "GET" && request.method != "HEAD") return wrong_method("GET");
    return {200, std::string(asset->content_type), std::string(asset->body)};
  }
  if (path == "/healthz") {
    if (request.method != "GET" && request.method != "HEAD") return wrong_method("GET");
    return text(200, "ok\n");
  }
  if (path == "/readyz") {
    if (request.method != "GET" && request.method != "HEAD") return wrong_method("GET");
    const std::string why = readiness_ ? readiness_() : std::string();
    const std::string shared = shared_state_.readyz_line ? shared_state_.readyz_line() : "";
    return why.empty() ? text(200, "ready\n" + shared)
                       : text(503, "not ready: " + why + "\n" + shared);
  }
  if (path == "/metrics") {
    if (request.method != "GET" && request.method != "HEAD") return wrong_method("GET");
    const std::shared_ptr<const router::Snapshot> snapshot = router_.snapshot();
    std::string body = render_metrics({*snapshot, router_.clock().now(), metrics_, spop_});
    if (shared_state_.metrics) body += shared_state_.metrics();
    return {200, std::string(metrics::kPrometheusContentType), std::move(body)};
  }
  if (!path.starts_with("/v1/")) return error(404, "not_found", "No such endpoint.");

  if (auto refusal = refuse_unless_admin(request.authorization)) return *refusal;
  if (path == kKeysPrefix || path.starts_with(std::string(kKeysPrefix) + "/")) {
    return keys(request, path.substr(kKeysPrefix.size()));
  }
  if (path == "/v1/status") {
    if (request.method != "GET") return wrong_method("GET");
    return status();
  }
  if (path == "/v1/state") {
    if (request.method != "GET") return wrong_method("GET");
    if (!shared_state_.json) {
      return error(404, "state_not_configured",
                   "No state: in the configuration; this gateway shares nothing.");
    }
    return {200, "application/json", shared_state_.json()};
  }
  if (path == "/v1/clients") {
    if (request.method != "GET") return wrong_method("GET");
    const std::shared_ptr<const router::Snapshot> snapshot = router_.snapshot();
    return {200, "application/json", clients_json(*snapshot, router_.clock().now())};
  }
  if (path == "/v1/reload") {
    if (request.method != "POST") return wrong_method("POST");
    const ReloadResult result = reloader_.reload();
    std::string body;
    if (result.ok) {
      body = "{\"result\":\"reloaded\",\"config\":\"";
      handler::append_json_escaped(body, reloader_.config_name());
      body += "\",\"summary\":\"";
      handler::append_json_escaped(body, result.summary);
      body += "\",\"changes\":" + json_string_array(result.changes) + "}";
      return {200, "application/json", std::move(body)};
    }
    body = "{\"result\":\"rejected\",\"errors\":" + json_string_array(result.errors) + "}";
    return {422, "application/json", std::move(body)};
  }
  return error(404, "not_found", "No such endpoint.");
}

AdminResponse AdminApi::keys(const AdminRequest& request, std::string_view rest) {
  const std::shared_ptr<const router::Snapshot> snapshot = router_.snapshot();
  const router::Time now = router_.clock().now();
  if (rest.empty() || rest == "/") {
    if (request.method != "GET") return wrong_method("GET");
    return {200, "application/json", keys_json(*snapshot, now)};
  }
  rest.remove_prefix(1);  // the '/'
  std::string_view id = rest;
  std::string_view action;
  if (const std::size_t slash = rest.find('/'); slash != std::string_view::npos) {
    id = rest.substr(0, slash);
    action = rest.substr(slash + 1);
  }
  const router::KeyEntry* key = snapshot->find_key(id);
  if (key == nullptr) return error(404, "key_not_found", "No key with this id is configured.");
  if (action.empty()) {
    if (request.method != "GET") return wrong_method("GET");
    return {200, "application/json", key_json(*key, key->state->view(now), now)};
  }
  if (action != "disable" && action != "enable") {
    return error(404, "not_found", "Key actions are 'disable' and 'enable'.");
  }
  if (request.method != "POST") return wrong_method("POST");
  const std::optional<router::KeyView> view = router_.set_key_enabled(id, action == "enable");
  if (!view) return error(404, "key_not_found", "No key with this id is configured.");
  return {200, "application/json", key_json(*key, *view, now)};
}

}  // namespace keymux::admin
