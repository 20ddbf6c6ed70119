// The outcome line HAProxy logs for every attempt (outcome_line.h).
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "agent/router/outcome_line.h"

namespace keymux::router {
namespace {

// What fe_inner writes for a 200 (haproxy.cfg's log-format, absent fields "-").
constexpr std::string_view kSuccess =
    "keymux1 t=42 s=200 hs=200 k=op-a rq=8015d020-1d09-4778-a156-627bbe917b6e at=1 ta=12 tr=11 "
    "b=483 ts=---- se=- ec=- c=e2e%20main rr=99 rt=- rsr=6m0s rst=- arr=- ars=- atr=- ats=- "
    "air=- ais=- aor=- aos=- ram=- ra=Wed%2C%2021%20Oct%202015%2007%3A28%3A00%20GMT";

OutcomeLine Parse(std::string_view line) {
  OutcomeLine out;
  std::string error;
  EXPECT_TRUE(parse_outcome_line(line, out, error)) << error << " in: " << line;
  return out;
}

std::string Refusal(std::string_view line) {
  OutcomeLine out;
  std::string error;
  EXPECT_FALSE(parse_outcome_line(line, out, error)) << line;
  return error;
}

TEST(OutcomeLine, ReadsEveryFieldOfHAProxysLine) {
  const OutcomeLine o = Parse(kSuccess);
  EXPECT_EQ(o.ticket, 42u);
  EXPECT_EQ(o.status, 200);
  EXPECT_EQ(o.gateway_status, 200);
  EXPECT_EQ(o.key_id, "op-a");
  EXPECT_EQ(o.request_id, "8015d020-1d09-4778-a156-627bbe917b6e");
  EXPECT_EQ(o.attempt, "1");
  EXPECT_EQ(o.total_ms, 12);
  EXPECT_EQ(o.response_ms, 11);
  EXPECT_EQ(o.bytes, 483u);
  EXPECT_EQ(o.termination, "----");
  EXPECT_EQ(o.spoe_error, "");
  EXPECT_EQ(o.client, "e2e main");
  ASSERT_TRUE(o.headers[0]);
  EXPECT_EQ(outcome_header_name(0), "x-ratelimit-remaining-requests");
  EXPECT_EQ(*o.headers[0], "99");
  EXPECT_FALSE(o.headers[1]);
  EXPECT_EQ(*o.headers[2], "6m0s");
  EXPECT_EQ(outcome_header_name(13), "retry-after");
  EXPECT_EQ(*o.headers[13], "Wed, 21 Oct 2015 07:28:00 GMT");
  EXPECT_FALSE(o.failed());
}

TEST(OutcomeLine, AnAttemptWithoutKeyHasNoTicket) {
  const OutcomeLine o = Parse("keymux1 t=- s=- hs=401 ec=unknown_client ts=----\n");
  EXPECT_EQ(o.ticket, 0u);
  EXPECT_EQ(o.status, 0);
  EXPECT_EQ(o.error_code, "unknown_client");
  EXPECT_TRUE(o.failed());
}

TEST(OutcomeLine, FailuresAndAbnormalEndsAreFailed) {
  EXPECT_TRUE(Parse("keymux1 t=1 s=429 hs=503").failed());
  EXPECT_TRUE(Parse("keymux1 t=1 s=200 hs=200 ts=CD--").failed());  // client went away
  EXPECT_FALSE(Parse("keymux1 t=1 s=201 hs=201").failed());
}

TEST(OutcomeLine, UnknownFieldsAreSkipped) {
  const OutcomeLine o = Parse("keymux1 t=7 zz=whatever s=200 new1=1");
  EXPECT_EQ(o.ticket, 7u);
  EXPECT_EQ(o.status, 200);
}

TEST(OutcomeLine, TimingsMayBeMinusOne) {
  const OutcomeLine o = Parse("keymux1 t=7 s=502 hs=503 ta=-1 tr=-1");
  EXPECT_EQ(o.total_ms, -1);
  EXPECT_EQ(o.response_ms, -1);
}

TEST(OutcomeLine, RefusesWhatBreaksTheGrammar) {
  EXPECT_NE(Refusal(""), "");
  EXPECT_NE(Refusal("keymux2 t=1 s=200"), "");
  EXPECT_NE(Refusal("keymux1x t=1 s=200"), "");
  EXPECT_NE(Refusal("keymux1 s=200"), "");                   // no ticket field
  EXPECT_NE(Refusal("keymux1 t=1"), "");                     // no status field
  EXPECT_NE(Refusal("keymux1 t=1  s=200"), "");              // two spaces
  EXPECT_NE(Refusal("keymux1 t=1 s=200 "), "");              // trailing space
  EXPECT_NE(Refusal("keymux1 t=1 s=200 hs"), "");            // no '='
  EXPECT_NE(Refusal("keymux1 t=1 s=200 =5"), "");            // no key
  EXPECT_NE(Refusal("keymux1 t=1 s=200 Hs=5"), "");          // upper-case key
  EXPECT_NE(Refusal("keymux1 t=1 s=200 toolongkey=5"), "");  // key over 8
  EXPECT_NE(Refusal("keymux1 t=1 s=200 k="), "");            // empty value
  EXPECT_NE(Refusal("keymux1 t=1 s=200 t=2"), "");           // twice
  EXPECT_NE(Refusal("keymux1 t=x s=200"), "");
  EXPECT_NE(Refusal("keymux1 t=-5 s=200"), "");
  EXPECT_NE(Refusal("keymux1 t=18446744073709551616 s=200"), "");  // over 64 bits
  EXPECT_NE(Refusal("keymux1 t=1 s=99"), "");
  EXPECT_NE(Refusal("keymux1 t=1 s=1000"), "");
  EXPECT_NE(Refusal("keymux1 t=1 s=200 ta=-2"), "");
  EXPECT_NE(Refusal("keymux1 t=1 s=200 rr=%4"), "");  // broken escape
  EXPECT_NE(Refusal("keymux1 t=1 s=200 rr=%zz"), "");
  EXPECT_NE(Refusal(std::string("keymux1 t=1 s=200 k=a\x01")), "");
  EXPECT_NE(Refusal("keymux1 t=1 s=200 k=caf\xc3\xa9"), "");  // only printable ASCII
}

TEST(OutcomeLine, IsBounded) {
  std::string line = "keymux1 t=1 s=200";
  const std::string long_value(kMaxOutcomeValue + 1, 'a');
  EXPECT_NE(Refusal(line + " zz=" + long_value), "");
  std::string many = line;
  for (std::size_t i = 0; i < kMaxOutcomeFields; ++i) many += " z=1";
  EXPECT_NE(Refusal(many), "");
  std::string big = line;
  while (big.size() <= kMaxOutcomeLine) big += " z" + std::string(500, 'a').substr(0, 1) + "=b";
  EXPECT_NE(Refusal(big), "");
}

}  // namespace
}  // namespace keymux::router
