// Compiling a Config into a Snapshot: routes, tiers, weights, globs.
#include <gtest/gtest.h>

#include "agent/router/snapshot.h"
#include "tests/unit/router_test_config.h"

namespace keymux::router {
namespace {

using test::AddProvider;
using test::AddRoute;

TEST(GlobTest, Matches) {
  EXPECT_TRUE(glob_match("gpt-4o", "gpt-4o"));
  EXPECT_FALSE(glob_match("gpt-4o", "gpt-4o-mini"));
  EXPECT_TRUE(glob_match("gpt-4o*", "gpt-4o-mini"));
  EXPECT_TRUE(glob_match("gpt-4o*", "gpt-4o"));
  EXPECT_TRUE(glob_match("claude-?-*", "claude-3-opus"));
  EXPECT_FALSE(glob_match("claude-?-*", "claude-35-opus"));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("*mini*", "gpt-4o-mini-2024"));
  EXPECT_TRUE(glob_match("a*b*c", "aXXbYYbZc"));
  EXPECT_FALSE(glob_match("a*b*c", "aXXbYYbZ"));
  EXPECT_FALSE(glob_match("", "x"));
  EXPECT_TRUE(glob_match("", ""));
  EXPECT_FALSE(glob_match("?", ""));
  // Pathological patterns stay fast.
  EXPECT_FALSE(glob_match("*a*a*a*a*a*a*a*a*b", std::string(5000, 'a')));
}

TEST(SnapshotTest, BuildsProvidersKeysRoutesAndTiers) {
  config::Config c;
  AddProvider(c, "openai", {{.id = "o1", .weight = 2, .rpm = 60}, {.id = "o2"}});
  AddProvider(c, "relay", {{.id = "r1", .models = {"gpt-4o*"}}});
  AddRoute(c, {"gpt-4o*"}, {{"relay", 1, 1}, {"openai", 0, 3}});
  AddRoute(c, {"text-*"}, {{"openai", 0, 1}}, /*is_default=*/true);
  test::SetTestDefaults(c);
  c.mutable_policy()->set_attempts(5);
  c.mutable_policy()->mutable_rate_limit_cooldown()->set_nanos(500'000'000);
  c.mutable_policy()->mutable_rate_limit_cooldown()->set_seconds(2);
  KeyRegistry registry;
  ClientRegistry clients;
  auto snap = Snapshot::build(c, registry, clients);

  ASSERT_EQ(snap->providers().size(), 2u);
  ASSERT_EQ(snap->keys().size(), 3u);
  const KeyEntry* o1 = snap->find_key("o1");
  ASSERT_NE(o1, nullptr);
  EXPECT_EQ(o1->provider->name, "openai");
  EXPECT_EQ(o1->provider->backend, "be_openai");
  EXPECT_EQ(o1->secret, "sk-secret-o1");
  EXPECT_EQ(o1->limits.rpm, 60u);
  EXPECT_EQ(o1->state, &registry.get("o1"));
  EXPECT_EQ(snap->find_key("nope"), nullptr);

  const RouteEntry* route = snap->find_route("gpt-4o-mini");
  ASSERT_NE(route, nullptr);
  EXPECT_EQ(route->name, "gpt-4o*");
  ASSERT_EQ(route->tiers.size(), 2u);
  ASSERT_EQ(route->tiers[0].candidates.size(), 2u);  // priority 0: openai
  EXPECT_EQ(route->tiers[0].candidates[0].key->id, "o1");
  EXPECT_DOUBLE_EQ(route->tiers[0].candidates[0].inverse_weight, 1.0 / 6);
  EXPECT_DOUBLE_EQ(route->tiers[0].candidates[1].inverse_weight, 1.0 / 3);
  EXPECT_EQ(route->tiers[1].candidates[0].key->id, "r1");
  EXPECT_EQ(route->keys.size(), 3u);

  EXPECT_EQ(snap->find_route(""), &snap->routes()[1]);
  EXPECT_EQ(snap->find_route("claude"), nullptr);
  EXPECT_EQ(snap->policy().attempts, 5u);
  EXPECT_EQ(snap->policy().cooldowns.rate_limit, std::chrono::milliseconds(2500));

  EXPECT_TRUE(snap->find_key("r1")->allows_model("gpt-4o"));
  EXPECT_FALSE(snap->find_key("r1")->allows_model("gpt-3.5"));
  EXPECT_TRUE(o1->allows_model("anything"));
}

TEST(SnapshotTest, NoDefaultRouteMeansNoRouteForEmptyModel) {
  config::Config c;
  AddProvider(c, "p", {{.id = "k"}});
  AddRoute(c, {"*"}, {{"p", 0, 1}});
  test::SetTestDefaults(c);
  KeyRegistry registry;
  ClientRegistry clients;
  auto snap = Snapshot::build(c, registry, clients);
  EXPECT_EQ(snap->find_route(""), nullptr);
  EXPECT_NE(snap->find_route("x"), nullptr);
}

}  // namespace
}  // namespace keymux::router
