#include "tests/mock_upstream/keys.h"

#include "agent/router/header_values.h"

namespace keymux::mock {

std::optional<KeySpec> parse_key_flag(std::string_view text, std::string& error) {
  const std::size_t equals = text.find('=');
  if (equals == std::string_view::npos || equals == 0) {
    error = "--key wants ID=SECRET[:rpm=N][:tpm=N]";
    return std::nullopt;
  }
  KeySpec key;
  key.id = std::string(text.substr(0, equals));
  std::string_view rest = text.substr(equals + 1);
  const std::size_t colon = rest.find(':');
  key.secret = std::string(rest.substr(0, colon));
  if (key.secret.empty()) {
    error = "--key " + key.id + ": empty secret";
    return std::nullopt;
  }
  // Each ':' starts an option, so a trailing ':' is an empty (bad) one.
  for (std::size_t at = colon; at != std::string_view::npos;) {
    rest = rest.substr(at + 1);
    at = rest.find(':');
    const std::string_view option = rest.substr(0, at);
    std::optional<std::uint64_t> value;
    if (option.starts_with("rpm=") && (value = router::parse_count(option.substr(4)))) {
      key.limits.rpm = *value;
    } else if (option.starts_with("tpm=") && (value = router::parse_count(option.substr(4)))) {
      key.limits.tpm = *value;
    } else {
      error =
          "--key " + key.id + ": bad option '" + std::string(option) + "' (want rpm=N or tpm=N)";
      return std::nullopt;
    }
  }
  return key;
}

std::string_view style_name(AuthStyle style) {
  switch (style) {
    case AuthStyle::kBearer:
      return "bearer";
    case AuthStyle::kXApiKey:
      return "x-api-key";
    case AuthStyle::kApiKey:
      return "api-key";
  }
  return "bearer";
}

std::optional<PresentedKey> find_presented_key(const HttpRequest& request) {
  if (const auto authorization = request.header("authorization")) {
    constexpr std::string_view kBearer = "bearer ";
    if (authorization->size() > kBearer.size() &&
        equals_ignore_case(authorization->substr(0, kBearer.size()), kBearer)) {
      std::string_view token = authorization->substr(kBearer.size());
      while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
      if (!token.empty()) return PresentedKey{token, AuthStyle::kBearer};
    }
  }
  if (const auto key = request.header("x-api-key"); key && !key->empty()) {
    return PresentedKey{*key, AuthStyle::kXApiKey};
  }
  if (const auto key = request.header("api-key"); key && !key->empty()) {
    return PresentedKey{*key, AuthStyle::kApiKey};
  }
  return std::nullopt;
}

}  // namespace keymux::mock
