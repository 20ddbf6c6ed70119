// Validation: every rule of config.proto, each error at its line.
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
using test::Yaml;

// `yaml` with `from` (which must occur once) replaced by `to`.
std::string Edit(std::string yaml, std::string_view from, std::string_view to) {
  const std::size_t at = yaml.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  EXPECT_EQ(yaml.find(from, at + 1), std::string::npos) << from;
  if (at != std::string::npos) yaml.replace(at, from.size(), to);
  return yaml;
}

std::string Edit(std::string_view from, std::string_view to) {
  return Edit(std::string(kValidBase), from, to);
}

std::string WithPolicy(std::string_view lines) {
  return std::string(kValidBase) + "policy:\n" + std::string(lines);
}

TEST(ConfigValidate, BaseIsValid) { ExpectLoads(Load(kValidBase)); }

TEST(ConfigValidate, NeedsProvidersAndRoutes) {
  const LoadResult result = Load("providers: []\nroutes: []\n");
  const auto errors = test::Formatted(result.errors);
  ASSERT_EQ(errors.size(), 2u) << Joined(result);
  EXPECT_EQ(errors[0],
            "keymux.yaml:1:12: no providers: a configuration needs at least one provider");
  EXPECT_EQ(errors[1], "keymux.yaml:2:9: no routes: a configuration needs at least one route");
}

TEST(ConfigValidate, ProviderName) {
  const auto renamed = [](const std::string& name) {
    return Load(
        Edit(Edit("name: openai", "name: " + name), "provider: openai", "provider: " + name));
  };
  ExpectOneError(renamed("OpenAI"), 2,
                 "provider 'OpenAI': name must be 1 to 32 characters of a-z, 0-9, '_' and '-'", 11);
  ExpectOneError(renamed(std::string(33, 'a')), 2, "name must be 1 to 32 characters");
  ExpectOneError(renamed("a.b"), 2, "name must be 1 to 32 characters");
  ExpectLoads(renamed(std::string(32, 'a')));
  ExpectLoads(renamed("a_b-9"));
  // No name at all: reported at the provider; the route naming it is not reported too.
  ExpectOneError(Load(Edit("  - name: openai\n    backend", "  - backend")), 2,
                 "providers[0]: provider has no name", 5);
}

