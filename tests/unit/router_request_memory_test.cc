// Per-request memory of tried keys and per-attempt tickets: bounded, expiring.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "agent/router/request_memory.h"

namespace keymux::router {
namespace {

using std::chrono::seconds;

const Time kT0 = Time(seconds(1'700'000'000));

TEST(RequestMemoryTest, RemembersWhichTriedKeysMayNotBeTriedAgain) {
  RequestMemory memory(seconds(120), seconds(330), 1000);
  KeyState a("a"), b("b");
  ProviderState p("p");
  const AttemptTags tags{&p, AttemptKind::kPanic, AttemptKind::kProbe, {}, false, false};
  const auto t1 = memory.admit("req", a, nullptr, 10, kT0, tags);
  const auto t2 = memory.admit("req", b, nullptr, 10, kT0);
  const std::optional<Ticket> settled = memory.settle(t1, /*spent=*/true);  // a 429
  ASSERT_TRUE(settled.has_value());
  EXPECT_EQ(settled->tags.provider, &p);
  EXPECT_EQ(settled->tags.key_kind, AttemptKind::kPanic);
  EXPECT_EQ(settled->tags.provider_kind, AttemptKind::kProbe);
  ASSERT_TRUE(memory.settle(t2).has_value());  // a 5xx: may be tried again
  const auto attempt = memory.begin("req", kT0 + seconds(1));
  EXPECT_EQ(attempt.tried.size(), 2u);
  ASSERT_EQ(attempt.spent.size(), 1u);
  EXPECT_EQ(attempt.spent[0], &a);
  // A request without an id has nothing to remember.
  memory.settle(memory.admit("", a, nullptr, 1, kT0), true);
  EXPECT_TRUE(memory.begin("", kT0).spent.empty());
}

TEST(RequestMemoryTest, RemembersTriedKeysPerRequestId) {
  RequestMemory memory(seconds(120), seconds(330), 1000);
  KeyState a("a"), b("b");
  EXPECT_TRUE(memory.begin("req-1", kT0).tried.empty());
  const auto t1 = memory.admit("req-1", a, nullptr, 10, kT0);
  ASSERT_TRUE(memory.settle(t1).has_value());
  auto attempt = memory.begin("req-1", kT0 + seconds(1));
  ASSERT_EQ(attempt.tried.size(), 1u);
  EXPECT_EQ(attempt.tried[0], &a);
  EXPECT_TRUE(attempt.abandoned.empty());
  memory.admit("req-1", b, nullptr, 10, kT0 + seconds(1));
  EXPECT_EQ(memory.begin("req-1", kT0 + seconds(2)).tried.size(), 2u);
  EXPECT_TRUE(memory.begin("req-2", kT0).tried.empty());
  EXPECT_TRUE(memory.begin("", kT0).tried.empty());
}

TEST(RequestMemoryTest, SettleClosesATicketOnce) {
  RequestMemory memory(seconds(120), seconds(330), 1000);
  KeyState a("a");
  const auto t = memory.admit("", a, nullptr, 42, kT0);
  EXPECT_NE(t, 0u);
  EXPECT_EQ(memory.open_tickets(), 1u);
  const auto ticket = memory.settle(t);
  ASSERT_TRUE(ticket.has_value());
  EXPECT_EQ(ticket->key, &a);
  EXPECT_EQ(ticket->tokens, 42u);
  EXPECT_FALSE(memory.settle(t).has_value());
  EXPECT_FALSE(memory.settle(0).has_value());
  EXPECT_FALSE(memory.settle(~std::uint64_t{0}).has_value());
  EXPECT_EQ(memory.open_tickets(), 0u);
}

TEST(RequestMemoryTest, ReusedSlotsDoNotAnswerToOldIds) {
  RequestMemory memory(seconds(120), seconds(330), 1000);
  KeyState a("a");
  std::set<std::uint64_t> ids;
  for (int i = 0; i < 100; ++i) {
    const auto t = memory.admit("", a, nullptr, 1, kT0);
    EXPECT_TRUE(ids.insert(t).second);
    ASSERT_TRUE(memory.settle(t).has_value());
  }
  for (auto id : ids) EXPECT_FALSE(memory.settle(id).has_value());
}

TEST(RequestMemoryTest, OpenTicketsOfEarlierAttemptsAreAbandoned) {
  RequestMemory memory(seconds(120), seconds(330), 1000);
  KeyState a("a"), b("b");
  const auto t1 = memory.admit("req", a, nullptr, 10, kT0);
  auto attempt = memory.begin("req", kT0 + seconds(5));
  ASSERT_EQ(attempt.abandoned.size(), 1u);
  EXPECT_EQ(attempt.abandoned[0].id, t1);
  EXPECT_EQ(attempt.abandoned[0].key, &a);
  EXPECT_FALSE(memory.settle(t1).has_value());  // closed by begin()
  memory.admit("req", b, nullptr, 10, kT0 + seconds(5));
  EXPECT_EQ(memory.begin("req", kT0 + seconds(6)).abandoned.size(), 1u);
  EXPECT_TRUE(memory.begin("req", kT0 + seconds(7)).abandoned.empty());
}

TEST(RequestMemoryTest, TicketsExpireAfterTheirTtl) {
  RequestMemory memory(seconds(120), seconds(330), 1000);
  KeyState a("a");
  const auto t1 = memory.admit("", a, nullptr, 1, kT0);
  const auto t2 = memory.admit("r", a, nullptr, 1, kT0 + seconds(10));
  EXPECT_TRUE(memory.expire(kT0 + seconds(329)).empty());
  auto expired = memory.expire(kT0 + seconds(330));
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].id, t1);
  expired = memory.expire(kT0 + seconds(340));
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].id, t2);
  EXPECT_EQ(memory.open_tickets(), 0u);
}

