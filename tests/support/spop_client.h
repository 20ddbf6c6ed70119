// A small blocking SPOP client playing HAProxy's side, for integration tests.
// Plain POSIX sockets; every wait is a poll() with a timeout, never a sleep.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/spop/ack.h"
#include "agent/spop/frame.h"
#include "agent/spop/hello.h"
#include "agent/spop/typed_value.h"

namespace keymux::testing {

using namespace std::chrono_literals;

inline constexpr std::chrono::milliseconds kDefaultTimeout = 5s;

// ---- Frames HAProxy would send -------------------------------------------

// A HAPROXY-HELLO as HAProxy 3.x sends it (versions "2.0", pipelining).
spop::HaproxyHello default_hello(std::uint32_t max_frame_size = 16380);
std::string hello_frame(const spop::HaproxyHello& hello = default_hello());

struct TestArg {
  std::string name;
  // Its bytes are a view: what it points to must live until the frame is encoded.
  spop::TypedValue value;
};
struct TestMessage {
  std::string name;
  std::vector<TestArg> args;
};

std::string notify_frame(std::uint64_t stream_id, std::uint64_t frame_id,
                         const std::vector<TestMessage>& messages,
                         std::uint32_t flags = spop::kFlagFin);
// A NOTIFY with one message "check" carrying one string arg "id" = `id`.
std::string simple_notify_frame(std::uint64_t stream_id, std::uint64_t frame_id,
                                std::string_view id = "x");
std::string haproxy_disconnect_frame(spop::Status status = spop::Status::kNormal,
                                     std::string_view message = "bye");
// A frame with an arbitrary type/flags/ids and raw payload bytes.
std::string raw_frame(spop::FrameType type, std::uint32_t flags, std::uint64_t stream_id,
                      std::uint64_t frame_id, std::string_view payload);

// ---- Frames the agent sends, decoded into owned values ----------------------

struct ReceivedFrame {
  spop::FrameType type = spop::FrameType::kUnset;
  std::uint32_t flags = 0;
  std::uint64_t stream_id = 0;
  std::uint64_t frame_id = 0;
  std::string payload;
  std::size_t body_size = 0;  // the length prefix: what max-frame-size applies to
};

// An owned copy of a spop::TypedValue.
struct OwnedValue {
  spop::DataType type = spop::DataType::kNull;
  bool boolean = false;
  std::int64_t sint = 0;
  std::uint64_t uint = 0;
  std::string bytes;
};

struct AgentHelloInfo {
  std::vector<std::pair<std::string, OwnedValue>> items;  // in order, as sent
  const OwnedValue* find(std::string_view key) const;
  std::string version() const;       // "" when missing or not a string
  std::string capabilities() const;  // "" when missing or not a string
  std::optional<std::uint32_t> max_frame_size() const;
};

struct AckAction {
  spop::ActionType type = spop::ActionType::kSetVar;
  spop::VarScope scope = spop::VarScope::kTransaction;
  std::string name;
  OwnedValue value;
};

struct DisconnectInfo {
  std::uint32_t status_code = 0;
  std::string message;
};

// Each returns nullopt when the payload does not decode.
std::optional<AgentHelloInfo> decode_agent_hello(const ReceivedFrame& frame);
std::optional<std::vector<AckAction>> decode_ack(const ReceivedFrame& frame);
std::optional<DisconnectInfo> decode_agent_disconnect(const ReceivedFrame& frame);

// The value of the first SET-VAR named `name`, if it is a string or binary.
std::optional<std::string> find_var_text(const std::vector<AckAction>& actions,
                                         std::string_view name);

// ---- The connection ------------------------------------------------------

class SpopClient {
 public:
  enum class ReadStatus { kFrame, kEof, kTimeout, kError };

  SpopClient() = default;
  ~SpopClient();
  SpopClient(SpopClient&& other) noexcept;
  SpopClient& operator=(SpopClient&& other) noexcept;
  SpopClient(const SpopClient&) = delete;
  SpopClient& operator=(const SpopClient&) = delete;

  // "HOST:PORT" or "unix:/path". Blocking connect; false with `error` set on failure.
  bool connect(const std::string& address, std::string& error);
  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  void close();

  // SO_RCVBUF for the next connect(): a small one makes the agent's writes partial.
  void set_receive_buffer(int bytes) { receive_buffer_ = bytes; }

  // Sets TCP_NODELAY (no-op on unix sockets) so each send() leaves as its own segment.
  void set_nodelay();

  // Writes all of `bytes`. False on error (e.g. the peer closed) or timeout.
  bool send(std::string_view bytes, std::chrono::milliseconds timeout = kDefaultTimeout);
  // One send() per byte.
  bool send_bytewise(std::string_view bytes, std::chrono::milliseconds timeout = kDefaultTimeout);
  bool send_hello(const spop::HaproxyHello& hello = default_hello()) {
    return send(hello_frame(hello));
  }
  bool send_notify(std::uint64_t stream_id, std::uint64_t frame_id,
                   const std::vector<TestMessage>& messages) {
    return send(notify_frame(stream_id, frame_id, messages));
  }

  // Reads one whole frame. kEof when the peer closed cleanly between frames;
  // kError on a socket error, a close inside a frame, or a frame that does not decode.
  ReadStatus read_frame(ReceivedFrame& out, std::chrono::milliseconds timeout = kDefaultTimeout);

  // Sends the default hello and reads an AGENT-HELLO. False on anything else.
  bool handshake(const spop::HaproxyHello& hello = default_hello(), AgentHelloInfo* info = nullptr);

  // Reads and checks one frame in a single call; nullopt (with the reason in
  // last_error()) when the next frame is not of that type or does not decode.
  std::optional<std::vector<AckAction>> read_ack(
      ReceivedFrame* frame = nullptr, std::chrono::milliseconds timeout = kDefaultTimeout);
  std::optional<DisconnectInfo> read_disconnect(
      std::chrono::milliseconds timeout = kDefaultTimeout);

  // True when the peer closes (EOF or reset) within `timeout` with no more
  // frames in between; any frame received meanwhile makes it false.
  bool wait_eof(std::chrono::milliseconds timeout = kDefaultTimeout);

  const std::string& last_error() const { return last_error_; }

 private:
  // Waits for readability and appends what arrives to in_. 1: bytes, 0: EOF,
  // -1: error/reset, -2: timeout.
  int fill(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  int last_errno_ = 0;
  int receive_buffer_ = 0;
  std::string in_;
  std::string last_error_;
};

const char* to_string(SpopClient::ReadStatus status);

}  // namespace keymux::testing
