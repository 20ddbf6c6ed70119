// Validation of clients and allow_anonymous, each error at its line and column.
#include <gtest/gtest.h>

#include <string>

#include "agent/config/loader.h"
#include "tests/unit/config_test_util.h"

namespace keymux::config {
namespace {

using test::ExpectLoads;
using test::ExpectOneError;
using test::Joined;
using test::kValidBase;
using test::Load;

constexpr std::string_view kHashA =
    "db065465ac29444afafcdc53b75579542cc1985a7ddeb99a47f03615f99e9742";
constexpr std::string_view kHashB =
    "e2186dbdb1bb4193608605e84f33208765b5693b55edd4f730a719a100eeea6f";

// kValidBase (lines 1-15) then these lines, from line 16.
std::string WithClients(std::string_view lines) {
  return std::string(kValidBase) + std::string(lines);
}

// One client named `name` with `hash` at lines 16-18 ("name" on line 17).
std::string OneClient(std::string_view name, std::string_view hash, std::string_view more = "") {
  return WithClients("clients:\n  - name: " + std::string(name) + "\n    token_sha256: \"" +
                     std::string(hash) + "\"\n" + std::string(more));
}

TEST(ConfigClients, AClientWithEveryFieldLoads) {
  const LoadResult result = Load(OneClient("app-1", kHashA, R"(    models: ["gpt-4o", "claude-*"]
    rpm: 60
    tpm: 100000
    max_in_flight: 4
    tokens_per_day: 2_000_000
allow_anonymous: true
)"));
  ExpectLoads(result);
  const Config& c = *result.config;
  ASSERT_EQ(c.clients_size(), 1);
  const Client& client = c.clients(0);
  EXPECT_EQ(client.name(), "app-1");
  EXPECT_EQ(client.token_sha256(), kHashA);
  ASSERT_EQ(client.models_size(), 2);
  EXPECT_EQ(client.models(1), "claude-*");
  EXPECT_EQ(client.rpm(), 60u);
  EXPECT_EQ(client.tpm(), 100000u);
  EXPECT_EQ(client.max_in_flight(), 4u);
  EXPECT_EQ(client.tokens_per_day(), 2'000'000u);
  EXPECT_TRUE(c.allow_anonymous());
}

TEST(ConfigClients, LimitsLeftOutAreUnset) {
  const LoadResult result = Load(OneClient("app", kHashA));
  ExpectLoads(result);
  const Client& client = result.config->clients(0);
  EXPECT_FALSE(client.has_rpm());
  EXPECT_FALSE(client.has_tpm());
  EXPECT_FALSE(client.has_max_in_flight());
  EXPECT_FALSE(client.has_tokens_per_day());
  EXPECT_FALSE(result.config->allow_anonymous());
}

TEST(ConfigClients, NoClientsIsValid) {
  // Every request is then refused; `--check` says so, but it is no error.
  ExpectLoads(Load(kValidBase));
  ExpectLoads(Load(WithClients("clients: []\n")));
}

TEST(ConfigClients, Name) {
  ExpectOneError(Load(OneClient("\"my app\"", kHashA)), 17,
                 "client 'my app': name must be 1 to 64 characters of A-Z, a-z, 0-9, '_', '.' and "
                 "'-'",
                 11);
  ExpectOneError(Load(OneClient(std::string(65, 'a'), kHashA)), 17, "1 to 64 characters", 11);
  ExpectLoads(Load(OneClient(std::string(64, 'a'), kHashA)));
  ExpectLoads(Load(OneClient("Team_A.app-2", kHashA)));
  ExpectOneError(Load(OneClient("anonymous", kHashA)), 17,
                 "client 'anonymous': the name is reserved for requests without a token", 11);
  ExpectOneError(Load(WithClients("clients:\n  - token_sha256: \"" + std::string(kHashA) + "\"\n")),
                 17, "clients[0]: client has no name", 5);
}

TEST(ConfigClients, NameUnique) {
  const LoadResult result = Load(
      WithClients("clients:\n  - name: app\n    token_sha256: \"" + std::string(kHashA) +
                  "\"\n  - name: app\n" + "    token_sha256: \"" + std::string(kHashB) + "\"\n"));
  ExpectOneError(result, 19, "client 'app': name is used twice (first at line 17)", 11);
}

TEST(ConfigClients, TokenSha256) {
  const std::string_view message =
      "client 'app': token_sha256 must be 64 lower-case hex characters";
  ExpectOneError(Load(OneClient("app", "abc")), 18, message, 19);
  std::string upper(kHashA);
  upper[0] = 'D';
  ExpectOneError(Load(OneClient("app", upper)), 18, message, 19);
  ExpectOneError(Load(OneClient("app", std::string(kHashA) + "0")), 18, message);
  ExpectOneError(Load(OneClient("app", std::string(63, '0') + "g")), 18, message);
  // Never repeats the value: it may be the token itself, pasted by mistake.
  const LoadResult pasted = Load(OneClient("app", "sk-live-secret-token"));
  EXPECT_EQ(Joined(pasted).find("sk-live-secret-token"), std::string::npos) << Joined(pasted);
  ExpectOneError(Load(WithClients("clients:\n  - name: app\n")), 17,
                 "client 'app': token_sha256 must be 64", 5);
}

TEST(ConfigClients, TokenSha256Unique) {
  const LoadResult result = Load(
      WithClients("clients:\n  - name: a\n    token_sha256: \"" + std::string(kHashA) +
                  "\"\n  - name: b\n" + "    token_sha256: \"" + std::string(kHashA) + "\"\n"));
  ExpectOneError(result, 20,
                 "client 'b': token_sha256 is used twice (first at line 18); every client needs "
                 "its own token",
                 19);
}

TEST(ConfigClients, Models) {
  ExpectOneError(Load(OneClient("app", kHashA, "    models: [\"gpt-4o\", \"\"]\n")), 19,
                 "client 'app': empty model pattern", 24);
  ExpectOneError(Load(OneClient("app", kHashA, "    models: [\"gpt 4o\"]\n")), 19,
                 "client 'app': model pattern has a space");
}

TEST(ConfigClients, LimitsGivenAreAtLeastOne) {
  for (const std::string field : {"rpm", "tpm", "max_in_flight", "tokens_per_day"}) {
    ExpectOneError(Load(OneClient("app", kHashA, "    " + field + ": 0\n")), 19,
                   "client 'app': " + field + " must be at least 1 (leave it out for no limit)",
                   static_cast<int>(field.size()) + 7);
  }
}

TEST(ConfigClients, AllowAnonymousIsABool) {
  ExpectLoads(Load(WithClients("allow_anonymous: true\n")));
  const LoadResult result = Load(WithClients("allow_anonymous: sometimes\n"));
  EXPECT_FALSE(result.config);
  ASSERT_EQ(result.errors.size(), 1u) << Joined(result);
  EXPECT_EQ(result.errors[0].line, 16);
}

TEST(ConfigClients, AdminToken) {
  // Lines 16-17 after the client (lines 16-18 hold it, so admin starts at 19).
  ExpectLoads(
      Load(OneClient("app", kHashA, "admin:\n  token_sha256: \"" + std::string(kHashB) + "\"\n")));
  ExpectLoads(Load(WithClients("admin: {}\n")));  // no token: the /v1/ endpoints stay closed
  ExpectOneError(Load(WithClients("admin:\n  token_sha256: \"not-a-hash\"\n")), 17,
                 "admin: token_sha256 must be 64 lower-case hex characters", 17);
  // The admin token must not also be a client's: a client could reconfigure the gateway.
  ExpectOneError(
      Load(OneClient("app", kHashA, "admin:\n  token_sha256: \"" + std::string(kHashA) + "\"\n")),
      20, "admin: token_sha256 is a client's token too", 17);
}

}  // namespace
}  // namespace keymux::config
