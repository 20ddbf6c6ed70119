// The FUNCTION library (agent/state/keymux_functions.lua) against a real
// redis-server on a free loopback port: grants fit the limits, give-backs,
// closes that shorten a grant's count, charges, replay after Redis lost its
// data, membership, max-merged and published cooldowns, quarantines and
// enables.
#include "agent/state/redis_functions.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/redis_server.h"

namespace keymux::state {
namespace {

using Reply = std::unique_ptr<redisReply, decltype(&freeReplyObject)>;

// The library's HOP_MS: what a spend end adds for the way from a gateway's
// decision to the upstream (and the rounding to ms).
constexpr long long kHopMs = 50;

class RedisFunctionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!server_.ok()) GTEST_SKIP() << "redis-server did not start (is it installed?)";
    ctx_ = Connect();
    ASSERT_TRUE(ctx_);
    Load();
  }
  void TearDown() override {
    if (ctx_) redisFree(ctx_);
  }

  redisContext* Connect() {
    const timeval timeout{2, 0};
    redisContext* c = redisConnectWithTimeout("127.0.0.1", server_.port(), timeout);
    if (c == nullptr || c->err) return nullptr;
    redisSetTimeout(c, timeout);
    return c;
  }

  Reply Run(const std::vector<std::string>& args, redisContext* c = nullptr) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const std::string& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(c ? c : ctx_, static_cast<int>(argv.size()), argv.data(), lens.data()));
    return Reply(r, freeReplyObject);
  }

  void Load() {
    const Reply r = Run({"FUNCTION", "LOAD", "REPLACE", std::string(redis_functions_lua())});
    ASSERT_TRUE(r);
    ASSERT_NE(r->type, REDIS_REPLY_ERROR) << r->str;
  }

  std::string Epoch(const std::string& candidate = "e1") {
    const Reply r = Run({"FCALL", "keymux_epoch", "1", "t:epoch", candidate});
    return r && r->type == REDIS_REPLY_STRING ? r->str : "";
  }

  // {requests, tokens} granted, or {-1, -1} for "epoch".
  std::pair<long long, long long> Grant(const std::string& epoch, int rpm, int tpm, int ask_r,
                                        int ask_t, int window_ms = 60'000, int lifetime_ms = 1000,
                                        long long* id = nullptr, int min_t = 0) {
    const Reply r = Run({"FCALL", "keymux_grant", "3", "t:{k}:g", "t:{k}:a", "t:epoch", epoch,
                         std::to_string(rpm), std::to_string(tpm), std::to_string(window_ms),
                         std::to_string(lifetime_ms), std::to_string(ask_r), std::to_string(ask_t),
                         std::to_string(min_t)});
    EXPECT_TRUE(r && r->type == REDIS_REPLY_ARRAY) << (r ? r->str : "no reply");
    if (!r || r->type != REDIS_REPLY_ARRAY) return {-2, -2};
    if (std::string(r->element[0]->str) == "epoch") return {-1, -1};
    if (id) *id = r->element[1]->integer;
    return {r->element[2]->integer, r->element[3]->integer};
  }

  // keymux_give_back for grant `id` of key {k}; `spent_ms` closes it.
  long long GiveBack(long long id, int requests, int tokens, const std::string& spent_ms = "") {
    std::vector<std::string> args = {"FCALL",
                                     "keymux_give_back",
                                     "2",
                                     "t:{k}:g",
                                     "t:{k}:a",
                                     std::to_string(id),
                                     std::to_string(requests),
                                     std::to_string(tokens)};
    if (!spent_ms.empty()) args.push_back(spent_ms);
    const Reply r = Run(args);
    return r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
  }

  // Grant `id`'s spend end and grant time (Redis ms), or -1s when it is gone.
  std::pair<long long, long long> EndAndGranted(long long id) {
    const Reply end = Run({"ZSCORE", "t:{k}:g", std::to_string(id)});
    const Reply amounts = Run({"HGET", "t:{k}:a", std::to_string(id)});
    if (!end || end->type != REDIS_REPLY_STRING || !amounts ||
        amounts->type != REDIS_REPLY_STRING) {
      return {-1, -1};
    }
    const std::string v(amounts->str, amounts->len);
    return {std::stoll(end->str), std::stoll(v.substr(v.rfind(' ') + 1))};
  }

  long long RedisNowMs() {
    const Reply t = Run({"TIME"});
    return std::stoll(t->element[0]->str) * 1000 + std::stoll(t->element[1]->str) / 1000;
  }

  test::RedisServer server_;
  redisContext* ctx_ = nullptr;
};

