// Providers' backends against the HAProxy files the agent is given.
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

// A config with one provider per (name, backend), loaded against haproxy.cfg
// (and, when given, a second HAProxy file).
LoadResult LoadWithBackends(std::initializer_list<std::pair<const char*, const char*>> providers,
                            std::string_view haproxy_cfg = kHaproxyCfg,
                            std::string_view second_file = "") {
  std::string yaml = "providers:\n";
  int key = 0;
  for (const auto& [name, backend] : providers) {
    yaml += std::string("  - name: ") + name + "\n    backend: " + backend +
            "\n    auth: bearer\n    keys: [{id: k" + std::to_string(++key) + ", secret: s}]\n";
  }
  yaml += "routes:\n  - models: [\"*\"]\n    targets: [{provider: " +
          std::string(providers.begin()->first) + "}]\n";
  test::FakeEnvironment env;
  env.files["/etc/haproxy/haproxy.cfg"] = std::string(haproxy_cfg);
  std::vector<std::string> files = {"/etc/haproxy/haproxy.cfg"};
  if (!second_file.empty()) {
    env.files["/etc/haproxy/providers.cfg"] = std::string(second_file);
    files.push_back("/etc/haproxy/providers.cfg");
  }
  return load_config_text(yaml, "keymux.yaml", env.get(), files);
}

TEST(ConfigHaproxyBackends, AllPresent) {
  test::ExpectLoads(LoadWithBackends(
      {{"openai", "be_openai"}, {"anthropic", "be_anthropic"}, {"azure", "be_azure"}}));
}

TEST(ConfigHaproxyBackends, MissingOnesAreNamedAtTheirYamlLine) {
  const LoadResult result = LoadWithBackends({{"openai", "be_openai"},
                                              {"mock", "be_mock"},
                                              {"c", "be_in_a_comment"},
                                              {"d", "be_commented_out"},
                                              {"e", "be_glued"},
                                              {"f", "fe_public"}});
  ASSERT_EQ(result.errors.size(), 5u) << test::Joined(result);
  EXPECT_EQ(format_error(result.errors[0]),
            "keymux.yaml:7:14: provider 'mock' uses backend 'be_mock', which the HAProxy "
            "configuration (/etc/haproxy/haproxy.cfg) does not define: no 'backend be_mock' or "
            "'listen be_mock' section");
  EXPECT_NE(result.errors[1].message.find("provider 'c'"), std::string::npos);
  EXPECT_NE(result.errors[2].message.find("provider 'd'"), std::string::npos);
  EXPECT_NE(result.errors[3].message.find("provider 'e'"), std::string::npos);
  EXPECT_NE(result.errors[4].message.find("provider 'f'"), std::string::npos);
}

TEST(ConfigHaproxyBackends, DidYouMeanAndEveryFileOnce) {
  const LoadResult result = LoadWithBackends({{"openai", "be_opnai"}}, kHaproxyCfg,
                                             "backend be_groq\n  server g 127.0.0.1:1\n");
  test::ExpectOneError(result, 3,
                       "provider 'openai' uses backend 'be_opnai', which the HAProxy configuration "
                       "(/etc/haproxy/haproxy.cfg, /etc/haproxy/providers.cfg) does not define",
                       14);
  EXPECT_NE(result.errors[0].message.find("; did you mean 'be_openai'?"), std::string::npos);
  test::ExpectLoads(LoadWithBackends({{"groq", "be_groq"}}, kHaproxyCfg,
                                     "backend be_groq\n  server g 127.0.0.1:1\n"));
}

TEST(ConfigHaproxyBackends, CrLfAndNoTrailingNewline) {
  test::ExpectLoads(LoadWithBackends({{"a", "be_a"}, {"b", "be_b"}},
                                     "backend be_a\r\n  server x 1.2.3.4:80\r\nbackend be_b"));
}

TEST(ConfigHaproxyBackends, UnreadableFile) {
  test::FakeEnvironment env;
  const LoadResult result =
      load_config_text(std::string(test::kValidBase), "keymux.yaml", env.get(), {"/nope.cfg"});
  ASSERT_EQ(result.errors.size(), 1u) << test::Joined(result);
  EXPECT_NE(result.errors[0].message.find("cannot read the HAProxy configuration /nope.cfg"),
            std::string::npos);
}

}  // namespace
}  // namespace keymux::config
