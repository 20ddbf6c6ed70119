// libFuzzer target: the admin API's request handling (path dispatch, key ids,
// the Authorization header, the status page and GET /v1/status). The input is
// split on its first two '\n' into method, path and Authorization. Nothing may
// crash, every answer is a known status with the security headers, and no
// answer ever holds the key's secret.
#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "agent/admin/admin_api.h"
#include "agent/admin/key_event_log.h"
#include "agent/config/loader.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace keymux;

constexpr std::string_view kSecret = "sk-fuzz-secret-value";
constexpr std::string_view kConfig = R"(
providers:
  - name: p
    backend: be_p
    auth: bearer
    keys: [{id: k1, secret: sk-fuzz-secret-value}, {id: k.2, secret: sk-other}]
routes:
  - models: ["*"]
    targets: [{provider: p}]
allow_anonymous: true
admin:
  token_sha256: "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b"
)";  // sha256("secret")

struct World {
  World() {
    spdlog::set_level(spdlog::level::off);  // key events are logged; not worth a line per run
    const config::Environment env = config::Environment::process();
    config::LoadResult loaded = config::load_config_text(kConfig, "fuzz.yaml", env);
    FUZZ_CHECK(loaded.config.has_value());
    router = std::make_unique<router::Router>(
        clock, router::Snapshot::build(*loaded.config, keys, clients), keys);
    // Reloads read a file that does not exist: always rejected, never a change.
    router->set_event_sink(&event_log);
    reloader = std::make_unique<admin::Reloader>("/nonexistent/keymux-fuzz.yaml", env,
                                                 std::vector<std::string>{}, *router, keys, clients,
                                                 metrics, &recent);
    reloader->start(*loaded.config);
    api = std::make_unique<admin::AdminApi>(
        *router, *reloader, metrics, nullptr, [] { return std::string(); }, &recent);
  }
  router::FakeClock clock;
  router::KeyRegistry keys;
  router::ClientRegistry clients;
  metrics::AgentMetrics metrics;
  admin::RecentEvents recent{16};  // small: the fuzzer fills it quickly
  admin::KeyEventLog event_log{&recent};
  std::unique_ptr<router::Router> router;
  std::unique_ptr<admin::Reloader> reloader;
  std::unique_ptr<admin::AdminApi> api;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static World world;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view parts[3];
  for (int i = 0; i < 2; ++i) {
    const std::size_t newline = input.find('\n');
    parts[i] = input.substr(0, newline);
    input = newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);
  }
  parts[2] = input;
  const admin::AdminResponse response = world.api->handle({parts[0], parts[1], parts[2]});
  const int s = response.status;
  FUZZ_CHECK(s == 200 || s == 401 || s == 403 || s == 404 || s == 405 || s == 422 || s == 503);
  FUZZ_CHECK(response.body.find(kSecret) == std::string::npos);
  FUZZ_CHECK(!response.content_type.empty());
  FUZZ_CHECK(response.headers.size() == std::size(admin::kResponseHeaders));
  return 0;
}
