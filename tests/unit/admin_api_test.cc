// The admin API without sockets: a router on a fake clock, a reloader reading
// an in-memory file, requests in, responses out.
#include "agent/admin/admin_api.h"

#include <gtest/gtest.h>

#include <cctype>
#include <map>
#include <memory>
#include <string>

#include "agent/admin/key_event_log.h"
#include "agent/admin/recent_events.h"
#include "agent/config/token_sha256.h"
#include "agent/version.h"

namespace keymux::admin {
namespace {

using std::chrono::seconds;

constexpr std::string_view kAdminToken = "admin-token-under-test";

std::string ConfigText(std::string_view keys_yaml, bool with_admin = true) {
  std::string text = R"(
providers:
  - name: p
    backend: be_p
    auth: bearer
    keys:
)" + std::string(keys_yaml) +
                     R"(
routes:
  - models: ["*"]
    default: true
    targets: [{provider: p}]
clients:
  - name: app
    token_sha256: ")" +
                     config::to_hex(config::sha256("client-token-under-test")) + R"("
    rpm: 10
)";
  if (with_admin) {
    text += "admin:\n  token_sha256: \"" + config::to_hex(config::sha256(kAdminToken)) + "\"\n";
  }
  return text;
}

constexpr std::string_view kTwoKeys =
    "      - {id: k1, secret: sk-live-one-secret}\n      - {id: k2, secret: sk-live-two-secret}";

struct AdminRig {
  // `haproxy`: the files --haproxy-config names, with their text.
  explicit AdminRig(std::string text, std::map<std::string, std::string> haproxy = {}) {
    files["/etc/keymux.yaml"] = std::move(text);
    for (auto& [path, cfg] : haproxy) {
      haproxy_files.push_back(path);
      files[path] = std::move(cfg);
    }
    env.unset_variable_hint = " in the agent's environment";
    env.get_variable = [](const std::string&) { return std::nullopt; };
    env.read_file = [this](const std::string& path,
                           std::string& error) -> std::optional<std::string> {
      const auto it = files.find(path);
      if (it == files.end()) {
        error = "no such file";
        return std::nullopt;
      }
      return it->second;
    };
    config::LoadResult loaded = config::load_config_file("/etc/keymux.yaml", env);
    EXPECT_TRUE(loaded.errors.empty()) << config::format_error(loaded.errors.front());
    router = std::make_unique<router::Router>(
        clock, router::Snapshot::build(*loaded.config, keys, clients), keys);
    router->set_event_sink(&event_log);
    reloader = std::make_unique<Reloader>("/etc/keymux.yaml", env, haproxy_files, *router, keys,
                                          clients, metrics, &recent);
    reloader->start(*loaded.config);
    api = std::make_unique<AdminApi>(
        *router, *reloader, metrics, &spop, [this] { return not_ready; }, &recent);
  }

  AdminResponse Get(std::string_view path, std::string_view auth = "") {
    return api->handle({"GET", path, auth});
  }
  AdminResponse Post(std::string_view path, std::string_view auth = "") {
    return api->handle({"POST", path, auth});
  }
  static std::string Bearer() { return "Bearer " + std::string(kAdminToken); }

  std::map<std::string, std::string> files;
  router::FakeClock clock;
  router::KeyRegistry keys;
  router::ClientRegistry clients;
  metrics::AgentMetrics metrics;
  server::SpopStats spop;
  RecentEvents recent;
  KeyEventLog event_log{&recent};
  std::string not_ready;
  config::Environment env;
  std::vector<std::string> haproxy_files;  // as --haproxy-config gives them
  std::unique_ptr<router::Router> router;
  std::unique_ptr<Reloader> reloader;
  std::unique_ptr<AdminApi> api;
};

