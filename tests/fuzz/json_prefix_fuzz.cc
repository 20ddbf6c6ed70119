// libFuzzer target: the agent's check of a JSON request body (json_prefix.h).
//
// The input is judged whole and as a prefix. Invariants: a valid whole body
// is never refused as a prefix, and neither is any prefix of it (cut at a few
// places); a body judged invalid as a prefix is invalid whole.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "agent/router/json_prefix.h"
#include "tests/fuzz/fuzz_check.h"

using keymux::router::check_json;
using keymux::router::JsonCheck;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const JsonCheck whole = check_json(text, true);
  const JsonCheck prefix = check_json(text, false);
  FUZZ_CHECK(prefix != JsonCheck::kValid);  // a prefix is never judged complete
  if (prefix == JsonCheck::kInvalid) FUZZ_CHECK(whole == JsonCheck::kInvalid);
  if (whole == JsonCheck::kValid) {
    FUZZ_CHECK(prefix == JsonCheck::kValidSoFar);
    for (const std::size_t cut : {size / 4, size / 2, size - size / 4, size - 1}) {
      if (cut < size) FUZZ_CHECK(check_json(text.substr(0, cut), false) != JsonCheck::kInvalid);
    }
  }
  (void)keymux::router::is_json_content_type(text);
  return 0;
}
