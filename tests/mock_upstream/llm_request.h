// The few fields of a chat request (OpenAI chat/completions or Anthropic
// messages) that shape the mock's answer, and the usage it reports.
//
// The usage differs from keymux's estimate (body bytes / 4 rounded up, plus
// the request's output cap) both ways, as a real tokenizer and a real answer
// do, and is deterministic per body so tests predict it exactly. By the body's
// length in bytes, mod 3 (kUsageShapes):
//   0  prompt bytes/4,           completion half the cap   below the estimate
//   1  prompt bytes/4,           completion the cap        the estimate (or 1 below)
//   2  prompt bytes/4 + bytes/8, completion the cap        above it (a denser text)
// The cap is min(max_tokens, 16), else 16; the prompt at least 1.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace keymux::mock {

inline constexpr std::uint64_t kDefaultCompletionTokens = 16;
inline constexpr std::uint64_t kUsageShapes = 3;

struct LlmRequest {
  std::string model = "mock-model";  // echoed back
  bool stream = false;
  bool include_usage = false;                                  // stream_options.include_usage
  std::uint64_t prompt_tokens = 1;                             // see above
  std::uint64_t completion_tokens = kDefaultCompletionTokens;  // see above

  std::uint64_t total_tokens() const { return prompt_tokens + completion_tokens; }
};

// Tolerant: a body that is not JSON still gets the defaults.
LlmRequest parse_llm_request(std::string_view body);

}  // namespace keymux::mock
