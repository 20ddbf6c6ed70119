// `keymux-agent hash-token`: turns a client token into the config line that
// names it, so operators never write the token itself into a file.
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

namespace keymux::config {

// The token in what was read from stdin: one trailing "\n" or "\r\n" removed;
// nullopt when nothing is left.
std::optional<std::string_view> token_from_input(std::string_view input);

// `token_sha256: "<64 hex>"`, without a newline.
std::string token_sha256_line(std::string_view token);

// Reads all of `in`, prints the line to `out`: exit code 0, or 2 (with a
// message on `err`) for an empty token.
int run_hash_token(std::FILE* in, std::FILE* out, std::FILE* err);

}  // namespace keymux::config