TEST(AdminApiTest, HealthReadinessAndMetricsAreOpen) {
  AdminRig rig(ConfigText(kTwoKeys));
  EXPECT_EQ(rig.Get("/healthz").status, 200);
  EXPECT_EQ(rig.Get("/readyz").status, 200);
  rig.not_ready = "the SPOP workers are not running";
  const AdminResponse not_ready = rig.Get("/readyz");
  EXPECT_EQ(not_ready.status, 503);
  EXPECT_NE(not_ready.body.find("SPOP workers"), std::string::npos);

  const AdminResponse metrics = rig.Get("/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_TRUE(metrics.content_type.starts_with("text/plain; version=0.0.4"));
  EXPECT_NE(metrics.body.find("keymux_key_state{key=\"k1\",provider=\"p\"} 0\n"),
            std::string::npos);
  EXPECT_NE(metrics.body.find("keymux_spop_connections 0\n"), std::string::npos);
  EXPECT_EQ(metrics.body.find("sk-live"), std::string::npos);
  EXPECT_EQ(rig.api->handle({"POST", "/metrics", ""}).status, 405);
}

// With state: a line in /readyz (still 200), families in /metrics, GET /v1/state;
// without it /v1/state says so.
TEST(AdminApiTest, SharedStateShowsWhereConfigured) {
  AdminRig rig(ConfigText(kTwoKeys));
  EXPECT_EQ(rig.Get("/readyz").body, "ready\n");
  const AdminResponse none = rig.Get("/v1/state", AdminRig::Bearer());
  EXPECT_EQ(none.status, 404);
  EXPECT_NE(none.body.find("state_not_configured"), std::string::npos);
  rig.api->set_shared_state(
      {[] { return std::string("redis: degraded (node n, live nodes: 1)\n"); },
       [] { return std::string("keymux_state_healthy{node=\"n\"} 0\n"); },
       [] { return std::string("{\"mode\":\"degraded\"}"); }});
  const AdminResponse ready = rig.Get("/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.body, "ready\nredis: degraded (node n, live nodes: 1)\n");
  EXPECT_NE(rig.Get("/metrics").body.find("keymux_state_healthy{node=\"n\"} 0\n"),
            std::string::npos);
  EXPECT_EQ(rig.Get("/v1/state").status, 401);
  EXPECT_EQ(rig.Get("/v1/state", AdminRig::Bearer()).body, "{\"mode\":\"degraded\"}");
}

TEST(AdminApiTest, V1EndpointsNeedTheAdminToken) {
  AdminRig rig(ConfigText(kTwoKeys));
  const AdminResponse missing = rig.Get("/v1/keys");
  EXPECT_EQ(missing.status, 401);
  EXPECT_NE(missing.body.find("missing_admin_token"), std::string::npos);
  const AdminResponse wrong = rig.Get("/v1/keys", "Bearer not-the-token");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_NE(wrong.body.find("invalid_admin_token"), std::string::npos);
  // A client's token is not an admin token.
  EXPECT_EQ(rig.Get("/v1/clients", "Bearer client-token-under-test").status, 401);
  EXPECT_EQ(rig.Post("/v1/reload", "Basic abc").status, 401);
  EXPECT_EQ(rig.Get("/v1/keys", "bearer  " + std::string(kAdminToken) + " ").status, 200);
  EXPECT_EQ(rig.Get("/v1/nothing", AdminRig::Bearer()).status, 404);
  EXPECT_EQ(rig.Get("/nothing").status, 404);
}

TEST(AdminApiTest, WithoutAnAdminTokenConfiguredV1IsClosed) {
  AdminRig rig(ConfigText(kTwoKeys, /*with_admin=*/false));
  const AdminResponse r = rig.Get("/v1/keys", AdminRig::Bearer());
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("admin_token_not_configured"), std::string::npos);
  EXPECT_EQ(rig.Get("/metrics").status, 200);
}

TEST(AdminApiTest, KeysShowStateAndFingerprintNeverTheSecret) {
  AdminRig rig(ConfigText(kTwoKeys));
  router::SettleRequest settle;
  settle.key_id = "k2";
  settle.status = 429;
  rig.router->settle(settle);
  const AdminResponse r = rig.Get("/v1/keys", AdminRig::Bearer());
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body.find("sk-live"), std::string::npos);
  EXPECT_NE(r.body.find("\"id\":\"k1\",\"provider\":\"p\",\"fingerprint\":\"" +
                        router::key_fingerprint("sk-live-one-secret") + "\",\"state\":\"ok\""),
            std::string::npos);
  EXPECT_NE(r.body.find("\"id\":\"k2\""), std::string::npos);
  EXPECT_NE(r.body.find("\"state\":\"cooling\""), std::string::npos);
  EXPECT_NE(r.body.find("\"cooldown_cause\":\"rate_limited\""), std::string::npos);
  EXPECT_NE(r.body.find("\"cooldown_seconds\":10"), std::string::npos);

  const AdminResponse one = rig.Get("/v1/keys/k1", AdminRig::Bearer());
  EXPECT_EQ(one.status, 200);
  EXPECT_TRUE(one.body.starts_with("{\"id\":\"k1\""));
  EXPECT_EQ(rig.Get("/v1/keys/zz", AdminRig::Bearer()).status, 404);
  EXPECT_EQ(rig.Post("/v1/keys", AdminRig::Bearer()).status, 405);
}

