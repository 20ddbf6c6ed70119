#include "agent/config/hash_token.h"

#include "agent/config/token_sha256.h"

namespace keymux::config {

std::optional<std::string_view> token_from_input(std::string_view input) {
  if (input.ends_with("\r\n")) {
    input.remove_suffix(2);
  } else if (input.ends_with('\n')) {
    input.remove_suffix(1);
  }
  if (input.empty()) return std::nullopt;
  return input;
}

std::string token_sha256_line(std::string_view token) {
  return "token_sha256: \"" + to_hex(sha256(token)) + "\"";
}

int run_hash_token(std::FILE* in, std::FILE* out, std::FILE* err) {
  std::string input;
  char buffer[4096];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, in)) > 0) input.append(buffer, n);
  const std::optional<std::string_view> token = token_from_input(input);
  if (!token) {
    std::fprintf(err,
                 "keymux-agent hash-token: no token on stdin (usage: printf '%%s' TOKEN | "
                 "keymux-agent hash-token)\n");
    return 2;
  }
  std::fprintf(out, "%s\n", token_sha256_line(*token).c_str());
  return 0;
}

}  // namespace keymux::config