TEST(ConfigValidate, ProviderNameUnique) {
  const LoadResult result = Load(Yaml(R"(
providers:
  - name: a
    backend: be_a
    auth: bearer
    keys: [{id: k1, secret: s}]
  - name: a
    backend: be_b
    auth: bearer
    keys: [{id: k2, secret: s}]
routes:
  - models: ["*"]
    targets: [{provider: a}]
)"));
  ExpectOneError(result, 6, "provider 'a': name is used twice (first at line 2)", 11);
}

TEST(ConfigValidate, Backend) {
  ExpectOneError(Load(Edit("    backend: be_openai\n", "")), 2, "provider 'openai': no backend");
  ExpectOneError(Load(Edit("backend: be_openai", "backend: \"\"")), 3,
                 "provider 'openai': no backend");
  ExpectOneError(Load(Edit("backend: be_openai", "backend: be openai")), 3,
                 "provider 'openai': backend 'be openai' is not a HAProxy backend name", 14);
  ExpectOneError(Load(Edit("backend: be_openai", "backend: \"be/openai\"")), 3,
                 "is not a HAProxy backend name");
  ExpectLoads(Load(Edit("backend: be_openai", "backend: be-Open.AI:1")));
}

TEST(ConfigValidate, Auth) {
  ExpectOneError(Load(Edit("    auth: bearer\n", "")), 2,
                 "provider 'openai': no auth (bearer, x-api-key or api-key)");
}

TEST(ConfigValidate, AtLeastOneKey) {
  const LoadResult result = Load(Yaml(R"(
providers:
  - name: openai
    backend: be_openai
    auth: bearer
    keys: []
routes:
  - models: ["*"]
    targets: [{provider: openai}]
)"));
  ExpectOneError(result, 5, "provider 'openai': no keys: a provider needs at least one key", 11);
  ExpectOneError(Load(Edit(R"(    keys:
      - id: k1
        secret: s1
      - id: k2
        secret: s2
)",
                           "")),
                 2, "provider 'openai': no keys");
}

TEST(ConfigValidate, KeyId) {
  ExpectOneError(Load(Edit("id: k1", "id: \"k 1\"")), 7,
                 "key 'k 1': id must be 1 to 40 characters of A-Z, a-z, 0-9, '_', '.' and '-'", 13);
  ExpectOneError(Load(Edit("id: k1", "id: " + std::string(41, 'k'))), 7,
                 "id must be 1 to 40 characters");
  ExpectLoads(Load(Edit("id: k1", "id: " + std::string(40, 'k'))));
  ExpectLoads(Load(Edit("id: k1", "id: Org_1.key-A")));
  ExpectOneError(Load(Edit("      - id: k1\n        secret: s1", "      - secret: s1")), 7,
                 "providers[0].keys[0]: key has no id", 9);
}

TEST(ConfigValidate, KeyIdUniqueAcrossProviders) {
  const LoadResult result = Load(Yaml(R"(
providers:
  - name: a
    backend: be_a
    auth: bearer
    keys:
      - id: shared
        secret: s
  - name: b
    backend: be_b
    auth: api-key
    keys:
      - id: shared
        secret: s
routes:
  - models: ["*"]
    targets: [{provider: a}, {provider: b, priority: 1}]
)"));
  ExpectOneError(result, 12,
                 "key 'shared': id is used twice (first at line 6); key ids are unique across all "
                 "providers",
                 13);
}

TEST(ConfigValidate, KeyWeight) {
  ExpectOneError(Load(Edit("secret: s1", "secret: s1\n        weight: 0")), 9,
                 "key 'k1': weight must be at least 1", 17);
}

TEST(ConfigValidate, KeyModels) {
  ExpectLoads(
      Load(Edit("secret: s1", "secret: s1\n        models: [gpt-4o, \"o1-*\", \"claude-?-*\"]")));
  ExpectOneError(Load(Edit("secret: s1", "secret: s1\n        models: [gpt-4o, \"\"]")), 9,
                 "key 'k1': empty model pattern", 26);
  ExpectOneError(Load(Edit("secret: s1", "secret: s1\n        models: [\"gpt 4o\"]")), 9,
                 "key 'k1': model pattern has a space, a control character or a non-ASCII "
                 "character");
  ExpectOneError(Load(Edit("secret: s1", "secret: s1\n        models: [\"gpt\\t4o\"]")), 9,
                 "model pattern has a space");
}

TEST(ConfigValidate, RouteModels) {
  ExpectOneError(Load(Edit("  - models: [\"*\"]\n    default: true\n", "  - default: false\n")), 12,
                 "route 'default': no models: list model names or patterns (\"*\" for all), or "
                 "mark the route default",
                 5);
  ExpectLoads(Load(Edit("  - models: [\"*\"]\n", "  - name: fallback\n")));
  ExpectOneError(Load(Edit("models: [\"*\"]", "models: [\"\"]")), 12,
                 "route '': empty model pattern", 14);
  ExpectOneError(Load(Edit("models: [\"*\"]", "models: [\"a\", \"b c\"]")), 12,
                 "route 'a': model pattern has a space", 19);
}

TEST(ConfigValidate, AtMostOneDefaultRoute) {
  const LoadResult result = Load(std::string(kValidBase) + Yaml(R"(
  - name: second
    default: true
    targets:
      - provider: openai
)"));
  ExpectOneError(result, 17,
                 "route 'second': a second default route (first at line 13); at most one route is "
                 "the default",
                 14);
}

TEST(ConfigValidate, Targets) {
  ExpectOneError(Load(Edit("    targets:\n      - provider: openai\n", "")), 12,
                 "route '*': no targets: a route needs at least one provider", 5);
  ExpectOneError(Load(Edit("    targets:\n      - provider: openai\n", "    targets: []\n")), 14,
                 "route '*': no targets", 14);
  ExpectOneError(Load(Edit("provider: openai", "provider: opnai")), 15,
                 "route '*': no provider named 'opnai'", 19);
  ExpectOneError(Load(Edit("provider: openai", "priority: 1")), 15,
                 "route '*': target has no provider", 9);
  ExpectOneError(Load(Edit("provider: openai",
                           "provider: openai\n      - provider: openai\n        priority: 1")),
                 16, "route '*': provider 'openai' is listed twice (first at line 15)", 19);
  ExpectOneError(Load(Edit("provider: openai", "provider: openai\n        weight: 0")), 16,
                 "route '*': target weight must be at least 1", 17);
}

TEST(ConfigValidate, Attempts) {
  ExpectOneError(Load(WithPolicy("  attempts: 0\n")), 17,
                 "policy: attempts must be between 1 and 10", 13);
  ExpectOneError(Load(WithPolicy("  attempts: 11\n")), 17, "attempts must be between 1 and 10");
  ExpectLoads(Load(WithPolicy("  attempts: 1\n")));
  ExpectLoads(Load(WithPolicy("  attempts: 10\n")));
}

TEST(ConfigValidate, DurationsPositive) {
  for (const char* field :
       {"rate_limit_cooldown", "server_error_cooldown", "server_error_cooldown_max",
        "in_flight_timeout", "request_memory", "ejection_window"}) {
    const std::string name(field);
    ExpectOneError(Load(WithPolicy("  " + name + ": 0s\n")), 17,
                   "policy: " + name + " must be longer than 0", static_cast<int>(name.size()) + 5);
    ExpectOneError(Load(WithPolicy("  " + name + ": 100ns\n")), 17, "must be longer than 0");
  }
}

TEST(ConfigValidate, LimitWindowBetweenASecondAndAnHour) {
  for (const char* bad : {"0s", "999ms", "61m"}) {
    ExpectOneError(Load(WithPolicy(std::string("  limit_window: ") + bad + "\n")), 17,
                   "policy: limit_window must be between 1s and 1h", 17);
  }
  ExpectLoads(Load(WithPolicy("  limit_window: 1s\n")));
  ExpectLoads(Load(WithPolicy("  limit_window: 1h\n")));
}

TEST(ConfigValidate, ServerErrorCooldownAtMostItsMaximum) {
  ExpectOneError(Load(WithPolicy("  server_error_cooldown: 2m\n  server_error_cooldown_max: 1m\n")),
                 18, "policy: server_error_cooldown is longer than server_error_cooldown_max", 30);
  // Only the first is given: reported there, against the default maximum (60s).
  ExpectOneError(Load(WithPolicy("  server_error_cooldown: 61s\n")), 17,
                 "server_error_cooldown is longer than server_error_cooldown_max", 26);
  ExpectLoads(Load(WithPolicy("  server_error_cooldown: 5s\n  server_error_cooldown_max: 5s\n")));
}

TEST(ConfigValidate, Ejection) {
  for (const char* field : {"ejection_failure_percent", "provider_ejection_failure_percent"}) {
    const std::string name(field);
    ExpectOneError(Load(WithPolicy("  " + name + ": 101\n")), 17,
                   "policy: " + name + " must be between 0 (off) and 100",
                   static_cast<int>(name.size()) + 5);
    ExpectLoads(Load(WithPolicy("  " + name + ": 0\n")));
    ExpectLoads(Load(WithPolicy("  " + name + ": 100\n")));
  }
  ExpectOneError(Load(WithPolicy("  ejection_minimum_requests: 0\n")), 17,
                 "policy: ejection_minimum_requests must be at least 1", 30);
  ExpectOneError(Load(WithPolicy("  ejection_multiplier: 0\n")), 17,
                 "policy: ejection_multiplier must be between 1 and 10", 24);
  ExpectOneError(Load(WithPolicy("  ejection_multiplier: 11\n")), 17,
                 "ejection_multiplier must be between 1 and 10");
  ExpectLoads(Load(WithPolicy("  ejection_consecutive_failures: 0\n  ejection_multiplier: 1\n")));
}

TEST(ConfigValidate, DefaultMaxTokens) {
  ExpectOneError(Load(WithPolicy("  default_max_tokens: 0\n")), 17,
                 "policy: default_max_tokens must be at least 1", 23);
}

TEST(ConfigValidate, RequestMemoryEntries) {
  ExpectOneError(Load(WithPolicy("  request_memory_entries: 999\n")), 17,
                 "policy: request_memory_entries must be at least 1000", 27);
  ExpectLoads(Load(WithPolicy("  request_memory_entries: 1000\n")));
}

TEST(ConfigValidate, NoCascadeFromABadValue) {
  // The provider's name is not a string: no "no name", no "no provider named" after it.
  const LoadResult result = Load(Edit("name: openai", "name: {x: 1}"));
  ExpectOneError(result, 2, "name: expected a string, got a mapping");
}

TEST(ConfigValidate, ManyErrorsInFileOrder) {
  const LoadResult result = Load(Yaml(R"(
providers:
  - name: Bad Name
    backend: be_a
    keys:
      - id: k1
        secret: s
        weight: 0
routes:
  - models: [a]
    targets: [{provider: b}]
policy:
  attempts: 20
)"));
  const auto errors = test::Formatted(result.errors);
  ASSERT_EQ(errors.size(), 5u) << Joined(result);
  EXPECT_EQ(errors[0],
            "keymux.yaml:2:5: provider 'Bad Name': no auth (bearer, x-api-key or api-key)");
  EXPECT_EQ(errors[1],
            "keymux.yaml:2:11: provider 'Bad Name': name must be 1 to 32 characters of a-z, 0-9, "
            "'_' and '-'");
  EXPECT_EQ(errors[2], "keymux.yaml:7:17: key 'k1': weight must be at least 1");
  EXPECT_EQ(errors[3], "keymux.yaml:10:26: route 'a': no provider named 'b'");
  EXPECT_EQ(errors[4], "keymux.yaml:12:13: policy: attempts must be between 1 and 10");
}

}  // namespace
}  // namespace keymux::config

namespace keymux::config {
namespace {

// Two vendors behind one route: each must serve every model the route sends,
// since the request reaches it with the client's model name.
constexpr std::string_view kTwoVendors = R"(providers:
  - name: openai
    backend: be_openai
    auth: bearer
    models: ["gpt-*"]
    keys: [{id: k1, secret: s1}]
  - name: anthropic
    backend: be_anthropic
    auth: x-api-key
    models: ["claude-*"]
    keys: [{id: k2, secret: s2}]
routes:
  - models: ["gpt-4o*"]
    targets: [{provider: openai}, {provider: anthropic, priority: 1}]
)";

TEST(ConfigValidate, RouteSendsOnlyModelsItsProvidersServe) {
  ExpectOneError(Load(kTwoVendors), 14,
                 "route 'gpt-4o*': provider 'anthropic' does not serve 'gpt-4o*' (its models: "
                 "claude-*); keymux sends the model name the client gave",
                 46);
  // A provider that serves the name (a relay taking the vendor's names) is fine.
  ExpectLoads(Load(Edit(std::string(kTwoVendors), "models: [\"claude-*\"]",
                        "models: [\"claude-*\", \"gpt-4o*\"]")));
  // Without a model list a provider serves every name; "*" needs that.
  ExpectLoads(Load(Edit(std::string(kTwoVendors), "    models: [\"claude-*\"]\n", "")));
  ExpectOneError(Load(Edit(Edit(std::string(kTwoVendors), "    models: [\"claude-*\"]\n", ""),
                           "models: [\"gpt-4o*\"]", "models: [\"*\"]")),
                 13, "provider 'openai' does not serve '*'");
}

TEST(ConfigValidate, ProviderModelPatterns) {
  const LoadResult result =
      Load(Edit(std::string(kTwoVendors), "models: [\"gpt-*\"]", "models: [\"gpt 4\"]"));
  ASSERT_FALSE(result.errors.empty());
  EXPECT_EQ(result.errors[0].line, 5) << Joined(result);
  EXPECT_NE(result.errors[0].message.find("provider 'openai': model pattern has a space"),
            std::string::npos)
      << Joined(result);
}

}  // namespace
}  // namespace keymux::config