TEST(AdminApiTest, AnEjectedKeyShowsItsHealth) {
  AdminRig rig(ConfigText(kTwoKeys));
  router::SettleRequest settle;
  settle.key_id = "k1";
  settle.status = 502;
  for (int i = 0; i < 5; ++i) rig.router->settle(settle);
  const AdminResponse r = rig.Get("/v1/keys/k1", AdminRig::Bearer());
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("\"state\":\"ejected\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"health\":\"ejected\",\"ejected_until\":\""), std::string::npos);
  EXPECT_NE(r.body.find("\"ejections_total\":1"), std::string::npos);
  EXPECT_NE(r.body.find("\"cooldown_cause\":null"), std::string::npos);
  const AdminResponse k2 = rig.Get("/v1/keys/k2", AdminRig::Bearer());
  EXPECT_NE(k2.body.find("\"health\":\"serving\",\"ejected_until\":null"), std::string::npos)
      << k2.body;
  EXPECT_NE(rig.Get("/metrics").body.find("keymux_key_state{key=\"k1\",provider=\"p\"} 3\n"),
            std::string::npos);
}

TEST(AdminApiTest, DisableAndEnableAKey) {
  AdminRig rig(ConfigText(kTwoKeys));
  const AdminResponse disabled = rig.Post("/v1/keys/k1/disable", AdminRig::Bearer());
  ASSERT_EQ(disabled.status, 200);
  EXPECT_NE(disabled.body.find("\"state\":\"quarantined\""), std::string::npos);
  EXPECT_NE(disabled.body.find("\"quarantine_reason\":\"disabled by operator\""),
            std::string::npos);
  for (int i = 0; i < 4; ++i) {
    router::RouteRequest request;
    request.model = "m";
    request.body_size = 10;
    request.client_token = "client-token-under-test";
    const router::Decision d = rig.router->decide(request);
    ASSERT_TRUE(d.routed());
    EXPECT_EQ(d.key->id, "k2");
  }
  EXPECT_EQ(rig.Get("/v1/keys/k1/disable", AdminRig::Bearer()).status, 405);
  EXPECT_EQ(rig.Post("/v1/keys/k1/explode", AdminRig::Bearer()).status, 404);
  const AdminResponse enabled = rig.Post("/v1/keys/k1/enable", AdminRig::Bearer());
  EXPECT_EQ(enabled.status, 200);
  EXPECT_NE(enabled.body.find("\"state\":\"ok\""), std::string::npos);
}

