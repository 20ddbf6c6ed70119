// Whether a request body that says it is JSON can be JSON, from the part of
// it the agent sees (HAProxy sends a prefix). Garbage (form data, plain
// text, a truncated or hand-broken document) usually shows in its first
// bytes; a body that fits the prefix is checked whole. No allocation: the
// nesting is a bit stack of bounded depth.
#pragma once

#include <string_view>

namespace keymux::router {

enum class JsonCheck {
  kValid,       // `complete` and one well-formed JSON value (RFC 8259), nothing after it
  kValidSoFar,  // not complete: nothing wrong up to the end of `text`
  kInvalid,     // a byte that no JSON document could have there
};

// `complete`: `text` is the whole body. Nesting deeper than 1,024 levels is
// not judged (kValidSoFar).
JsonCheck check_json(std::string_view text, bool complete);

// True for "application/json" and the like ("application/json; charset=utf-8",
// any case; "application/vnd.x+json").
bool is_json_content_type(std::string_view content_type);

}  // namespace keymux::router
