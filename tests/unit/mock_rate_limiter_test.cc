// The mock upstream's per-key budgets over a fixed 60 s window, and the
// rate-limit headers they produce.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "agent/router/clock.h"
#include "tests/mock_upstream/rate_headers.h"
#include "tests/mock_upstream/rate_limiter.h"

namespace keymux::mock {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(MockRateLimiterTest, UnlimitedAdmitsEverything) {
  router::FakeClock clock;
  RateLimiter limiter;
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(limiter.admit(clock.now(), 1'000'000).allowed);
}

TEST(MockRateLimiterTest, RequestsPerWindowExact) {
  router::FakeClock clock;
  const Time t0 = clock.now();
  RateLimiter limiter({.rpm = 2, .tpm = 0});

  RateDecision d = limiter.admit(clock.now(), 10);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.status.remaining_requests, 1u);
  EXPECT_EQ(d.status.reset_at, t0 + seconds(60));

  clock.advance(seconds(10));
  d = limiter.admit(clock.now(), 10);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.status.remaining_requests, 0u);
  EXPECT_EQ(d.status.reset_at, t0 + seconds(60));  // the window started at the first request

  clock.advance(milliseconds(20'500));
  d = limiter.admit(clock.now(), 10);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, milliseconds(29'500));
  EXPECT_EQ(d.status.remaining_requests, 0u);

  // A refusal consumed nothing; at the window's end the budget is whole again.
  clock.set(t0 + seconds(60));
  d = limiter.admit(clock.now(), 10);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.status.remaining_requests, 1u);
  EXPECT_EQ(d.status.reset_at, t0 + seconds(120));
}

TEST(MockRateLimiterTest, TokensPerWindow) {
  router::FakeClock clock;
  RateLimiter limiter({.rpm = 0, .tpm = 100});
  EXPECT_TRUE(limiter.admit(clock.now(), 30).allowed);
  EXPECT_TRUE(limiter.admit(clock.now(), 30).allowed);
  RateDecision d = limiter.admit(clock.now(), 30);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.status.remaining_tokens, 10u);
  d = limiter.admit(clock.now(), 30);  // 120 > 100
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, seconds(60));
  EXPECT_TRUE(limiter.admit(clock.now(), 10).allowed);  // exactly fits
  EXPECT_EQ(limiter.status(clock.now()).remaining_tokens, 0u);
}

TEST(MockRateLimiterTest, RequestLargerThanTheBudgetWaitsAFullWindow) {
  router::FakeClock clock;
  RateLimiter limiter({.rpm = 0, .tpm = 10});
  const RateDecision d = limiter.admit(clock.now(), 11);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, seconds(60));
}

TEST(MockRateLimiterTest, LimitsChangeLiveAndClearForgetsTheWindow) {
  router::FakeClock clock;
  RateLimiter limiter({.rpm = 1, .tpm = 0});
  EXPECT_TRUE(limiter.admit(clock.now(), 0).allowed);
  EXPECT_FALSE(limiter.admit(clock.now(), 0).allowed);
  limiter.set_limits({.rpm = 3, .tpm = 0});
  EXPECT_TRUE(limiter.admit(clock.now(), 0).allowed);
  EXPECT_EQ(limiter.status(clock.now()).remaining_requests, 1u);
  limiter.clear();
  EXPECT_EQ(limiter.status(clock.now()).remaining_requests, 3u);
}

