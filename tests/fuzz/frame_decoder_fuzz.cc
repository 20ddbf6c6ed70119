// libFuzzer target: every SPOP decoder over the same bytes. Decoders must never
// read out of bounds, every view they hand out must point into their input, and
// whatever decodes must survive an encode/decode round trip unchanged.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/spop/ack.h"
#include "agent/spop/disconnect.h"
#include "agent/spop/frame.h"
#include "agent/spop/hello.h"
#include "agent/spop/kv_list.h"
#include "agent/spop/notify.h"
#include "agent/spop/session.h"
#include "agent/spop/typed_value.h"
#include "tests/fuzz/fuzz_check.h"

namespace keymux::fuzz {
namespace {

using namespace keymux::spop;

volatile unsigned g_sink;

bool same_value(const TypedValue& a, const TypedValue& b) {
  if (a.type != b.type) return false;
  switch (a.type) {
    case DataType::kNull:
      return true;
    case DataType::kBool:
      return a.boolean == b.boolean;
    case DataType::kInt32:
    case DataType::kInt64:
      return a.sint == b.sint;
    case DataType::kUint32:
    case DataType::kUint64:
      return a.uint == b.uint;
    default:
      return a.bytes == b.bytes;
  }
}

void check_value(const TypedValue& v, std::string_view input) {
  FUZZ_CHECK(within(v.bytes, input));
  if (v.type == DataType::kIpv4) FUZZ_CHECK(v.bytes.size() == 4);
  if (v.type == DataType::kIpv6) FUZZ_CHECK(v.bytes.size() == 16);
  if (v.type == DataType::kInt32) FUZZ_CHECK(v.sint >= INT32_MIN && v.sint <= INT32_MAX);
  if (v.type == DataType::kUint32) FUZZ_CHECK(v.uint <= UINT32_MAX);
  g_sink = g_sink + touch(v.bytes);

  std::string encoded;
  Writer writer(encoded);
  encode_typed(writer, v);
  Reader reader(encoded);
  TypedValue again;
  FUZZ_CHECK(decode_typed(reader, again));
  FUZZ_CHECK(reader.empty());
  FUZZ_CHECK(same_value(v, again));
}

void fuzz_scan(std::string_view input) {
  for (const std::uint32_t max : {kMinFrameSize, 16380u, kDefaultMaxFrameSize}) {
    const FrameScan scan = scan_frame(input, max);
    switch (scan.kind) {
      case FrameScan::Kind::kNeedMore:
        break;
      case FrameScan::Kind::kError:
        FUZZ_CHECK(input.size() >= kLengthPrefixSize);
        FUZZ_CHECK(scan.error == Status::kTooBig || scan.error == Status::kInvalidFrame);
        break;
      case FrameScan::Kind::kFrame:
        FUZZ_CHECK(!scan.body.empty());
        FUZZ_CHECK(scan.body.size() <= max);
        FUZZ_CHECK(scan.consumed == kLengthPrefixSize + scan.body.size());
        FUZZ_CHECK(scan.consumed <= input.size());
        FUZZ_CHECK(scan.body.data() == input.data() + kLengthPrefixSize);
        break;
    }
  }
}

// Decodes `body` as a frame header; true with its payload when it decodes.
bool fuzz_frame(std::string_view body, std::string_view& payload) {
  Frame frame;
  if (decode_frame(body, frame) != Status::kNormal) return false;
  FUZZ_CHECK(within(frame.payload, body));
  FUZZ_CHECK(frame.payload.data() + frame.payload.size() == body.data() + body.size());

  // Re-encoding the header gives back the same frame.
  std::string again;
  FrameEncoder encoder(again, frame.type, frame.stream_id, frame.frame_id, frame.flags);
  encoder.payload().bytes(frame.payload);
  FUZZ_CHECK(encoder.finish() == again.size() - kLengthPrefixSize);
  const FrameScan scan = scan_frame(again, kLargestMaxFrameSize);
  FUZZ_CHECK(scan.kind == FrameScan::Kind::kFrame && scan.consumed == again.size());
  Frame decoded;
  FUZZ_CHECK(decode_frame(scan.body, decoded) == Status::kNormal);
  FUZZ_CHECK(decoded.type == frame.type && decoded.flags == frame.flags);
  FUZZ_CHECK(decoded.stream_id == frame.stream_id && decoded.frame_id == frame.frame_id);
  FUZZ_CHECK(decoded.payload == frame.payload);
  payload = frame.payload;
  return true;
}

void fuzz_kv_list(std::string_view payload) {
  KvListReader reader(payload);
  KeyValue kv;
  std::size_t count = 0;
  while (reader.next(kv)) {
    FUZZ_CHECK(within(kv.key, payload));
    g_sink = g_sink + touch(kv.key);
    check_value(kv.value, payload);
    FUZZ_CHECK(++count <= payload.size());  // each item takes at least one byte
  }
}

void fuzz_hello(std::string_view payload) {
  HaproxyHello hello;
  const Status status = decode_haproxy_hello(payload, hello);
  if (status != Status::kNormal) {
    FUZZ_CHECK(status == Status::kInvalidFrame || status == Status::kNoVersion ||
               status == Status::kNoMaxFrameSize || status == Status::kNoCapabilities);
    return;
  }
  FUZZ_CHECK(within(hello.supported_versions, payload));
  FUZZ_CHECK(within(hello.capabilities, payload));
  FUZZ_CHECK(within(hello.engine_id, payload));
  std::uint32_t agreed = 0;
  if (negotiate_hello(hello, kDefaultMaxFrameSize, agreed) == Status::kNormal) {
    FUZZ_CHECK(agreed >= kMinFrameSize && agreed <= kDefaultMaxFrameSize);
    FUZZ_CHECK(agreed <= hello.max_frame_size);
  }
}

void fuzz_notify(std::string_view payload) {
  NotifyDecoder decoder;
  if (decoder.decode(payload) != Status::kNormal) return;
  std::string encoded;
  Writer writer(encoded);
  NotifyPayloadEncoder encoder(writer);
  for (const Message& message : decoder.messages()) {
    FUZZ_CHECK(within(message.name, payload));
    FUZZ_CHECK(message.args.size() <= 255);
    encoder.begin_message(message.name, static_cast<std::uint8_t>(message.args.size()));
    for (const Arg& arg : message.args) {
      FUZZ_CHECK(within(arg.key, payload));
      check_value(arg.value, payload);
      encoder.add_arg(arg.key, arg.value);
    }
    if (!message.args.empty()) {
      const TypedValue* first = message.arg(message.args.front().key);
      FUZZ_CHECK(first == &message.args.front().value);
    }
  }
  // The re-encoded payload decodes to the same messages.
  NotifyDecoder again;
  FUZZ_CHECK(again.decode(encoded) == Status::kNormal);
  FUZZ_CHECK(again.messages().size() == decoder.messages().size());
  for (std::size_t m = 0; m < again.messages().size(); ++m) {
    const Message& a = decoder.messages()[m];
    const Message& b = again.messages()[m];
    FUZZ_CHECK(a.name == b.name && a.args.size() == b.args.size());
    for (std::size_t i = 0; i < a.args.size(); ++i) {
      FUZZ_CHECK(a.args[i].key == b.args[i].key);
      FUZZ_CHECK(same_value(a.args[i].value, b.args[i].value));
    }
  }
  // A second decode into the same decoder (capacity reuse) gives the same count.
  FUZZ_CHECK(decoder.decode(payload) == Status::kNormal);
  FUZZ_CHECK(decoder.messages().size() == again.messages().size());
}

void fuzz_actions(std::string_view payload) {
  std::vector<Action> actions;
  if (decode_actions(payload, actions) != Status::kNormal) {
    FUZZ_CHECK(actions.empty());
    return;
  }
  std::string encoded;
  AckEncoder ack(encoded, 1, 2);
  for (const Action& action : actions) {
    FUZZ_CHECK(within(action.name, payload));
    FUZZ_CHECK(static_cast<std::uint8_t>(action.scope) <= 4);
    if (action.type == ActionType::kSetVar) {
      check_value(action.value, payload);
      ack.set_var(action.scope, action.name, action.value);
    } else {
      FUZZ_CHECK(action.type == ActionType::kUnsetVar);
      ack.unset_var(action.scope, action.name);
    }
  }
  FUZZ_CHECK(ack.action_count() == actions.size());
  ack.finish();
  const FrameScan scan = scan_frame(encoded, kLargestMaxFrameSize);
  if (actions.empty()) return;  // still a well-formed (if empty) ACK frame
  FUZZ_CHECK(scan.kind == FrameScan::Kind::kFrame);
  Frame frame;
  FUZZ_CHECK(decode_frame(scan.body, frame) == Status::kNormal);
  std::vector<Action> again;
  FUZZ_CHECK(decode_actions(frame.payload, again) == Status::kNormal);
  FUZZ_CHECK(again.size() == actions.size());
  for (std::size_t i = 0; i < again.size(); ++i) {
    FUZZ_CHECK(again[i].type == actions[i].type && again[i].scope == actions[i].scope);
    FUZZ_CHECK(again[i].name == actions[i].name);
    FUZZ_CHECK(same_value(again[i].value, actions[i].value));
  }
}

void fuzz_disconnect(std::string_view payload) {
  Disconnect d;
  if (decode_disconnect(payload, d) != Status::kNormal) return;
  FUZZ_CHECK(within(d.message, payload));
  g_sink = g_sink + touch(d.message);
}

void fuzz_payload(std::string_view payload) {
  fuzz_kv_list(payload);
  fuzz_hello(payload);
  fuzz_notify(payload);
  fuzz_actions(payload);
  fuzz_disconnect(payload);
}

}  // namespace
}  // namespace keymux::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace keymux::fuzz;
  // A copy of exactly `size` bytes: ASan flags any read past its end.
  const std::string buffer(reinterpret_cast<const char*>(data), size);
  const std::string_view input(buffer);

  fuzz_scan(input);
  // The input as a whole frame (length prefix included), as a frame body, and
  // as a bare payload, so each decoder sees it at every level.
  std::string_view payload;
  const keymux::spop::FrameScan scan =
      keymux::spop::scan_frame(input, keymux::spop::kLargestMaxFrameSize);
  if (scan.kind == keymux::spop::FrameScan::Kind::kFrame && fuzz_frame(scan.body, payload)) {
    fuzz_payload(payload);
  }
  if (fuzz_frame(input, payload)) fuzz_payload(payload);
  fuzz_payload(input);
  return 0;
}
