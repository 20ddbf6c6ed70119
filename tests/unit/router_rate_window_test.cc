// Sliding request and token windows: exact counts and the moment room returns.
#include <gtest/gtest.h>

#include "agent/router/rate_window.h"

namespace keymux::router {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const Time kT0 = Time(seconds(1'700'000'000));

TEST(RequestWindowTest, UnlimitedAlwaysHasRoom) {
  RequestWindow w(0);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(w.has_room(kT0));
    w.admit(kT0);
  }
  EXPECT_EQ(w.next_room(kT0), kT0);
}

TEST(RequestWindowTest, ExactlyLimitInAnySpan) {
  RequestWindow w(3);
  w.admit(kT0);
  w.admit(kT0 + seconds(10));
  w.admit(kT0 + seconds(20));
  EXPECT_EQ(w.used(kT0 + seconds(20)), 3u);
  EXPECT_FALSE(w.has_room(kT0 + seconds(20)));
  // The first admission counts until exactly t + 60 s.
  EXPECT_FALSE(w.has_room(kT0 + seconds(60) - Duration(1)));
  EXPECT_EQ(w.next_room(kT0 + seconds(30)), kT0 + seconds(60));
  EXPECT_TRUE(w.has_room(kT0 + seconds(60)));
  EXPECT_EQ(w.used(kT0 + seconds(60)), 2u);
  w.admit(kT0 + seconds(60));
  EXPECT_FALSE(w.has_room(kT0 + seconds(61)));
  EXPECT_EQ(w.next_room(kT0 + seconds(61)), kT0 + seconds(70));
}

TEST(RequestWindowTest, NextRoomIsNowWithRoom) {
  RequestWindow w(2);
  w.admit(kT0);
  EXPECT_EQ(w.next_room(kT0 + seconds(1)), kT0 + seconds(1));
}

TEST(RequestWindowTest, SmallerLimitKeepsNewestAdmissions) {
  RequestWindow w(4);
  for (int i = 0; i < 4; ++i) w.admit(kT0 + seconds(i));
  w.set_limit(2);
  EXPECT_EQ(w.used(kT0 + seconds(4)), 2u);
  EXPECT_FALSE(w.has_room(kT0 + seconds(4)));
  EXPECT_EQ(w.next_room(kT0 + seconds(4)), kT0 + seconds(62));
  w.set_limit(5);
  EXPECT_TRUE(w.has_room(kT0 + seconds(4)));
  for (int i = 0; i < 3; ++i) w.admit(kT0 + seconds(5));
  EXPECT_FALSE(w.has_room(kT0 + seconds(5)));
  EXPECT_EQ(w.next_room(kT0 + seconds(5)), kT0 + seconds(62));
}

TEST(TokenWindowTest, SumsAndExpires) {
  TokenWindow w(1000);
  EXPECT_TRUE(w.has_room(kT0, 600));
  w.admit(kT0, 600);
  w.admit(kT0 + seconds(30), 300);
  EXPECT_EQ(w.used(kT0 + seconds(30)), 900u);
  EXPECT_TRUE(w.has_room(kT0 + seconds(30), 100));
  EXPECT_FALSE(w.has_room(kT0 + seconds(30), 101));
  EXPECT_EQ(w.next_room(kT0 + seconds(30), 101), kT0 + seconds(60));
  EXPECT_EQ(w.next_room(kT0 + seconds(30), 800), kT0 + seconds(90));
  EXPECT_EQ(w.used(kT0 + seconds(60)), 300u);
  EXPECT_EQ(w.used(kT0 + seconds(90)), 0u);
}

TEST(TokenWindowTest, RequestOverTheWholeLimitFitsOnlyAnEmptyWindow) {
  TokenWindow w(1000);
  EXPECT_TRUE(w.has_room(kT0, 5000));
  w.admit(kT0, 5000);
  EXPECT_EQ(w.used(kT0), 1000u);  // charged as the limit
  EXPECT_FALSE(w.has_room(kT0 + seconds(1), 1));
  EXPECT_EQ(w.next_room(kT0 + seconds(1), 5000), kT0 + seconds(60));
  w.admit(kT0 + seconds(60), 1);
  EXPECT_FALSE(w.has_room(kT0 + seconds(60), 5000));
  EXPECT_EQ(w.next_room(kT0 + seconds(61), 5000), kT0 + seconds(120));
}

TEST(TokenWindowTest, UnlimitedAlwaysHasRoom) {
  TokenWindow w(0);
  w.admit(kT0, 1'000'000);
  EXPECT_TRUE(w.has_room(kT0, 1'000'000));
  EXPECT_EQ(w.next_room(kT0, 5), kT0);
}

TEST(TokenWindowTest, SameMomentEntriesMerge) {
  TokenWindow w(100);
  w.admit(kT0, 40);
  w.admit(kT0, 40);
  EXPECT_FALSE(w.has_room(kT0 + milliseconds(1), 21));
  EXPECT_EQ(w.next_room(kT0 + milliseconds(1), 21), kT0 + seconds(60));
}

}  // namespace
}  // namespace keymux::router

