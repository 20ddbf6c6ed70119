// The admin API without sockets: a router on a fake clock, a reloader reading
// an in-memory file, requests in, responses out.
#include "agent/admin/admin_api.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "agent/config/token_sha256.h"

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
  explicit AdminRig(std::string text) {
    files["/etc/keymux.yaml"] = std::move(text);
    config::Environment env;
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
    reloader = std::make_unique<Reloader>("/etc/keymux.yaml", env, *router, keys, clients, metrics);
    reloader->start(*loaded.config);
    api = std::make_unique<AdminApi>(*router, *reloader, metrics, &spop,
                                     [this] { return not_ready; });
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
  std::string not_ready;
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
  EXPECT_NE(ok.body.find("1 providers, 2 keys"), std::string::npos);
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

}  // namespace
}  // namespace keymux::admin
