#include "agent/spop/kv_list.h"

namespace keymux::spop {

bool KvListReader::next(KeyValue& out) {
  if (failed_ || in_.empty()) return false;
  KeyValue kv;
  if (!in_.read_length_prefixed(kv.key) || !decode_typed(in_, kv.value)) {
    failed_ = true;
    return false;
  }
  out = kv;
  return true;
}

void encode_kv(Writer& out, std::string_view key, const TypedValue& value) {
  out.length_prefixed(key);
  encode_typed(out, value);
}

}  // namespace keymux::spop
