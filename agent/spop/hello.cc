#include "agent/spop/hello.h"

#include <algorithm>
#include <limits>
#include <optional>

#include "agent/spop/frame.h"
#include "agent/spop/kv_list.h"

namespace keymux::spop {
namespace {

std::string_view trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t";
  const std::size_t first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  const std::size_t last = s.find_last_not_of(kSpace);
  return s.substr(first, last - first + 1);
}

bool supports_our_version(std::string_view versions) {
  while (true) {
    const std::size_t comma = versions.find(',');
    if (trim(versions.substr(0, comma)) == kSpopVersion) return true;
    if (comma == std::string_view::npos) return false;
    versions.remove_prefix(comma + 1);
  }
}

}  // namespace

Status decode_haproxy_hello(std::string_view payload, HaproxyHello& out) {
  out = HaproxyHello{};
  bool have_version = false;
  bool have_max_frame_size = false;
  bool have_capabilities = false;

  KvListReader items(payload);
  KeyValue kv;
  while (items.next(kv)) {
    if (kv.key == "supported-versions") {
      if (const auto text = kv.value.as_text()) {
        out.supported_versions = *text;
        have_version = true;
      }
    } else if (kv.key == "max-frame-size") {
      // UINT32 is what HAProxy sends; any non-negative integer that fits will do.
      const std::optional<std::uint64_t> size = kv.value.as_uint();
      if (size && *size <= std::numeric_limits<std::uint32_t>::max()) {
        out.max_frame_size = static_cast<std::uint32_t>(*size);
        have_max_frame_size = true;
      }
    } else if (kv.key == "capabilities") {
      if (const auto text = kv.value.as_text()) {
        out.capabilities = *text;
        have_capabilities = true;
      }
    } else if (kv.key == "healthcheck") {
      out.healthcheck = kv.value.type == DataType::kBool && kv.value.boolean;
    } else if (kv.key == "engine-id") {
      if (const auto text = kv.value.as_text()) out.engine_id = *text;
    }
    // Unknown items are ignored: later versions may add some.
  }
  if (items.failed()) return Status::kInvalidFrame;
  if (!have_version) return Status::kNoVersion;
  if (!have_max_frame_size) return Status::kNoMaxFrameSize;
  if (!have_capabilities) return Status::kNoCapabilities;
  return Status::kNormal;
}

Status negotiate_hello(const HaproxyHello& hello, std::uint32_t our_max_frame_size,
                       std::uint32_t& agreed_max_frame_size) {
  if (!supports_our_version(hello.supported_versions)) return Status::kUnsupportedVersion;
  if (hello.max_frame_size < kMinFrameSize) return Status::kBadMaxFrameSize;
  agreed_max_frame_size = std::min(our_max_frame_size, hello.max_frame_size);
  return Status::kNormal;
}

void encode_agent_hello(std::string& out, std::uint32_t max_frame_size) {
  FrameEncoder frame(out, FrameType::kAgentHello, 0, 0);
  encode_kv(frame.payload(), "version", TypedValue::of_string(kSpopVersion));
  encode_kv(frame.payload(), "max-frame-size", TypedValue::of_uint32(max_frame_size));
  encode_kv(frame.payload(), "capabilities", TypedValue::of_string(kAgentCapabilities));
  frame.finish();
}

void encode_haproxy_hello(std::string& out, const HaproxyHello& hello) {
  FrameEncoder frame(out, FrameType::kHaproxyHello, 0, 0);
  encode_kv(frame.payload(), "supported-versions", TypedValue::of_string(hello.supported_versions));
  encode_kv(frame.payload(), "max-frame-size", TypedValue::of_uint32(hello.max_frame_size));
  encode_kv(frame.payload(), "capabilities", TypedValue::of_string(hello.capabilities));
  // HAProxy only sends these two when they apply.
  if (hello.healthcheck) encode_kv(frame.payload(), "healthcheck", TypedValue::of_bool(true));
  if (!hello.engine_id.empty()) {
    encode_kv(frame.payload(), "engine-id", TypedValue::of_string(hello.engine_id));
  }
  frame.finish();
}

}  // namespace keymux::spop
