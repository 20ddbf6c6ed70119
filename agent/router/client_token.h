// Where a client's token comes from: `Authorization: Bearer <token>` (the
// scheme in any case), else `x-api-key: <token>`, the two headers the
// OpenAI and Anthropic SDKs send their api_key in.
#pragma once

#include <optional>
#include <string_view>

namespace keymux::router {

// The token, or empty when the request carries none. A header HAProxy could
// not fetch is nullopt; an Authorization of another scheme counts as absent.
std::string_view client_token(std::optional<std::string_view> authorization,
                              std::optional<std::string_view> api_key);

}  // namespace keymux::router
