#include "tests/mock_upstream/llm_request.h"

#include <algorithm>
#include <optional>

#include "tests/mock_upstream/json_scan.h"

namespace keymux::mock {

LlmRequest parse_llm_request(std::string_view body) {
  LlmRequest request;
  const std::uint64_t shape = body.size() % kUsageShapes;
  request.prompt_tokens =
      std::max<std::uint64_t>(1, body.size() / 4 + (shape == 2 ? body.size() / 8 : 0));
  // One pass over the top-level members: request bodies can be large.
  std::optional<std::uint64_t> max_tokens;
  std::optional<std::uint64_t> max_completion_tokens;
  JsonMembers members(body);
  std::string_view name;
  std::string_view value;
  while (members.next(name, value)) {
    if (name == "model") {
      if (std::optional<std::string> model = json_string(value); model && !model->empty()) {
        request.model = std::move(*model);
      }
    } else if (name == "stream") {
      request.stream = json_bool(value).value_or(false);
    } else if (name == "stream_options") {
      if (const auto include = json_member(value, "include_usage")) {
        request.include_usage = json_bool(*include).value_or(false);
      }
    } else if (name == "max_tokens") {
      max_tokens = json_uint(value);
    } else if (name == "max_completion_tokens") {
      max_completion_tokens = json_uint(value);
    }
  }
  // max_completion_tokens is OpenAI's newer name; it wins when both are sent.
  if (const auto limit = max_completion_tokens ? max_completion_tokens : max_tokens) {
    request.completion_tokens = std::min(*limit, kDefaultCompletionTokens);
  }
  if (shape == 0)
    request.completion_tokens = std::max<std::uint64_t>(1, request.completion_tokens / 2);
  return request;
}

}  // namespace keymux::mock
