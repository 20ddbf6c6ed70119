// What a reload reports as changed: by name and field name, never a value.
#include "agent/admin/config_changes.h"

#include <gtest/gtest.h>

#include "tests/unit/config_test_util.h"

namespace keymux::admin {
namespace {

config::Config Parse(std::string_view yaml) {
  const config::LoadResult result = config::test::Load(config::test::Yaml(yaml));
  EXPECT_TRUE(result.errors.empty()) << config::test::Joined(result);
  return result.config.value_or(config::Config());
}

constexpr std::string_view kBefore = R"(
providers:
  - name: openai
    backend: be_openai
    auth: bearer
    keys:
      - {id: k1, secret: sk-old-secret-value, rpm: 10}
      - {id: k2, secret: s2}
routes:
  - models: ["*"]
    targets: [{provider: openai}]
clients:
  - name: app
    token_sha256: "0000000000000000000000000000000000000000000000000000000000000000"
)";

TEST(ConfigChanges, NothingChanged) {
  EXPECT_TRUE(config_changes(Parse(kBefore), Parse(kBefore)).empty());
}

TEST(ConfigChanges, NamesWhatChangedNeverAValue) {
  std::string after(kBefore);
  after.replace(after.find("sk-old-secret-value, rpm: 10"), 28, "sk-new-secret-value, rpm: 20");
  after.replace(after.find("{id: k2, secret: s2}"), 20, "{id: k3, secret: s3}");
  after.replace(after.find("name: app"), 9, "name: web");
  after += "policy:\n  attempts: 2\n";
  const std::vector<std::string> changes = config_changes(Parse(kBefore), Parse(after));
  const std::vector<std::string> expected = {
      "key k3 added",     "key k2 removed",     "key k1 changed (rpm, secret)",
      "client web added", "client app removed", "policy changed (attempts)"};
  EXPECT_EQ(changes, expected);
  for (const std::string& change : changes) {
    EXPECT_EQ(change.find("sk-"), std::string::npos) << change;
  }
}

TEST(ConfigChanges, ProvidersAndRoutes) {
  std::string after(kBefore);
  after.replace(after.find("backend: be_openai"), 18, "backend: be_relay");
  after.replace(after.find("models: [\"*\"]"), 13, "models: [\"gpt-*\"]");
  const std::vector<std::string> expected = {"provider openai changed (backend)", "routes changed"};
  EXPECT_EQ(config_changes(Parse(kBefore), Parse(after)), expected);
}

}  // namespace
}  // namespace keymux::admin
