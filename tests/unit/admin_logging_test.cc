// Log lines: JSON lines that parse, and the key state-change lines operators grep for.
#include <gtest/gtest.h>
#include <spdlog/details/log_msg.h>
#include <spdlog/formatter.h>

#include "agent/admin/key_event_log.h"
#include "agent/admin/logging.h"
#include "agent/admin/state_json.h"

namespace keymux::admin {
namespace {

using router::KeyChange;
using std::chrono::seconds;

TEST(AdminLoggingTest, JsonLinesEscapeTheMessage) {
  const auto formatter = make_json_formatter();
  spdlog::details::log_msg msg("keymux", spdlog::level::warn, "a \"quoted\"\nline\\");
  msg.time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1795750125123));
  spdlog::memory_buf_t out;
  formatter->format(msg, out);
  EXPECT_EQ(std::string(out.data(), out.size()),
            "{\"time\":\"2026-11-27T03:28:45.123Z\",\"level\":\"warning\","
            "\"msg\":\"a \\\"quoted\\\"\\nline\\\\\"}\n");
  EXPECT_EQ(parse_log_format("json"), LogFormat::kJson);
  EXPECT_EQ(parse_log_format("text"), LogFormat::kText);
  EXPECT_FALSE(parse_log_format("xml").has_value());
}

TEST(AdminLoggingTest, KeyEventLines) {
  const router::Time now{std::chrono::seconds(1795750125)};
  KeyChange cooling;
  cooling.kind = KeyChange::Kind::kCooling;
  cooling.cause = router::CooldownCause::kRateLimited;
  cooling.until = now + seconds(4);
  EXPECT_EQ(describe_key_event({"k1", "openai", cooling, now, 429}),
            "key k1 (provider openai) cooling until 2026-11-27T03:28:49.000Z (4.0s): "
            "rate_limited (upstream 429)");
  cooling.cause = router::CooldownCause::kExhausted;
  EXPECT_EQ(describe_key_event({"k1", "", cooling, now, 200}),
            "key k1 cooling until 2026-11-27T03:28:49.000Z (4.0s): exhausted "
            "(the provider reported none left until its reset)");

  KeyChange ejected;
  ejected.kind = KeyChange::Kind::kEjected;
  ejected.health.kind = router::HealthChange::Kind::kEjected;
  ejected.health.until = now + seconds(1);
  ejected.health.ejections_in_row = 1;
  ejected.health.consecutive_failures = 5;
  EXPECT_EQ(describe_key_event({"k1", "openai", ejected, now, 502}),
            "key k1 (provider openai) ejected until 2026-11-27T03:28:46.000Z (1.0s): "
            "5 provider faults in a row (upstream 502)");
  ejected.health.consecutive_failures = 0;
  ejected.health.window_failures = 12;
  ejected.health.window_attempts = 20;
  ejected.health.ejections_in_row = 3;
  ejected.health.until = now + seconds(4);
  EXPECT_EQ(describe_key_event({"k1", "openai", ejected, now, 0}),
            "key k1 (provider openai) ejected until 2026-11-27T03:28:49.000Z (4.0s): "
            "12 of 20 attempts failed within the window (no response), ejection 3 in a row");
  ejected.health.probe_failed = true;
  EXPECT_EQ(describe_key_event({"k1", "", ejected, now, 500}),
            "key k1 ejected until 2026-11-27T03:28:49.000Z (4.0s): the probe failed "
            "(upstream 500), ejection 3 in a row");
  KeyChange probing;
  probing.kind = KeyChange::Kind::kProbing;
  EXPECT_EQ(describe_key_event({"k1", "openai", probing, now, 0}),
            "key k1 (provider openai) probing: one request let through");

  KeyChange quarantined;
  quarantined.kind = KeyChange::Kind::kQuarantined;
  quarantined.reason = "upstream 401";
  EXPECT_EQ(describe_key_event({"k1", "openai", quarantined, now, 401}),
            "key k1 (provider openai) quarantined: upstream 401 -- re-enable with POST "
            "/v1/keys/k1/enable once the key is fixed");
  quarantined.reason = "disabled by operator";
  EXPECT_EQ(describe_key_event({"k1", "openai", quarantined, now, 0, true}),
            "key k1 (provider openai) quarantined: disabled by operator");

  KeyChange recovered;
  recovered.kind = KeyChange::Kind::kRecovered;
  EXPECT_EQ(describe_key_event({"k1", "openai", recovered, now, 200}),
            "key k1 (provider openai) recovered");
  EXPECT_EQ(describe_key_event({"k1", "openai", recovered, now, 0, true}),
            "key k1 (provider openai) enabled by operator");
}

TEST(AdminLoggingTest, ProviderAndRouteEventLines) {
  const router::Time now{std::chrono::seconds(1795750125)};
  router::HealthChange change;
  change.kind = router::HealthChange::Kind::kEjected;
  change.until = now + seconds(2);
  change.ejections_in_row = 1;
  change.window_failures = 18;
  change.window_attempts = 20;
  EXPECT_EQ(describe_provider_event({"openai", change, now, 503}),
            "provider openai ejected until 2026-11-27T03:28:47.000Z (2.0s): 18 of 20 attempts "
            "failed within the window (upstream 503); no new requests while its routes have "
            "another tier");
  change.kind = router::HealthChange::Kind::kRecovered;
  EXPECT_EQ(describe_provider_event({"openai", change, now, 200}), "provider openai recovered");
  EXPECT_EQ(describe_route_event({"gpt", true, now}),
            "route gpt in panic: every key it could use is ejected; sending to the least "
            "recently failed");
  EXPECT_EQ(describe_route_event({"gpt", false, now}),
            "route gpt out of panic: a key in service took a request");
}

TEST(AdminLoggingTest, LineBudgetCapsLinesPerSubjectPerSecond) {
  LineBudget budget;
  const router::Time t0{std::chrono::seconds(1795750125)};
  std::uint64_t suppressed = 99;
  for (std::uint32_t i = 0; i < LineBudget::kLinesPerSecond; ++i) {
    ASSERT_TRUE(budget.allow("k1", t0 + std::chrono::milliseconds(i), suppressed));
    EXPECT_EQ(suppressed, 0u);
  }
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(budget.allow("k1", t0, suppressed));
  // Another subject has its own budget.
  EXPECT_TRUE(budget.allow("k2", t0, suppressed));
  // The next second: lines again, and the count of those dropped.
  ASSERT_TRUE(budget.allow("k1", t0 + seconds(1), suppressed));
  EXPECT_EQ(suppressed, 1000u);
  ASSERT_TRUE(budget.allow("k1", t0 + seconds(1), suppressed));
  EXPECT_EQ(suppressed, 0u);
}

TEST(AdminLoggingTest, Rfc3339) {
  EXPECT_EQ(rfc3339(router::Time{std::chrono::microseconds(1'500'000)}),
            "1970-01-01T00:00:01.500Z");
}

}  // namespace
}  // namespace keymux::admin
