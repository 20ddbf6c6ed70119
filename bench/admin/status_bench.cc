// GET /v1/status through AdminApi::handle (token check, snapshot, every key's
// view and JSON, clients, recent events) at N keys: the agent's cost of one
// poll of the status page, without the network. Target (issue 18): under
// 50 ms at 1,000 keys. bench/status_endpoint.py measures it over HTTP.
//
//   cmake --build build --target admin-bench && build/admin-bench
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "agent/admin/admin_api.h"
#include "agent/admin/recent_events.h"
#include "agent/config/loader.h"
#include "agent/config/token_sha256.h"

namespace keymux::admin {
namespace {

constexpr std::string_view kAdminToken = "bench-admin-token";

// PROVIDERS providers sharing `keys` keys, each with limits (so every field is written).
std::string ConfigText(int keys) {
  const int providers = keys < 10 ? 1 : 10;
  std::string text = "providers:\n";
  for (int p = 0; p < providers; ++p) {
    text += "  - name: provider-" + std::to_string(p) + "\n    backend: be_" + std::to_string(p) +
            "\n    auth: bearer\n    keys:\n";
    for (int k = p; k < keys; k += providers) {
      text += "      - {id: key-" + std::to_string(k) + ", secret: sk-bench-" + std::to_string(k) +
              ", rpm: 600, tpm: 100000}\n";
    }
  }
  text += "routes:\n  - models: ['*']\n    targets:\n";
  for (int p = 0; p < providers; ++p) {
    text += "      - {provider: provider-" + std::to_string(p) + "}\n";
  }
  text += "allow_anonymous: true\nadmin:\n  token_sha256: \"" +
          config::to_hex(config::sha256(kAdminToken)) + "\"\n";
  return text;
}

struct Agent {
  explicit Agent(int keys) {
    const config::Environment env = config::Environment::process();
    config::LoadResult loaded = config::load_config_text(ConfigText(keys), "bench.yaml", env);
    if (!loaded.config) std::abort();
    router = std::make_unique<router::Router>(
        clock, router::Snapshot::build(*loaded.config, registry, clients), registry);
    reloader = std::make_unique<Reloader>("", env, std::vector<std::string>{}, *router, registry,
                                          clients, metrics, &recent);
    reloader->start(*loaded.config);
    api = std::make_unique<AdminApi>(
        *router, *reloader, metrics, nullptr, [] { return std::string(); }, &recent);
    // A full event log: what a busy day leaves.
    for (std::size_t i = 0; i < RecentEvents::kDefaultCapacity; ++i) {
      recent.add({clock.now(), "cooling", "key-1", "provider-1",
                  "key key-1 (provider provider-1) cooling until 2026-12-02T03:00:00.000Z "
                  "(30.0s): rate_limited (upstream 429)"});
    }
  }
  router::FakeClock clock;
  router::KeyRegistry registry;
  router::ClientRegistry clients;
  metrics::AgentMetrics metrics;
  RecentEvents recent;
  std::unique_ptr<router::Router> router;
  std::unique_ptr<Reloader> reloader;
  std::unique_ptr<AdminApi> api;
};

void BM_StatusPoll(benchmark::State& state) {
  Agent agent(static_cast<int>(state.range(0)));
  const std::string authorization = "Bearer " + std::string(kAdminToken);
  std::size_t bytes = 0;
  for (auto _ : state) {
    const AdminResponse response = agent.api->handle({"GET", "/v1/status", authorization});
    if (response.status != 200) std::abort();
    bytes = response.body.size();
    benchmark::DoNotOptimize(response.body.data());
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_StatusPoll)->Arg(10)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace keymux::admin

BENCHMARK_MAIN();
