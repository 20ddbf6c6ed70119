// ACK frames: LIST-OF-ACTIONS = (<ACTION-TYPE:1><NB-ARGS:1><args>)*
//   SET-VAR (1):   3 args: <VAR-SCOPE:1 byte><NAME:string><VALUE:typed data>
//   UNSET-VAR (2): 2 args: <VAR-SCOPE:1 byte><NAME:string>
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/spop/frame.h"
#include "agent/spop/status.h"
#include "agent/spop/typed_value.h"

namespace keymux::spop {

enum class ActionType : std::uint8_t { kSetVar = 1, kUnsetVar = 2 };

enum class VarScope : std::uint8_t {
  kProcess = 0,
  kSession = 1,
  kTransaction = 2,
  kRequest = 3,
  kResponse = 4,
};

// Appends one ACK frame to a connection's output buffer. HAProxy names the
// variable "<scope>.<var-prefix>.<name>"; the whole name must fit in 64 bytes.
class AckEncoder {
 public:
  AckEncoder(std::string& out, std::uint64_t stream_id, std::uint64_t frame_id);

  void set_var(VarScope scope, std::string_view name, const TypedValue& value);
  void unset_var(VarScope scope, std::string_view name);

  std::size_t action_count() const { return actions_; }
  std::size_t body_size() const { return frame_.body_size(); }
  std::size_t finish() { return frame_.finish(); }
  void discard() { frame_.discard(); }

 private:
  FrameEncoder frame_;
  std::size_t actions_ = 0;
};

// HAProxy's side of an ACK, for tests and the load generator.
struct Action {
  ActionType type = ActionType::kSetVar;
  VarScope scope = VarScope::kTransaction;
  std::string_view name;
  TypedValue value;  // null for kUnsetVar
};

// kNormal or kInvalidFrame. Views point into `payload`; `out` is cleared first.
Status decode_actions(std::string_view payload, std::vector<Action>& out);

}  // namespace keymux::spop
