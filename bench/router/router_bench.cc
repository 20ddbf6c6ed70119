// One decide + settle on a Router with N keys in one route tier: the cost of
// the routing brain per request. Target (issue 3): under 2 us at 1,000 keys.
//
//   cmake -S . -B build-rel -G Ninja -DCMAKE_BUILD_TYPE=Release
//   cmake --build build-rel --target router-bench && build-rel/router-bench
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>

#include "agent/config/token_sha256.h"
#include "agent/router/router.h"
#include "agent/state/shared_key_budget.h"

namespace keymux::router {
namespace {

// rpm per key in the limited variant; the clock moves so that the traffic is
// half of what the keys may take, so windows fill and empty as in service.
constexpr std::uint32_t kRpm = 600;

config::Config MakeConfig(int keys, bool limited) {
  config::Config c;
  config::Provider* p = c.add_providers();
  p->set_name("p");
  p->set_backend("be_p");
  p->set_auth(config::BEARER);
  for (int i = 0; i < keys; ++i) {
    config::Key* k = p->add_keys();
    k->set_id("key-" + std::to_string(i));
    k->set_secret("sk-" + std::to_string(i));
    k->set_weight(1 + i % 4);
    if (limited) {
      k->set_rpm(kRpm);
      k->set_tpm(kRpm * 2000);
      k->set_max_in_flight(16);
    }
  }
  config::Route* r = c.add_routes();
  r->add_models("gpt-*");
  r->set_default_(true);
  config::Target* t = r->add_targets();
  t->set_provider("p");
  t->set_weight(1);
  c.set_allow_anonymous(true);  // these requests carry no client token
  config::Policy* policy = c.mutable_policy();
  policy->set_attempts(3);
  policy->mutable_rate_limit_cooldown()->set_seconds(10);
  policy->mutable_server_error_cooldown()->set_seconds(1);
  policy->mutable_server_error_cooldown_max()->set_seconds(60);
  policy->set_default_max_tokens(256);
  policy->mutable_in_flight_timeout()->set_seconds(330);
  policy->mutable_request_memory()->set_seconds(120);
  policy->set_request_memory_entries(100000);
  return c;
}

// A chat completion as the "route" message carries it (request id set per iteration).
RouteRequest ChatRequest() {
  static constexpr std::string_view kBody = R"({"model":"gpt-4o","max_tokens":200,"messages":[]})";
  RouteRequest request;
  request.method = "POST";
  request.path = "/v1/chat/completions";
  request.model = "gpt-4o";
  request.body_size = 2000;
  request.body_prefix = kBody;
  return request;
}

// One request as the agent serves it: decide, then settle what was routed
// with a 200.
Decision DecideSettle(Router& router, const RouteRequest& request) {
  Decision d = router.decide(request);
  if (d.routed()) {
    SettleRequest settle;
    settle.ticket = d.ticket;
    settle.status = 200;
    settle.key_id = d.key->id;
    router.settle(settle);
  }
  return d;
}

void ReportRouted(benchmark::State& state, std::uint64_t routed) {
  state.counters["routed"] =
      benchmark::Counter(static_cast<double>(routed) / static_cast<double>(state.iterations()));
}

// Args: keys, limited (0/1), with a request id (0/1).
void BM_DecideSettle(benchmark::State& state) {
  const int keys = static_cast<int>(state.range(0));
  const bool limited = state.range(1) != 0;
  const bool with_id = state.range(2) != 0;
  FakeClock clock;
  KeyRegistry registry;
  ClientRegistry clients;
  Router router(clock, Snapshot::build(MakeConfig(keys, limited), registry, clients), registry);
  const Duration step = Duration(std::chrono::seconds(120)) / (std::int64_t{keys} * kRpm);

  RouteRequest request = ChatRequest();
  char id[32];
  std::uint64_t n = 0;
  std::uint64_t routed = 0;
  for (auto _ : state) {
    clock.advance(step);
    if (with_id) {
      const int len = std::snprintf(id, sizeof id, "%016llx", static_cast<unsigned long long>(++n));
      request.request_id = std::string_view(id, static_cast<std::size_t>(len));
    }
    Decision d = DecideSettle(router, request);
    routed += d.routed();
    benchmark::DoNotOptimize(d);
  }
  ReportRouted(state, routed);
}

BENCHMARK(BM_DecideSettle)
    ->ArgNames({"keys", "limited", "request_id"})
    ->ArgsProduct({{10, 1000, 10000}, {0, 1}, {0, 1}});

// As BM_DecideSettle (limited, no id) with every key's budget shared through
// Redis (state:): each admission also takes from the key's slice, which is
// always filled (as refills ahead of need keep it): the decision cost without
// a wait. Args: keys.
void BM_DecideSettleShared(benchmark::State& state) {
  const int keys = static_cast<int>(state.range(0));
  FakeClock clock;
  KeyRegistry registry;
  ClientRegistry clients;
  auto snapshot = Snapshot::build(MakeConfig(keys, true), registry, clients);
  std::vector<std::unique_ptr<state::SharedKeyBudget>> budgets;
  for (const KeyEntry& k : snapshot->keys()) {
    budgets.push_back(std::make_unique<state::SharedKeyBudget>(k.id, state::LeasePolicy{},
                                                               state::DegradedMode::kSplit));
    budgets.back()->set_limits(k.limits);
    budgets.back()->set_healthy(true, 3);
    k.state->set_shared_budget(budgets.back().get());
  }
  Router router(clock, snapshot, registry);
  const Duration step = Duration(std::chrono::seconds(120)) / (std::int64_t{keys} * kRpm);
  Time refill_at{};
  std::uint64_t id = 0;
  const RouteRequest request = ChatRequest();
  std::uint64_t routed = 0;
  for (auto _ : state) {
    clock.advance(step);
    if (clock.now() >= refill_at) {  // a slice per key for the next lifetime
      state.PauseTiming();
      for (auto& b : budgets) {
        b->take_returns(clock.now());
        b->ask_failed();
        b->granted(clock.now(), ++id, 1'000'000, 1'000'000'000);
      }
      refill_at = clock.now() + std::chrono::milliseconds(900);
      state.ResumeTiming();
    }
    Decision d = DecideSettle(router, request);
    routed += d.routed();
    benchmark::DoNotOptimize(d);
  }
  for (const KeyEntry& k : snapshot->keys()) k.state->set_shared_budget(nullptr);
  ReportRouted(state, routed);
}

BENCHMARK(BM_DecideSettleShared)->ArgNames({"keys"})->Arg(10)->Arg(1000);

// A full request memory, as the agent sees it under load: 100,000 unique ids
// remembered before timing starts, so every decision with a new id evicts one.
// Args: keys, limited (0/1).
void BM_DecideSettleFullMemory(benchmark::State& state) {
  const int keys = static_cast<int>(state.range(0));
  const bool limited = state.range(1) != 0;
  FakeClock clock;
  KeyRegistry registry;
  ClientRegistry clients;
  Router router(clock, Snapshot::build(MakeConfig(keys, limited), registry, clients), registry);
  // Short enough steps that no id expires (120 s) while the memory fills.
  const Duration step = std::chrono::microseconds(100);

  RouteRequest request = ChatRequest();
  char id[40];
  std::uint64_t n = 0;
  auto decide_settle = [&] {
    clock.advance(step);
    const int len =
        std::snprintf(id, sizeof id, "req-%016llx", static_cast<unsigned long long>(++n));
    request.request_id = std::string_view(id, static_cast<std::size_t>(len));
    return DecideSettle(router, request);
  };
  for (int i = 0; i < 110000; ++i) decide_settle();
  std::uint64_t routed = 0;
  for (auto _ : state) {
    Decision d = decide_settle();
    routed += d.routed();
    benchmark::DoNotOptimize(d);
  }
  ReportRouted(state, routed);
}

// Client access control at scale: 10,000 clients configured, each request
// carries the token of one of them (hashed and looked up per decision).
// Args: keys, the client limited (0/1).
constexpr int kClients = 10000;

std::string ClientToken(int i) { return "client-token-" + std::to_string(i); }

void BM_DecideSettleClients(benchmark::State& state) {
  const int keys = static_cast<int>(state.range(0));
  const bool limited = state.range(1) != 0;
  config::Config c = MakeConfig(keys, /*limited=*/false);
  c.set_allow_anonymous(false);
  for (int i = 0; i < kClients; ++i) {
    config::Client* client = c.add_clients();
    client->set_name("client-" + std::to_string(i));
    client->set_token_sha256(config::to_hex(config::sha256(ClientToken(i))));
    client->add_models("gpt-*");
    if (limited) {
      client->set_rpm(1'000'000);
      client->set_tpm(1'000'000'000);
      client->set_max_in_flight(1000);
      client->set_tokens_per_day(1'000'000'000'000);
    }
  }
  FakeClock clock;
  KeyRegistry registry;
  ClientRegistry clients;
  Router router(clock, Snapshot::build(c, registry, clients), registry);
  const std::string token = ClientToken(kClients / 2);

  RouteRequest request = ChatRequest();
  request.client_token = token;
  std::uint64_t routed = 0;
  for (auto _ : state) {
    clock.advance(std::chrono::microseconds(10));
    Decision d = DecideSettle(router, request);
    routed += d.routed();
    benchmark::DoNotOptimize(d);
  }
  ReportRouted(state, routed);
}

BENCHMARK(BM_DecideSettleClients)
    ->ArgNames({"keys", "client_limited"})
    ->ArgsProduct({{10, 1000}, {0, 1}});

BENCHMARK(BM_DecideSettleFullMemory)->ArgNames({"keys", "limited"})->ArgsProduct({{1000}, {0, 1}});

}  // namespace
}  // namespace keymux::router

BENCHMARK_MAIN();
