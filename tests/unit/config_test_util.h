// Helpers for the config loader tests: a fake environment and error matchers.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/config/loader.h"

namespace keymux::config::test {

// Raw strings in the tests start with a newline so that their first line is
// line 1 of the text: Yaml(R"(
// providers: ...)").
inline std::string Yaml(std::string_view text) {
  if (!text.empty() && text.front() == '\n') text.remove_prefix(1);
  return std::string(text);
}

struct FakeEnvironment {
  std::map<std::string, std::string> variables;
  std::map<std::string, std::string> files;
  std::map<std::string, std::string> unreadable;  // path -> reason

  Environment get() const {
    Environment env;
    env.get_variable = [this](const std::string& name) -> std::optional<std::string> {
      const auto it = variables.find(name);
      if (it == variables.end()) return std::nullopt;
      return it->second;
    };
    env.read_file = [this](const std::string& path,
                           std::string& error) -> std::optional<std::string> {
      if (const auto it = files.find(path); it != files.end()) return it->second;
      const auto it = unreadable.find(path);
      error = it == unreadable.end() ? "No such file or directory" : it->second;
      return std::nullopt;
    };
    return env;
  }
};

inline LoadResult Load(std::string_view yaml, const FakeEnvironment& env = {}) {
  return load_config_text(yaml, "keymux.yaml", env.get());
}

inline std::vector<std::string> Formatted(const std::vector<ConfigError>& errors) {
  std::vector<std::string> out;
  for (const ConfigError& e : errors) out.push_back(format_error(e));
  return out;
}

inline std::string Joined(const LoadResult& result) {
  std::string out;
  for (const std::string& line : Formatted(result.errors)) out += line + "\n";
  return out;
}

// Asserts that loading failed with exactly one error, at `line` (and `column`
// when given), whose message contains `text`.
inline void ExpectOneError(const LoadResult& result, int line, std::string_view text,
                           int column = 0) {
  EXPECT_FALSE(result.config.has_value());
  ASSERT_EQ(result.errors.size(), 1u) << Joined(result);
  const ConfigError& e = result.errors[0];
  EXPECT_EQ(e.file, "keymux.yaml");
  EXPECT_EQ(e.line, line) << Joined(result);
  if (column != 0) {
    EXPECT_EQ(e.column, column) << Joined(result);
  }
  EXPECT_NE(e.message.find(text), std::string::npos) << Joined(result);
}

inline void ExpectLoads(const LoadResult& result) {
  EXPECT_TRUE(result.errors.empty()) << Joined(result);
  EXPECT_TRUE(result.config.has_value());
}

// A valid configuration; tests edit it or append a policy section (which
// then starts at line 16). Lines 1-15:
//  1 providers:              6     keys:            11 routes:
//  2   - name: openai        7       - id: k1       12   - models: ["*"]
//  3     backend: be_openai  8         secret: s1   13     default: true
//  4     auth: bearer        9       - id: k2       14     targets:
//  5 (blank)                10         secret: s2   15       - provider: openai
inline constexpr std::string_view kValidBase = R"(providers:
  - name: openai
    backend: be_openai
    auth: bearer

    keys:
      - id: k1
        secret: s1
      - id: k2
        secret: s2
routes:
  - models: ["*"]
    default: true
    targets:
      - provider: openai
)";

}  // namespace keymux::config::test
