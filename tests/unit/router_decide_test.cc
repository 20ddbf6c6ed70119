// Router::decide and Router::settle: routes, tiers, errors and what a
// response does to its key.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "tests/unit/router_test_config.h"

namespace keymux::router {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using test::AddProvider;
using test::AddRoute;
using test::KeySpec;
using test::OneRoute;
using test::RouterRig;

// Two providers: "primary" (priority 0) and "backup" (priority 1).
config::Config TwoTiers(std::vector<KeySpec> primary, std::vector<KeySpec> backup) {
  config::Config c;
  AddProvider(c, "primary", primary);
  AddProvider(c, "backup", backup);
  AddRoute(c, {"gpt-*"}, {{"primary", 0, 1}, {"backup", 1, 1}});
  test::SetTestDefaults(c);
  return c;
}

TEST(RouterDecideTest, RoutesToAKeyWithItsProviderAndATicket) {
  RouterRig rig(OneRoute({{.id = "k1"}}));
  const Decision d = rig.Decide("gpt-4o", "req-1", 400, R"({"max_tokens":100})");
  ASSERT_TRUE(d.routed()) << d.message;
  EXPECT_EQ(outcome_name(d.outcome), "routed");
  EXPECT_EQ(d.key->id, "k1");
  EXPECT_EQ(d.key->provider->backend, "be_p");
  EXPECT_NE(d.ticket, 0u);
  EXPECT_EQ(d.reserved_tokens, 200u);
  EXPECT_EQ(d.attempt, 1u);
  EXPECT_NE(d.snapshot, nullptr);
  EXPECT_EQ(rig.Key("k1").view(rig.clock.now()).in_flight, 1u);
  rig.Settle(d, 200);
  EXPECT_EQ(rig.Key("k1").view(rig.clock.now()).in_flight, 0u);
}

TEST(RouterDecideTest, UnknownModelIs404WithTheModelNamedSafely) {
  config::Config c;
  AddProvider(c, "p", {{.id = "k1"}});
  AddRoute(c, {"gpt-*"}, {{"p", 0, 1}});
  test::SetTestDefaults(c);
  RouterRig rig(c);
  Decision d = rig.Decide("claude-3");
  EXPECT_EQ(d.outcome, Outcome::kUnknownModel);
  EXPECT_EQ(d.http_status, 404);
  EXPECT_EQ(d.error_code, "model_not_found");
  EXPECT_NE(d.message.find("'claude-3'"), std::string::npos);

  const std::string hostile = "evil\r\nx-injected: 1\x01" + std::string(300, 'm');
  d = rig.Decide(hostile);
  EXPECT_EQ(d.outcome, Outcome::kUnknownModel);
  EXPECT_EQ(d.message.find('\r'), std::string::npos);
  EXPECT_EQ(d.message.find('\n'), std::string::npos);
  EXPECT_EQ(d.message.find('\x01'), std::string::npos);
  EXPECT_LT(d.message.size(), 200u);
  EXPECT_NE(d.message.find("evilx-injected: 1mmm"), std::string::npos);
}

TEST(RouterDecideTest, NoModelGoesToTheDefaultRoute) {
  config::Config c;
  AddProvider(c, "a", {{.id = "ka"}});
  AddProvider(c, "b", {{.id = "kb"}});
  AddRoute(c, {"gpt-*"}, {{"a", 0, 1}});
  AddRoute(c, {"other-*"}, {{"b", 0, 1}}, /*is_default=*/true);
  test::SetTestDefaults(c);
  RouterRig rig(c);
  RouteRequest r;
  r.model = std::nullopt;
  Decision d = rig.router.decide(r);
  ASSERT_TRUE(d.routed());
  EXPECT_EQ(d.key->id, "kb");
  d = rig.Decide("");
  ASSERT_TRUE(d.routed());
  EXPECT_EQ(d.key->id, "kb");
}

TEST(RouterDecideTest, NoModelAndNoDefaultRouteIs400) {
  config::Config c;
  AddProvider(c, "a", {{.id = "ka"}});
  AddRoute(c, {"gpt-*"}, {{"a", 0, 1}});
  test::SetTestDefaults(c);
  RouterRig rig(c);
  RouteRequest r;
  const Decision d = rig.router.decide(r);
  EXPECT_EQ(d.outcome, Outcome::kNoModel);
  EXPECT_EQ(d.http_status, 400);
  EXPECT_EQ(d.error_code, "model_required");
}

TEST(RouterDecideTest, FallsBackToTheSecondTierOnlyWhenTheFirstHasNoEligibleKey) {
  RouterRig rig(TwoTiers({{.id = "p1", .rpm = 2}}, {{.id = "b1"}}));
  for (int i = 0; i < 2; ++i) {
    const Decision d = rig.Decide("gpt-4o");
    ASSERT_TRUE(d.routed());
    EXPECT_EQ(d.key->id, "p1");
    rig.Settle(d, 200);
  }
  Decision d = rig.Decide("gpt-4o");
  ASSERT_TRUE(d.routed());
  EXPECT_EQ(d.key->id, "b1");
  EXPECT_EQ(d.key->provider->name, "backup");
  rig.Settle(d, 200);
  rig.clock.advance(seconds(60));
  d = rig.Decide("gpt-4o");
  EXPECT_EQ(d.key->id, "p1");
}

TEST(RouterDecideTest, FallsBackWhenTheFirstProviderIsCoolingOrQuarantined) {
  RouterRig rig(TwoTiers({{.id = "p1"}, {.id = "p2"}}, {{.id = "b1"}}));
  Decision d1 = rig.Decide("gpt-4o");
  Decision d2 = rig.Decide("gpt-4o");
  EXPECT_NE(d1.key, d2.key);
  rig.Settle(d1, 401);
  rig.Settle(d2, 429);
  Decision d = rig.Decide("gpt-4o");
  ASSERT_TRUE(d.routed());
  EXPECT_EQ(d.key->id, "b1");
}

TEST(RouterDecideTest, OneServerErrorChangesOnlyTheNextAttemptsKey) {
  RouterRig rig(TwoTiers({{.id = "p1"}}, {{.id = "b1"}}));
  Decision d = rig.Decide("gpt-4o", "req");
  ASSERT_EQ(d.key->id, "p1");
  rig.Settle(d, 503);
  // This request's retry goes to the other tier; other requests stay on p1.
  EXPECT_EQ(rig.Decide("gpt-4o", "req").key->id, "b1");
  const Decision other = rig.Decide("gpt-4o", "other");
  EXPECT_EQ(other.key->id, "p1");
  EXPECT_FALSE(other.panic);
  EXPECT_EQ(rig.Key("p1").view(rig.clock.now()).condition, KeyCondition::kOk);
}

TEST(RouterDecideTest, AnEjectedProviderGetsNoRequestsWhileAFallbackTierServes) {
  config::Config c = TwoTiers({{.id = "p1"}, {.id = "p2"}, {.id = "p3"}}, {{.id = "b1"}});
  c.mutable_policy()->set_ejection_consecutive_failures(0);  // keys by ratio only
  c.mutable_policy()->set_ejection_failure_percent(0);       // keys never: only the provider
  c.mutable_policy()->set_ejection_minimum_requests(10);
  RouterRig rig(c);
  for (int i = 0; i < 10; ++i) {
    const Decision d = rig.Decide("gpt-4o");
    ASSERT_EQ(d.key->provider->name, "primary");
    rig.Settle(d, 502);
  }
  // 10 of 10 failed: the primary is ejected for 1 s; the backup serves.
  for (int i = 0; i < 5; ++i) {
    const Decision d = rig.Decide("gpt-4o");
    ASSERT_TRUE(d.routed());
    EXPECT_EQ(d.key->id, "b1");
    EXPECT_FALSE(d.panic);
    rig.Settle(d, 200);
  }
  EXPECT_EQ(rig.registry.providers().get("primary").view(rig.clock.now()).health,
            HealthState::kEjected);
  // Then one probe goes to the primary; while it runs, the backup serves.
  rig.clock.advance(seconds(1));
  const Decision probe = rig.Decide("gpt-4o");
  ASSERT_EQ(probe.key->provider->name, "primary");
  EXPECT_EQ(rig.Decide("gpt-4o").key->id, "b1");
  rig.Settle(probe, 200);
  EXPECT_EQ(rig.registry.providers().get("primary").view(rig.clock.now()).health,
            HealthState::kServing);
  EXPECT_EQ(rig.Decide("gpt-4o").key->provider->name, "primary");
}

TEST(RouterDecideTest, KeyModelAllowListIsRespected) {
  RouterRig rig(OneRoute({{.id = "mini-only", .models = {"gpt-4o-mini"}}, {.id = "any"}}));
  for (int i = 0; i < 10; ++i) {
    const Decision d = rig.Decide("gpt-4o");
    ASSERT_TRUE(d.routed());
    EXPECT_EQ(d.key->id, "any");
    rig.Settle(d, 200);
  }
  std::set<std::string> used;
  for (int i = 0; i < 30; ++i) {  // mini-only first catches up on its share
    const Decision d = rig.Decide("gpt-4o-mini");
    used.insert(d.key->id);
    rig.Settle(d, 200);
  }
  EXPECT_EQ(used.size(), 2u);
}

TEST(RouterDecideTest, ARequestNeverGetsTheSameKeyTwice) {
  config::Config c = OneRoute({{.id = "a"}, {.id = "b"}, {.id = "c"}, {.id = "d"}});
  c.mutable_policy()->set_attempts(4);
  RouterRig rig(c);
  std::set<std::string> keys;
  for (std::uint32_t attempt = 1; attempt <= 4; ++attempt) {
    const Decision d = rig.Decide("gpt-4o", "req-42");
    ASSERT_TRUE(d.routed()) << d.message;
    EXPECT_EQ(d.attempt, attempt);
    EXPECT_TRUE(keys.insert(d.key->id).second) << d.key->id << " given twice";
    UpstreamReport r;
    r.retry_at = rig.clock.now();  // a 429 that is over at once: only memory excludes it
    rig.Settle(d, 429, r);
  }
}

TEST(RouterDecideTest, AttemptsExhausted) {
  RouterRig rig(OneRoute({{.id = "a"}, {.id = "b"}, {.id = "c"}, {.id = "d"}}));
  for (int i = 0; i < 3; ++i) rig.Settle(rig.Decide("gpt-4o", "req"), 503);
  const Decision d = rig.Decide("gpt-4o", "req");
  EXPECT_EQ(d.outcome, Outcome::kAttemptsExhausted);
  EXPECT_EQ(d.http_status, 503);
  EXPECT_EQ(d.attempt, 4u);
  EXPECT_EQ(rig.Key("d").served(), 0u);
  EXPECT_TRUE(rig.Decide("gpt-4o", "other-req").routed());
}

TEST(RouterDecideTest, ASingleKeyIsRetriedAfterA5xxOrNoResponse) {
  RouterRig rig(OneRoute({{.id = "a"}}));
  rig.Settle(rig.Decide("gpt-4o", "req"), 500);
  Decision d = rig.Decide("gpt-4o", "req");  // after a 5xx
  ASSERT_TRUE(d.routed());
  EXPECT_EQ(d.key->id, "a");
  EXPECT_EQ(d.attempt, 2u);
  d = rig.Decide("gpt-4o", "req");  // after no response
  ASSERT_TRUE(d.routed());
  EXPECT_EQ(d.attempt, 3u);
  EXPECT_EQ(rig.Decide("gpt-4o", "req").outcome, Outcome::kAttemptsExhausted);
}

TEST(RouterDecideTest, EveryKeyAnsweredAndNoneMayBeRetriedIs503UpstreamUnavailable) {
  RouterRig rig(OneRoute({{.id = "a"}}));
  UpstreamReport over;
  over.retry_at =
      rig.clock.now();  // a 429 that is over at once: only the request's memory stops it
  rig.Settle(rig.Decide("gpt-4o", "req"), 429, over);
  const Decision d = rig.Decide("gpt-4o", "req");
  EXPECT_EQ(d.outcome, Outcome::kUpstreamUnavailable);
  EXPECT_EQ(d.http_status, 503);
  EXPECT_EQ(d.error_code, "upstream_unavailable");
  EXPECT_EQ(outcome_name(d.outcome), "upstream_unavailable");
  EXPECT_TRUE(rig.Decide("gpt-4o", "other").routed());
}

TEST(RouterDecideTest, AKeyIsNeverRetriedAfterIts429Or401) {
  RouterRig rig(OneRoute({{.id = "a"}, {.id = "b"}, {.id = "c"}}));
  rig.Settle(rig.Decide("gpt-4o", "req"), 429);
  rig.Settle(rig.Decide("gpt-4o", "req"), 500);
  const Decision d = rig.Decide("gpt-4o", "req");
  ASSERT_TRUE(d.routed());
  EXPECT_EQ(d.key->id, "c");  // an untried key first
  rig.Settle(d, 401);
  config::Config c = OneRoute({{.id = "a"}, {.id = "b"}});
  c.mutable_policy()->set_attempts(5);
  RouterRig two(c);
  two.Settle(two.Decide("gpt-4o", "req"), 429);
  two.Settle(two.Decide("gpt-4o", "req"), 500);
  for (int i = 0; i < 3; ++i) {  // b again (a 5xx), never a (its 429)
    const Decision again = two.Decide("gpt-4o", "req");
    ASSERT_TRUE(again.routed());
    EXPECT_EQ(again.key->id, "b");
    two.Settle(again, 502);
  }
}

TEST(RouterDecideTest, AllKeysRateLimitedForThisRequestIs429) {
  RouterRig rig(OneRoute({{.id = "a"}, {.id = "b"}}));
  rig.Settle(rig.Decide("gpt-4o", "req"), 429);
  rig.Settle(rig.Decide("gpt-4o", "req"), 429);
  const Decision d = rig.Decide("gpt-4o", "req");
  EXPECT_EQ(d.outcome, Outcome::kKeysExhausted);
  EXPECT_EQ(d.http_status, 429);
  ASSERT_TRUE(d.retry_after.has_value());
  EXPECT_EQ(d.message,
            "Every upstream key of this route is at its limit: the provider's rate limit (it "
            "answered 429 or reported none left); retry later.");
}

// The refusal says whose limit holds the keys back: the one set here.
TEST(RouterDecideTest, ExhaustedByTheGatewaysOwnLimitsSaysSo) {
  RouterRig rig(OneRoute({{.id = "a", .rpm = 1}}));
  rig.Settle(rig.Decide("gpt-4o"), 200);
  const Decision d = rig.Decide("gpt-4o");
  EXPECT_EQ(d.outcome, Outcome::kKeysExhausted);
  EXPECT_EQ(d.message,
            "Every upstream key of this route is at its limit: the limits set in this gateway "
            "(rpm, tpm, in flight); retry later.");
}

TEST(RouterDecideTest, ExhaustedIs429WithTheSoonestRetryAfter) {
  RouterRig rig(OneRoute({{.id = "a", .rpm = 1}, {.id = "b"}, {.id = "c"}, {.id = "q"}}));
  const Time t0 = rig.clock.now();
  // a: its window is full until t0 + 60 s.
  rig.Settle(rig.Decide("gpt-4o"), 200);
  ASSERT_FALSE(rig.Key("a").may_admit(t0));
  // b: 429 with retry-after 7.5 s; c: 429 with retry-after 1 s; q: quarantined.
  Decision db = rig.Decide("gpt-4o");
  ASSERT_EQ(db.key->id, "b");
  UpstreamReport r;
  r.retry_at = t0 + milliseconds(7500);
  rig.Settle(db, 429, r);
  Decision dc = rig.Decide("gpt-4o");
  ASSERT_EQ(dc.key->id, "c");
  r.retry_at = t0 + seconds(1);
  rig.Settle(dc, 429, r);
  Decision dq = rig.Decide("gpt-4o");
  ASSERT_EQ(dq.key->id, "q");
  rig.Settle(dq, 403);
  rig.clock.advance(milliseconds(250));
  Decision d = rig.Decide("gpt-4o");
  EXPECT_EQ(d.outcome, Outcome::kKeysExhausted);
  EXPECT_EQ(d.http_status, 429);
  EXPECT_EQ(d.error_type, "rate_limit_error");
  EXPECT_EQ(d.error_code, "keys_exhausted");
  ASSERT_TRUE(d.retry_after.has_value());
  EXPECT_EQ(*d.retry_after, milliseconds(750));  // c's 1 s cooldown ends first
  EXPECT_EQ(d.message.find("sk-"), std::string::npos);
  EXPECT_NE(d.message.find("the provider's rate limits and the limits set in this gateway"),
            std::string::npos)
      << d.message;
}

TEST(RouterDecideTest, AllQuarantinedIs503) {
  RouterRig rig(OneRoute({{.id = "a"}, {.id = "b"}}));
  rig.Settle(rig.Decide(), 401);
  rig.Settle(rig.Decide(), 403);
  EXPECT_EQ(rig.Key("a").view(rig.clock.now()).quarantine_reason, "upstream 401");
  EXPECT_EQ(rig.Key("b").view(rig.clock.now()).quarantine_reason, "upstream 403");
  const Decision d = rig.Decide();
  EXPECT_EQ(d.outcome, Outcome::kKeysUnavailable);
  EXPECT_EQ(d.http_status, 503);
  EXPECT_EQ(d.error_type, "service_unavailable");
  EXPECT_EQ(d.error_code, "keys_unavailable");
  EXPECT_FALSE(d.retry_after.has_value());
  EXPECT_EQ(d.message.find("sk-"), std::string::npos);
}

TEST(RouterDecideTest, AQuarantinedKeyIsNeverChosen) {
  RouterRig rig(OneRoute({{.id = "bad", .weight = 100}, {.id = "good"}}));
  rig.Settle(rig.Decide(), 401);
  for (int i = 0; i < 1000; ++i) {
    rig.clock.advance(seconds(1));
    const Decision d = rig.Decide("gpt-4o", "r" + std::to_string(i));
    ASSERT_TRUE(d.routed());
    ASSERT_EQ(d.key->id, "good");
    rig.Settle(d, i % 7 == 0 ? 500 : 200);
  }
  rig.Key("bad").enable(rig.clock.now());
  EXPECT_EQ(rig.Decide().key->id, "bad");
}

TEST(RouterDecideTest, AbandonedTicketsAreReleasedOnTheNextAttempt) {
  RouterRig rig(TwoTiers({{.id = "a", .max_in_flight = 1}}, {{.id = "b", .max_in_flight = 1}}));
  const Decision first = rig.Decide("gpt-4o", "req");
  ASSERT_TRUE(first.routed());
  EXPECT_EQ(rig.Key(first.key->id).view(rig.clock.now()).in_flight, 1u);
  // No settle: HAProxy's connection failed and it retries.
  const Decision second = rig.Decide("gpt-4o", "req");
  ASSERT_TRUE(second.routed());
  EXPECT_NE(second.key, first.key);
  const KeyView v = rig.Key(first.key->id).view(rig.clock.now());
  EXPECT_EQ(v.in_flight, 0u);
  EXPECT_EQ(v.condition, KeyCondition::kOk);  // one failure: still in service
  EXPECT_EQ(v.consecutive_failures, 1u);
  EXPECT_EQ(v.responses_by_class[0], 1u);
  // A late settle of the abandoned ticket frees no other slot.
  rig.Settle(first, 200);
  EXPECT_EQ(rig.Key(second.key->id).view(rig.clock.now()).in_flight, 1u);
}

TEST(RouterDecideTest, NoResponseSendsTheRestOfTheRequestToAnotherProvider) {
  RouterRig rig(TwoTiers({{.id = "p1"}, {.id = "p2"}}, {{.id = "b1"}}));
  const Decision first = rig.Decide("gpt-4o", "req");
  ASSERT_EQ(first.key->provider->name, "primary");
  // The primary never answered (refused): its other key is skipped as well.
  const Decision second = rig.Decide("gpt-4o", "req");
  ASSERT_TRUE(second.routed());
  EXPECT_EQ(second.key->id, "b1");
  EXPECT_EQ(second.attempt, 2u);
  // Only for that request: the untouched primary key still serves others.
  const Decision other = rig.Decide("gpt-4o", "other");
  ASSERT_TRUE(other.routed());
  EXPECT_EQ(other.key->provider->name, "primary");
}

TEST(RouterDecideTest, NoResponseFallsBackToTheSameProvidersOtherKeys) {
  RouterRig rig(OneRoute({{.id = "a"}, {.id = "b"}}));
  const Decision first = rig.Decide("gpt-4o", "req");
  // A dropped connection on a one-provider pool: the other key, not a 503.
  const Decision second = rig.Decide("gpt-4o", "req");
  ASSERT_TRUE(second.routed()) << second.message;
  EXPECT_NE(second.key, first.key);
  // And then the first again: it gave no response, which may be retried.
  const Decision third = rig.Decide("gpt-4o", "req");
  ASSERT_TRUE(third.routed()) << third.message;
  EXPECT_EQ(third.key, first.key);
}

TEST(RouterDecideTest, EveryKeyEjectedStillRoutesToTheLeastRecentlyFailed) {
  RouterRig rig(OneRoute({{.id = "a"}, {.id = "b"}, {.id = "c"}}));
  // Eject all three, a first, then b, then c (5 faults in a row each).
  for (const char* id : {"a", "b", "c"}) {
    for (int i = 0; i < 5; ++i) {
      rig.clock.advance(milliseconds(1));
      rig.Key(id).on_provider_fault(rig.clock.now(), AttemptKind::kNormal,
                                    rig.router.snapshot()->policy().key_outliers);
    }
  }
  for (const char* id : {"a", "b", "c"}) {
    ASSERT_EQ(rig.Key(id).view(rig.clock.now()).condition, KeyCondition::kEjected) << id;
  }
  Decision d = rig.Decide();
  ASSERT_TRUE(d.routed());
  EXPECT_TRUE(d.panic);
  EXPECT_EQ(d.key->id, "a");  // failed longest ago
  rig.clock.advance(milliseconds(1));
  rig.Settle(d, 502);  // now a failed last
  d = rig.Decide();
  EXPECT_EQ(d.key->id, "b");
  // A panic-routed success brings its key back at once.
  rig.Settle(d, 200);
  EXPECT_EQ(rig.Key("b").view(rig.clock.now()).condition, KeyCondition::kOk);
  d = rig.Decide();
  EXPECT_EQ(d.key->id, "b");
  EXPECT_FALSE(d.panic);
}

TEST(RouterDecideTest, EjectedKeysWithoutBudgetAre429NotPanic) {
  RouterRig rig(OneRoute({{.id = "a", .rpm = 1}}));
  rig.Settle(rig.Decide(), 200);
  for (int i = 0; i < 5; ++i) {
    rig.Key("a").on_provider_fault(rig.clock.now(), AttemptKind::kNormal,
                                   rig.router.snapshot()->policy().key_outliers);
  }
  const Decision d = rig.Decide();
  EXPECT_EQ(d.outcome, Outcome::kKeysExhausted);
  EXPECT_EQ(d.http_status, 429);
  ASSERT_TRUE(d.retry_after.has_value());
}

TEST(RouterDecideTest, InFlightSlotsAreReclaimedAfterTheTimeout) {
  RouterRig rig(OneRoute({{.id = "a", .max_in_flight = 2}}));
  ASSERT_TRUE(rig.Decide().routed());
  ASSERT_TRUE(rig.Decide().routed());
  EXPECT_EQ(rig.Decide().outcome, Outcome::kKeysExhausted);
  rig.clock.advance(seconds(329));
  rig.router.reclaim();
  EXPECT_EQ(rig.Key("a").view(rig.clock.now()).in_flight, 2u);
  rig.clock.advance(seconds(1));
  rig.router.reclaim();
  EXPECT_EQ(rig.Key("a").view(rig.clock.now()).in_flight, 0u);
  EXPECT_TRUE(rig.Decide().routed());
}

TEST(RouterDecideTest, DecideAlsoReclaimsAsItPasses) {
  RouterRig rig(OneRoute({{.id = "a", .max_in_flight = 1}}));
  ASSERT_TRUE(rig.Decide().routed());
  rig.clock.advance(seconds(330));
  EXPECT_TRUE(rig.Decide().routed());
}

TEST(RouterDecideTest, SettleWithAnUnknownTicketStillTeachesTheKey) {
  RouterRig rig(OneRoute({{.id = "a"}}));
  SettleRequest s;
  s.ticket = 12345;
  s.key_id = "a";
  s.status = 429;
  s.report.retry_at = rig.clock.now() + seconds(3);
  rig.router.settle(s);
  EXPECT_EQ(rig.Key("a").view(rig.clock.now()).cooldown_until, rig.clock.now() + seconds(3));
  s.key_id = "nobody";
  rig.router.settle(s);  // ignored
}

// The outcome line (ticket_only) after a synchronous settle of the same
// attempt, or for an expired ticket: first outcome wins, nothing counts twice.
TEST(RouterDecideTest, ATicketOnlySettleCountsOnlyForAnOpenTicket) {
  RouterRig rig(OneRoute({{.id = "a", .max_in_flight = 2}}));
  const Decision d = rig.Decide();
  ASSERT_TRUE(d.routed());
  SettleRequest s;
  s.ticket = d.ticket;
  s.key_id = "a";
  s.status = 429;
  s.report.retry_at = rig.clock.now() + seconds(3);
  EXPECT_TRUE(rig.router.settle(s));  // the synchronous settle
  EXPECT_EQ(rig.Key("a").view(rig.clock.now()).cooldown_until, rig.clock.now() + seconds(3));
  rig.clock.advance(seconds(5));
  s.ticket_only = true;
  s.report.retry_at = rig.clock.now() + seconds(30);
  EXPECT_FALSE(rig.router.settle(s));  // its outcome line: already settled
  EXPECT_LT(rig.Key("a").view(rig.clock.now()).cooldown_until, rig.clock.now() + seconds(1));
  // A success settled by its line alone releases the slot once.
  const Decision ok = rig.Decide();
  ASSERT_TRUE(ok.routed());
  const Decision other = rig.Decide();
  ASSERT_TRUE(other.routed());
  EXPECT_EQ(rig.Key("a").view(rig.clock.now()).in_flight, 2u);
  SettleRequest line;
  line.ticket = ok.ticket;
  line.key_id = "a";
  line.status = 200;
  line.ticket_only = true;
  EXPECT_TRUE(rig.router.settle(line));
  EXPECT_FALSE(rig.router.settle(line));  // a duplicate
  EXPECT_EQ(rig.Key("a").view(rig.clock.now()).in_flight, 1u);
}

TEST(RouterDecideTest, OtherClientErrorsOnlyRelease) {
  RouterRig rig(OneRoute({{.id = "a"}}));
  for (int status : {400, 404, 408, 409, 413, 422}) {
    const Decision d = rig.Decide();
    ASSERT_TRUE(d.routed());
    rig.Settle(d, status);
    const KeyView v = rig.Key("a").view(rig.clock.now());
    EXPECT_EQ(v.in_flight, 0u);
    EXPECT_EQ(v.condition, KeyCondition::kOk) << status;
  }
}

TEST(RouterDecideTest, SuccessClampsToTheProvidersRemainingCount) {
  RouterRig rig(OneRoute({{.id = "a"}, {.id = "b"}}));
  const Decision d = rig.Decide();
  ASSERT_EQ(d.key->id, "a");
  UpstreamReport r;
  r.remaining_requests = 0;
  r.requests_reset = rig.clock.now() + seconds(6);
  rig.Settle(d, 200, r);
  for (int i = 0; i < 5; ++i) {
    const Decision next = rig.Decide();
    EXPECT_EQ(next.key->id, "b");
    rig.Settle(next, 200);
  }
  rig.clock.advance(seconds(6));
  EXPECT_EQ(rig.Decide().key->id, "a");
}

TEST(RouterDecideTest, ConfigSwapKeepsKeyStates) {
  RouterRig rig(OneRoute({{.id = "a", .rpm = 3}, {.id = "b"}}));
  for (int i = 0; i < 4; ++i) {  // a, b (quarantined), a, a: a's window is full
    const Decision d = rig.Decide();
    rig.Settle(d, d.key->id == "b" ? 401 : 200);
  }
  ASSERT_EQ(rig.Key("a").served(), 3u);
  const auto served_a = rig.Key("a").served();
  // The new config keeps the ids, changes weights and adds a key.
  config::Config next = OneRoute({{.id = "a", .weight = 5, .rpm = 3}, {.id = "b"}, {.id = "c"}});
  auto old_snapshot = rig.router.snapshot();
  rig.router.apply(Snapshot::build(next, rig.registry, rig.clients));
  EXPECT_NE(rig.router.snapshot(), old_snapshot);
  EXPECT_EQ(rig.Key("a").served(), served_a);
  EXPECT_EQ(rig.Key("b").view(rig.clock.now()).condition, KeyCondition::kQuarantined);
  const Decision d = rig.Decide();
  ASSERT_TRUE(d.routed());
  EXPECT_EQ(d.key->id, "c");  // a's window is full, b is quarantined
  EXPECT_EQ(d.key, d.snapshot->find_key("c"));
}

TEST(RouterDecideTest, OutcomeNames) {
  EXPECT_EQ(outcome_name(Outcome::kUnknownModel), "unknown_model");
  EXPECT_EQ(outcome_name(Outcome::kKeysExhausted), "keys_exhausted");
  EXPECT_EQ(outcome_name(Outcome::kKeysUnavailable), "keys_unavailable");
  EXPECT_EQ(outcome_name(Outcome::kAttemptsExhausted), "attempts_exhausted");
  EXPECT_EQ(outcome_name(Outcome::kNoModel), "no_model");
}

}  // namespace
}  // namespace keymux::router

