// HAProxy's binary header block (req.hdrs_bin / res.hdrs_bin):
//   (<name length:varint><name><value length:varint><value>)* then two zero bytes.
// Names arrive lower-cased. No copy: the callback gets views into `block`.
#pragma once

#include <string_view>

#include "agent/spop/reader.h"

namespace keymux::spop {

// Calls `on_header(name, value)` for each header in order. False when the
// block is malformed (truncated, or no terminator); headers seen before the
// fault have already been delivered.
template <typename OnHeader>
bool for_each_header(std::string_view block, OnHeader&& on_header) {
  Reader in(block);
  for (;;) {
    std::string_view name;
    std::string_view value;
    if (!in.read_length_prefixed(name) || !in.read_length_prefixed(value)) return false;
    if (name.empty()) return value.empty();  // the terminator: an empty name and value
    on_header(name, value);
  }
}

}  // namespace keymux::spop
