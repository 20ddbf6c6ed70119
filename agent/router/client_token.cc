#include "agent/router/client_token.h"

namespace keymux::router {
namespace {

constexpr std::string_view kBearer = "bearer";

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

bool lower_equals(std::string_view text, std::string_view lower) {
  if (text.size() != lower.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c =
        text[i] >= 'A' && text[i] <= 'Z' ? static_cast<char>(text[i] - 'A' + 'a') : text[i];
    if (c != lower[i]) return false;
  }
  return true;
}

// "Bearer <token>" -> the token; empty for another scheme or no token.
std::string_view bearer_token(std::string_view authorization) {
  authorization = trimmed(authorization);
  if (authorization.size() <= kBearer.size() || !is_space(authorization[kBearer.size()]) ||
      !lower_equals(authorization.substr(0, kBearer.size()), kBearer)) {
    return {};
  }
  return trimmed(authorization.substr(kBearer.size()));
}

}  // namespace

std::string_view client_token(std::optional<std::string_view> authorization,
                              std::optional<std::string_view> api_key) {
  if (authorization) {
    if (const std::string_view token = bearer_token(*authorization); !token.empty()) return token;
  }
  return api_key ? trimmed(*api_key) : std::string_view();
}

}  // namespace keymux::router