TEST(MockRateHeadersTest, GoDurations) {
  EXPECT_EQ(format_go_duration(Duration(0)), "0s");
  EXPECT_EQ(format_go_duration(Duration(-5)), "0s");
  EXPECT_EQ(format_go_duration(milliseconds(12)), "12ms");
  EXPECT_EQ(format_go_duration(milliseconds(250)), "250ms");
  EXPECT_EQ(format_go_duration(Duration(1)), "1ms");  // rounded up
  EXPECT_EQ(format_go_duration(seconds(1)), "1s");
  EXPECT_EQ(format_go_duration(seconds(59)), "59s");
  EXPECT_EQ(format_go_duration(milliseconds(59'500)), "59.5s");
  EXPECT_EQ(format_go_duration(milliseconds(59'512)), "59.512s");
  EXPECT_EQ(format_go_duration(seconds(60)), "1m0s");
  EXPECT_EQ(format_go_duration(seconds(360)), "6m0s");
  EXPECT_EQ(format_go_duration(milliseconds(61'250)), "1m1.25s");
  EXPECT_EQ(format_go_duration(seconds(3600)), "1h0m0s");
  EXPECT_EQ(format_go_duration(milliseconds(3'723'500)), "1h2m3.5s");
}

TEST(MockRateHeadersTest, Rfc3339RoundsUp) {
  const Time t = Time(seconds(1'795'708'800));  // 2026-11-26T16:00:00Z
  EXPECT_EQ(format_rfc3339(t), "2026-11-26T16:00:00Z");
  EXPECT_EQ(format_rfc3339(t - milliseconds(500)), "2026-11-26T16:00:00Z");
  EXPECT_EQ(format_rfc3339(t + Duration(1)), "2026-11-26T16:00:01Z");
}

TEST(MockRateHeadersTest, OpenAiHeadersOnlyForLimitsSet) {
  const Time now = Time(seconds(1'700'000'000));
  RateStatus status;
  status.limits = {.rpm = 60, .tpm = 0};
  status.remaining_requests = 59;
  status.reset_at = now + milliseconds(59'500);
  std::string out;
  append_openai_rate_headers(out, status, now);
  EXPECT_EQ(out,
            "x-ratelimit-limit-requests: 60\r\n"
            "x-ratelimit-remaining-requests: 59\r\n"
            "x-ratelimit-reset-requests: 59.5s\r\n");

  status.limits = {.rpm = 0, .tpm = 1000};
  status.remaining_tokens = 900;
  out.clear();
  append_openai_rate_headers(out, status, now);
  EXPECT_EQ(out,
            "x-ratelimit-limit-tokens: 1000\r\n"
            "x-ratelimit-remaining-tokens: 900\r\n"
            "x-ratelimit-reset-tokens: 59.5s\r\n");

  status.limits = {};
  out.clear();
  append_openai_rate_headers(out, status, now);
  EXPECT_EQ(out, "");
}

TEST(MockRateHeadersTest, AnthropicHeaders) {
  RateStatus status;
  status.limits = {.rpm = 5, .tpm = 100};
  status.remaining_requests = 4;
  status.remaining_tokens = 70;
  status.reset_at = Time(seconds(1'795'708'800));
  std::string out;
  append_anthropic_rate_headers(out, status);
  EXPECT_EQ(out,
            "anthropic-ratelimit-requests-limit: 5\r\n"
            "anthropic-ratelimit-requests-remaining: 4\r\n"
            "anthropic-ratelimit-requests-reset: 2026-11-26T16:00:00Z\r\n"
            "anthropic-ratelimit-tokens-limit: 100\r\n"
            "anthropic-ratelimit-tokens-remaining: 70\r\n"
            "anthropic-ratelimit-tokens-reset: 2026-11-26T16:00:00Z\r\n");
}

TEST(MockRateHeadersTest, RetryAfter) {
  std::string out;
  append_retry_after(out, milliseconds(29'500));
  EXPECT_EQ(out, "retry-after: 30\r\nretry-after-ms: 29500\r\n");
  out.clear();
  append_retry_after(out, Duration(0));
  EXPECT_EQ(out, "retry-after: 1\r\nretry-after-ms: 1\r\n");
  out.clear();
  append_retry_after(out, seconds(60));
  EXPECT_EQ(out, "retry-after: 60\r\nretry-after-ms: 60000\r\n");
}

}  // namespace
}  // namespace keymux::mock
