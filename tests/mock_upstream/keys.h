// The keys the mock knows (--key ID=SECRET[:rpm=N][:tpm=N]) and how a request
// presents one. A secret is never printed: keys are named by ID.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "tests/mock_upstream/http_request_parser.h"
#include "tests/mock_upstream/rate_limiter.h"

namespace keymux::mock {

struct KeySpec {
  std::string id;
  std::string secret;
  RateLimits limits;
};

// nullopt with `error` set (naming the ID, never the secret) when malformed.
// The secret runs to the first ':' so it cannot contain one.
std::optional<KeySpec> parse_key_flag(std::string_view text, std::string& error);

enum class AuthStyle { kBearer, kXApiKey, kApiKey };
inline constexpr std::array<AuthStyle, 3> kAuthStyles = {AuthStyle::kBearer, AuthStyle::kXApiKey,
                                                         AuthStyle::kApiKey};
// "bearer", "x-api-key", "api-key": the x-mock-auth-style header and stats names.
std::string_view style_name(AuthStyle style);

struct PresentedKey {
  std::string_view secret;
  AuthStyle style;
};

// The key in `Authorization: Bearer X`, else `x-api-key: X`, else `api-key: X`.
std::optional<PresentedKey> find_presented_key(const HttpRequest& request);

}  // namespace keymux::mock
