// What a provider's response headers say about the key that served it.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/router/upstream_report.h"

namespace keymux::router {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

using Headers = std::vector<std::pair<std::string_view, std::string_view>>;

const Time kNow = Time(seconds(1'714'564'800));  // 2024-05-01T12:00:00Z

UpstreamReport Build(const Headers& headers, Time now = kNow) {
  UpstreamReportBuilder builder(now);
  for (const auto& [name, value] : headers) builder.add(name, value);
  return builder.finish();
}

TEST(UpstreamReportTest, NothingKnownGivesAnEmptyReport) {
  const UpstreamReport r = Build({{"content-type", "application/json"}, {"x-request-id", "abc"}});
  EXPECT_EQ(r.remaining_requests, std::nullopt);
  EXPECT_EQ(r.requests_reset, std::nullopt);
  EXPECT_EQ(r.remaining_tokens, std::nullopt);
  EXPECT_EQ(r.tokens_reset, std::nullopt);
  EXPECT_EQ(r.retry_at, std::nullopt);
}

TEST(UpstreamReportTest, FullOpenAiSet) {
  const UpstreamReport r = Build({
      {"x-ratelimit-limit-requests", "60"},
      {"x-ratelimit-limit-tokens", "150000"},
      {"x-ratelimit-remaining-requests", "59"},
      {"x-ratelimit-remaining-tokens", "149984"},
      {"x-ratelimit-reset-requests", "1s"},
      {"x-ratelimit-reset-tokens", "6m0s"},
  });
  EXPECT_EQ(r.remaining_requests, 59u);
  EXPECT_EQ(r.requests_reset, kNow + seconds(1));
  EXPECT_EQ(r.remaining_tokens, 149984u);
  EXPECT_EQ(r.tokens_reset, kNow + minutes(6));
  EXPECT_EQ(r.retry_at, std::nullopt);
}

TEST(UpstreamReportTest, OpenAiFractionalAndBareResets) {
  const UpstreamReport r = Build({
      {"x-ratelimit-reset-requests", "12ms"},
      {"x-ratelimit-reset-tokens", "1.5"},
  });
  EXPECT_EQ(r.requests_reset, kNow + milliseconds(12));
  EXPECT_EQ(r.tokens_reset, kNow + microseconds(1'500'000));
}

TEST(UpstreamReportTest, FullAnthropicSet) {
  const UpstreamReport r = Build({
      {"anthropic-ratelimit-requests-limit", "50"},
      {"anthropic-ratelimit-requests-remaining", "49"},
      {"anthropic-ratelimit-requests-reset", "2024-05-01T12:00:30Z"},
      {"anthropic-ratelimit-tokens-limit", "40000"},
      {"anthropic-ratelimit-tokens-remaining", "39000"},
      {"anthropic-ratelimit-tokens-reset", "2024-05-01T12:01:00.5Z"},
      {"anthropic-ratelimit-input-tokens-limit", "30000"},
      {"anthropic-ratelimit-input-tokens-remaining", "29500"},
      {"anthropic-ratelimit-input-tokens-reset", "2024-05-01T12:00:45Z"},
      {"anthropic-ratelimit-output-tokens-limit", "10000"},
      {"anthropic-ratelimit-output-tokens-remaining", "9500"},
      {"anthropic-ratelimit-output-tokens-reset", "2024-05-01T12:00:50Z"},
      {"retry-after", "30"},
  });
  EXPECT_EQ(r.remaining_requests, 49u);
  EXPECT_EQ(r.requests_reset, kNow + seconds(30));
  // The overall token figures win over input/output when present.
  EXPECT_EQ(r.remaining_tokens, 39000u);
  EXPECT_EQ(r.tokens_reset, kNow + seconds(60) + milliseconds(500));
  EXPECT_EQ(r.retry_at, kNow + seconds(30));
}

TEST(UpstreamReportTest, AnthropicOffsetResets) {
  const UpstreamReport r = Build({
      {"anthropic-ratelimit-requests-reset", "2024-05-01T14:00:30+02:00"},
  });
  EXPECT_EQ(r.requests_reset, kNow + seconds(30));
}

TEST(UpstreamReportTest, AnthropicInputOutputOnlyTakesTheSmaller) {
  // Output is the tighter budget.
  UpstreamReport r = Build({
      {"anthropic-ratelimit-input-tokens-remaining", "20000"},
      {"anthropic-ratelimit-input-tokens-reset", "2024-05-01T12:00:10Z"},
      {"anthropic-ratelimit-output-tokens-remaining", "8000"},
      {"anthropic-ratelimit-output-tokens-reset", "2024-05-01T12:00:20Z"},
  });
  EXPECT_EQ(r.remaining_tokens, 8000u);
  EXPECT_EQ(r.tokens_reset, kNow + seconds(20));

  // Input is the tighter budget (header order does not matter).
  r = Build({
      {"anthropic-ratelimit-output-tokens-reset", "2024-05-01T12:00:20Z"},
      {"anthropic-ratelimit-output-tokens-remaining", "8000"},
      {"anthropic-ratelimit-input-tokens-reset", "2024-05-01T12:00:10Z"},
      {"anthropic-ratelimit-input-tokens-remaining", "100"},
  });
  EXPECT_EQ(r.remaining_tokens, 100u);
  EXPECT_EQ(r.tokens_reset, kNow + seconds(10));
}

TEST(UpstreamReportTest, AnthropicInputOutputTieTakesTheLaterReset) {
  const UpstreamReport r = Build({
      {"anthropic-ratelimit-input-tokens-remaining", "500"},
      {"anthropic-ratelimit-input-tokens-reset", "2024-05-01T12:00:40Z"},
      {"anthropic-ratelimit-output-tokens-remaining", "500"},
      {"anthropic-ratelimit-output-tokens-reset", "2024-05-01T12:00:20Z"},
  });
  EXPECT_EQ(r.remaining_tokens, 500u);
  EXPECT_EQ(r.tokens_reset, kNow + seconds(40));
}

TEST(UpstreamReportTest, AnthropicOnlyOneOfInputOutput) {
  const UpstreamReport r = Build({
      {"anthropic-ratelimit-output-tokens-remaining", "7"},
      {"anthropic-ratelimit-output-tokens-reset", "2024-05-01T12:00:05Z"},
  });
  EXPECT_EQ(r.remaining_tokens, 7u);
  EXPECT_EQ(r.tokens_reset, kNow + seconds(5));
}

TEST(UpstreamReportTest, RetryAfterMsBeatsRetryAfter) {
  UpstreamReport r = Build({{"retry-after", "30"}, {"retry-after-ms", "1500"}});
  EXPECT_EQ(r.retry_at, kNow + milliseconds(1500));
  r = Build({{"retry-after-ms", "12.5"}, {"retry-after", "30"}});
  EXPECT_EQ(r.retry_at, kNow + microseconds(12'500));
}

TEST(UpstreamReportTest, RetryAfterAloneOrAsADate) {
  EXPECT_EQ(Build({{"retry-after", "7"}}).retry_at, kNow + seconds(7));
  EXPECT_EQ(Build({{"retry-after", "Wed, 01 May 2024 12:00:30 GMT"}}).retry_at, kNow + seconds(30));
  EXPECT_EQ(Build({{"retry-after", "Wed, 01 May 2024 11:00:00 GMT"}}).retry_at, kNow);
}

TEST(UpstreamReportTest, MalformedRetryAfterMsFallsBackToRetryAfter) {
  const UpstreamReport r = Build({{"retry-after-ms", "soon"}, {"retry-after", "30"}});
  EXPECT_EQ(r.retry_at, kNow + seconds(30));
}

TEST(UpstreamReportTest, MalformedValuesAreIgnored) {
  const UpstreamReport r = Build({
      {"x-ratelimit-remaining-requests", "-1"},
      {"x-ratelimit-remaining-tokens", "lots"},
      {"x-ratelimit-reset-requests", "6 minutes"},
      {"anthropic-ratelimit-tokens-reset", "2024-02-30T00:00:00Z"},
      {"retry-after", "later"},
      {"retry-after-ms", "1e3"},
  });
  EXPECT_EQ(r.remaining_requests, std::nullopt);
  EXPECT_EQ(r.remaining_tokens, std::nullopt);
  EXPECT_EQ(r.requests_reset, std::nullopt);
  EXPECT_EQ(r.tokens_reset, std::nullopt);
  EXPECT_EQ(r.retry_at, std::nullopt);
}

TEST(UpstreamReportTest, MalformedRepeatDoesNotEraseAGoodValue) {
  const UpstreamReport r = Build({
      {"x-ratelimit-remaining-requests", "5"},
      {"x-ratelimit-remaining-requests", "five"},
  });
  EXPECT_EQ(r.remaining_requests, 5u);
}

TEST(UpstreamReportTest, NamesAreMatchedWithoutCase) {
  const UpstreamReport r = Build({{"X-RateLimit-Remaining-Requests", "3"}, {"Retry-After", "2"}});
  EXPECT_EQ(r.remaining_requests, 3u);
  EXPECT_EQ(r.retry_at, kNow + seconds(2));
}

TEST(UpstreamReportTest, RelativeResetThatWouldOverflowIsDropped) {
  const Time late = Time(microseconds(INT64_MAX - 10));
  const UpstreamReport r =
      Build({{"x-ratelimit-reset-tokens", "1s"}, {"retry-after-ms", "1"}}, late);
  EXPECT_EQ(r.tokens_reset, std::nullopt);
  EXPECT_EQ(r.retry_at, std::nullopt);
}

}  // namespace
}  // namespace keymux::router
