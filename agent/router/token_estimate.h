// The token cost reserved for a request before it runs: a prompt estimate from
// the body plus the output it may produce.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace keymux::router {

// ~4 bytes of JSON per token, from the whole body's size (the prefix may be cut).
std::uint64_t estimate_prompt_tokens(std::uint64_t body_size);

// The request's own output cap from the body prefix: top-level "max_tokens",
// "max_completion_tokens" or "max_output_tokens" (first found). nullopt when
// absent or not visible in the prefix.
std::optional<std::uint64_t> find_max_output_tokens(std::string_view body_prefix);

// Prompt estimate + (the request's cap, else `default_max_tokens`).
std::uint64_t estimate_request_tokens(std::uint64_t body_size, std::string_view body_prefix,
                                      std::uint32_t default_max_tokens);

}  // namespace keymux::router
