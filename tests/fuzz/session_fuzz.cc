// libFuzzer target: the connection state machine (spop::Session) fed arbitrary
// bytes split arbitrarily, checked against the protocol rules after every call.
//
// Input layout: [options][split][bytes...]
//   options bit 0: start with a valid HAPROXY-HELLO (gets past the handshake more often)
//           bit 1: the handler defers NOTIFYs whose frame-id is odd (Reply::kLater)
//           bit 2: deferred ones are answered from outside on_notify(), after receive()
//           bits 3-4: our max-frame-size: 256, 1024, 16380, default
//           bit 5: end with shutdown() (a graceful stop)
//   split:  0 = everything in one receive(); otherwise chunk sizes from a small
//           generator seeded with it, between 1 and `split` bytes.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/spop/ack.h"
#include "agent/spop/disconnect.h"
#include "agent/spop/frame.h"
#include "agent/spop/hello.h"
#include "agent/spop/kv_list.h"
#include "agent/spop/session.h"
#include "tests/fuzz/fuzz_check.h"

namespace keymux::fuzz {
namespace {

using namespace keymux::spop;

using Ids = std::pair<std::uint64_t, std::uint64_t>;

class FuzzHandler : public NotifyHandler {
 public:
  explicit FuzzHandler(bool defer_odd) : defer_odd_(defer_odd) {}

  Reply on_notify(Session& session, const NotifyRequest& request, AckEncoder& ack) override {
    const Ids ids{request.stream_id, request.frame_id};
    ++owed_[ids];
    if (defer_odd_ && (request.frame_id & 1) != 0 && deferred_.size() < 64) {
      deferred_.push_back(ids);
      return Reply::kLater;
    }
    // Answer held ones from inside the call too: the session must keep frames apart.
    if (!answer_outside_) answer_deferred(session);
    for (const Message& message : request.messages) {
      if (message.name.empty()) continue;  // leaves the ACK empty: the session fills it
      ack.set_var(VarScope::kTransaction, "m", TypedValue::of_string(message.name));
    }
    return Reply::kNow;
  }

  void answer_deferred(Session& session) {
    while (!deferred_.empty()) {
      const Ids ids = deferred_.back();  // newest first: out of order
      deferred_.pop_back();
      session.answer(ids.first, ids.second, [&](AckEncoder& ack) {
        if ((ids.second & 2) != 0)
          ack.set_var(VarScope::kRequest, "d", TypedValue::of_uint64(ids.first));
      });
    }
  }

  // Called for every ACK seen in the output: it must answer a NOTIFY that is owed one.
  void acked(const Ids& ids) {
    auto it = owed_.find(ids);
    FUZZ_CHECK(it != owed_.end());
    if (--it->second == 0) owed_.erase(it);
  }

  bool answer_outside_ = false;

 private:
  bool defer_odd_;
  std::vector<Ids> deferred_;
  std::map<Ids, int> owed_;
};

class OutputChecker {
 public:
  OutputChecker(Session& session, FuzzHandler& handler) : session_(session), handler_(handler) {}

  // Takes what the session produced since the last call (as the server would)
  // and checks it frame by frame.
  void drain() {
    std::string& out = session_.output();
    if (finished_) FUZZ_CHECK(out.empty());  // nothing after the last word
    std::string_view rest(out);
    while (!rest.empty()) {
      // Whole frames only: the server writes whatever is in output().
      const FrameScan scan = scan_frame(rest, kLargestMaxFrameSize);
      FUZZ_CHECK(scan.kind == FrameScan::Kind::kFrame);
      FUZZ_CHECK(scan.body.size() <= session_.max_frame_size());
      check_frame(scan.body);
      rest.remove_prefix(scan.consumed);
    }
    out.clear();
    if (session_.closing()) finished_ = true;
  }

  bool hello_sent() const { return hello_sent_; }