TEST(AdminApiTest, ClientsShowUsageWithoutTokens) {
  AdminRig rig(ConfigText(kTwoKeys));
  const AdminResponse r = rig.Get("/v1/clients", AdminRig::Bearer());
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("\"name\":\"app\""), std::string::npos);
  EXPECT_NE(r.body.find("\"limits\":{\"rpm\":10,\"tpm\":null"), std::string::npos);
  EXPECT_EQ(r.body.find(config::to_hex(config::sha256("client-token-under-test"))),
            std::string::npos);
  EXPECT_EQ(r.body.find("client-token-under-test"), std::string::npos);
}

TEST(AdminApiTest, ReloadKeepsStatesOfKeptKeysAndRejectsABadFile) {
  AdminRig rig(ConfigText(kTwoKeys));
  ASSERT_EQ(rig.Post("/v1/keys/k1/disable", AdminRig::Bearer()).status, 200);

  // k2 leaves, k3 arrives, k1 stays (and stays quarantined).
  rig.files["/etc/keymux.yaml"] = ConfigText(
      "      - {id: k1, secret: sk-live-one-secret}\n      - {id: k3, secret: sk-live-3}");
  const AdminResponse ok = rig.Post("/v1/reload", AdminRig::Bearer());
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_NE(ok.body.find("\"result\":\"reloaded\""), std::string::npos);
  EXPECT_NE(ok.body.find("1 provider, 2 keys, 1 route, 1 client"), std::string::npos) << ok.body;
  EXPECT_NE(ok.body.find("\"changes\":[\"key k3 added\",\"key k2 removed\"]"), std::string::npos)
      << ok.body;
  const AdminResponse keys = rig.Get("/v1/keys", AdminRig::Bearer());
  EXPECT_EQ(keys.body.find("\"id\":\"k2\""), std::string::npos);
  EXPECT_NE(keys.body.find("\"id\":\"k3\""), std::string::npos);
  EXPECT_NE(rig.Get("/v1/keys/k1", AdminRig::Bearer()).body.find("disabled by operator"),
            std::string::npos);
  EXPECT_EQ(rig.metrics.reloads_succeeded.load(), 1u);

  // A route to a provider nobody defined: rejected, the old config serves on.
  std::string broken = ConfigText("      - {id: k1, secret: sk-live-one-secret}");
  broken.replace(broken.find("targets: [{provider: p}]"), 24, "targets: [{provider: q}]");
  rig.files["/etc/keymux.yaml"] = broken;
  const AdminResponse rejected = rig.Post("/v1/reload", AdminRig::Bearer());
  EXPECT_EQ(rejected.status, 422);
  EXPECT_NE(rejected.body.find("\"result\":\"rejected\""), std::string::npos);
  EXPECT_NE(rejected.body.find("/etc/keymux.yaml:"), std::string::npos);
  EXPECT_EQ(rejected.body.find("sk-live"), std::string::npos);
  EXPECT_EQ(rig.metrics.reloads_failed.load(), 1u);
  EXPECT_FALSE(rig.metrics.last_reload_ok.load());
  EXPECT_NE(rig.Get("/v1/keys", AdminRig::Bearer()).body.find("\"id\":\"k3\""), std::string::npos);
  // The admin token of the configuration in service still works.
  rig.files.erase("/etc/keymux.yaml");
  const AdminResponse unreadable = rig.Post("/v1/reload", AdminRig::Bearer());
  EXPECT_EQ(unreadable.status, 422);
  EXPECT_NE(unreadable.body.find("cannot read the configuration"), std::string::npos);
}