namespace keymux::router {
namespace {

// A provider's keys serve only the models the provider lists, whatever the route.
TEST(RouterDecideTest, ProviderModelListIsRespected) {
  config::Config c;
  test::AddProvider(c, "claude", {{.id = "c1"}})->add_models("claude-*");
  test::AddProvider(c, "openai", {{.id = "o1"}});
  test::AddRoute(c, {"*"}, {{"claude", 0, 1}, {"openai", 1, 1}}, /*is_default=*/true);
  test::SetTestDefaults(c);
  test::RouterRig rig(std::move(c));
  Decision d = rig.Decide("gpt-4o");
  ASSERT_TRUE(d.routed());
  EXPECT_EQ(d.key->id, "o1");
  d = rig.Decide("claude-3-opus");
  ASSERT_TRUE(d.routed());
  EXPECT_EQ(d.key->id, "c1");
}

}  // namespace
}  // namespace keymux::router

namespace keymux::router {
namespace {

// A body sent as JSON that cannot be JSON is refused before any key or budget.
TEST(RouterDecideTest, BodyThatCannotBeJsonIs400BeforeAnyKey) {
  test::RouterRig rig(test::OneRoute({{.id = "a", .rpm = 1}}));
  RouteRequest r;
  r.method = "POST";
  r.path = "/v1/chat/completions";
  r.content_type = "application/json; charset=utf-8";
  r.body_prefix = "model=gpt-4o&messages=hello";
  r.body_size = r.body_prefix.size();
  Decision d = rig.router.decide(r);
  EXPECT_EQ(d.outcome, Outcome::kInvalidJson);
  EXPECT_EQ(d.http_status, 400);
  EXPECT_EQ(d.error_code, "invalid_json");
  // Only what HAProxy shows is judged: a larger body's valid prefix passes,
  // and so does a body that does not say it is JSON.
  r.body_prefix = R"({"model":"gpt-4o","messages":[{"role":"user","content":"he)";
  r.body_size = 100000;
  r.model = "gpt-4o";
  d = rig.router.decide(r);
  ASSERT_TRUE(d.routed()) << d.message;  // the key's rpm of 1 was not spent by the 400
  rig.Settle(d, 200);
  rig.clock.advance(std::chrono::seconds(60));
  r.content_type = "text/plain";
  r.body_prefix = "hello";
  r.body_size = 5;
  EXPECT_TRUE(rig.router.decide(r).routed());
}

}  // namespace
}  // namespace keymux::router
