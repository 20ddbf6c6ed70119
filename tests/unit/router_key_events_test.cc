// Changes of a key's condition reach the event sink once each, with the
// reason; the counters behind the per-key metrics count what happened.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "agent/router/key_events.h"
#include "router_test_config.h"

namespace keymux::router {
namespace {

using std::chrono::seconds;
using test::OneRoute;
using test::RouterRig;

struct Recorded {
  std::string key;
  std::string provider;
  KeyChange change;
  int status;
  bool by_operator;
};

class RecordingSink final : public KeyEventSink {
 public:
  void on_key_event(const KeyEvent& e) override {
    events.push_back({std::string(e.key_id), std::string(e.provider), e.change, e.upstream_status,
                      e.by_operator});
  }
  void on_provider_event(const ProviderEvent& e) override {
    providers.push_back({std::string(e.provider), e.change});
  }
  void on_route_event(const RouteEvent& e) override {
    routes.push_back({std::string(e.route), e.panic});
  }
  std::vector<Recorded> events;
  std::vector<std::pair<std::string, HealthChange>> providers;
  std::vector<std::pair<std::string, bool>> routes;
};

struct EventRig : RouterRig {
  EventRig() : RouterRig(OneRoute({{.id = "a"}})) { router.set_event_sink(&sink); }
  RecordingSink sink;
};

TEST(RouterKeyEventsTest, A429StartsOneCoolingEventUntilItEnds) {
  EventRig rig;
  UpstreamReport report;
  report.retry_at = rig.clock.now() + seconds(12);
  rig.Settle(rig.Decide(), 429, report);
  ASSERT_EQ(rig.sink.events.size(), 1u);
  const Recorded& e = rig.sink.events[0];
  EXPECT_EQ(e.key, "a");
  EXPECT_EQ(e.provider, "p");
  EXPECT_EQ(e.change.kind, KeyChange::Kind::kCooling);
  EXPECT_EQ(e.change.cause, CooldownCause::kRateLimited);
  EXPECT_EQ(e.change.until, rig.clock.now() + seconds(12));
  EXPECT_EQ(e.status, 429);

  // A second 429 of a request admitted before the cooldown: already cooling.
  rig.Settle(Decision{}, 0);  // unknown ticket, no key: nothing happens
  SettleRequest late;
  late.key_id = "a";
  late.status = 429;
  rig.router.settle(late);
  EXPECT_EQ(rig.sink.events.size(), 1u);

  rig.clock.advance(seconds(13));
  rig.Settle(rig.Decide(), 200);
  ASSERT_EQ(rig.sink.events.size(), 2u);
  EXPECT_EQ(rig.sink.events[1].change.kind, KeyChange::Kind::kRecovered);

  const KeyView v = rig.Key("a").view(rig.clock.now());
  EXPECT_EQ(v.cooldowns_by_cause[static_cast<std::size_t>(CooldownCause::kRateLimited)], 1u);
  EXPECT_EQ(v.responses_by_class[response_class(429)], 2u);
  EXPECT_EQ(v.responses_by_class[response_class(200)], 1u);
}

TEST(RouterKeyEventsTest, ProviderFaultsEjectOnceThenAProbeRecovers) {
  EventRig rig;
  // Four faults in a row: nothing to tell, the key stays in service.
  for (int status : {503, 0, 502, 500}) rig.Settle(rig.Decide(), status);
  EXPECT_TRUE(rig.sink.events.empty());
  EXPECT_EQ(rig.Key("a").view(rig.clock.now()).condition, KeyCondition::kOk);
  EXPECT_EQ(rig.Key("a").view(rig.clock.now()).consecutive_failures, 4u);
  // The fifth ejects it: one line.
  rig.Settle(rig.Decide(), 529);
  ASSERT_EQ(rig.sink.events.size(), 1u);
  const Recorded& ejected = rig.sink.events[0];
  EXPECT_EQ(ejected.change.kind, KeyChange::Kind::kEjected);
  EXPECT_EQ(ejected.change.health.consecutive_failures, 5u);
  EXPECT_EQ(ejected.change.until, rig.clock.now() + seconds(1));
  EXPECT_EQ(ejected.status, 529);
  EXPECT_EQ(rig.Key("a").view(rig.clock.now()).condition, KeyCondition::kEjected);
  // Panic: the only key still serves, failures add no line; the route's panic is told once.
  for (int i = 0; i < 10; ++i) {
    const Decision d = rig.Decide();
    ASSERT_TRUE(d.routed());
    EXPECT_TRUE(d.panic);
    rig.Settle(d, 502);
  }
  EXPECT_EQ(rig.sink.events.size(), 1u);
  ASSERT_EQ(rig.sink.routes.size(), 1u);
  EXPECT_TRUE(rig.sink.routes[0].second);
  // Past the ejection: one probe, then its success brings the key back.
  rig.clock.advance(seconds(1));
  const Decision probe = rig.Decide();
  ASSERT_TRUE(probe.routed());
  EXPECT_FALSE(probe.panic);
  ASSERT_EQ(rig.sink.events.size(), 2u);
  EXPECT_EQ(rig.sink.events[1].change.kind, KeyChange::Kind::kProbing);
  ASSERT_EQ(rig.sink.routes.size(), 2u);
  EXPECT_FALSE(rig.sink.routes[1].second);
  rig.Settle(probe, 200);
  ASSERT_EQ(rig.sink.events.size(), 3u);
  EXPECT_EQ(rig.sink.events[2].change.kind, KeyChange::Kind::kRecovered);
  // A plain success after that changes nothing.
  rig.Settle(rig.Decide(), 200);
  EXPECT_EQ(rig.sink.events.size(), 3u);
  const KeyView v = rig.Key("a").view(rig.clock.now());
  EXPECT_EQ(v.condition, KeyCondition::kOk);
  EXPECT_EQ(v.ejections_total, 1u);
  EXPECT_EQ(v.responses_by_class[0], 1u);  // no response
  EXPECT_EQ(v.responses_by_class[5], 14u);
  EXPECT_EQ(v.responses_by_class[2], 2u);
  EXPECT_TRUE(rig.sink.providers.empty());  // 15 attempts: under the provider's minimum volume
}

TEST(RouterKeyEventsTest, AnEjectionFromAnotherGatewayHoldsTheKeyThenItIsProbed) {
  EventRig rig;
  const Time until = rig.clock.now() + seconds(5);
  rig.router.apply_shared("a", Router::SharedChange::kEjection, until, CooldownCause::kNone, "");
  ASSERT_EQ(rig.sink.events.size(), 1u);
  EXPECT_EQ(rig.sink.events[0].change.kind, KeyChange::Kind::kEjected);
  EXPECT_EQ(rig.sink.events[0].change.until, until);
  EXPECT_EQ(rig.Key("a").view(rig.clock.now()).condition, KeyCondition::kEjected);
  EXPECT_FALSE(rig.Key("a").healthy(rig.clock.now()));
  // Told again (the resync, its own echo): nothing new.
  rig.router.apply_shared("a", Router::SharedChange::kEjection, until, CooldownCause::kNone, "");
  EXPECT_EQ(rig.sink.events.size(), 1u);
  // A panic-routed success meanwhile does not end it here.
  const Decision panic = rig.Decide();
  ASSERT_TRUE(panic.routed());
  EXPECT_TRUE(panic.panic);
  rig.Settle(panic, 200);
  EXPECT_EQ(rig.Key("a").view(rig.clock.now()).condition, KeyCondition::kEjected);
  // At its deadline the local detector probes as usual.
  rig.clock.advance(seconds(5));
  const Decision probe = rig.Decide();
  ASSERT_TRUE(probe.routed());
  EXPECT_FALSE(probe.panic);
  rig.Settle(probe, 200);
  EXPECT_EQ(rig.sink.events.back().change.kind, KeyChange::Kind::kRecovered);
  EXPECT_EQ(rig.Key("a").view(rig.clock.now()).condition, KeyCondition::kOk);
  // Unknown keys are ignored.
  rig.router.apply_shared("zz", Router::SharedChange::kEjection, until, CooldownCause::kNone, "");
}

TEST(RouterKeyEventsTest, AProviderEjectionFromAnotherGatewayIsHeldOnce) {
  EventRig rig;
  const Time until = rig.clock.now() + seconds(4);
  rig.router.apply_shared_provider_ejection("p", until);
  rig.router.apply_shared_provider_ejection("p", until - seconds(1));  // never shortened
  rig.router.apply_shared_provider_ejection("nope", until);            // unknown: ignored
  ASSERT_EQ(rig.sink.providers.size(), 1u);
  EXPECT_EQ(rig.sink.providers[0].first, "p");
  EXPECT_EQ(rig.sink.providers[0].second.kind, HealthChange::Kind::kEjected);
  const ProviderView v = rig.registry.providers().get("p").view(rig.clock.now());
  EXPECT_EQ(v.health, HealthState::kEjected);
  EXPECT_EQ(v.ejected_until, until);
  rig.clock.advance(seconds(4));
  EXPECT_EQ(rig.registry.providers().get("p").view(rig.clock.now()).health, HealthState::kProbing);
}

TEST(RouterKeyEventsTest, QuarantineIsReportedOnceAndOperatorsEnableAndDisable) {
  EventRig rig;
  const Decision first = rig.Decide();
  const Decision second = rig.Decide();
  rig.Settle(first, 401);
  rig.Settle(second, 401);  // already quarantined: no second line
  ASSERT_EQ(rig.sink.events.size(), 1u);
  EXPECT_EQ(rig.sink.events[0].change.kind, KeyChange::Kind::kQuarantined);
  EXPECT_EQ(rig.sink.events[0].change.reason, "upstream 401");
  EXPECT_FALSE(rig.sink.events[0].by_operator);

  const std::optional<KeyView> enabled = rig.router.set_key_enabled("a", true);
  ASSERT_TRUE(enabled.has_value());
  EXPECT_EQ(enabled->condition, KeyCondition::kOk);
  ASSERT_EQ(rig.sink.events.size(), 2u);
  EXPECT_EQ(rig.sink.events[1].change.kind, KeyChange::Kind::kRecovered);
  EXPECT_TRUE(rig.sink.events[1].by_operator);

  const std::optional<KeyView> disabled = rig.router.set_key_enabled("a", false);
  ASSERT_TRUE(disabled.has_value());
  EXPECT_EQ(disabled->condition, KeyCondition::kQuarantined);
  EXPECT_EQ(disabled->quarantine_reason, kDisabledByOperator);
  EXPECT_EQ(disabled->quarantines_total, 2u);
  EXPECT_FALSE(rig.Decide().routed());

  EXPECT_FALSE(rig.router.set_key_enabled("nope", true).has_value());
  // Enabling a key that is fine is no change worth a line.
  rig.router.set_key_enabled("a", true);
  const std::size_t count = rig.sink.events.size();
  rig.router.set_key_enabled("a", true);
  EXPECT_EQ(rig.sink.events.size(), count);
}

TEST(RouterKeyEventsTest, ProviderReportingNoneLeftIsAnExhaustedCooldown) {
  EventRig rig;
  UpstreamReport report;
  report.remaining_requests = 0;
  report.requests_reset = rig.clock.now() + seconds(30);
  rig.Settle(rig.Decide(), 200, report);
  ASSERT_EQ(rig.sink.events.size(), 1u);
  EXPECT_EQ(rig.sink.events[0].change.cause, CooldownCause::kExhausted);
  EXPECT_EQ(rig.sink.events[0].change.until, rig.clock.now() + seconds(30));
  EXPECT_EQ(rig.Key("a").view(rig.clock.now()).condition, KeyCondition::kCooling);
}

TEST(RouterKeyEventsTest, TokensReservedAreCounted) {
  EventRig rig;
  const Decision d = rig.Decide("gpt-4o", "", 400, R"({"max_tokens":100})");
  ASSERT_TRUE(d.routed());
  EXPECT_EQ(rig.Key("a").view(rig.clock.now()).tokens_reserved_total, d.reserved_tokens);
}

}  // namespace
}  // namespace keymux::router
