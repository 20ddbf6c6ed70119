// KV-LIST: (<KEY:length-prefixed string><VALUE:typed data>)* up to the end of the payload.
// Used by HELLO and DISCONNECT frames.
#pragma once

#include <string_view>

#include "agent/spop/reader.h"
#include "agent/spop/typed_value.h"
#include "agent/spop/writer.h"

namespace keymux::spop {

struct KeyValue {
  std::string_view key;
  TypedValue value;
};

class KvListReader {
 public:
  explicit KvListReader(std::string_view payload) : in_(payload) {}
  // False at the end or on malformed input; failed() tells which.
  bool next(KeyValue& out);
  bool failed() const { return failed_; }

 private:
  Reader in_;
  bool failed_ = false;
};

void encode_kv(Writer& out, std::string_view key, const TypedValue& value);

}  // namespace keymux::spop
