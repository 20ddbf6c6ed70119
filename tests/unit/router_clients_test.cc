// Client access control in Router::decide: authentication (401), model lists
// (403), the client's own limits (429), and that a refused request spends
// neither key nor client budget.
#include <gtest/gtest.h>

#include <string>

#include "agent/config/token_sha256.h"
#include "agent/router/client_token.h"
#include "tests/unit/router_test_config.h"

namespace keymux::router {
namespace {

using std::chrono::hours;
using std::chrono::seconds;
using test::KeySpec;
using test::OneRoute;
using test::RouterRig;

struct ClientSpec {
  std::string name{};
  std::string token{};
  std::vector<std::string> models{};
  std::optional<std::uint32_t> rpm{};
  std::optional<std::uint64_t> tpm{};
  std::optional<std::uint32_t> max_in_flight{};
  std::optional<std::uint64_t> tokens_per_day{};
};

void AddClient(config::Config& c, const ClientSpec& spec) {
  config::Client* client = c.add_clients();
  client->set_name(spec.name);
  client->set_token_sha256(config::to_hex(config::sha256(spec.token)));
  for (const auto& m : spec.models) client->add_models(m);
  if (spec.rpm) client->set_rpm(*spec.rpm);
  if (spec.tpm) client->set_tpm(*spec.tpm);
  if (spec.max_in_flight) client->set_max_in_flight(*spec.max_in_flight);
  if (spec.tokens_per_day) client->set_tokens_per_day(*spec.tokens_per_day);
}

// Keys k1 and k2 without limits (unless given), one route "*", these clients,
// no anonymous access.
config::Config WithClients(const std::vector<ClientSpec>& clients,
                           std::vector<KeySpec> keys = {{.id = "k1"}, {.id = "k2"}}) {
  config::Config c = OneRoute(keys);
  c.set_allow_anonymous(false);
  for (const ClientSpec& spec : clients) AddClient(c, spec);
  return c;
}

// 200 tokens reserved per request: 100 max_tokens + the prompt estimate.
constexpr std::string_view kBody = R"({"max_tokens":100})";

Decision Ask(RouterRig& rig, std::string_view token, std::string_view model = "gpt-4o",
             std::string_view request_id = {}) {
  RouteRequest r;
  r.method = "POST";
  r.path = "/v1/chat/completions";
  r.model = model;
  r.request_id = request_id;
  r.body_size = 400;
  r.body_prefix = kBody;
  r.client_token = token;
  return rig.router.decide(r);
}

std::uint64_t KeyAdmissions(RouterRig& rig) {
  return rig.Key("k1").view(rig.clock.now()).admitted_total +
         rig.Key("k2").view(rig.clock.now()).admitted_total;
}

ClientView Client(RouterRig& rig, const std::string& name) {
  return rig.clients.get(name).view(rig.clock.now());
}

std::uint64_t Count(const ClientView& v, Outcome outcome) {
  return v.requests_by_outcome[static_cast<std::size_t>(outcome)];
}

void ExpectRefused(const Decision& d, Outcome outcome, int status, std::string_view type,
                   std::string_view code) {
  EXPECT_EQ(d.outcome, outcome) << outcome_name(d.outcome) << ": " << d.message;
  EXPECT_EQ(d.http_status, status);
  EXPECT_EQ(d.error_type, type);
  EXPECT_EQ(d.error_code, code);
  EXPECT_EQ(d.key, nullptr);
  EXPECT_EQ(d.ticket, 0u);
}

TEST(ClientTokenTest, BearerFirstThenXApiKey) {
  EXPECT_EQ(client_token("Bearer tok-1", std::nullopt), "tok-1");
  EXPECT_EQ(client_token("bearer tok-1", std::nullopt), "tok-1");
  EXPECT_EQ(client_token("BEARER   tok-1 ", std::nullopt), "tok-1");
  EXPECT_EQ(client_token("Bearer tok-1", "tok-2"), "tok-1");
  EXPECT_EQ(client_token(std::nullopt, "tok-2"), "tok-2");
  // Another scheme, or a Bearer with nothing after it, is no token.
  EXPECT_EQ(client_token("Basic dXNlcjpwYXNz", "tok-2"), "tok-2");
  EXPECT_EQ(client_token("Basic dXNlcjpwYXNz", std::nullopt), "");
  EXPECT_EQ(client_token("Bearer", std::nullopt), "");
  EXPECT_EQ(client_token("Bearer ", "tok-2"), "tok-2");
  EXPECT_EQ(client_token("Bearertok-1", std::nullopt), "");
  EXPECT_EQ(client_token(std::nullopt, std::nullopt), "");
  EXPECT_EQ(client_token(std::nullopt, ""), "");
}

TEST(RouterClientsTest, AKnownTokenIsServedAsItsClient) {
  RouterRig rig(
      WithClients({{.name = "app", .token = "tok-app"}, {.name = "b", .token = "tok-b"}}));
  const Decision d = Ask(rig, "tok-app");
  ASSERT_TRUE(d.routed()) << d.message;
  ASSERT_NE(d.client, nullptr);
  EXPECT_EQ(d.client->name, "app");
  EXPECT_EQ(Client(rig, "app").in_flight, 1u);
  rig.Settle(d, 200);
  EXPECT_EQ(Client(rig, "app").in_flight, 0u);
  EXPECT_EQ(Count(Client(rig, "app"), Outcome::kRouted), 1u);
  EXPECT_EQ(Client(rig, "app").tokens_reserved_total, d.reserved_tokens);
  EXPECT_EQ(Ask(rig, "tok-b").client->name, "b");
}

TEST(RouterClientsTest, NoTokenIs401UnlessAnonymousIsAllowed) {
  config::Config c = WithClients({{.name = "app", .token = "tok-app"}});
  RouterRig refusing(c);
  const Decision d = Ask(refusing, "");
  ExpectRefused(d, Outcome::kMissingClientToken, 401, "authentication_error",
                "missing_client_token");
  EXPECT_EQ(outcome_name(d.outcome), "missing_client_token");
  EXPECT_EQ(d.client, nullptr);
  EXPECT_EQ(KeyAdmissions(refusing), 0u);

  c.set_allow_anonymous(true);
  RouterRig allowing(c);
  const Decision anonymous = Ask(allowing, "");
  ASSERT_TRUE(anonymous.routed()) << anonymous.message;
  EXPECT_EQ(anonymous.client->name, "anonymous");
  EXPECT_TRUE(anonymous.client->model_patterns.empty());
}

TEST(RouterClientsTest, NoClientsAndNoAnonymousRefusesEveryone) {
  RouterRig rig(WithClients({}));
  ExpectRefused(Ask(rig, ""), Outcome::kMissingClientToken, 401, "authentication_error",
                "missing_client_token");
  ExpectRefused(Ask(rig, "anything"), Outcome::kInvalidClientToken, 401, "authentication_error",
                "invalid_client_token");
  EXPECT_EQ(KeyAdmissions(rig), 0u);
}

TEST(RouterClientsTest, AnUnknownTokenIs401EvenWithAnonymousAccess) {
  config::Config c = WithClients({{.name = "app", .token = "tok-app"}});
  c.set_allow_anonymous(true);
  RouterRig rig(c);
  const Decision d = Ask(rig, "tok-wrong-secret");
  ExpectRefused(d, Outcome::kInvalidClientToken, 401, "authentication_error",
                "invalid_client_token");
  EXPECT_EQ(d.client, nullptr);
  EXPECT_EQ(d.message.find("tok-wrong-secret"), std::string::npos) << d.message;
  EXPECT_EQ(KeyAdmissions(rig), 0u);
  // A token one character off its client's.
  ExpectRefused(Ask(rig, "tok-ap"), Outcome::kInvalidClientToken, 401, "authentication_error",
                "invalid_client_token");
}

TEST(RouterClientsTest, ModelListExactAndGlob) {
  RouterRig rig(WithClients({{.name = "app", .token = "t", .models = {"gpt-4o", "claude-*"}}}));
  EXPECT_TRUE(Ask(rig, "t", "gpt-4o").routed());
  EXPECT_TRUE(Ask(rig, "t", "claude-3-5-haiku").routed());
  const Decision d = Ask(rig, "t", "gpt-4o-mini");
  ExpectRefused(d, Outcome::kModelNotAllowed, 403, "permission_error", "model_not_allowed");
  ASSERT_NE(d.client, nullptr);  // the handler logs who was refused
  EXPECT_EQ(d.client->name, "app");
  EXPECT_NE(d.message.find("'gpt-4o-mini'"), std::string::npos) << d.message;
  EXPECT_EQ(KeyAdmissions(rig), 2u);
  // Counted (to be shown) with no limit; the refused request is not.
  EXPECT_EQ(Client(rig, "app").requests_in_window, 2u);
  EXPECT_EQ(Count(Client(rig, "app"), Outcome::kModelNotAllowed), 1u);
}

TEST(RouterClientsTest, AModelListRefusesARequestWhoseModelIsNotVisible) {
  RouterRig rig(WithClients(
      {{.name = "app", .token = "t", .models = {"gpt-*"}}, {.name = "all", .token = "u"}}));
  RouteRequest r;
  r.client_token = "t";
  ExpectRefused(rig.router.decide(r), Outcome::kModelNotAllowed, 403, "permission_error",
                "model_not_allowed");
  r.client_token = "u";  // no model list: the default route serves it
  EXPECT_TRUE(rig.router.decide(r).routed());
}

TEST(RouterClientsTest, RpmWindowWithExactRetryAfter) {
  RouterRig rig(WithClients({{.name = "app", .token = "t", .rpm = 2}}));
  EXPECT_TRUE(Ask(rig, "t").routed());
  rig.clock.advance(seconds(10));
  EXPECT_TRUE(Ask(rig, "t").routed());
  rig.clock.advance(seconds(5));
  const Decision d = Ask(rig, "t");
  ExpectRefused(d, Outcome::kClientRateLimited, 429, "rate_limit_error", "client_rate_limited");
  ASSERT_TRUE(d.retry_after);
  EXPECT_EQ(*d.retry_after, seconds(45));  // the first leaves the window at 60 s
  EXPECT_EQ(KeyAdmissions(rig), 2u);
  EXPECT_EQ(Count(Client(rig, "app"), Outcome::kClientRateLimited), 1u);
  rig.clock.advance(seconds(45));
  EXPECT_TRUE(Ask(rig, "t").routed());
}

// policy.limit_window applies to clients' windows too.
TEST(RouterClientsTest, RpmWindowFollowsTheConfiguredLength) {
  config::Config c = WithClients({{.name = "app", .token = "t", .rpm = 1}});
  c.mutable_policy()->mutable_limit_window()->set_seconds(3);
  RouterRig rig(c);
  EXPECT_TRUE(Ask(rig, "t").routed());
  rig.clock.advance(seconds(1));
  const Decision d = Ask(rig, "t");
  ASSERT_FALSE(d.routed());
  ASSERT_TRUE(d.retry_after);
  EXPECT_EQ(*d.retry_after, seconds(2));
  rig.clock.advance(seconds(2));
  EXPECT_TRUE(Ask(rig, "t").routed());
}

TEST(RouterClientsTest, TpmWindowWithExactRetryAfter) {
  RouterRig rig(WithClients({{.name = "app", .token = "t", .tpm = 500}}));
  const Decision first = Ask(rig, "t");
  ASSERT_TRUE(first.routed());
  ASSERT_EQ(first.reserved_tokens, 200u);
  rig.clock.advance(seconds(20));
  EXPECT_TRUE(Ask(rig, "t").routed());  // 400 of 500
  const Decision d = Ask(rig, "t");
  ExpectRefused(d, Outcome::kClientRateLimited, 429, "rate_limit_error", "client_rate_limited");
  EXPECT_EQ(*d.retry_after, seconds(40));
  EXPECT_EQ(Client(rig, "app").tokens_in_window, 400u);
}

TEST(RouterClientsTest, InFlightLimit) {
  RouterRig rig(WithClients({{.name = "app", .token = "t", .max_in_flight = 1}}));
  const Decision first = Ask(rig, "t");
  ASSERT_TRUE(first.routed());
  const Decision d = Ask(rig, "t");
  ExpectRefused(d, Outcome::kClientRateLimited, 429, "rate_limit_error", "client_rate_limited");
  EXPECT_EQ(*d.retry_after, kInFlightGuess);
  rig.Settle(first, 200);
  EXPECT_TRUE(Ask(rig, "t").routed());
}

TEST(RouterClientsTest, DailyBudgetAcrossMidnightUtc) {
  RouterRig rig(WithClients({{.name = "app", .token = "t", .tokens_per_day = 500}}));
  const Time midnight = Time(seconds(1'700'006'400));  // 2023-11-15 00:00:00 UTC
  ASSERT_EQ(midnight.time_since_epoch() % hours(24), Duration::zero());
  rig.clock.set(midnight - seconds(30));
  EXPECT_TRUE(Ask(rig, "t").routed());
  rig.clock.advance(seconds(1));
  EXPECT_TRUE(Ask(rig, "t").routed());  // 400 of 500
  const Decision d = Ask(rig, "t");
  ExpectRefused(d, Outcome::kClientDailyBudgetExhausted, 429, "rate_limit_error",
                "client_daily_budget_exhausted");
  EXPECT_EQ(outcome_name(d.outcome), "client_daily_budget_exhausted");
  ASSERT_TRUE(d.retry_after);
  EXPECT_EQ(*d.retry_after, seconds(29));
  EXPECT_EQ(Client(rig, "app").tokens_today, 400u);
  EXPECT_EQ(Client(rig, "app").requests_today, 2u);  // the refused one does not count
  EXPECT_EQ(KeyAdmissions(rig), 2u);
  rig.clock.set(midnight);
  EXPECT_TRUE(Ask(rig, "t").routed());
  EXPECT_EQ(Client(rig, "app").tokens_today, 200u);
  EXPECT_EQ(Client(rig, "app").requests_today, 1u);
}

TEST(RouterClientsTest, ARequestNoKeyTakesSpendsNoClientBudget) {
  RouterRig rig(WithClients({{.name = "app",
                              .token = "t",
                              .rpm = 5,
                              .tpm = 10000,
                              .max_in_flight = 5,
                              .tokens_per_day = 10000}},
                            {{.id = "k1", .rpm = 1}, {.id = "k2", .rpm = 1}}));
  ASSERT_TRUE(Ask(rig, "t").routed());
  ASSERT_TRUE(Ask(rig, "t").routed());
  const Decision d = Ask(rig, "t");
  ExpectRefused(d, Outcome::kKeysExhausted, 429, "rate_limit_error", "keys_exhausted");
  const ClientView v = Client(rig, "app");
  EXPECT_EQ(v.requests_in_window, 2u);
  EXPECT_EQ(v.tokens_in_window, 400u);
  EXPECT_EQ(v.tokens_today, 400u);
  EXPECT_EQ(v.requests_today, 2u);  // the one no key took was given back
  EXPECT_EQ(v.in_flight, 2u);
  EXPECT_EQ(v.tokens_reserved_total, 400u);
  EXPECT_EQ(Count(v, Outcome::kKeysExhausted), 1u);
}

TEST(RouterClientsTest, ClientRefusalsTouchNoKey) {
  RouterRig rig(WithClients({{.name = "app", .token = "t", .models = {"gpt-*"}, .rpm = 1}}));
  ASSERT_TRUE(Ask(rig, "t").routed());
  const auto key_views = [&] {
    return std::make_pair(rig.Key("k1").view(rig.clock.now()).in_flight,
                          rig.Key("k2").view(rig.clock.now()).in_flight);
  };
  const auto before = key_views();
  EXPECT_EQ(Ask(rig, "").outcome, Outcome::kMissingClientToken);
  EXPECT_EQ(Ask(rig, "nope").outcome, Outcome::kInvalidClientToken);
  EXPECT_EQ(Ask(rig, "t", "claude-3").outcome, Outcome::kModelNotAllowed);
  EXPECT_EQ(Ask(rig, "t").outcome, Outcome::kClientRateLimited);
  EXPECT_EQ(KeyAdmissions(rig), 1u);
  EXPECT_EQ(key_views(), before);
  EXPECT_EQ(Client(rig, "app").requests_in_window, 1u);
  EXPECT_EQ(Client(rig, "app").in_flight, 1u);
}

TEST(RouterClientsTest, ARetryIsChargedToTheClientOnce) {
  RouterRig rig(WithClients({{.name = "app", .token = "t", .rpm = 1, .max_in_flight = 1}}));
  const Decision first = Ask(rig, "t", "gpt-4o", "req-1");
  ASSERT_TRUE(first.routed());
  rig.Settle(first, 429);  // HAProxy retries on another key
  const Decision retry = Ask(rig, "t", "gpt-4o", "req-1");
  ASSERT_TRUE(retry.routed()) << retry.message;
  EXPECT_EQ(retry.attempt, 2u);
  EXPECT_NE(retry.key, first.key);
  EXPECT_EQ(Client(rig, "app").requests_in_window, 1u);
  EXPECT_EQ(Client(rig, "app").in_flight, 1u);
  rig.Settle(retry, 200);
  EXPECT_EQ(Client(rig, "app").in_flight, 0u);
  // A new request is still held to the limit.
  EXPECT_EQ(Ask(rig, "t", "gpt-4o", "req-2").outcome, Outcome::kClientRateLimited);
}

TEST(RouterClientsTest, AnUnsettledTicketReleasesTheClientOnTimeout) {
  RouterRig rig(WithClients({{.name = "app", .token = "t", .max_in_flight = 1}}));
  ASSERT_TRUE(Ask(rig, "t").routed());
  EXPECT_EQ(Ask(rig, "t").outcome, Outcome::kClientRateLimited);
  rig.clock.advance(seconds(331));  // past policy.in_flight_timeout
  rig.router.reclaim();
  EXPECT_EQ(Client(rig, "app").in_flight, 0u);
  EXPECT_EQ(
      rig.Key("k1").view(rig.clock.now()).in_flight + rig.Key("k2").view(rig.clock.now()).in_flight,
      0u);
  EXPECT_TRUE(Ask(rig, "t").routed());
}

TEST(RouterClientsTest, AReloadKeepsTheClientsCounters) {
  RouterRig rig(WithClients({{.name = "app", .token = "t", .rpm = 1}}));
  ASSERT_TRUE(Ask(rig, "t").routed());
  // Same name, a new token: the same client, with what it already spent.
  rig.router.apply(Snapshot::build(WithClients({{.name = "app", .token = "t2", .rpm = 1}}),
                                   rig.registry, rig.clients));
  EXPECT_EQ(Ask(rig, "t").outcome, Outcome::kInvalidClientToken);
  const Decision d = Ask(rig, "t2");
  EXPECT_EQ(d.outcome, Outcome::kClientRateLimited);
  EXPECT_EQ(Count(Client(rig, "app"), Outcome::kRouted), 1u);
  // A raised limit applies at once, over the kept window.
  rig.router.apply(Snapshot::build(WithClients({{.name = "app", .token = "t2", .rpm = 2}}),
                                   rig.registry, rig.clients));
  EXPECT_TRUE(Ask(rig, "t2").routed());
  EXPECT_EQ(Ask(rig, "t2").outcome, Outcome::kClientRateLimited);
}

// The answer's real count (usage) replaces the estimate in the client's
// window and day budget too; only the attempt that charged the client settles it.
TEST(RouterClientsTest, TheAnswersRealCountSettlesTheClientsBudget) {
  RouterRig rig(
      WithClients({{.name = "c", .token = "tok-c", .tpm = 1000, .tokens_per_day = 5000}}));
  const Decision d = Ask(rig, "tok-c");
  ASSERT_TRUE(d.routed());
  EXPECT_TRUE(d.want_usage) << "the client counts tokens, though no key does";
  EXPECT_EQ(Client(rig, "c").tokens_in_window, 200u);
  rig.Settle(d, 200, {}, 50);
  EXPECT_EQ(Client(rig, "c").tokens_in_window, 50u);
  EXPECT_EQ(Client(rig, "c").tokens_today, 50u);
  const Decision more = Ask(rig, "tok-c");
  rig.Settle(more, 200, {}, 900);
  EXPECT_EQ(Client(rig, "c").tokens_in_window, 950u);
  EXPECT_EQ(Client(rig, "c").tokens_today, 950u);
}

TEST(RouterClientsTest, ARetrysRealCountSettlesItsKeyNotTheClient) {
  RouterRig rig(WithClients({{.name = "c", .token = "tok-c", .tpm = 1000}}));
  const Decision first = Ask(rig, "tok-c", "gpt-4o", "req-1");
  rig.Settle(first, 503);
  const Decision retry = Ask(rig, "tok-c", "gpt-4o", "req-1");
  ASSERT_TRUE(retry.routed());
  ASSERT_EQ(retry.attempt, 2u);
  rig.Settle(retry, 200, {}, 50);
  EXPECT_EQ(Client(rig, "c").tokens_in_window, 200u) << "charged at the first attempt, kept";
  EXPECT_EQ(rig.Key(retry.key->id).view(rig.clock.now()).tokens_in_window, 50u);
}

TEST(RouterClientsTest, NoTokenLimitAnywhereAsksForNoUsage) {
  RouterRig rig(WithClients({{.name = "c", .token = "tok-c", .rpm = 10}}));
  const Decision d = Ask(rig, "tok-c");
  ASSERT_TRUE(d.routed());
  EXPECT_FALSE(d.want_usage);
}

TEST(RouterClientsTest, AuthenticateAloneTouchesNothing) {
  RouterRig rig(WithClients({{.name = "app", .token = "t", .rpm = 1}}));
  const Decision who = rig.router.authenticate("t");
  ASSERT_NE(who.client, nullptr);
  EXPECT_EQ(who.client->name, "app");
  EXPECT_NE(who.snapshot, nullptr);
  EXPECT_EQ(rig.router.authenticate("x").error_code, "invalid_client_token");
  EXPECT_EQ(rig.router.authenticate("").error_code, "missing_client_token");
  EXPECT_TRUE(Ask(rig, "t").routed());  // the rpm of 1 was not used
}

}  // namespace
}  // namespace keymux::router