// The HAProxy files the agent was started with are checked again at every
// reload: a misspelt backend is refused at its YAML line, not found by traffic.
// The Redis client was set up with the start's state: a reload may not change it.
TEST(AdminApiTest, ReloadRejectsAnotherState) {
  AdminRig rig(ConfigText(kTwoKeys) + "state:\n  redis: 127.0.0.1:7000\n");
  ASSERT_EQ(rig.Post("/v1/reload", AdminRig::Bearer()).status, 200);
  rig.files["/etc/keymux.yaml"] = ConfigText(kTwoKeys) + "state:\n  redis: 127.0.0.1:7001\n";
  const AdminResponse rejected = rig.Post("/v1/reload", AdminRig::Bearer());
  EXPECT_NE(rejected.status, 200);
  EXPECT_NE(rejected.body.find("state: differs from the one the agent started with"),
            std::string::npos)
      << rejected.body;
}

TEST(AdminApiTest, ReloadChecksTheBackendsAgainstTheHaproxyFiles) {
  AdminRig rig(ConfigText(kTwoKeys),
               {{"/etc/haproxy/haproxy.cfg", "backend be_p\n    server s 127.0.0.1:1\n"}});
  std::string misspelt = ConfigText(kTwoKeys);
  misspelt.replace(misspelt.find("backend: be_p"), 13, "backend: be_q");
  rig.files["/etc/keymux.yaml"] = misspelt;
  const AdminResponse rejected = rig.Post("/v1/reload", AdminRig::Bearer());
  EXPECT_EQ(rejected.status, 422) << rejected.body;
  EXPECT_NE(rejected.body.find("/etc/keymux.yaml:4:14: provider 'p' uses backend 'be_q', which "
                               "the HAProxy configuration (/etc/haproxy/haproxy.cfg) does not "
                               "define"),
            std::string::npos)
      << rejected.body;
  EXPECT_NE(rejected.body.find("did you mean 'be_p'?"), std::string::npos) << rejected.body;
  rig.files["/etc/keymux.yaml"] = ConfigText(kTwoKeys);
  EXPECT_EQ(rig.Post("/v1/reload", AdminRig::Bearer()).status, 200);
}

// A variable exported after the agent started is not seen by a reload: say so.
TEST(AdminApiTest, ReloadSaysWhichEnvironmentLacksAVariable) {
  AdminRig rig(ConfigText(kTwoKeys));
  rig.files["/etc/keymux.yaml"] = ConfigText("      - {id: k1, secret: \"${NEW_KEY}\"}");
  const AdminResponse rejected = rig.Post("/v1/reload", AdminRig::Bearer());
  EXPECT_EQ(rejected.status, 422);
  EXPECT_NE(
      rejected.body.find("environment variable NEW_KEY is not set in the agent's environment"),
      std::string::npos)
      << rejected.body;
}

// The gateway secret is the start's: a reload that would add, change or drop
// it is rejected (without showing it), one that keeps it goes through.
TEST(AdminApiTest, ReloadMayNotChangeTheGatewaySecret) {
  const std::string spop = "spop:\n  secret: gw-start-0123456789abcdef\n";
  AdminRig rig(ConfigText(kTwoKeys) + spop);
  for (const std::string& text :
       {ConfigText(kTwoKeys),
        ConfigText(kTwoKeys) + "spop:\n  secret: gw-other-0123456789abcdef\n"}) {
    rig.files["/etc/keymux.yaml"] = text;
    const AdminResponse rejected = rig.Post("/v1/reload", AdminRig::Bearer());
    EXPECT_EQ(rejected.status, 422) << text;
    EXPECT_NE(rejected.body.find("spop: the gateway secret differs from the one the agent "
                                 "started with"),
              std::string::npos)
        << rejected.body;
    EXPECT_EQ(rejected.body.find("0123456789abcdef"), std::string::npos) << rejected.body;
  }
  EXPECT_EQ(rig.metrics.reloads_failed.load(), 2u);
  rig.files["/etc/keymux.yaml"] = ConfigText(kTwoKeys) + spop;
  EXPECT_EQ(rig.Post("/v1/reload", AdminRig::Bearer()).status, 200);

  AdminRig none(ConfigText(kTwoKeys));
  none.files["/etc/keymux.yaml"] = ConfigText(kTwoKeys) + spop;
  EXPECT_EQ(none.Post("/v1/reload", AdminRig::Bearer()).status, 422);
}

