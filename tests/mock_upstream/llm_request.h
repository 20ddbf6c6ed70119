// The few fields of a chat request (OpenAI chat/completions or Anthropic
// messages) that shape the mock's answer, and its token estimate.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace keymux::mock {

inline constexpr std::uint64_t kDefaultCompletionTokens = 16;

struct LlmRequest {
  std::string model = "mock-model";  // echoed back
  bool stream = false;
  bool include_usage = false;                                  // stream_options.include_usage
  std::uint64_t prompt_tokens = 1;                             // body bytes / 4, at least 1
  std::uint64_t completion_tokens = kDefaultCompletionTokens;  // min(max_tokens, 16)

  std::uint64_t total_tokens() const { return prompt_tokens + completion_tokens; }
};

// Tolerant: a body that is not JSON still gets the defaults.
LlmRequest parse_llm_request(std::string_view body);

}  // namespace keymux::mock
