// parse_duration: the Go-style durations of keymux.yaml and OpenAI's reset headers.
#include <gtest/gtest.h>

#include <chrono>

#include "agent/config/duration.h"

namespace keymux::config {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

TEST(ConfigDuration, SingleUnits) {
  EXPECT_EQ(parse_duration("500ms"), milliseconds(500));
  EXPECT_EQ(parse_duration("250ms"), milliseconds(250));
  EXPECT_EQ(parse_duration("30s"), seconds(30));
  EXPECT_EQ(parse_duration("1h"), hours(1));
  EXPECT_EQ(parse_duration("2m"), minutes(2));
  EXPECT_EQ(parse_duration("12ms"), milliseconds(12));
  EXPECT_EQ(parse_duration("7us"), microseconds(7));
  EXPECT_EQ(parse_duration("7\xC2\xB5s"), microseconds(7));
  EXPECT_EQ(parse_duration("7\xCE\xBCs"), microseconds(7));
  EXPECT_EQ(parse_duration("3000ns"), microseconds(3));
}

TEST(ConfigDuration, Sequences) {
  EXPECT_EQ(parse_duration("6m0s"), minutes(6));
  EXPECT_EQ(parse_duration("1h2m3s"), hours(1) + minutes(2) + seconds(3));
  EXPECT_EQ(parse_duration("1m30s"), seconds(90));
  EXPECT_EQ(parse_duration("1s500ms"), milliseconds(1500));
  EXPECT_EQ(parse_duration("1h2m3.5s"), hours(1) + minutes(2) + milliseconds(3500));
}

TEST(ConfigDuration, Fractions) {
  EXPECT_EQ(parse_duration("1.5s"), milliseconds(1500));
  EXPECT_EQ(parse_duration("0.5s"), milliseconds(500));
  EXPECT_EQ(parse_duration(".5s"), milliseconds(500));
  EXPECT_EQ(parse_duration("1.s"), seconds(1));
  EXPECT_EQ(parse_duration("1.5ms"), microseconds(1500));
  EXPECT_EQ(parse_duration("0.25h"), minutes(15));
  EXPECT_EQ(parse_duration("1.000001s"), microseconds(1'000'001));
  // Below a microsecond is dropped.
  EXPECT_EQ(parse_duration("1.0000019s"), microseconds(1'000'001));
  EXPECT_EQ(parse_duration("999ns"), microseconds(0));
}

TEST(ConfigDuration, Zero) {
  EXPECT_EQ(parse_duration("0"), microseconds(0));
  EXPECT_EQ(parse_duration("0s"), microseconds(0));
  EXPECT_EQ(parse_duration("0ms"), microseconds(0));
}

TEST(ConfigDuration, Malformed) {
  for (const char* text :
       {"",    "s",     "10",  "1",    "-1s",   "+1s",   "1 s",       " 1s",   "1s ",
        "1x",  "1S",    "1d",  ".s",   ".",     "1..5s", "1.5.s",     "ms",    "1sm",
        "1s1", "1h-1m", "abc", "1e3s", "0x10s", "1,5s",  "\xC2\xB5s", "1\xC2s"}) {
    EXPECT_EQ(parse_duration(text), std::nullopt) << "'" << text << "'";
  }
}

TEST(ConfigDuration, Overflow) {
  // int64 nanoseconds hold about 292 years.
  EXPECT_EQ(parse_duration("2562047h"), hours(2562047));
  EXPECT_EQ(parse_duration("2562048h"), std::nullopt);
  EXPECT_EQ(parse_duration("9223372036854775807ns"), microseconds(9223372036854775));
  EXPECT_EQ(parse_duration("9223372036854775808ns"), std::nullopt);
  EXPECT_EQ(parse_duration("99999999999999999999999s"), std::nullopt);
  EXPECT_EQ(parse_duration("2562047h2562047h"), std::nullopt);
}

}  // namespace
}  // namespace keymux::config