TEST(RequestMemoryTest, RequestIdsExpireAndSeenAgainRefreshes) {
  RequestMemory memory(seconds(120), seconds(330), 1000);
  KeyState a("a"), b("b");
  memory.settle(memory.admit("old", a, nullptr, 1, kT0));
  memory.settle(memory.admit("kept", a, nullptr, 1, kT0));
  memory.settle(memory.admit("kept", b, nullptr, 1, kT0 + seconds(100)));
  memory.expire(kT0 + seconds(120));
  EXPECT_EQ(memory.requests(), 1u);
  EXPECT_TRUE(memory.begin("old", kT0 + seconds(120)).tried.empty());
  EXPECT_EQ(memory.begin("kept", kT0 + seconds(150)).tried.size(), 2u);
  memory.expire(kT0 + seconds(220));
  EXPECT_EQ(memory.requests(), 0u);
}

TEST(RequestMemoryTest, BoundedEvictsOldestAndHandsBackTheirTickets) {
  RequestMemory memory(seconds(120), seconds(330), RequestMemory::kShards);  // 1 per shard
  KeyState a("a");
  std::set<std::uint64_t> open;
  for (int i = 0; i < 1000; ++i) {
    open.insert(memory.admit("req-" + std::to_string(i), a, nullptr, 1, kT0 + Duration(i)));
  }
  EXPECT_LE(memory.requests(), RequestMemory::kShards);
  EXPECT_TRUE(memory.begin("req-0", kT0 + seconds(1)).tried.empty());
  const auto evicted = memory.expire(kT0 + seconds(1));
  EXPECT_EQ(evicted.size() + memory.open_tickets(), 1000u);
  EXPECT_GE(evicted.size(), 1000u - RequestMemory::kShards);
  for (const Ticket& t : evicted) {
    EXPECT_EQ(open.erase(t.id), 1u);
    EXPECT_FALSE(memory.settle(t.id).has_value());
  }
  EXPECT_TRUE(memory.expire(kT0 + seconds(2)).empty());
}

TEST(RequestMemoryTest, RetriesPastTheInlineKeysKeepEveryTriedKeyInOrder) {
  RequestMemory memory(seconds(120), seconds(330), 1000);
  std::vector<std::unique_ptr<KeyState>> keys;
  for (int i = 0; i < 12; ++i) keys.push_back(std::make_unique<KeyState>("k" + std::to_string(i)));
  std::uint64_t last = 0;
  for (int i = 0; i < 12; ++i) {
    auto attempt = memory.begin("req", kT0 + seconds(i));
    ASSERT_EQ(attempt.tried.size(), static_cast<std::size_t>(i));
    for (int j = 0; j < i; ++j) EXPECT_EQ(attempt.tried[j], keys[j].get());
    if (i > 0) {
      ASSERT_EQ(attempt.abandoned.size(), 1u);
      EXPECT_EQ(attempt.abandoned[0].id, last);
    }
    last = memory.admit("req", *keys[i], nullptr, 1, kT0 + seconds(i));
  }
  // Expired but not yet swept, then admitted again: a new request.
  memory.admit("req", *keys[0], nullptr, 1, kT0 + seconds(500));
  EXPECT_EQ(memory.begin("req", kT0 + seconds(501)).tried.size(), 1u);
}

