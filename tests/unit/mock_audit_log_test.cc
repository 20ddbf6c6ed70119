// The mock's sliding-window audit: the busiest window of any length, exactly,
// over requests recorded with a fake timeline (and possibly out of order).
#include <gtest/gtest.h>

#include <chrono>

#include "tests/mock_upstream/audit_log.h"

namespace keymux::mock {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const Time kStart{seconds(1'700'000'000)};

Time at_ms(int ms) { return kStart + milliseconds(ms); }

class AuditLogTest : public ::testing::Test {
 protected:
  AuditLogTest() {
    // Out of order on purpose: 1000 is recorded before 500.
    log_.record(at_ms(0), 10, 200);
    log_.record(at_ms(1000), 30, 200);
    log_.record(at_ms(500), 20, 429);
    log_.record(at_ms(1999), 40, 200);
    log_.record(at_ms(2000), 5, 200);
    log_.record(at_ms(2500), 100, 0);
  }
  AuditLog log_;
};

TEST_F(AuditLogTest, KeepsEventsInTimeOrder) {
  ASSERT_EQ(log_.events().size(), 6u);
  EXPECT_EQ(log_.events()[1].at, at_ms(500));
  EXPECT_EQ(log_.events()[1].status, 429);
  EXPECT_EQ(log_.events()[2].at, at_ms(1000));
  EXPECT_EQ(log_.requests(), 6u);
  EXPECT_EQ(log_.tokens(), 205u);
}

TEST_F(AuditLogTest, TwoSecondWindowIsHalfOpen) {
  // [0, 2000) holds 0, 500, 1000, 1999: 2000 is one window later.
  // Tokens peak in [1000, 3000): 30 + 40 + 5 + 100.
  const WindowPeak peak = log_.peak(seconds(2));
  EXPECT_EQ(peak.requests, 4u);
  EXPECT_EQ(peak.requests_from, at_ms(0));
  EXPECT_EQ(peak.tokens, 175u);
  EXPECT_EQ(peak.tokens_from, at_ms(1000));
}

TEST_F(AuditLogTest, ShortAndLongWindows) {
  WindowPeak peak = log_.peak(milliseconds(1));
  EXPECT_EQ(peak.requests, 1u);
  EXPECT_EQ(peak.tokens, 100u);
  peak = log_.peak(milliseconds(2));  // 1999 and 2000
  EXPECT_EQ(peak.requests, 2u);
  EXPECT_EQ(peak.requests_from, at_ms(1999));
  peak = log_.peak(seconds(60));
  EXPECT_EQ(peak.requests, 6u);
  EXPECT_EQ(peak.tokens, 205u);
  EXPECT_EQ(log_.peak(milliseconds(0)).requests, 0u);
}

TEST(AuditLogEmptyTest, ClearForgetsAll) {
  AuditLog log;
  EXPECT_EQ(log.peak(seconds(1)).requests, 0u);
  log.record(kStart, 7, 200);
  log.clear();
  EXPECT_EQ(log.requests(), 0u);
  EXPECT_EQ(log.peak(seconds(1)).tokens, 0u);
  EXPECT_FALSE(log.truncated());
}

}  // namespace
}  // namespace keymux::mock
