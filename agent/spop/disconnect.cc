#include "agent/spop/disconnect.h"

#include <limits>

#include "agent/spop/kv_list.h"

namespace keymux::spop {

Status decode_disconnect(std::string_view payload, Disconnect& out) {
  out = Disconnect{};
  KvListReader items(payload);
  KeyValue kv;
  while (items.next(kv)) {
    if (kv.key == "status-code") {
      const auto code = kv.value.as_uint();
      if (code && *code <= std::numeric_limits<std::uint32_t>::max()) {
        out.status_code = static_cast<std::uint32_t>(*code);
      }
    } else if (kv.key == "message") {
      if (const auto text = kv.value.as_text()) out.message = *text;
    }
  }
  return items.failed() ? Status::kInvalidFrame : Status::kNormal;
}

void encode_disconnect(std::string& out, Status status, std::string_view message, FrameType type) {
  FrameEncoder frame(out, type, 0, 0);
  encode_kv(frame.payload(), "status-code",
            TypedValue::of_uint32(static_cast<std::uint32_t>(status)));
  encode_kv(frame.payload(), "message", TypedValue::of_string(message));
  frame.finish();
}

}  // namespace keymux::spop
