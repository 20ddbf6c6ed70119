#include "agent/spop/session.h"

#include <algorithm>
#include <string>

#include "agent/spop/disconnect.h"
#include "agent/spop/hello.h"

namespace keymux::spop {
namespace {

// The action added to an ACK the handler left empty: harmless (unsetting a
// variable nobody sets) and it keeps every ACK non-empty.
constexpr std::string_view kNoopVar = "noop";
// Set instead of the handler's actions when they do not fit in one frame.
constexpr std::string_view kAckErrorVar = "ack_error";

}  // namespace

Session::Session(NotifyHandler& handler, SessionOptions options, std::string_view peer)
    : handler_(handler),
      peer_(peer),
      our_max_frame_size_(std::clamp(options.max_frame_size, kMinFrameSize, kLargestMaxFrameSize)),
      max_frame_size_(our_max_frame_size_) {}

void Session::receive(std::string_view data) {
  if (state_ == State::kClosing) return;
  if (input_.empty()) {
    // Common case: whole frames straight from the caller's buffer, no copy.
    const std::size_t used = process(data);
    if (state_ != State::kClosing && used < data.size()) input_.assign(data.substr(used));
    return;
  }
  input_.append(data);
  const std::size_t used = process(input_);
  if (state_ == State::kClosing) {
    input_.clear();
  } else {
    input_.erase(0, used);
  }
}

std::size_t Session::process(std::string_view data) {
  std::size_t used = 0;
  while (state_ != State::kClosing) {
    const FrameScan scan = scan_frame(data.substr(used), max_frame_size_);
    if (scan.kind == FrameScan::Kind::kNeedMore) break;
    if (scan.kind == FrameScan::Kind::kError) {
      fail(scan.error);
      break;
    }
    used += scan.consumed;
    on_frame(scan.body);
  }
  return used;
}

void Session::on_frame(std::string_view body) {
  Frame frame;
  if (const Status status = decode_frame(body, frame); status != Status::kNormal) {
    fail(status, "malformed frame header");
    return;
  }
  if (state_ == State::kAwaitingHello) {
    if (frame.type != FrameType::kHaproxyHello) {
      fail(Status::kInvalidFrame, "expected HAPROXY-HELLO");
      return;
    }
    on_hello(frame);
    return;
  }
  switch (frame.type) {
    case FrameType::kNotify:
      on_notify(frame);
      return;
    case FrameType::kHaproxyDisconnect:
      ++counters_.haproxy_disconnects;
      ++counters_.agent_disconnects;
      encode_disconnect(output_, Status::kNormal, status_text(Status::kNormal));
      state_ = State::kClosing;
      return;
    default:
      fail(Status::kInvalidFrame, "unexpected frame type");
      return;
  }
}

void Session::on_hello(const Frame& frame) {
  if ((frame.flags & kFlagFin) == 0) {
    fail(Status::kFragmentationNotSupported);
    return;
  }
  HaproxyHello hello;
  if (const Status status = decode_haproxy_hello(frame.payload, hello); status != Status::kNormal) {
    fail(status);
    return;
  }
  std::uint32_t agreed = 0;
  if (const Status status = negotiate_hello(hello, our_max_frame_size_, agreed);
      status != Status::kNormal) {
    fail(status);
    return;
  }
  max_frame_size_ = agreed;
  encode_agent_hello(output_, max_frame_size_);
  if (hello.healthcheck) {
    ++counters_.healthchecks;
    state_ = State::kClosing;
    return;
  }
  ++counters_.hellos;
  state_ = State::kReady;
}

void Session::on_notify(const Frame& frame) {
  // Fragmented payloads (no FIN, or ABORT) are never announced, so never legal.
  if (frame.flags != kFlagFin) {
    fail(Status::kFragmentationNotSupported);
    return;
  }
  if (const Status status = notify_.decode(frame.payload); status != Status::kNormal) {
    fail(status, "malformed NOTIFY payload");
    return;
  }
  ++counters_.notifies;
  const NotifyRequest request{frame.stream_id, frame.frame_id, notify_.messages()};
  AckEncoder ack(output_, frame.stream_id, frame.frame_id);
  in_handler_ = true;
  const NotifyHandler::Reply reply = handler_.on_notify(*this, request, ack);
  in_handler_ = false;
  if (reply == NotifyHandler::Reply::kLater) {
    ack.discard();
  } else {
    finish_ack(ack, output_, frame.stream_id, frame.frame_id);
  }
  // Deferred answers given during the handler call go after this frame's ACK.
  if (!answers_.empty()) {
    output_.append(answers_);
    answers_.clear();
  }
}

void Session::answer(std::uint64_t stream_id, std::uint64_t frame_id,
                     const std::function<void(AckEncoder&)>& fill) {
  if (state_ == State::kClosing) return;
  // Inside on_notify() an ACK is being built in output_: write beside it.
  std::string& out = in_handler_ ? answers_ : output_;
  AckEncoder ack(out, stream_id, frame_id);
  fill(ack);
  finish_ack(ack, out, stream_id, frame_id);
}

void Session::finish_ack(AckEncoder& ack, std::string& out, std::uint64_t stream_id,
                         std::uint64_t frame_id) {
  if (ack.action_count() == 0) ack.unset_var(VarScope::kTransaction, kNoopVar);
  if (ack.body_size() <= max_frame_size_) {
    ack.finish();
  } else {
    // HAProxy would drop the whole connection over an oversized frame; fail
    // this request alone, visibly, instead.
    ack.discard();
    AckEncoder fallback(out, stream_id, frame_id);
    fallback.set_var(VarScope::kTransaction, kAckErrorVar,
                     TypedValue::of_string("actions exceed max-frame-size"));
    fallback.finish();
  }
  ++counters_.acks;
}

void Session::shutdown(std::string_view reason) {
  if (state_ == State::kClosing) return;
  // Before a hello there is no SPOP conversation to end politely.
  if (state_ == State::kReady) {
    encode_disconnect(output_, Status::kNormal, reason);
    ++counters_.agent_disconnects;
  }
  state_ = State::kClosing;
  input_.clear();
}

void Session::fail(Status status, std::string_view detail) {
  ++counters_.protocol_errors;
  error_ = status;
  std::string message(status_text(status));
  if (!detail.empty()) {
    message += ": ";
    message += detail;
  }
  encode_disconnect(output_, status, message);
  ++counters_.agent_disconnects;
  // input_ may be the buffer being processed: receive() drops it afterwards.
  state_ = State::kClosing;
}

}  // namespace keymux::spop
