// Values of upstream rate-limit headers: counts, durations, RFC 3339 times,
// Retry-After and retry-after-ms.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "agent/router/header_values.h"

namespace keymux::router {
namespace {

using std::chrono::microseconds;

// A moment given in seconds (and microseconds) since the Unix epoch.
Time At(std::int64_t seconds, std::int64_t micros = 0) {
  return Time(microseconds(seconds * 1'000'000 + micros));
}

// ------------------------------------------------------------------ parse_count

TEST(ParseCountTest, Decimals) {
  EXPECT_EQ(parse_count("0"), 0u);
  EXPECT_EQ(parse_count("42"), 42u);
  EXPECT_EQ(parse_count("007"), 7u);
  EXPECT_EQ(parse_count(" 42 "), 42u);
  EXPECT_EQ(parse_count("\t42"), 42u);
  EXPECT_EQ(parse_count("18446744073709551615"), UINT64_MAX);
}

TEST(ParseCountTest, RejectsGarbageSignsAndOverflow) {
  for (const std::string_view text :
       {"", " ", "-1", "+1", "4 2", "0x10", "1.0", "1e3", "42a", "abc", "18446744073709551616",
        "99999999999999999999999", "\xEF\xBC\x91"}) {
    EXPECT_EQ(parse_count(text), std::nullopt) << "'" << text << "'";
  }
}

// ------------------------------------------------------------------ parse_reset_duration

TEST(ParseResetDurationTest, GoStyleExactMicroseconds) {
  EXPECT_EQ(parse_reset_duration("1s"), microseconds(1'000'000));
  EXPECT_EQ(parse_reset_duration("6m0s"), microseconds(360'000'000));
  EXPECT_EQ(parse_reset_duration("12ms"), microseconds(12'000));
  EXPECT_EQ(parse_reset_duration("1h2m3.5s"), microseconds(3'723'500'000));
  EXPECT_EQ(parse_reset_duration("0.5s"), microseconds(500'000));
  EXPECT_EQ(parse_reset_duration("20us"), microseconds(20));
  EXPECT_EQ(parse_reset_duration("20\xC2\xB5s"), microseconds(20));  // "20µs"
  EXPECT_EQ(parse_reset_duration("0s"), microseconds(0));
  EXPECT_EQ(parse_reset_duration("0"), microseconds(0));
  EXPECT_EQ(parse_reset_duration("59.995s"), microseconds(59'995'000));
  EXPECT_EQ(parse_reset_duration("1500ns"), microseconds(1));  // below a microsecond: truncated
  EXPECT_EQ(parse_reset_duration(" 6m0s "), microseconds(360'000'000));
}

TEST(ParseResetDurationTest, BareNumberIsSeconds) {
  EXPECT_EQ(parse_reset_duration("30"), microseconds(30'000'000));
  EXPECT_EQ(parse_reset_duration("1.5"), microseconds(1'500'000));
  EXPECT_EQ(parse_reset_duration("0.000001"), microseconds(1));
  EXPECT_EQ(parse_reset_duration("0.0000009"), microseconds(0));
  EXPECT_EQ(parse_reset_duration(" 30 "), microseconds(30'000'000));
}

TEST(ParseResetDurationTest, RejectsMalformed) {
  for (const std::string_view text :
       {"", " ", "-1s", "+1s", "s", ".", "1x", "1.2.3", "1.2.3s", "1e3", "1s2", "1 s", "abc",
        "99999999999999999999", "9999999999h", "10000000000s"}) {
    EXPECT_EQ(parse_reset_duration(text), std::nullopt) << "'" << text << "'";
  }
}

// ------------------------------------------------------------------ parse_rfc3339

TEST(ParseRfc3339Test, UtcAndOffsets) {
  EXPECT_EQ(parse_rfc3339("2024-05-01T12:00:30Z"), At(1714564830));
  EXPECT_EQ(parse_rfc3339("2024-05-01t12:00:30z"), At(1714564830));
  EXPECT_EQ(parse_rfc3339("2024-05-01 12:00:30Z"), At(1714564830));
  EXPECT_EQ(parse_rfc3339("2024-05-01T14:00:30+02:00"), At(1714564830));
  EXPECT_EQ(parse_rfc3339("2024-05-01T06:30:30-05:30"), At(1714564830));
  EXPECT_EQ(parse_rfc3339("2024-05-01T12:00:30+00:00"), At(1714564830));
  EXPECT_EQ(parse_rfc3339("2024-05-01T12:00:30-00:00"), At(1714564830));
  // An offset that moves the moment across midnight.
  EXPECT_EQ(parse_rfc3339("2024-05-02T01:30:30+13:30"), At(1714564830));
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00Z"), At(0));
  EXPECT_EQ(parse_rfc3339(" 2024-05-01T12:00:30Z "), At(1714564830));
}

TEST(ParseRfc3339Test, Fractions) {
  EXPECT_EQ(parse_rfc3339("2024-05-01T12:00:30.5Z"), At(1714564830, 500'000));
  EXPECT_EQ(parse_rfc3339("2024-05-01T12:00:30.123456Z"), At(1714564830, 123'456));
  // Digits below a microsecond are dropped.
  EXPECT_EQ(parse_rfc3339("2024-05-01T12:00:30.123456789Z"), At(1714564830, 123'456));
  EXPECT_EQ(parse_rfc3339("2024-05-01T14:00:30.25+02:00"), At(1714564830, 250'000));
  EXPECT_EQ(parse_rfc3339("2024-05-01T12:00:30.000000000000000000001Z"), At(1714564830));
}

TEST(ParseRfc3339Test, LeapYears) {
  EXPECT_EQ(parse_rfc3339("2024-02-29T00:00:00Z"), At(1709164800));
  EXPECT_EQ(parse_rfc3339("2000-02-29T23:59:59Z"), At(951868799));  // divisible by 400
  EXPECT_EQ(parse_rfc3339("2023-02-29T00:00:00Z"), std::nullopt);
  EXPECT_EQ(parse_rfc3339("1900-02-29T00:00:00Z"), std::nullopt);  // divisible by 100
  EXPECT_EQ(parse_rfc3339("2100-02-29T00:00:00Z"), std::nullopt);
}

TEST(ParseRfc3339Test, CalendarEdges) {
  EXPECT_EQ(parse_rfc3339("0001-01-01T00:00:00Z"), At(-62135596800));
  EXPECT_EQ(parse_rfc3339("9999-12-31T23:59:59Z"), At(253402300799));
  // A leap second lands on the first second of the next minute.
  EXPECT_EQ(parse_rfc3339("2016-12-31T23:59:60Z"), At(1483228800));
}

TEST(ParseRfc3339Test, RejectsInvalid) {
  for (const std::string_view text : {
           "",
           "2024-13-01T00:00:00Z",  // month 13
           "2024-00-01T00:00:00Z",  // month 0
           "2024-02-30T00:00:00Z",  // Feb 30
           "2024-04-31T00:00:00Z",  // April has 30 days
           "2024-05-00T00:00:00Z",  // day 0
           "2024-05-01T24:00:00Z",  // hour 24
           "2024-05-01T12:60:00Z",  // minute 60
           "2024-05-01T12:00:61Z",  // second 61
           "2024-05-01T12:00:30",   // no offset
           "2024-05-01T12:00:30+02",
           "2024-05-01T12:00:30+0200",
           "2024-05-01T12:00:30+24:00",
           "2024-05-01T12:00:30+02:60",
           "2024-05-01T12:00:30.Z",  // empty fraction
           "2024-05-01T12:00:30ZZ",
           "2024-05-01T12:00:30Z garbage",
           "2024-05-01X12:00:30Z",
           "2024-5-01T12:00:30Z",
           "24-05-01T12:00:30Z",
           "+2024-05-01T12:00:30Z",
           "2024-05-01T12:0a:30Z",
           "2024-05-01",
           "Wed, 21 Oct 2015 07:28:00 GMT",
       }) {
    EXPECT_EQ(parse_rfc3339(text), std::nullopt) << "'" << text << "'";
  }
}

// ------------------------------------------------------------------ parse_retry_after

TEST(ParseRetryAfterTest, DeltaSeconds) {
  const Time now = At(1'700'000'000, 123);
  EXPECT_EQ(parse_retry_after("30", now), now + std::chrono::seconds(30));
  EXPECT_EQ(parse_retry_after("0", now), now);
  EXPECT_EQ(parse_retry_after(" 5 ", now), now + std::chrono::seconds(5));
  EXPECT_EQ(parse_retry_after("1.5", now), now + microseconds(1'500'000));
}

TEST(ParseRetryAfterTest, HttpDates) {
  const Time now = At(757382400);  // 1994-01-01T00:00:00Z
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now), At(1445412480));
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now), At(784111777));
  EXPECT_EQ(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now), At(784111777));
  EXPECT_EQ(parse_retry_after("Sun Nov  6 08:49:37 1994", now), At(784111777));
  EXPECT_EQ(parse_retry_after("Sun Nov 16 08:49:37 1994", now), At(784111777 + 10 * 86400));
}

TEST(ParseRetryAfterTest, Rfc850TwoDigitYear) {
  // From 2026, "30" is 2030 (not more than 50 years ahead) and "94" is 1994.
  const Time now = At(1'780'000'000);  // 2026-05-28
  EXPECT_EQ(parse_retry_after("Monday, 01-Jan-30 00:00:00 GMT", now), At(1893456000));
  EXPECT_EQ(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now), now);  // in the past
}

TEST(ParseRetryAfterTest, DateInThePastGivesNow) {
  const Time now = At(1'700'000'000);
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now), now);
}

TEST(ParseRetryAfterTest, RejectsMalformed) {
  const Time now = At(1'700'000'000);
  for (const std::string_view text : {
           "",
           " ",
           "-1",
           "+30",
           "30s",
           "1e3",
           "soon",
           "Wed, 21 Oct 2015 07:28:00 UTC",
           "Wed, 21 Oct 2015 07:28:00",
           "Wed, 32 Oct 2015 07:28:00 GMT",
           "Wed, 29 Feb 2015 07:28:00 GMT",
           "Wed, 21 Foo 2015 07:28:00 GMT",
           "Xyz, 21 Oct 2015 07:28:00 GMT",
           "Wed, 21 Oct 2015 25:28:00 GMT",
           "Wed,21 Oct 2015 07:28:00 GMT",
           "Funday, 06-Nov-94 08:49:37 GMT",
           "Sunday, 06-Nov-1994 08:49:37 GMT",
           "Sun Nov  6 08:49:37 94",
           "Sun Nov 6 08:49:37 1994",
           "99999999999999999999",
           "2024-05-01T12:00:30Z",
       }) {
    EXPECT_EQ(parse_retry_after(text, now), std::nullopt) << "'" << text << "'";
  }
}

TEST(ParseRetryAfterTest, OverflowIsRejectedNotWrapped) {
  const Time late = Time(microseconds(INT64_MAX - 10));
  EXPECT_EQ(parse_retry_after("1", late), std::nullopt);
  EXPECT_EQ(parse_retry_after("0", late), late);
}

// ------------------------------------------------------------------ parse_retry_after_ms

TEST(ParseRetryAfterMsTest, MillisecondsWithFractions) {
  EXPECT_EQ(parse_retry_after_ms("1500"), microseconds(1'500'000));
  EXPECT_EQ(parse_retry_after_ms("12.5"), microseconds(12'500));
  EXPECT_EQ(parse_retry_after_ms("0.001"), microseconds(1));
  EXPECT_EQ(parse_retry_after_ms("0.0005"), microseconds(0));  // truncated
  EXPECT_EQ(parse_retry_after_ms("0"), microseconds(0));
  EXPECT_EQ(parse_retry_after_ms(" 250 "), microseconds(250'000));
}

TEST(ParseRetryAfterMsTest, RejectsMalformed) {
  for (const std::string_view text :
       {"", " ", "-1", "+1", "1e3", "1.2.3", "12ms", "1h2", "abc", ".", "99999999999999999999"}) {
    EXPECT_EQ(parse_retry_after_ms(text), std::nullopt) << "'" << text << "'";
  }
}

}  // namespace
}  // namespace keymux::router
