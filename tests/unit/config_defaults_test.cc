// Defaults: what the rest of the agent reads when the file leaves a field out.
#include <gtest/gtest.h>

#include "agent/config/loader.h"
#include "tests/unit/config_test_util.h"

namespace keymux::config {
namespace {

using test::ExpectLoads;
using test::kValidBase;
using test::Load;
using test::Yaml;

TEST(ConfigDefaults, Policy) {
  const LoadResult result = Load(kValidBase);
  ExpectLoads(result);
  ASSERT_TRUE(result.config);
  const Policy& p = result.config->policy();
  EXPECT_TRUE(p.has_attempts());
  EXPECT_EQ(p.attempts(), 3u);
  EXPECT_EQ(p.rate_limit_cooldown().seconds(), 10);
  EXPECT_EQ(p.server_error_cooldown().seconds(), 1);
  EXPECT_EQ(p.server_error_cooldown_max().seconds(), 60);
  EXPECT_EQ(p.default_max_tokens(), 256u);
  EXPECT_EQ(p.in_flight_timeout().seconds(), 330);
  EXPECT_EQ(p.request_memory().seconds(), 120);
  EXPECT_EQ(p.request_memory_entries(), 100000u);
  EXPECT_EQ(p.ejection_consecutive_failures(), 5u);
  EXPECT_EQ(p.ejection_failure_percent(), 50u);
  EXPECT_EQ(p.ejection_minimum_requests(), 20u);
  EXPECT_EQ(p.ejection_window().seconds(), 10);
  EXPECT_EQ(p.limit_window().seconds(), 60);
  EXPECT_EQ(p.ejection_multiplier(), 2u);
  EXPECT_EQ(p.provider_ejection_failure_percent(), 50u);
  for (const auto* d :
       {&p.rate_limit_cooldown(), &p.server_error_cooldown(), &p.server_error_cooldown_max(),
        &p.in_flight_timeout(), &p.request_memory(), &p.ejection_window()}) {
    EXPECT_EQ(d->nanos(), 0);
  }
}

TEST(ConfigDefaults, GivenValuesAreKept) {
  const LoadResult result = Load(std::string(kValidBase) + Yaml(R"(
policy:
  attempts: 1
  rate_limit_cooldown: 2s
  server_error_cooldown_max: 1s
  request_memory_entries: 1000
  ejection_consecutive_failures: 0
  ejection_failure_percent: 0
  provider_ejection_failure_percent: 90
)"));
  ExpectLoads(result);
  ASSERT_TRUE(result.config);
  const Policy& p = result.config->policy();
  EXPECT_EQ(p.attempts(), 1u);
  EXPECT_EQ(p.rate_limit_cooldown().seconds(), 2);
  EXPECT_EQ(p.server_error_cooldown().seconds(), 1);
  EXPECT_EQ(p.server_error_cooldown_max().seconds(), 1);
  EXPECT_EQ(p.request_memory_entries(), 1000u);
  EXPECT_EQ(p.ejection_consecutive_failures(), 0u);  // 0 given: off, not the default
  EXPECT_EQ(p.ejection_failure_percent(), 0u);
  EXPECT_EQ(p.provider_ejection_failure_percent(), 90u);
}

TEST(ConfigDefaults, WeightsAndRouteNames) {
  const LoadResult result = Load(Yaml(R"(
providers:
  - name: a
    backend: be_a
    auth: bearer
    keys:
      - id: k1
        secret: s
      - id: k2
        secret: s
        weight: 7
routes:
  - models: [gpt-4o, gpt-4o-mini]
    targets:
      - provider: a
  - name: named
    models: [o1]
    targets:
      - provider: a
        weight: 4
  - default: true
    targets:
      - provider: a
)"));
  ExpectLoads(result);
  ASSERT_TRUE(result.config);
  const Config& c = *result.config;
  EXPECT_EQ(c.providers(0).keys(0).weight(), 1u);
  EXPECT_EQ(c.providers(0).keys(1).weight(), 7u);
  EXPECT_EQ(c.routes(0).name(), "gpt-4o");
  EXPECT_EQ(c.routes(0).targets(0).weight(), 1u);
  EXPECT_EQ(c.routes(1).name(), "named");
  EXPECT_EQ(c.routes(1).targets(0).weight(), 4u);
  EXPECT_EQ(c.routes(2).name(), "default");
  EXPECT_EQ(c.routes(0).targets(0).priority(), 0u);
  EXPECT_EQ(c.providers(0).keys(0).rpm(), 0u);  // no limit
}

}  // namespace
}  // namespace keymux::config
