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
  cooling.cause = router::CooldownCause::kServerError;
  cooling.until = now + seconds(4);
  cooling.consecutive_failures = 3;
  EXPECT_EQ(describe_key_event({"k1", "openai", cooling, now, 503}),
            "key k1 (provider openai) cooling until 2026-11-27T03:28:49.000Z (4.0s): "
            "server_error (upstream 503, 3 consecutive failures)");
  cooling.cause = router::CooldownCause::kConnectionFailure;
  cooling.consecutive_failures = 1;
  EXPECT_EQ(describe_key_event({"k1", "", cooling, now, 0}),
            "key k1 cooling until 2026-11-27T03:28:49.000Z (4.0s): connection_failure "
            "(no response)");

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

TEST(AdminLoggingTest, Rfc3339) {
  EXPECT_EQ(rfc3339(router::Time{std::chrono::microseconds(1'500'000)}),
            "1970-01-01T00:00:01.500Z");
}

}  // namespace
}  // namespace keymux::admin
