// libFuzzer target: the config loader (YAML -> proto -> secrets -> defaults ->
// validation) over arbitrary text, with a fake environment. Checks that it
// never crashes, that a config comes back exactly when there is no error, that
// a loaded config keeps the rules validation promises, and that no error ever
// shows a secret read from the environment or a file.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "agent/config/duration.h"
#include "agent/config/loader.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using keymux::config::Environment;

constexpr std::string_view kSecret = "sk-fuzz-SECRETVALUE-4f9a";

const Environment& FakeEnvironment() {
  static const Environment env = [] {
    static const std::map<std::string, std::string> variables = {
        {"A", "alpha"},
        {"OPENAI_KEY_1", std::string(kSecret)},
        {"EMPTY", ""},
        {"CRLF", std::string(kSecret) + "\r\n"},
    };
    static const std::map<std::string, std::string> files = {
        {"/s", std::string(kSecret) + "\n"},
        {"/two", std::string(kSecret) + "\n" + std::string(kSecret) + "\n"},
        {"/empty", ""},
    };
    Environment e;
    e.get_variable = [](const std::string& name) -> std::optional<std::string> {
      const auto it = variables.find(name);
      if (it == variables.end()) return std::nullopt;
      return it->second;
    };
    e.read_file = [](const std::string& path, std::string& error) -> std::optional<std::string> {
      const auto it = files.find(path);
      if (it != files.end()) return it->second;
      error = "No such file or directory";
      return std::nullopt;
    };
    return e;
  }();
  return env;
}

bool HasControlCharacter(std::string_view text) {
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const keymux::config::LoadResult result =
      keymux::config::load_config_text(text, "fuzz.yaml", FakeEnvironment());

  FUZZ_CHECK(result.config.has_value() == result.errors.empty());
  const bool input_has_secret = text.find("SECRETVALUE") != std::string_view::npos;
  for (const keymux::config::ConfigError& error : result.errors) {
    FUZZ_CHECK(error.file == "fuzz.yaml");
    FUZZ_CHECK(error.line >= 0 && error.column >= 0);
    FUZZ_CHECK(!error.message.empty());
    if (!input_has_secret) FUZZ_CHECK(error.message.find("SECRETVALUE") == std::string::npos);
    FUZZ_CHECK(!keymux::config::format_error(error).empty());
  }

  if (result.config) {
    const keymux::config::Config& config = *result.config;
    FUZZ_CHECK(config.providers_size() > 0 && config.routes_size() > 0);
    for (const auto& provider : config.providers()) {
      FUZZ_CHECK(!provider.name().empty() && !provider.backend().empty());
      FUZZ_CHECK(provider.keys_size() > 0);
      for (const auto& key : provider.keys()) {
        FUZZ_CHECK(!key.secret().empty() && !HasControlCharacter(key.secret()));
        FUZZ_CHECK(key.weight() >= 1);
      }
    }
    for (const auto& route : config.routes()) {
      FUZZ_CHECK(!route.name().empty() && route.targets_size() > 0);
    }
    for (const auto& client : config.clients()) {
      FUZZ_CHECK(!client.name().empty() && client.name() != "anonymous");
      FUZZ_CHECK(client.token_sha256().size() == 64);
      FUZZ_CHECK(!client.has_rpm() || client.rpm() >= 1);
    }
    FUZZ_CHECK(config.policy().attempts() >= 1 && config.policy().attempts() <= 10);
    FUZZ_CHECK(config.policy().request_memory_entries() >= 1000);
    // The same bytes as HAProxy's configuration (--haproxy-config): the section
    // scanner must cope too, and can only add errors about backends.
    Environment with_cfg = FakeEnvironment();
    const std::string cfg(text);
    with_cfg.read_file = [&cfg](const std::string& path,
                                std::string& error) -> std::optional<std::string> {
      if (path == "h.cfg") return cfg;
      return FakeEnvironment().read_file(path, error);
    };
    const keymux::config::LoadResult checked =
        keymux::config::load_config_text(text, "fuzz.yaml", with_cfg, {"h.cfg"});
    FUZZ_CHECK(checked.config.has_value() == checked.errors.empty());
    for (const keymux::config::ConfigError& error : checked.errors) {
      FUZZ_CHECK(error.file == "fuzz.yaml");
      FUZZ_CHECK(error.message.find("' uses backend '") != std::string::npos);
    }
  }

  if (size <= 64) {
    if (const auto duration = keymux::config::parse_duration(text))
      FUZZ_CHECK(duration->count() >= 0);
  }
  return 0;
}