 private:
  void check_frame(std::string_view body) {
    FUZZ_CHECK(!finished_);
    Frame frame;
    FUZZ_CHECK(decode_frame(body, frame) == Status::kNormal);
    FUZZ_CHECK(frame.flags == kFlagFin);
    switch (frame.type) {
      case FrameType::kAgentHello: {
        FUZZ_CHECK(!hello_sent_);
        FUZZ_CHECK(frame.stream_id == 0 && frame.frame_id == 0);
        hello_sent_ = true;
        bool version = false, size = false, capabilities = false;
        KvListReader items(frame.payload);
        KeyValue kv;
        while (items.next(kv)) {
          if (kv.key == "version") version = kv.value.as_text() == kSpopVersion;
          if (kv.key == "capabilities") capabilities = kv.value.as_text() == kAgentCapabilities;
          if (kv.key == "max-frame-size") {
            size = kv.value.type == DataType::kUint32 && kv.value.uint >= kMinFrameSize &&
                   kv.value.uint == session_.max_frame_size();
          }
        }
        FUZZ_CHECK(!items.failed() && version && size && capabilities);
        break;
      }
      case FrameType::kAck: {
        FUZZ_CHECK(hello_sent_);
        std::vector<Action> actions;
        FUZZ_CHECK(decode_actions(frame.payload, actions) == Status::kNormal);
        FUZZ_CHECK(!actions.empty());
        handler_.acked({frame.stream_id, frame.frame_id});
        break;
      }
      case FrameType::kAgentDisconnect: {
        Disconnect d;
        FUZZ_CHECK(decode_disconnect(frame.payload, d) == Status::kNormal);
        FUZZ_CHECK(!d.message.empty());
        FUZZ_CHECK(d.status_code == static_cast<std::uint32_t>(session_.error()));
        // The disconnect is the last frame: the session must be closing now.
        FUZZ_CHECK(session_.closing());
        finished_ = true;
        break;
      }
      default:
        FUZZ_CHECK(false && "the agent sent a frame type it must never send");
    }
  }

  Session& session_;
  FuzzHandler& handler_;
  bool hello_sent_ = false;
  bool finished_ = false;
};

std::string valid_hello() {
  HaproxyHello hello;
  hello.supported_versions = "2.0";
  hello.max_frame_size = 16380;
  hello.capabilities = "pipelining";
  std::string out;
  encode_haproxy_hello(out, hello);
  return out;
}

}  // namespace
}  // namespace keymux::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace keymux::fuzz;
  using namespace keymux::spop;
  if (size < 2) return 0;
  const std::uint8_t options = data[0];
  const std::uint8_t split = data[1];
  const std::string bytes(reinterpret_cast<const char*>(data + 2), size - 2);

  static constexpr std::uint32_t kSizes[] = {256, 1024, 16380, kDefaultMaxFrameSize};
  FuzzHandler handler((options & 2) != 0);
  handler.answer_outside_ = (options & 4) != 0;
  Session session(handler, SessionOptions{kSizes[(options >> 3) & 3]});
  OutputChecker checker(session, handler);

  if ((options & 1) != 0) {
    session.receive(valid_hello());
    checker.drain();
    FUZZ_CHECK(session.state() == Session::State::kReady);
  }

  std::string_view rest(bytes);
  std::uint32_t state = split;
  while (!rest.empty()) {
    std::size_t chunk = rest.size();
    if (split != 0) {
      state = state * 1103515245u + 12345u;
      chunk = 1 + (state >> 16) % split;
      if (chunk > rest.size()) chunk = rest.size();
    }
    // A copy of exactly the chunk, as a socket read would hand over: the
    // session must not keep views into it past the call.
    const std::string piece(rest.substr(0, chunk));
    rest.remove_prefix(chunk);
    session.receive(piece);
    checker.drain();
    if (handler.answer_outside_) {
      handler.answer_deferred(session);
      checker.drain();
    }
  }

  if ((options & 32) != 0) {
    const bool was_ready = session.state() == Session::State::kReady;
    session.shutdown();
    FUZZ_CHECK(session.closing());
    if (was_ready) {
      // Exactly one AGENT-DISCONNECT status 0.
      const FrameScan scan = scan_frame(session.output(), kLargestMaxFrameSize);
      FUZZ_CHECK(scan.kind == FrameScan::Kind::kFrame && scan.consumed == session.output().size());
      Frame frame;
      FUZZ_CHECK(decode_frame(scan.body, frame) == Status::kNormal);
      FUZZ_CHECK(frame.type == FrameType::kAgentDisconnect && frame.flags == kFlagFin);
      Disconnect d;
      FUZZ_CHECK(decode_disconnect(frame.payload, d) == Status::kNormal && d.status_code == 0);
      session.output().clear();
    }
    checker.drain();
    // Once closing, nothing more comes out whatever arrives.
    session.receive(valid_hello());
    handler.answer_deferred(session);
    checker.drain();
  }
  return 0;
}
