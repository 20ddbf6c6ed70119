// Client tokens are known to the gateway only by their SHA-256: the config
// holds the digest (token_sha256), a request's token is hashed and compared.
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace keymux::config {

using Sha256 = std::array<unsigned char, 32>;

Sha256 sha256(std::string_view data);

// 64 lower-case hex characters, as token_sha256 is written.
std::string to_hex(const Sha256& digest);

// The digest written as 64 hex characters (either case); false when `hex` is not one.
bool parse_hex_sha256(std::string_view hex, Sha256& digest);

}  // namespace keymux::config
