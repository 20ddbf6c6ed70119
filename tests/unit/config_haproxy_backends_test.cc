// check_haproxy_backends: providers' backends against a haproxy.cfg.
#include <gtest/gtest.h>

#include "agent/config/loader.h"
#include "tests/unit/config_test_util.h"

namespace keymux::config {
namespace {

using test::Yaml;

// Shaped like the reference data path (design/reference/haproxy.cfg).
constexpr std::string_view kHaproxyCfg = R"(global
    tune.bufsize 131072            # backend be_in_a_comment
defaults
    mode http
frontend fe_public
    bind 127.0.0.1:8000
    default_backend be_attempts
backend be_attempts
    retries 2
frontend fe_inner
    use_backend %[var(txn.keymux.backend)]
    default_backend be_no_route
backend be_openai
    http-request set-header Authorization "Bearer %[var(txn.keymux.secret)]"
	backend	be_anthropic   # tabs and a trailing comment
    server mock2 127.0.0.1:9002
listen be_azure
    bind 127.0.0.1:9999
# backend be_commented_out
backend
backendbe_glued
)";

Config WithBackends(std::initializer_list<std::pair<const char*, const char*>> providers) {
  Config config;
  for (const auto& [name, backend] : providers) {
    Provider& p = *config.add_providers();
    p.set_name(name);
    p.set_backend(backend);
  }
  return config;
}

TEST(ConfigHaproxyBackends, AllPresent) {
  const Config config =
      WithBackends({{"openai", "be_openai"}, {"anthropic", "be_anthropic"}, {"azure", "be_azure"}});
  EXPECT_TRUE(check_haproxy_backends(config, kHaproxyCfg, "haproxy.cfg").empty());
}

TEST(ConfigHaproxyBackends, MissingOnesAreNamed) {
  const Config config = WithBackends({{"openai", "be_openai"},
                                      {"mock", "be_mock"},
                                      {"c", "be_in_a_comment"},
                                      {"d", "be_commented_out"},
                                      {"e", "be_glued"},
                                      {"f", "fe_public"}});
  const auto errors = check_haproxy_backends(config, kHaproxyCfg, "/etc/haproxy/haproxy.cfg");
  ASSERT_EQ(errors.size(), 5u);
  EXPECT_EQ(format_error(errors[0]),
            "/etc/haproxy/haproxy.cfg: provider 'mock' uses backend 'be_mock', but "
            "/etc/haproxy/haproxy.cfg has no 'backend be_mock' or 'listen be_mock' section");
  EXPECT_NE(errors[1].message.find("provider 'c'"), std::string::npos);
  EXPECT_NE(errors[2].message.find("provider 'd'"), std::string::npos);
  EXPECT_NE(errors[3].message.find("provider 'e'"), std::string::npos);
  EXPECT_NE(errors[4].message.find("provider 'f'"), std::string::npos);
}

TEST(ConfigHaproxyBackends, CrLfAndNoTrailingNewline) {
  const Config config = WithBackends({{"a", "be_a"}, {"b", "be_b"}});
  EXPECT_TRUE(check_haproxy_backends(
                  config, "backend be_a\r\n  server x 1.2.3.4:80\r\nbackend be_b", "h.cfg")
                  .empty());
}

TEST(ConfigHaproxyBackends, LoadedConfig) {
  const LoadResult loaded = test::Load(Yaml(R"(
providers:
  - name: openai
    backend: be_openai
    auth: bearer
    keys: [{id: k1, secret: s}]
  - name: groq
    backend: be_groq
    auth: bearer
    keys: [{id: k2, secret: s}]
routes:
  - models: ["*"]
    targets: [{provider: openai}, {provider: groq, priority: 1}]
)"));
  ASSERT_TRUE(loaded.config) << test::Joined(loaded);
  const auto errors = check_haproxy_backends(*loaded.config, kHaproxyCfg, "haproxy.cfg");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].file, "haproxy.cfg");
  EXPECT_NE(errors[0].message.find("provider 'groq' uses backend 'be_groq'"), std::string::npos);
}

}  // namespace
}  // namespace keymux::config
