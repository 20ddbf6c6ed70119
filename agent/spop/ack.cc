#include "agent/spop/ack.h"

#include "agent/spop/reader.h"

namespace keymux::spop {
namespace {

constexpr std::uint8_t kSetVarArgs = 3;
constexpr std::uint8_t kUnsetVarArgs = 2;
constexpr std::uint8_t kMaxScope = static_cast<std::uint8_t>(VarScope::kResponse);

}  // namespace

AckEncoder::AckEncoder(std::string& out, std::uint64_t stream_id, std::uint64_t frame_id)
    : frame_(out, FrameType::kAck, stream_id, frame_id) {}

void AckEncoder::set_var(VarScope scope, std::string_view name, const TypedValue& value) {
  Writer& w = frame_.payload();
  w.u8(static_cast<std::uint8_t>(ActionType::kSetVar));
  w.u8(kSetVarArgs);
  w.u8(static_cast<std::uint8_t>(scope));
  w.length_prefixed(name);
  encode_typed(w, value);
  ++actions_;
}

void AckEncoder::unset_var(VarScope scope, std::string_view name) {
  Writer& w = frame_.payload();
  w.u8(static_cast<std::uint8_t>(ActionType::kUnsetVar));
  w.u8(kUnsetVarArgs);
  w.u8(static_cast<std::uint8_t>(scope));
  w.length_prefixed(name);
  ++actions_;
}

Status decode_actions(std::string_view payload, std::vector<Action>& out) {
  out.clear();
  Reader in(payload);
  while (!in.empty()) {
    std::uint8_t type = 0;
    std::uint8_t arg_count = 0;
    std::uint8_t scope = 0;
    Action action;
    if (!in.read_u8(type) || !in.read_u8(arg_count) || !in.read_u8(scope) || scope > kMaxScope ||
        !in.read_length_prefixed(action.name)) {
      out.clear();
      return Status::kInvalidFrame;
    }
    action.scope = static_cast<VarScope>(scope);
    if (type == static_cast<std::uint8_t>(ActionType::kSetVar) && arg_count == kSetVarArgs) {
      action.type = ActionType::kSetVar;
      if (!decode_typed(in, action.value)) {
        out.clear();
        return Status::kInvalidFrame;
      }
    } else if (type == static_cast<std::uint8_t>(ActionType::kUnsetVar) &&
               arg_count == kUnsetVarArgs) {
      action.type = ActionType::kUnsetVar;
    } else {
      out.clear();
      return Status::kInvalidFrame;
    }
    out.push_back(action);
  }
  return Status::kNormal;
}

}  // namespace keymux::spop
