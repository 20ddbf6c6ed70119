// libFuzzer target: the mock upstream's HTTP request parser and JSON scanner.
//
// The first byte picks how the rest is cut into feeds (so requests split
// anywhere are explored); every complete request is checked for views inside
// the parser's buffer, then its body goes through the JSON scanner and the
// chat-request reader. Nothing may crash or trip a sanitizer.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tests/fuzz/fuzz_check.h"
#include "tests/mock_upstream/http_request_parser.h"
#include "tests/mock_upstream/json_scan.h"
#include "tests/mock_upstream/llm_request.h"

namespace {

using keymux::fuzz::touch;

// Small limits, so that the fuzzer reaches the 413 paths with small inputs.
constexpr keymux::mock::ParseLimits kLimits{.max_head_bytes = 512, .max_body_bytes = 1024};

void fuzz_json(std::string_view text) {
  using namespace keymux::mock;
  for (const std::string_view key : {"model", "stream", "stream_options", "max_tokens", "a"}) {
    const auto member = json_member(text, key);
    if (!member) continue;
    // The member is a view into the text, and its value readers are total.
    FUZZ_CHECK(keymux::fuzz::within(*member, text));
    touch(*member);
    json_bool(*member);
    json_uint(*member);
    json_number(*member);
    if (const auto s = json_string(*member)) touch(*s);
    if (const auto inner = json_member(*member, "include_usage")) touch(*inner);
  }
  JsonMembers members(text);
  std::string_view name;
  std::string_view value;
  while (members.next(name, value)) {
    FUZZ_CHECK(keymux::fuzz::within(name, text));
    FUZZ_CHECK(keymux::fuzz::within(value, text));
    FUZZ_CHECK(!value.empty());
  }
  json_is_object(text);
  const LlmRequest request = parse_llm_request(text);
  FUZZ_CHECK(request.prompt_tokens >= 1);
  FUZZ_CHECK(request.completion_tokens <= kDefaultCompletionTokens);
  touch(request.model);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t step = 1 + data[0] % 64;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

  keymux::mock::HttpRequestParser parser(kLimits);
  keymux::mock::HttpRequest request;
  std::size_t fed = 0;
  bool failed = false;
  while (fed < input.size() && !failed) {
    const std::string_view piece = input.substr(fed, step);
    parser.feed(piece);
    fed += piece.size();
    for (;;) {
      const keymux::mock::ParseStatus status = parser.next(request);
      if (status == keymux::mock::ParseStatus::kNeedMore) break;
      if (status == keymux::mock::ParseStatus::kError) {
        FUZZ_CHECK(parser.error_status() == 400 || parser.error_status() == 413);
        failed = true;
        break;
      }
      FUZZ_CHECK(!request.method.empty() && !request.target.empty());
      FUZZ_CHECK(request.body.size() <= kLimits.max_body_bytes);
      touch(request.method);
      touch(request.target);
      touch(request.body);
      for (const auto& header : request.headers) {
        FUZZ_CHECK(!header.name.empty());
        touch(header.name);
        touch(header.value);
      }
      touch(request.path());
      fuzz_json(request.body);
    }
  }
  // Bytes fed are either returned in requests or still buffered.
  if (!failed) FUZZ_CHECK(parser.buffered() <= input.size());
  // The whole input as a JSON document, too.
  fuzz_json(input);
  return 0;
}