// The text between `open` and the next `close` after it; empty when absent.
std::string Between(const std::string& text, std::string_view open, std::string_view close) {
  const std::size_t start = text.find(open);
  if (start == std::string::npos) return {};
  const std::size_t end = text.find(close, start + open.size());
  if (end == std::string::npos) return {};
  return text.substr(start + open.size(), end - start - open.size());
}

std::string_view Header(const AdminResponse& response, std::string_view name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return {};
}

TEST(AdminStatusPageTest, PageScriptAndStyleAreOpenAndApart) {
  AdminRig rig(ConfigText(kTwoKeys));
  const AdminResponse page = rig.Get("/");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("<script src=\"/ui/app.js\" defer></script>"), std::string::npos);
  EXPECT_NE(page.body.find("<link rel=\"stylesheet\" href=\"/ui/app.css\">"), std::string::npos);
  // No inline script or style: the Content-Security-Policy forbids them.
  for (std::size_t at = page.body.find("<script"); at != std::string::npos;
       at = page.body.find("<script", at + 1)) {
    EXPECT_EQ(page.body.compare(at, 13, "<script src=\""), 0) << page.body.substr(at, 40);
  }
  EXPECT_EQ(page.body.find("<style"), std::string::npos);
  EXPECT_EQ(page.body.find(" style="), std::string::npos);
  // No event handler attribute (onclick= and the like).
  for (std::size_t at = page.body.find(" on"); at != std::string::npos;
       at = page.body.find(" on", at + 1)) {
    std::size_t end = at + 3;
    while (end < page.body.size() && std::isalpha(static_cast<unsigned char>(page.body[end]))) {
      ++end;
    }
    EXPECT_NE(page.body[end], '=') << page.body.substr(at, 20);
  }
  EXPECT_EQ(rig.Get("/index.html").body, page.body);

  const AdminResponse script = rig.Get("/ui/app.js");
  ASSERT_EQ(script.status, 200);
  EXPECT_EQ(script.content_type, "text/javascript; charset=utf-8");
  EXPECT_NE(script.body.find("'/v1/status'"), std::string::npos);
  // Data goes into the page as text only.
  EXPECT_EQ(script.body.find("innerHTML"), std::string::npos);
  EXPECT_EQ(script.body.find("outerHTML"), std::string::npos);
  EXPECT_EQ(script.body.find("insertAdjacentHTML"), std::string::npos);
  EXPECT_EQ(script.body.find("document.write"), std::string::npos);
  // The token lives in this tab's sessionStorage, never in localStorage.
  EXPECT_NE(script.body.find("sessionStorage"), std::string::npos);
  EXPECT_EQ(script.body.find("localStorage"), std::string::npos);
  const AdminResponse style = rig.Get("/ui/app.css");
  ASSERT_EQ(style.status, 200);
  EXPECT_EQ(style.content_type, "text/css; charset=utf-8");
  EXPECT_EQ(rig.api->handle({"HEAD", "/ui/app.css", ""}).status, 200);
  EXPECT_EQ(rig.Post("/").status, 405);
  EXPECT_EQ(rig.Get("/ui/other.js").status, 404);
}