TEST(RequestMemoryTest, RefreshedIdOutlivesOlderOnesThenExpires) {
  RequestMemory memory(seconds(120), seconds(330), 1000);
  KeyState a("a");
  memory.settle(memory.admit("a", a, nullptr, 1, kT0));
  memory.settle(memory.admit("b", a, nullptr, 1, kT0 + seconds(1)));
  memory.settle(memory.admit("a", a, nullptr, 1, kT0 + seconds(50)));  // refreshed
  memory.expire(kT0 + seconds(121));
  EXPECT_EQ(memory.requests(), 1u);
  EXPECT_TRUE(memory.begin("b", kT0 + seconds(121)).tried.empty());
  EXPECT_EQ(memory.begin("a", kT0 + seconds(121)).tried.size(), 2u);
  memory.expire(kT0 + seconds(169));
  EXPECT_EQ(memory.requests(), 1u);
  memory.expire(kT0 + seconds(170));
  EXPECT_EQ(memory.requests(), 0u);
  EXPECT_TRUE(memory.begin("a", kT0 + seconds(170)).tried.empty());
}

// Many inserts and erases (by expiry) against a model: the table's
// backward-shift deletion must never lose or invent an id.
TEST(RequestMemoryTest, ManyInsertsAndExpiriesMatchAModel) {
  RequestMemory memory(seconds(120), seconds(330), 1'000'000);
  KeyState a("a");
  std::mt19937_64 rng(42);
  std::map<std::string, Time> expires;  // the model: id -> expiry
  Time now = kT0;
  for (int round = 0; round < 40; ++round) {
    for (int i = 0; i < 2000; ++i) {
      now += std::chrono::milliseconds(rng() % 50);
      const std::string id = "id-" + std::to_string(rng() % 20000);
      memory.settle(memory.admit(id, a, nullptr, 1, now));
      expires[id] = now + seconds(120);
    }
    memory.expire(now);
    std::erase_if(expires, [&](const auto& e) { return e.second <= now; });
    // Ids refreshed out of queue order may linger (unseen) past their expiry.
    ASSERT_GE(memory.requests(), expires.size());
    for (const auto& [id, _] : expires) {
      ASSERT_FALSE(memory.begin(id, now).tried.empty()) << id;
    }
    for (int i = 0; i < 200; ++i) {
      const std::string id = "id-" + std::to_string(rng() % 20000);
      EXPECT_EQ(memory.begin(id, now).tried.empty(), !expires.contains(id)) << id;
    }
  }
  memory.expire(now + seconds(120));
  EXPECT_EQ(memory.requests(), 0u);
}

TEST(RequestMemoryTest, LoweringAndRaisingTheBoundKeepsWorking) {
  RequestMemory memory(seconds(120), seconds(330), 10'000);
  KeyState a("a");
  for (int i = 0; i < 5000; ++i)
    memory.settle(memory.admit("r" + std::to_string(i), a, nullptr, 1, kT0));
  EXPECT_EQ(memory.requests(), 5000u);
  memory.set_limits(seconds(120), seconds(330), 16 * 10);
  for (int i = 0; i < 5000; ++i)
    memory.settle(memory.admit("s" + std::to_string(i), a, nullptr, 1, kT0));
  EXPECT_LE(memory.requests(), 16u * 10u);
  memory.set_limits(seconds(120), seconds(330), 100'000);
  for (int i = 0; i < 50'000; ++i)
    memory.settle(memory.admit("t" + std::to_string(i), a, nullptr, 1, kT0));
  EXPECT_GE(memory.requests(), 50'000u);
  EXPECT_FALSE(memory.begin("t0", kT0).tried.empty());
  EXPECT_FALSE(memory.begin("t49999", kT0).tried.empty());
}

}  // namespace
}  // namespace keymux::router
