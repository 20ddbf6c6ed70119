// Secrets: ${NAME} from the environment, secret_file from the file system, the
// checks on the result, and that no error ever shows a secret.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "agent/config/loader.h"
#include "tests/unit/config_test_util.h"

namespace keymux::config {
namespace {

using test::ExpectLoads;
using test::ExpectOneError;
using test::FakeEnvironment;
using test::Joined;
using test::Load;
using test::Yaml;

// One provider with one key whose secret lines are `secret_lines` (line 6 on).
std::string OneKey(const std::string& secret_lines) {
  return Yaml(R"(
providers:
  - name: openai
    backend: be_openai
    auth: bearer
    keys:
      - id: k1
)") + secret_lines +
         Yaml(R"(
routes:
  - models: ["*"]
    targets:
      - provider: openai
)");
}

TEST(ConfigSecrets, WholeValueFromTheEnvironment) {
  FakeEnvironment env;
  env.variables["OPENAI_KEY_1"] = "sk-test-123";
  const LoadResult result = Load(OneKey("        secret: ${OPENAI_KEY_1}\n"), env);
  ExpectLoads(result);
  ASSERT_TRUE(result.config);
  EXPECT_EQ(result.config->providers(0).keys(0).secret(), "sk-test-123");
}

TEST(ConfigSecrets, PartsFromTheEnvironment) {
  FakeEnvironment env;
  env.variables["A"] = "one";
  env.variables["_b2"] = "two";
  const LoadResult result = Load(OneKey("        secret: \"x-${A}-${_b2}-$-}{y\"\n"), env);
  ExpectLoads(result);
  ASSERT_TRUE(result.config);
  EXPECT_EQ(result.config->providers(0).keys(0).secret(), "x-one-two-$-}{y");
}

TEST(ConfigSecrets, UnsetVariable) {
  ExpectOneError(Load(OneKey("        secret: ${OPENAI_KEY_1}\n")), 7,
                 "key 'k1': environment variable OPENAI_KEY_1 is not set", 17);
}

TEST(ConfigSecrets, EveryUnsetVariableIsReported) {
  const LoadResult result = Load(OneKey("        secret: ${A}${B}\n"));
  ASSERT_EQ(result.errors.size(), 2u) << Joined(result);
  EXPECT_EQ(test::Formatted(result.errors)[0],
            "keymux.yaml:7:17: key 'k1': environment variable A is not set");
  EXPECT_EQ(test::Formatted(result.errors)[1],
            "keymux.yaml:7:17: key 'k1': environment variable B is not set");
}

TEST(ConfigSecrets, MalformedReference) {
  for (const char* secret : {"${}", "${1A}", "${A-B}", "${OPEN", "x${A B}"}) {
    ExpectOneError(Load(OneKey(std::string("        secret: \"") + secret + "\"\n")), 7,
                   "key 'k1': secret has a malformed ${...} reference");
  }
}

TEST(ConfigSecrets, EmptySecret) {
  ExpectOneError(Load(OneKey("        secret: \"\"\n")), 7, "key 'k1': secret is empty");
  FakeEnvironment env;
  env.variables["EMPTY"] = "";
  ExpectOneError(Load(OneKey("        secret: ${EMPTY}\n"), env), 7, "key 'k1': secret is empty");
}

TEST(ConfigSecrets, ControlCharacters) {
  for (const char* value : {"sk-1\r\nX-Injected: 1", "sk\n", "a\tb", "a\x7f", "\x01"}) {
    FakeEnvironment env;
    env.variables["K"] = value;
    ExpectOneError(Load(OneKey("        secret: ${K}\n"), env), 7,
                   "key 'k1': secret contains a control character");
  }
  // A NUL inside (from the environment or a file) is caught too.
  FakeEnvironment env;
  env.variables["K"] = std::string("ab\0cd", 5);
  ExpectOneError(Load(OneKey("        secret: ${K}\n"), env), 7, "control character");
  ExpectOneError(Load(OneKey("        secret: \"a\\x01b\"\n")), 7, "control character");
}

TEST(ConfigSecrets, SecretFile) {
  FakeEnvironment env;
  env.files["/run/secrets/k1"] = "sk-from-file\n";
  const LoadResult result = Load(OneKey("        secret_file: /run/secrets/k1\n"), env);
  ExpectLoads(result);
  ASSERT_TRUE(result.config);
  EXPECT_EQ(result.config->providers(0).keys(0).secret(), "sk-from-file");
}

TEST(ConfigSecrets, SecretFileCrLf) {
  FakeEnvironment env;
  env.files["/k"] = "sk-from-file\r\n";
  const LoadResult result = Load(OneKey("        secret_file: /k\n"), env);
  ExpectLoads(result);
  ASSERT_TRUE(result.config);
  EXPECT_EQ(result.config->providers(0).keys(0).secret(), "sk-from-file");
}

TEST(ConfigSecrets, SecretFileWithoutNewline) {
  FakeEnvironment env;
  env.files["/k"] = "sk-from-file";
  const LoadResult result = Load(OneKey("        secret_file: /k\n"), env);
  ExpectLoads(result);
  ASSERT_TRUE(result.config);
  EXPECT_EQ(result.config->providers(0).keys(0).secret(), "sk-from-file");
}

TEST(ConfigSecrets, SecretFileWithTwoLines) {
  FakeEnvironment env;
  env.files["/k"] = "sk-one\nsk-two\n";
  ExpectOneError(Load(OneKey("        secret_file: /k\n"), env), 7, "control character", 22);
}

TEST(ConfigSecrets, SecretFileUnreadable) {
  FakeEnvironment env;
  env.unreadable["/run/secrets/k1"] = "Permission denied";
  ExpectOneError(Load(OneKey("        secret_file: /run/secrets/k1\n"), env), 7,
                 "key 'k1': cannot read secret_file: Permission denied", 22);
  ExpectOneError(Load(OneKey("        secret_file: /nope\n")), 7,
                 "key 'k1': cannot read secret_file: No such file or directory");
}

TEST(ConfigSecrets, EmptySecretFile) {
  FakeEnvironment env;
  env.files["/k"] = "\n";
  ExpectOneError(Load(OneKey("        secret_file: /k\n"), env), 7, "key 'k1': secret is empty");
  ExpectOneError(Load(OneKey("        secret_file: \"\"\n"), env), 7,
                 "key 'k1': secret_file is empty");
}

TEST(ConfigSecrets, ExactlyOneOfSecretAndSecretFile) {
  FakeEnvironment env;
  env.files["/k"] = "x";
  ExpectOneError(Load(OneKey("        secret: a\n        secret_file: /k\n"), env), 8,
                 "key 'k1': set either secret or secret_file, not both");
  ExpectOneError(Load(OneKey("        rpm: 5\n")), 6, "key 'k1': no secret");
}

TEST(ConfigSecrets, RealEnvironmentAndFiles) {
  const Environment env = Environment::process();
  ASSERT_TRUE(env.get_variable("PATH").has_value());
  EXPECT_FALSE(env.get_variable("KEYMUX_SURELY_NOT_SET_0123").has_value());
  std::string error;
  EXPECT_FALSE(env.read_file("/nonexistent/keymux/secret", error).has_value());
  EXPECT_EQ(error, "No such file or directory");
  error.clear();
  EXPECT_FALSE(env.read_file("/", error).has_value());
  EXPECT_EQ(error, "Is a directory");
  const auto content = env.read_file(KEYMUX_FIXTURES_DIR "/config/secret.txt", error);
  ASSERT_TRUE(content.has_value()) << error;
  EXPECT_EQ(*content, "fixture-not-a-real-key\n");
}

// The values below stand for real secrets: whatever goes wrong, no error
// message may contain them (or a recognisable part of them).
TEST(ConfigSecrets, NeverInErrors) {
  const std::string secret = "sk-live-SUPERSECRET0123456789";
  FakeEnvironment env;
  env.variables["CRLF"] = secret + "\r\n";
  env.variables["GOOD"] = secret;
  env.files["/two-lines"] = secret + "\n" + secret + "\n";
  env.files["/good"] = secret;
  const std::string configs[] = {
      OneKey("        secret: \"" + secret + "\\n\"\n"),
      OneKey("        secret: ${CRLF}\n"),
      OneKey("        secret: \"" + secret + "${\"\n"),
      OneKey("        secret: \"" + secret + "${MISSING}\"\n"),
      OneKey("        secret: \"${" + secret + "\"\n"),
      OneKey("        secret: \"${" + secret + "-x}\"\n"),
      OneKey("        secret_file: /two-lines\n"),
      OneKey("        secret_file: " + secret + "\n"),
      OneKey("        secret: " + secret + "\n        secret_file: /good\n"),
      OneKey("        secret: [" + secret + "]\n"),
      OneKey("        secret: {" + secret + ": 1}\n"),
      OneKey("        secret: \"" + secret + "\xff\"\n"),
      OneKey("        secret: ${GOOD}\n        rpm: -1\n        auth: x\n"),
  };
  for (const std::string& yaml : configs) {
    const LoadResult result = Load(yaml, env);
    EXPECT_FALSE(result.errors.empty()) << yaml;
    for (const std::string& line : test::Formatted(result.errors)) {
      EXPECT_EQ(line.find("SUPERSECRET"), std::string::npos) << line;
    }
  }
}

// ---- The gateway secret (spop.secret): the same sources, and what HAProxy can carry.

// OneKey's config with a `spop:` block after it.
std::string WithSpop(const std::string& spop_lines) {
  return OneKey("        secret: sk-1\n") + "spop:\n" + spop_lines;
}

constexpr const char* kGatewaySecret = "gw-0123456789abcdef+/=~._";

TEST(ConfigGatewaySecret, NoneByDefault) {
  const LoadResult result = Load(OneKey("        secret: sk-1\n"));
  ExpectLoads(result);
  ASSERT_TRUE(result.config);
  EXPECT_EQ(result.config->spop().secret(), "");
}

TEST(ConfigGatewaySecret, FromTheEnvironmentOrAFile) {
  FakeEnvironment env;
  env.variables["KEYMUX_SPOP_SECRET"] = kGatewaySecret;
  env.files["/run/secrets/gateway"] = std::string(kGatewaySecret) + "\n";
  for (const char* line :
       {"  secret: ${KEYMUX_SPOP_SECRET}\n", "  secret_file: /run/secrets/gateway\n"}) {
    const LoadResult result = Load(WithSpop(line), env);
    ExpectLoads(result);
    ASSERT_TRUE(result.config);
    EXPECT_EQ(result.config->spop().secret(), kGatewaySecret) << line;
  }
}

TEST(ConfigGatewaySecret, TooShortUnsetOrBoth) {
  FakeEnvironment env;
  env.variables["SHORT"] = "0123456789abcde";  // 15
  env.files["/g"] = kGatewaySecret;
  const std::string base = OneKey("        secret: sk-1\n");
  const int line = static_cast<int>(std::count(base.begin(), base.end(), '\n')) + 2;
  ExpectOneError(Load(WithSpop("  secret: ${SHORT}\n"), env), line,
                 "spop: the gateway secret is shorter than 16 characters");
  ExpectOneError(Load(WithSpop("  secret: ${UNSET}\n"), env), line,
                 "spop: environment variable UNSET is not set");
  ExpectOneError(Load(WithSpop("  secret: x\n  secret_file: /g\n"), env), line + 1,
                 "spop: set either secret or secret_file, not both");
}

TEST(ConfigGatewaySecret, OnlyCharactersHaproxyCarriesUnquoted) {
  for (const char* value : {"0123456789abcdef\"", "0123456789abcdef)", "0123456789 abcdef",
                            "0123456789abcdef,x", "0123456789abcdef$", "0123456789abcdéf"}) {
    FakeEnvironment env;
    env.variables["G"] = value;
    const LoadResult result = Load(WithSpop("  secret: ${G}\n"), env);
    ASSERT_EQ(result.errors.size(), 1u) << value;
    EXPECT_NE(result.errors[0].message.find("spop: the gateway secret may only hold"),
              std::string::npos)
        << result.errors[0].message;
    EXPECT_EQ(result.errors[0].message.find("0123456789"), std::string::npos);
  }
}

}  // namespace
}  // namespace keymux::config
