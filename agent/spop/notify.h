// NOTIFY payload: LIST-OF-MESSAGES = (<NAME:string><NB-ARGS:1 byte><KV-LIST of NB-ARGS>)*
// Decoded whole (so a malformed frame is refused before any message is acted on)
// into vectors that keep their capacity across frames: no allocation per field
// once a connection has warmed up.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/spop/kv_list.h"
#include "agent/spop/status.h"
#include "agent/spop/typed_value.h"

namespace keymux::spop {

using Arg = KeyValue;  // argument names may be empty

struct Message {
  std::string_view name;
  std::span<const Arg> args;

  // The first argument named `name`, or nullptr.
  const TypedValue* arg(std::string_view name) const;
};

class NotifyDecoder {
 public:
  // kNormal, or kInvalidFrame when the payload is malformed. Views point into `payload`.
  Status decode(std::string_view payload);
  std::span<const Message> messages() const { return messages_; }

 private:
  struct Pending {
    std::string_view name;
    std::size_t first_arg;
    std::size_t arg_count;
  };
  std::vector<Pending> pending_;
  std::vector<Arg> args_;
  std::vector<Message> messages_;
};

// Builds a NOTIFY payload (HAProxy's side: tests, fuzz seeds, the load generator).
class NotifyPayloadEncoder {
 public:
  explicit NotifyPayloadEncoder(Writer& out) : out_(out) {}
  // Starts a message; exactly `arg_count` add_arg() calls must follow.
  void begin_message(std::string_view name, std::uint8_t arg_count);
  void add_arg(std::string_view name, const TypedValue& value);

 private:
  Writer& out_;
};

}  // namespace keymux::spop
