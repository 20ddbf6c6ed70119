#include "agent/spop/notify.h"

#include "agent/spop/reader.h"

namespace keymux::spop {

const TypedValue* Message::arg(std::string_view arg_name) const {
  for (const Arg& a : args) {
    if (a.key == arg_name) return &a.value;
  }
  return nullptr;
}

Status NotifyDecoder::decode(std::string_view payload) {
  pending_.clear();
  args_.clear();
  messages_.clear();

  Reader in(payload);
  while (!in.empty()) {
    std::string_view name;
    std::uint8_t arg_count = 0;
    if (!in.read_length_prefixed(name) || !in.read_u8(arg_count)) {
      pending_.clear();
      args_.clear();
      return Status::kInvalidFrame;
    }
    const std::size_t first_arg = args_.size();
    for (std::uint8_t i = 0; i < arg_count; ++i) {
      Arg arg;
      if (!in.read_length_prefixed(arg.key) || !decode_typed(in, arg.value)) {
        pending_.clear();
        args_.clear();
        return Status::kInvalidFrame;
      }
      args_.push_back(arg);
    }
    pending_.push_back(Pending{name, first_arg, arg_count});
  }

  // Spans are taken only now: args_ no longer grows, so they stay valid.
  messages_.reserve(pending_.size());
  const std::span<const Arg> all(args_);
  for (const Pending& p : pending_) {
    messages_.push_back(Message{p.name, all.subspan(p.first_arg, p.arg_count)});
  }
  return Status::kNormal;
}

void NotifyPayloadEncoder::begin_message(std::string_view name, std::uint8_t arg_count) {
  out_.length_prefixed(name);
  out_.u8(arg_count);
}

void NotifyPayloadEncoder::add_arg(std::string_view name, const TypedValue& value) {
  encode_kv(out_, name, value);
}

}  // namespace keymux::spop