TEST(AdminStatusPageTest, EveryAnswerCarriesTheSecurityHeaders) {
  AdminRig rig(ConfigText(kTwoKeys));
  const AdminResponse answers[] = {
      rig.Get("/"),          rig.Get("/ui/app.js"),
      rig.Get("/v1/status"), rig.Get("/metrics"),
      rig.Get("/nothing"),   rig.Get("/v1/status", AdminRig::Bearer()),
      rig.Post("/healthz"),  rig.Get("/v1/keys/k1", AdminRig::Bearer()),
  };
  for (const AdminResponse& r : answers) {
    EXPECT_EQ(Header(r, "Cache-Control"), "no-store");
    const std::string_view csp = Header(r, "Content-Security-Policy");
    EXPECT_TRUE(csp.starts_with("default-src 'none'; script-src 'self'; style-src 'self';")) << csp;
    EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string_view::npos);
    EXPECT_EQ(csp.find("unsafe"), std::string_view::npos);
    EXPECT_EQ(Header(r, "X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(Header(r, "X-Frame-Options"), "DENY");
  }
}

TEST(AdminStatusPageTest, StatusNeedsTheTokenAndHoldsAllThePageShows) {
  AdminRig rig(ConfigText(kTwoKeys));
  EXPECT_EQ(rig.Get("/v1/status").status, 401);
  EXPECT_EQ(rig.Get("/v1/status", "Bearer wrong").status, 401);
  EXPECT_EQ(rig.Post("/v1/status", AdminRig::Bearer()).status, 405);

  const AdminResponse r = rig.Get("/v1/status", AdminRig::Bearer());
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_TRUE(r.body.starts_with("{\"version\":\"" + std::string(kAgentVersion) +
                                 "\",\"now\":\"2023-11-14T22:13:20.000Z\""))
      << r.body;
  EXPECT_NE(r.body.find("\"config\":{\"name\":\"/etc/keymux.yaml\",\"reload\":{\"at\":"
                        "\"2023-11-14T22:13:20.000Z\",\"ok\":true,\"detail\":\"1 provider, "
                        "2 keys, 1 route, 1 client\"}}"),
            std::string::npos)
      << r.body;
  EXPECT_NE(
      r.body.find("\"providers\":[{\"name\":\"p\",\"health\":\"ok\",\"keys\":2,"
                  "\"keys_ok\":2,\"keys_cooling\":0,\"keys_quarantined\":0,\"keys_ejected\":0,"
                  "\"ejections_total\":0}]"),
      std::string::npos)
      << r.body;
  // The keys exactly as GET /v1/keys writes them (one serializer), the clients
  // as GET /v1/clients.
  const std::string keys = rig.Get("/v1/keys", AdminRig::Bearer()).body;
  ASSERT_TRUE(keys.starts_with("{\"keys\":[{") && keys.ends_with("]}"));
  EXPECT_EQ(Between(r.body, "}],\"keys\":", ",\"clients\":"), keys.substr(8, keys.size() - 9));
  const std::string clients = rig.Get("/v1/clients", AdminRig::Bearer()).body;
  ASSERT_TRUE(clients.starts_with("{\"clients\":[{") && clients.ends_with("]}"));
  EXPECT_EQ(Between(r.body, ",\"clients\":", ",\"events\":"),
            clients.substr(11, clients.size() - 12));
  // The start is the first state change.
  EXPECT_NE(r.body.find("\"events\":[{\"at\":\"2023-11-14T22:13:20.000Z\",\"kind\":\"reload\","
                        "\"key\":\"\",\"provider\":\"\",\"detail\":\"configuration loaded: 1 "
                        "provider, 2 keys, 1 route, 1 client\"}]}"),
            std::string::npos)
      << r.body;
  EXPECT_EQ(r.body.find("sk-live"), std::string::npos);
  EXPECT_EQ(r.body.find("client-token-under-test"), std::string::npos);
  EXPECT_EQ(r.body.find(config::to_hex(config::sha256("client-token-under-test"))),
            std::string::npos);
}

TEST(AdminStatusPageTest, StatusFollowsStateChangesNewestFirstAndReloads) {
  AdminRig rig(ConfigText(kTwoKeys));
  rig.clock.advance(seconds(5));
  ASSERT_EQ(rig.Post("/v1/keys/k1/disable", AdminRig::Bearer()).status, 200);
  std::string body = rig.Get("/v1/status", AdminRig::Bearer()).body;
  EXPECT_NE(body.find("\"health\":\"degraded\",\"keys\":2,\"keys_ok\":1,\"keys_cooling\":0,"
                      "\"keys_quarantined\":1"),
            std::string::npos)
      << body;
  EXPECT_NE(body.find("\"events\":[{\"at\":\"2023-11-14T22:13:25.000Z\",\"kind\":\"disabled\","
                      "\"key\":\"k1\",\"provider\":\"p\",\"detail\":\"key k1 (provider p) "
                      "quarantined: disabled by operator\"},{"),
            std::string::npos)
      << body;
  ASSERT_EQ(rig.Post("/v1/keys/k2/disable", AdminRig::Bearer()).status, 200);
  body = rig.Get("/v1/status", AdminRig::Bearer()).body;
  EXPECT_NE(body.find("\"health\":\"down\""), std::string::npos) << body;
  rig.clock.advance(seconds(1));
  ASSERT_EQ(rig.Post("/v1/keys/k1/enable", AdminRig::Bearer()).status, 200);
  body = rig.Get("/v1/status", AdminRig::Bearer()).body;
  EXPECT_NE(body.find("\"events\":[{\"at\":\"2023-11-14T22:13:26.000Z\",\"kind\":\"enabled\","
                      "\"key\":\"k1\""),
            std::string::npos)
      << body;

  // A rejected reload: said in the status and the events; the old config serves on.
  rig.clock.advance(seconds(1));
  rig.files["/etc/keymux.yaml"] = "providers: [";
  ASSERT_EQ(rig.Post("/v1/reload", AdminRig::Bearer()).status, 422);
  body = rig.Get("/v1/status", AdminRig::Bearer()).body;
  EXPECT_NE(body.find("\"reload\":{\"at\":\"2023-11-14T22:13:27.000Z\",\"ok\":false,"
                      "\"detail\":\"/etc/keymux.yaml:"),
            std::string::npos)
      << body;
  EXPECT_NE(body.find("\"events\":[{\"at\":\"2023-11-14T22:13:27.000Z\",\"kind\":\"reload\","
                      "\"key\":\"\",\"provider\":\"\",\"detail\":\"configuration reload "
                      "rejected: /etc/keymux.yaml:"),
            std::string::npos)
      << body;
  EXPECT_NE(body.find("\"id\":\"k2\""), std::string::npos);
  // Then a good one.
  rig.files["/etc/keymux.yaml"] = ConfigText(kTwoKeys);
  ASSERT_EQ(rig.Post("/v1/reload", AdminRig::Bearer()).status, 200);
  body = rig.Get("/v1/status", AdminRig::Bearer()).body;
  EXPECT_NE(body.find("\"ok\":true,\"detail\":\"1 provider, 2 keys"), std::string::npos);
}

TEST(RecentEventsTest, KeepsTheNewestFirstWithinItsCapacityEscaped) {
  RecentEvents recent(3);
  EXPECT_EQ(recent.json(), "[]");
  const router::Time t0(std::chrono::seconds(1'700'000'000));
  for (int i = 0; i < 5; ++i) {
    recent.add({t0 + seconds(i), "cooling", "k" + std::to_string(i), "p",
                "line \"" + std::to_string(i) + "\" <b>"});
  }
  const std::string json = recent.json();
  EXPECT_TRUE(
      json.starts_with("[{\"at\":\"2023-11-14T22:13:24.000Z\",\"kind\":\"cooling\","
                       "\"key\":\"k4\",\"provider\":\"p\",\"detail\":\"line \\\"4\\\" <b>\"}"))
      << json;
  EXPECT_NE(json.find("\"key\":\"k2\""), std::string::npos);
  EXPECT_EQ(json.find("\"key\":\"k1\""), std::string::npos);  // fell out
  EXPECT_LT(json.find("\"key\":\"k3\""), json.find("\"key\":\"k2\""));
}

}  // namespace
}  // namespace keymux::admin
