// One SPOP connection's protocol state machine, on the agent's side. Pure:
// bytes in (any split, one byte at a time is fine), bytes out; the server
// moves the bytes. What each state accepts:
//
//   state            frame                 action
//   kAwaitingHello   HAPROXY-HELLO         negotiate; AGENT-HELLO; -> kReady
//                                          (healthcheck: AGENT-HELLO, -> kClosing)
//   kAwaitingHello   anything else         error kInvalidFrame
//   kReady           NOTIFY (FIN)          handler; ACK with >= 1 action
//   kReady           NOTIFY without FIN    error kFragmentationNotSupported
//   kReady           HAPROXY-DISCONNECT    AGENT-DISCONNECT kNormal; -> kClosing
//   kReady           anything else         error kInvalidFrame
//   any              length > max size     error kTooBig (the frame is not buffered)
//   any              length 0 / bad header error kInvalidFrame
//   kClosing         anything              ignored (the output is the last word)
//
// An error appends AGENT-DISCONNECT with its status and text and goes to kClosing.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/spop/ack.h"
#include "agent/spop/frame.h"
#include "agent/spop/notify.h"
#include "agent/spop/status.h"

namespace keymux::spop {

class Session;

struct NotifyRequest {
  std::uint64_t stream_id = 0;
  std::uint64_t frame_id = 0;
  std::span<const Message> messages;  // views valid only during on_notify()
};

class NotifyHandler {
 public:
  enum class Reply { kNow, kLater };
  virtual ~NotifyHandler() = default;

  // kNow: the actions added to `ack` are sent at once (the session adds a
  // no-op action if there are none: an empty ACK stalls some HAProxy 3.1/3.2
  // releases). kLater: nothing is sent now; the handler keeps the ids and
  // calls Session::answer() later, on the same thread, while the session lives.
  virtual Reply on_notify(Session& session, const NotifyRequest& request, AckEncoder& ack) = 0;

  // A handler that holds NOTIFYs (kLater) to answer them when something
  // outside happens or a deadline passes. The worker calls these on its own
  // thread; a handler that never holds keeps the defaults.
  // Whether any NOTIFY is held.
  virtual bool holding() const { return false; }
  // How long until the earliest held NOTIFY's deadline (zero: past it).
  virtual std::chrono::microseconds next_deadline_in() const { return {}; }
  // Answers what is due: every held NOTIFY when `woken` (what it waits for
  // may have come), else those past their deadline. Adds each session it
  // answered on to `answered` (its output must be sent).
  virtual void resume(bool woken, std::vector<Session*>& answered) {
    (void)woken;
    (void)answered;
  }
  // The agent stops: the NOTIFYs held for `session` are answered now.
  virtual void answer_held(Session& session) { (void)session; }
  // `session` ends: what is held for it is dropped (the handler must not
  // keep anything reserved for a held NOTIFY).
  virtual void forget(Session& session) { (void)session; }
};

// Default and bound of our max-frame-size. HAProxy announces tune.bufsize - 4
// (16380 by default); the agreed size is the smaller of the two.
constexpr std::uint32_t kDefaultMaxFrameSize = 131068;
constexpr std::uint32_t kLargestMaxFrameSize = 16 * 1024 * 1024;

struct SessionOptions {
  std::uint32_t max_frame_size = kDefaultMaxFrameSize;
};

struct SessionCounters {
  std::uint64_t hellos = 0;
  std::uint64_t healthchecks = 0;
  std::uint64_t notifies = 0;
  std::uint64_t acks = 0;
  std::uint64_t haproxy_disconnects = 0;
  std::uint64_t protocol_errors = 0;
  std::uint64_t agent_disconnects = 0;
};

class Session {
 public:
  enum class State { kAwaitingHello, kReady, kClosing };

  // `peer` names the other end in the handler's logs ("10.0.0.5:41234",
  // "unix"); it must outlive the session.
  Session(NotifyHandler& handler, SessionOptions options, std::string_view peer = {});

  // Consumes received bytes. Output, if any, accumulates in output().
  void receive(std::string_view data);

  // Graceful stop: frames already received have been answered by receive();
  // this appends AGENT-DISCONNECT status 0 (if a hello was exchanged) and
  // goes to kClosing.
  void shutdown(std::string_view reason = "agent shutting down");

  // Sends the ACK of a NOTIFY deferred with Reply::kLater. Ignored once closing.
  void answer(std::uint64_t stream_id, std::uint64_t frame_id,
              const std::function<void(AckEncoder&)>& fill);

  // Bytes to send. The server sends them and erases what was written.
  std::string& output() { return output_; }
  // True once nothing more will be read: close after output() is flushed.
  bool closing() const { return state_ == State::kClosing; }

  State state() const { return state_; }
  std::uint32_t max_frame_size() const { return max_frame_size_; }
  Status error() const { return error_; }  // kNormal unless a protocol error closed it
  const SessionCounters& counters() const { return counters_; }
  std::string_view peer() const { return peer_; }
  // Bits the handler keeps for this connection (e.g. what it has already
  // logged once); zero at the start.
  std::uint32_t& handler_marks() { return handler_marks_; }

 private:
  // Handles every whole frame at the start of `data`; returns bytes consumed.
  std::size_t process(std::string_view data);
  void on_frame(std::string_view body);
  void on_hello(const Frame& frame);
  void on_notify(const Frame& frame);
  void finish_ack(AckEncoder& ack, std::string& out, std::uint64_t stream_id,
                  std::uint64_t frame_id);
  void fail(Status status, std::string_view detail = {});

  NotifyHandler& handler_;
  std::string_view peer_;
  std::uint32_t handler_marks_ = 0;
  std::uint32_t our_max_frame_size_;
  std::uint32_t max_frame_size_;
  State state_ = State::kAwaitingHello;
  Status error_ = Status::kNormal;
  std::string input_;  // only a partial frame waits here
  std::string output_;
  std::string answers_;  // deferred ACKs given while a handler runs
  bool in_handler_ = false;
  NotifyDecoder notify_;
  SessionCounters counters_;
};

}  // namespace keymux::spop