TEST_F(RedisFunctionsTest, GrantsFitTheLimitAndUnusedUnitsGoBack) {
  const std::string e = Epoch();
  EXPECT_EQ(Grant(e, 10, 0, 4, 0), std::make_pair(4LL, 0LL));
  long long id = 0;
  EXPECT_EQ(Grant(e, 10, 0, 4, 0, 60'000, 1000, &id), std::make_pair(4LL, 0LL));
  EXPECT_EQ(Grant(e, 10, 0, 4, 0), std::make_pair(2LL, 0LL));  // what is left
  EXPECT_EQ(Grant(e, 10, 0, 4, 0), std::make_pair(0LL, 0LL));  // nothing fits
  // 3 of the second slice unused: they go back and can be granted again.
  const Reply back =
      Run({"FCALL", "keymux_give_back", "2", "t:{k}:g", "t:{k}:a", std::to_string(id), "3", "0"});
  ASSERT_EQ(back->integer, 1);
  EXPECT_EQ(Grant(e, 10, 0, 4, 0), std::make_pair(3LL, 0LL));
  // Tokens: a slice needs both limited dimensions.
  Run({"DEL", "t:{k}:g", "t:{k}:a"});
  EXPECT_EQ(Grant(e, 10, 1000, 2, 600), std::make_pair(2LL, 600LL));
  EXPECT_EQ(Grant(e, 10, 1000, 2, 600), std::make_pair(2LL, 400LL));
  EXPECT_EQ(Grant(e, 10, 1000, 2, 600), std::make_pair(0LL, 0LL));
  // A token slice smaller than the waiting request is refused, not granted
  // short (it could never serve that request).
  Run({"DEL", "t:{k}:g", "t:{k}:a"});
  EXPECT_EQ(Grant(e, 0, 1000, 0, 700, 60'000, 1000, nullptr, 700), std::make_pair(0LL, 700LL));
  EXPECT_EQ(Grant(e, 0, 1000, 0, 400, 60'000, 1000, nullptr, 400), std::make_pair(0LL, 0LL));
  EXPECT_EQ(Grant(e, 0, 1000, 0, 400, 60'000, 1000, nullptr, 300), std::make_pair(0LL, 300LL));
  // A charge is recorded without a check and holds later grants back.
  Run({"DEL", "t:{k}:g", "t:{k}:a"});
  Run({"FCALL", "keymux_charge", "3", "t:{k}:g", "t:{k}:a", "t:epoch", e, "60000", "1000", "900"});
  EXPECT_EQ(Grant(e, 0, 1000, 0, 600), std::make_pair(0LL, 100LL));
  const Reply usage = Run({"FCALL", "keymux_usage", "2", "t:{k}:g", "t:{k}:a", "60000", "1000"});
  ASSERT_EQ(usage->type, REDIS_REPLY_ARRAY);
  EXPECT_EQ(usage->element[1]->integer, 1000);
}

TEST_F(RedisFunctionsTest, GrantsLeaveTheLogAfterWindowPlusLifetime) {
  const std::string e = Epoch();
  const auto granted = std::chrono::steady_clock::now();
  EXPECT_EQ(Grant(e, 5, 0, 5, 0, 500, 500), std::make_pair(5LL, 0LL));
  EXPECT_EQ(Grant(e, 5, 0, 5, 0, 500, 500), std::make_pair(0LL, 0LL));
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // past the window alone
  // Still counted while window + lifetime (+ the margin) have not passed
  // (checked only when a loaded machine did not oversleep).
  if (std::chrono::steady_clock::now() - granted < std::chrono::milliseconds(950)) {
    EXPECT_EQ(Grant(e, 5, 0, 5, 0, 500, 500), std::make_pair(0LL, 0LL));
  }
  std::this_thread::sleep_until(granted + std::chrono::milliseconds(1000 + 1 + kHopMs + 40));
  EXPECT_EQ(Grant(e, 5, 0, 5, 0, 500, 500), std::make_pair(5LL, 0LL));
}

// A grant's spend end is its grant time + the lifetime (+ the margin: 0.1%
// and HOP_MS); a close moves it to the grant time + the node's spend
// duration, never later, and the grant then leaves the log a window after
// that instead of a window after its lifetime.
TEST_F(RedisFunctionsTest, ClosingASliceShortensItsCount) {
  const std::string e = Epoch();
  long long id = 0;
  const long long before = RedisNowMs();
  EXPECT_EQ(Grant(e, 5, 0, 5, 0, 300, 2000, &id), std::make_pair(5LL, 0LL));
  auto [end, granted] = EndAndGranted(id);
  EXPECT_GE(granted, before);
  EXPECT_LE(granted, RedisNowMs());
  EXPECT_EQ(end, granted + 2000 + 2 + kHopMs);
  // Closed: 3 spent within 40 ms of the ask, 2 back.
  EXPECT_EQ(GiveBack(id, 2, 0, "40"), 1);
  EXPECT_EQ(EndAndGranted(id), std::make_pair(granted + 40 + 1 + kHopMs, granted));
  // Never later: a second close with a longer spend, or a surplus, keeps it.
  EXPECT_EQ(GiveBack(id, 0, 0, "900"), 1);
  EXPECT_EQ(GiveBack(id, 0, 0), 1);
  EXPECT_EQ(EndAndGranted(id).first, granted + 41 + kHopMs);
  const Reply usage = Run({"FCALL", "keymux_usage", "2", "t:{k}:g", "t:{k}:a", "300", "2000"});
  EXPECT_EQ(usage->element[0]->integer, 3);
  // It leaves the log 300 ms after its end: about 391 ms after the grant,
  // where the lifetime alone would keep it 2.3 s.
  std::this_thread::sleep_for(std::chrono::milliseconds(450));
  EXPECT_EQ(Grant(e, 5, 0, 5, 0, 300, 2000), std::make_pair(5LL, 0LL));
  EXPECT_EQ(EndAndGranted(id).first, -1);
  // A grant given back whole (never spent) leaves the log at once.
  Run({"DEL", "t:{k}:g", "t:{k}:a"});
  EXPECT_EQ(Grant(e, 5, 1000, 2, 100, 60'000, 1000, &id), std::make_pair(2LL, 100LL));
  EXPECT_EQ(GiveBack(id, 2, 100, "0"), 1);
  EXPECT_EQ(EndAndGranted(id).first, -1);
  EXPECT_EQ(Grant(e, 5, 1000, 5, 1000), std::make_pair(5LL, 1000LL));
  EXPECT_EQ(GiveBack(id, 1, 1), 0);  // gone: nothing counts any more
  // An entry an older library wrote ("requests tokens", the score its grant
  // time) still gives back and leaves the log with its sums; it is never
  // shortened.
  Run({"DEL", "t:{k}:g", "t:{k}:a"});
  const std::string now = std::to_string(RedisNowMs());
  Run({"ZADD", "t:{k}:g", now, "42"});
  Run({"HSET", "t:{k}:a", "42", "3 0", "sr", "3", "st", "0"});
  EXPECT_EQ(GiveBack(42, 1, 0, "10"), 1);
  EXPECT_EQ(Run({"ZSCORE", "t:{k}:g", "42"})->str, now);
  EXPECT_EQ(Grant(e, 5, 0, 5, 0, 300, 2000), std::make_pair(3LL, 0LL));
  std::this_thread::sleep_for(std::chrono::milliseconds(350));
  Run({"FCALL", "keymux_usage", "2", "t:{k}:g", "t:{k}:a", "300", "2000"});
  EXPECT_EQ(Run({"HGET", "t:{k}:a", "42"})->type, REDIS_REPLY_NIL);
}

// Charges and degraded spends end when they were spent; a replayed grant
// ends where the node says its spends end (its lifetime while open).
TEST_F(RedisFunctionsTest, ChargesRecordsAndReplaysEndWhenSpent) {
  const std::string e = Epoch();
  const long long before = RedisNowMs();
  const Reply charged = Run(
      {"FCALL", "keymux_charge", "3", "t:{k}:g", "t:{k}:a", "t:epoch", e, "60000", "1000", "70"});
  ASSERT_EQ(charged->type, REDIS_REPLY_ARRAY);
  auto [end, at] = EndAndGranted(charged->element[1]->integer);
  EXPECT_GE(at, before);
  EXPECT_EQ(end, at + kHopMs);
  Run({"DEL", "t:{k}:g", "t:{k}:a"});
  Run({"FCALL", "keymux_record", "2", "t:{k}:g", "t:{k}:a", "60000", "1000", "500", "3", "0"});
  const Reply ids = Run({"ZRANGE", "t:{k}:g", "0", "-1"});
  ASSERT_EQ(ids->elements, 1u);
  std::tie(end, at) = EndAndGranted(std::stoll(ids->element[0]->str));
  EXPECT_GE(at, before - 500);
  EXPECT_LE(at, RedisNowMs() - 500);
  EXPECT_EQ(end, at + kHopMs);
  Run({"FLUSHALL"});
  const std::string e2 = Epoch("again");
  const Reply replayed = Run({"FCALL",   "keymux_replay",
                              "2",       "t:{k}:g",
                              "t:{k}:a", "2000",
                              "1000",    "7",
                              "800",     "120",
                              "3",       "0",
                              "8",       "300",
                              "1000",    "2",
                              "0",       "9",
                              "5000",    "100",
                              "1",       "0"});
  EXPECT_EQ(replayed->integer, 2);  // 9 ended more than a window ago
  std::tie(end, at) = EndAndGranted(7);
  EXPECT_EQ(end, at + 120 + 1 + kHopMs);
  std::tie(end, at) = EndAndGranted(8);
  EXPECT_EQ(end, at + 1000 + 1 + kHopMs);
  EXPECT_LE(at, RedisNowMs() - 300);
  EXPECT_EQ(Grant(e2, 10, 0, 10, 0, 2000, 1000), std::make_pair(5LL, 0LL));
}

TEST_F(RedisFunctionsTest, LostDataIsToldByTheEpochAndReplayRestoresTheGrants) {
  std::string e = Epoch("first");
  ASSERT_EQ(e, "first");
  EXPECT_EQ(Epoch("second"), "first");  // set once
  long long id = 0;
  EXPECT_EQ(Grant(e, 10, 0, 6, 0, 60'000, 1000, &id), std::make_pair(6LL, 0LL));
  Run({"FLUSHALL"});  // as a restart without persistence
  EXPECT_EQ(Grant(e, 10, 0, 6, 0), std::make_pair(-1LL, -1LL));
  e = Epoch("third");
  ASSERT_EQ(e, "third");
  const Reply replayed = Run({"FCALL", "keymux_replay", "2", "t:{k}:g", "t:{k}:a", "60000", "1000",
                              std::to_string(id), "200", "1000", "6", "0"});
  EXPECT_EQ(replayed->integer, 1);
  long long next = 0;
  EXPECT_EQ(Grant(e, 10, 0, 6, 0, 60'000, 1000, &next), std::make_pair(4LL, 0LL));
  EXPECT_GT(next, id);  // ids never repeat
  // The library itself is gone after FUNCTION FLUSH: loading it again on
  // reconnect is what the agent does.
  Run({"FUNCTION", "FLUSH"});
  const Reply gone = Run({"FCALL", "keymux_epoch", "1", "t:epoch", "x"});
  EXPECT_EQ(gone->type, REDIS_REPLY_ERROR);
  Load();
  EXPECT_EQ(Epoch(), "third");
}

// What a node spent alone (degraded) is recorded as spent after a recovery,
// at the time it was spent, so grants keep the window; batches older than
// window + lifetime no longer count and are not recorded.
TEST_F(RedisFunctionsTest, DegradedSpendsAreRecordedAndHoldGrantsBack) {
  const std::string e = Epoch();
  const Reply recorded = Run({"FCALL", "keymux_record", "2", "t:{k}:g", "t:{k}:a", "60000", "1000",
                              "500", "3", "300", "100", "4", "0", "61500", "9", "0"});
  ASSERT_EQ(recorded->type, REDIS_REPLY_INTEGER);
  EXPECT_EQ(recorded->integer, 2);
  EXPECT_EQ(Grant(e, 10, 1000, 6, 900), std::make_pair(3LL, 700LL));
}

TEST_F(RedisFunctionsTest, HeartbeatsListTheLiveNodes) {
  Run({"FCALL", "keymux_heartbeat", "1", "t:members", "gw-b", "200"});
  const Reply both = Run({"FCALL", "keymux_heartbeat", "1", "t:members", "gw-a", "200"});
  ASSERT_EQ(both->elements, 2u);
  std::this_thread::sleep_for(std::chrono::milliseconds(120));
  Run({"FCALL", "keymux_heartbeat", "1", "t:members", "gw-a", "200"});
  std::this_thread::sleep_for(std::chrono::milliseconds(120));
  const Reply one = Run({"FCALL", "keymux_heartbeat", "1", "t:members", "gw-a", "200"});
  ASSERT_EQ(one->elements, 1u);  // gw-b stopped beating
  EXPECT_STREQ(one->element[0]->str, "gw-a");
}

TEST_F(RedisFunctionsTest, CooldownsMaxMergeAndArePublished) {
  redisContext* sub = Connect();
  ASSERT_TRUE(sub);
  const Reply subscribed = Run({"SUBSCRIBE", "t:events"}, sub);
  ASSERT_TRUE(subscribed);
  auto cool = [&](const std::string& until) {
    return Run({"FCALL", "keymux_cooldown", "1", "t:cool", "t:events", "k1", until, "rate_limited"})
        ->integer;
  };
  EXPECT_EQ(cool("2000000000000"), 2000000000000);
  EXPECT_EQ(cool("1900000000000"), 2000000000000);  // never shortened
  EXPECT_EQ(cool("2100000000000"), 2100000000000);
  // An ejection: the same function on a hash of its own.
  EXPECT_EQ(Run({"FCALL", "keymux_cooldown", "1", "t:eject", "t:events", "k1", "2000000000000",
                 "ejected"})
                ->integer,
            2000000000000);
  Run({"FCALL", "keymux_standing", "2", "t:standing", "t:cool", "t:events", "k1", "quarantine",
       "upstream 401"});
  EXPECT_STREQ(Run({"HGET", "t:standing", "k1"})->str, "upstream 401");
  Run({"FCALL", "keymux_standing", "3", "t:standing", "t:cool", "t:eject", "t:events", "k1",
       "enable", ""});
  EXPECT_EQ(Run({"HGET", "t:standing", "k1"})->type, REDIS_REPLY_NIL);
  EXPECT_EQ(Run({"HGET", "t:cool", "k1"})->type, REDIS_REPLY_NIL);   // an enable ends it too
  EXPECT_EQ(Run({"HGET", "t:eject", "k1"})->type, REDIS_REPLY_NIL);  // and the ejection
  // Published: the two lengthenings, the ejection, the quarantine and the
  // enable (not the shorter one).
  std::vector<std::string> messages;
  for (int i = 0; i < 5; ++i) {
    void* raw = nullptr;
    ASSERT_EQ(redisGetReply(sub, &raw), REDIS_OK);
    const Reply m(static_cast<redisReply*>(raw), freeReplyObject);
    messages.emplace_back(m->element[2]->str);
  }
  EXPECT_EQ(messages[0], "cool k1 2000000000000 rate_limited");
  EXPECT_EQ(messages[1], "cool k1 2100000000000 rate_limited");
  EXPECT_EQ(messages[2], "cool k1 2000000000000 ejected");
  EXPECT_EQ(messages[3], "quarantine k1 upstream 401");
  EXPECT_EQ(messages[4], "enable k1");
  redisFree(sub);
}

}  // namespace
}  // namespace keymux::state
