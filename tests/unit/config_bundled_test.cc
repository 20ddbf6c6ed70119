// The bundled default configuration (deploy/keymux.yaml) and loading from files.
#include <gtest/gtest.h>

#include "agent/config/loader.h"
#include "agent/config/token_sha256.h"
#include "tests/unit/config_test_util.h"

namespace keymux::config {
namespace {

constexpr const char* kBundled = KEYMUX_FIXTURES_DIR "/../../deploy/keymux.yaml";

TEST(ConfigBundled, LoadsClean) {
  // An empty environment: the bundled file needs no variable.
  Environment env = Environment::process();
  env.get_variable = [](const std::string&) { return std::optional<std::string>(); };
  const LoadResult result = load_config_file(kBundled, env);
  ASSERT_TRUE(result.errors.empty()) << test::Joined(result);
  ASSERT_TRUE(result.config);
  const Config& c = *result.config;
  ASSERT_EQ(c.providers_size(), 1);
  EXPECT_EQ(c.providers(0).name(), "mock");
  EXPECT_EQ(c.providers(0).backend(), "be_mock");
  EXPECT_EQ(c.providers(0).auth(), BEARER);
  ASSERT_EQ(c.providers(0).keys_size(), 3);
  for (const Key& key : c.providers(0).keys()) {
    EXPECT_EQ(key.secret().rfind("mock-key-", 0), 0u) << key.secret();
    EXPECT_GT(key.rpm(), 0u);
    EXPECT_GT(key.tpm(), 0u);
  }
  ASSERT_EQ(c.routes_size(), 1);
  EXPECT_TRUE(c.routes(0).default_());
  ASSERT_EQ(c.routes(0).models_size(), 4);
  EXPECT_EQ(c.routes(0).models(0), "mock-model");
  EXPECT_EQ(c.routes(0).models(3), "*");  // any model reaches the mock
  EXPECT_EQ(c.routes(0).targets(0).provider(), "mock");
  // One demo client, its token `keymux-demo-token`; no anonymous access.
  ASSERT_EQ(c.clients_size(), 1);
  EXPECT_EQ(c.clients(0).name(), "demo");
  EXPECT_EQ(c.clients(0).token_sha256(), to_hex(sha256("keymux-demo-token")));
  EXPECT_EQ(c.clients(0).models_size(), 0);  // every model
  EXPECT_FALSE(c.allow_anonymous());
  // The demo admin token `keymux-demo-admin` opens the admin API's /v1/.
  EXPECT_EQ(c.admin().token_sha256(), to_hex(sha256("keymux-demo-admin")));
}

TEST(ConfigBundled, MatchesTheBundledHaproxyConfig) {
  // scripts/run starts haproxy/haproxy.cfg with the bundled config.
  const LoadResult result = load_config_file(kBundled, Environment::process(),
                                             {KEYMUX_FIXTURES_DIR "/../../haproxy/haproxy.cfg"});
  EXPECT_TRUE(result.config) << test::Joined(result);
}

TEST(ConfigBundled, FileErrors) {
  const LoadResult missing = load_config_file("/nonexistent/keymux.yaml", Environment::process());
  ASSERT_EQ(missing.errors.size(), 1u);
  EXPECT_EQ(format_error(missing.errors[0]),
            "/nonexistent/keymux.yaml: cannot read the configuration: No such file or directory");
}

TEST(ConfigBundled, BadFixtureReportsEveryMistake) {
  const std::string path = KEYMUX_FIXTURES_DIR "/config/bad.yaml";
  const LoadResult result = load_config_file(path, Environment::process());
  EXPECT_FALSE(result.config);
  std::string actual;
  for (const ConfigError& e : result.errors) {
    EXPECT_EQ(e.file, path);
    actual += e.message + "\n";
  }
  // Lines and columns are checked by the other tests; here, the whole report.
  EXPECT_EQ(actual,
            "auth: expected one of bearer, x-api-key, api-key, got \"bearer-token\"\n"
            "key 'openai-1': environment variable KEYMUX_TEST_UNSET_VARIABLE is not set\n"
            "key 'openai-1': id is used twice (first at line 7); key ids are unique across all "
            "providers\n"
            "key 'openai-1': cannot read secret_file: No such file or directory\n"
            "tpm: must be ≥ 0, got -3\n"
            "route 'gpt-4o*': no provider named 'openia'\n"
            "policy: attempts must be between 1 and 10\n"
            "policy: server_error_cooldown is longer than server_error_cooldown_max\n"
            "unknown field 'rate_limit_cooldwn' in Policy; did you mean 'rate_limit_cooldown'?\n");
  const std::vector<int> lines = {5, 8, 10, 11, 12, 16, 18, 19, 20};
  ASSERT_EQ(result.errors.size(), lines.size());
  for (std::size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(result.errors[i].line, lines[i]);
}

}  // namespace
}  // namespace keymux::config