namespace keymux::router {
namespace {

TEST(RequestWindowCancelTest, TakesBackAnAdmissionBeforeTheWindowIsFull) {
  RequestWindow w(3);
  w.admit(kT0);
  w.admit(kT0 + seconds(1));
  w.cancel(kT0 + seconds(1));
  EXPECT_EQ(w.used(kT0 + seconds(1)), 1u);
  w.cancel(kT0 + seconds(5));  // none at that time: nothing changes
  EXPECT_EQ(w.used(kT0 + seconds(5)), 1u);
}

TEST(RequestWindowCancelTest, TakesBackAnAdmissionFromAFullRing) {
  RequestWindow w(3);
  // Wrap the ring: the first admission (at 0 s) left the window at 60 s.
  for (int i : {0, 30, 40, 70}) w.admit(kT0 + seconds(i));
  const Time now = kT0 + seconds(70);
  ASSERT_FALSE(w.has_room(now));
  w.cancel(kT0 + seconds(40));  // the middle one, not the newest
  EXPECT_EQ(w.used(now), 2u);
  ASSERT_TRUE(w.has_room(now));
  w.admit(now);
  EXPECT_FALSE(w.has_room(now));
  // Room returns when the oldest kept admission (at 30 s) leaves.
  EXPECT_EQ(w.next_room(now), kT0 + seconds(90));
  EXPECT_EQ(w.used(kT0 + seconds(90)), 2u);
}

TEST(TokenWindowCancelTest, TakesBackTheTokensOfOneAdmission) {
  TokenWindow w(1000);
  w.admit(kT0, 300);
  w.admit(kT0 + seconds(1), 400);
  w.admit(kT0 + seconds(1), 100);
  w.cancel(kT0 + seconds(1), 400);
  EXPECT_EQ(w.used(kT0 + seconds(1)), 400u);
  w.cancel(kT0, 5000);  // charged as the limit, never below zero
  EXPECT_EQ(w.used(kT0 + seconds(1)), 100u);
}

}  // namespace
}  // namespace keymux::router

namespace keymux::router {
namespace {

// With no limit nothing is enforced, but usage is still shown (metrics, the
// admin API), to the second.
TEST(WindowMeterTest, WindowsWithoutALimitStillCountTheLastMinute) {
  const Time t0{std::chrono::seconds(1'000'000)};
  RequestWindow requests(0);
  TokenWindow tokens(0);
  EXPECT_EQ(requests.used(t0), 0u);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(requests.has_room(t0));
    requests.admit(t0 + std::chrono::seconds(i * 20));
    tokens.admit(t0 + std::chrono::seconds(i * 20), 100);
  }
  EXPECT_EQ(requests.used(t0 + std::chrono::seconds(40)), 3u);
  EXPECT_EQ(tokens.used(t0 + std::chrono::seconds(40)), 300u);
  // The first second has left the window 60 s later.
  EXPECT_EQ(requests.used(t0 + std::chrono::seconds(60)), 2u);
  requests.cancel(t0 + std::chrono::seconds(40));
  tokens.cancel(t0 + std::chrono::seconds(40), 100);
  EXPECT_EQ(requests.used(t0 + std::chrono::seconds(60)), 1u);
  EXPECT_EQ(tokens.used(t0 + std::chrono::seconds(60)), 100u);
  EXPECT_EQ(requests.used(t0 + std::chrono::seconds(200)), 0u);
}

// policy.limit_window: a shorter window frees its room as much sooner.
TEST(LimitWindowTest, ShorterSpanFreesRoomSooner) {
  const Time t0{std::chrono::seconds(1'000'000)};
  const Duration span = std::chrono::seconds(2);
  RequestWindow requests(2, span);
  TokenWindow tokens(100, span);
  requests.admit(t0);
  requests.admit(t0 + std::chrono::milliseconds(500));
  tokens.admit(t0, 100);
  EXPECT_FALSE(requests.has_room(t0 + std::chrono::seconds(1)));
  EXPECT_EQ(requests.next_room(t0 + std::chrono::seconds(1)), t0 + span);
  EXPECT_EQ(tokens.next_room(t0 + std::chrono::seconds(1), 1), t0 + span);
  EXPECT_TRUE(requests.has_room(t0 + span));
  EXPECT_TRUE(tokens.has_room(t0 + span, 100));
}

// A reload's new length applies to the admissions already made.
TEST(LimitWindowTest, ConfigureChangesTheSpanAndKeepsTheHistory) {
  const Time t0{std::chrono::seconds(1'000'000)};
  RequestWindow requests(0);
  TokenWindow tokens(0);
  configure_windows({.rpm = 1, .tpm = 10, .span = std::chrono::seconds(60)}, requests, tokens);
  requests.admit(t0);
  tokens.admit(t0, 10);
  configure_windows({.rpm = 1, .tpm = 10, .span = std::chrono::seconds(5)}, requests, tokens);
  EXPECT_FALSE(requests.has_room(t0 + std::chrono::seconds(4)));
  EXPECT_TRUE(requests.has_room(t0 + std::chrono::seconds(5)));
  EXPECT_EQ(tokens.used(t0 + std::chrono::seconds(4)), 10u);
  EXPECT_EQ(tokens.used(t0 + std::chrono::seconds(5)), 0u);
}

// Without a limit the meter shows usage over the same span, in span/60 buckets.
TEST(LimitWindowTest, MeterFollowsTheSpan) {
  const Time t0{std::chrono::seconds(1'000'000)};
  RequestWindow requests(0, std::chrono::seconds(6));
  TokenWindow tokens(0, std::chrono::seconds(6));
  requests.admit(t0);
  tokens.admit(t0, 7);
  requests.admit(t0 + std::chrono::seconds(3));
  EXPECT_EQ(requests.used(t0 + std::chrono::seconds(5)), 2u);
  EXPECT_EQ(tokens.used(t0 + std::chrono::milliseconds(5900)), 7u);
  EXPECT_EQ(requests.used(t0 + std::chrono::seconds(6)), 1u);
  EXPECT_EQ(tokens.used(t0 + std::chrono::seconds(6)), 0u);
}

}  // namespace
}  // namespace keymux::router
