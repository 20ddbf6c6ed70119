// `state:` (shared state in Redis): defaults, the password from the
// environment, and a clear error for each bad value.
#include <gtest/gtest.h>

#include <string>

#include "agent/config/redis_address.h"
#include "tests/unit/config_test_util.h"

namespace keymux::config {
namespace {

using test::ExpectLoads;
using test::ExpectOneError;
using test::FakeEnvironment;
using test::kValidBase;
using test::Load;

// The state lines start at line 17.
std::string WithState(std::string_view lines) {
  return std::string(kValidBase) + "state:\n" + std::string(lines);
}

TEST(ConfigState, LeftOutMeansNoState) {
  const LoadResult r = Load(kValidBase);
  ExpectLoads(r);
  EXPECT_FALSE(r.config->has_state());
}

TEST(ConfigState, DefaultsAreFilled) {
  const LoadResult r = Load(WithState("  node: gw-1\n"));
  ExpectLoads(r);
  const State& s = r.config->state();
  EXPECT_EQ(s.redis(), "127.0.0.1:6379");
  EXPECT_EQ(s.key_prefix(), "keymux:");
  EXPECT_EQ(s.node(), "gw-1");
  EXPECT_EQ(s.degraded(), SPLIT);
  EXPECT_EQ(s.lease_lifetime().seconds(), 1);
  EXPECT_EQ(s.command_timeout().nanos(), 50'000'000);
  EXPECT_EQ(s.wait_deadline().nanos(), 50'000'000);
  EXPECT_TRUE(s.password().empty());
}

TEST(ConfigState, EmptyMappingTurnsStateOnWithDefaults) {
  const LoadResult r = Load(std::string(kValidBase) + "state: {}\n");
  ExpectLoads(r);
  EXPECT_TRUE(r.config->has_state());
  EXPECT_EQ(r.config->state().redis(), "127.0.0.1:6379");
}

TEST(ConfigState, PasswordFromTheEnvironment) {
  FakeEnvironment env;
  env.variables["REDIS_PASSWORD"] = "s3cret";
  const LoadResult r = Load(WithState("  password: ${REDIS_PASSWORD}\n"), env);
  ExpectLoads(r);
  EXPECT_EQ(r.config->state().password(), "s3cret");
  ExpectOneError(Load(WithState("  password: ${NOPE}\n")), 17,
                 "state: environment variable NOPE is not set");
}

TEST(ConfigState, EveryBadValueHasItsError) {
  ExpectOneError(Load(WithState("  redis: localhost\n")), 17,
                 "state: redis: expected host:port, [v6]:port or unix:/path");
  ExpectOneError(Load(WithState("  redis: localhost:0\n")), 17,
                 "state: redis: the port must be a number from 1 to 65535");
  ExpectOneError(Load(WithState("  redis: unix:redis.sock\n")), 17,
                 "state: redis: a unix socket is written unix:/absolute/path");
  ExpectOneError(Load(WithState("  key_prefix: \"a b\"\n")), 17, "state: key_prefix must be");
  ExpectOneError(Load(WithState("  node: \"gw/1\"\n")), 17, "state: node must be");
  ExpectOneError(Load(WithState("  degraded: maybe\n")), 17, "maybe");
  ExpectOneError(Load(WithState("  lease_lifetime: 500ms\n")), 17,
                 "state: lease_lifetime must be between 1s and 2s");
  ExpectOneError(Load(WithState("  lease_lifetime: 3s\n")), 17, "between 1s and 2s");
  ExpectOneError(Load(WithState("  command_timeout: 2s\n")), 17,
                 "state: command_timeout must be between 1ms and 1s");
  ExpectOneError(Load(WithState("  wait_deadline: 300ms\n")), 17,
                 "state: wait_deadline must be between 0s (never wait) and 200ms");
  ExpectOneError(Load(WithState("  wait_deadline: -1s\n")), 17, "wait_deadline");
  ExpectLoads(Load(WithState("  wait_deadline: 0s\n")));
  ExpectLoads(
      Load(WithState("  degraded: closed\n  lease_lifetime: 2s\n  redis: \"[::1]:7000\"\n")));
}

TEST(RedisAddress, Forms) {
  std::string error;
  auto a = parse_redis_address("redis.internal:6380", error);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "redis.internal");
  EXPECT_EQ(a->port, 6380);
  a = parse_redis_address("[::1]:6379", error);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "::1");
  a = parse_redis_address("unix:/run/redis.sock", error);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->is_unix());
  EXPECT_EQ(a->unix_path, "/run/redis.sock");
  EXPECT_FALSE(parse_redis_address("::1:6379", error));
  EXPECT_FALSE(parse_redis_address(":6379", error));
  EXPECT_FALSE(parse_redis_address("h:65536", error));
}

}  // namespace
}  // namespace keymux::config
