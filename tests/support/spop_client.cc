#include "tests/support/spop_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "agent/spop/disconnect.h"
#include "agent/spop/kv_list.h"
#include "agent/spop/notify.h"
#include "agent/spop/writer.h"

namespace keymux::testing {
namespace {

using Clock = std::chrono::steady_clock;

// Generous: the agent never sends more than the negotiated size, and a test
// reading garbage should fail rather than wait for gigabytes.
constexpr std::uint32_t kLargestAcceptedFrame = 16 * 1024 * 1024;

OwnedValue own(const spop::TypedValue& v) {
  OwnedValue out;
  out.type = v.type;
  out.boolean = v.boolean;
  out.sint = v.sint;
  out.uint = v.uint;
  out.bytes = std::string(v.bytes);
  return out;
}

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

// Waits for `events` on `fd`; false on timeout. POLLERR/POLLHUP count as ready:
// the following read or write reports what happened.
bool wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, remaining_ms(deadline));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

bool split_host_port(const std::string& address, std::string& host, std::string& port) {
  const std::size_t colon = address.rfind(':');
  if (colon == std::string::npos) return false;
  host = address.substr(0, colon);
  port = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return !host.empty() && !port.empty();
}

}  // namespace

// ---- Frames HAProxy would send -------------------------------------------

spop::HaproxyHello default_hello(std::uint32_t max_frame_size) {
  spop::HaproxyHello hello;
  hello.supported_versions = "2.0";
  hello.max_frame_size = max_frame_size;
  hello.capabilities = "pipelining";
  hello.healthcheck = false;
  hello.engine_id = "keymux-test-engine";
  return hello;
}

std::string hello_frame(const spop::HaproxyHello& hello) {
  std::string out;
  spop::encode_haproxy_hello(out, hello);
  return out;
}

std::string notify_frame(std::uint64_t stream_id, std::uint64_t frame_id,
                         const std::vector<TestMessage>& messages, std::uint32_t flags) {
  std::string out;
  spop::FrameEncoder frame(out, spop::FrameType::kNotify, stream_id, frame_id, flags);
  spop::NotifyPayloadEncoder payload(frame.payload());
  for (const TestMessage& message : messages) {
    payload.begin_message(message.name, static_cast<std::uint8_t>(message.args.size()));
    for (const TestArg& arg : message.args) payload.add_arg(arg.name, arg.value);
  }
  frame.finish();
  return out;
}

std::string simple_notify_frame(std::uint64_t stream_id, std::uint64_t frame_id,
                                std::string_view id) {
  return notify_frame(stream_id, frame_id, {{"check", {{"id", spop::TypedValue::of_string(id)}}}});
}

std::string haproxy_disconnect_frame(spop::Status status, std::string_view message) {
  std::string out;
  spop::encode_disconnect(out, status, message, spop::FrameType::kHaproxyDisconnect);
  return out;
}

std::string raw_frame(spop::FrameType type, std::uint32_t flags, std::uint64_t stream_id,
                      std::uint64_t frame_id, std::string_view payload) {
  std::string out;
  spop::FrameEncoder frame(out, type, stream_id, frame_id, flags);
  frame.payload().bytes(payload);
  frame.finish();
  return out;
}

// ---- Frames the agent sends ---------------------------------------------

const OwnedValue* AgentHelloInfo::find(std::string_view key) const {
  for (const auto& [k, v] : items) {
    if (k == key) return &v;
  }
  return nullptr;
}

std::string AgentHelloInfo::version() const {
  const OwnedValue* v = find("version");
  return v != nullptr && v->type == spop::DataType::kString ? v->bytes : std::string();
}

std::string AgentHelloInfo::capabilities() const {
  const OwnedValue* v = find("capabilities");
  return v != nullptr && v->type == spop::DataType::kString ? v->bytes : std::string();
}

std::optional<std::uint32_t> AgentHelloInfo::max_frame_size() const {
  const OwnedValue* v = find("max-frame-size");
  if (v == nullptr || v->type != spop::DataType::kUint32) return std::nullopt;
  return static_cast<std::uint32_t>(v->uint);
}

std::optional<AgentHelloInfo> decode_agent_hello(const ReceivedFrame& frame) {
  if (frame.type != spop::FrameType::kAgentHello) return std::nullopt;
  AgentHelloInfo info;
  spop::KvListReader reader(frame.payload);
  spop::KeyValue kv;
  while (reader.next(kv)) info.items.emplace_back(std::string(kv.key), own(kv.value));
  if (reader.failed()) return std::nullopt;
  return info;
}

std::optional<std::vector<AckAction>> decode_ack(const ReceivedFrame& frame) {
  if (frame.type != spop::FrameType::kAck) return std::nullopt;
  std::vector<spop::Action> actions;
  if (spop::decode_actions(frame.payload, actions) != spop::Status::kNormal) return std::nullopt;
  std::vector<AckAction> out;
  for (const spop::Action& a : actions) {
    out.push_back({a.type, a.scope, std::string(a.name), own(a.value)});
  }
  return out;
}

std::optional<DisconnectInfo> decode_agent_disconnect(const ReceivedFrame& frame) {
  if (frame.type != spop::FrameType::kAgentDisconnect) return std::nullopt;
  spop::Disconnect d;
  if (spop::decode_disconnect(frame.payload, d) != spop::Status::kNormal) return std::nullopt;
  return DisconnectInfo{d.status_code, std::string(d.message)};
}

std::optional<std::string> find_var_text(const std::vector<AckAction>& actions,
                                         std::string_view name) {
  for (const AckAction& a : actions) {
    if (a.type != spop::ActionType::kSetVar || a.name != name) continue;
    if (a.value.type != spop::DataType::kString && a.value.type != spop::DataType::kBinary) {
      return std::nullopt;
    }
    return a.value.bytes;
  }
  return std::nullopt;
}

// ---- The connection ------------------------------------------------------

SpopClient::~SpopClient() { close(); }

SpopClient::SpopClient(SpopClient&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      last_errno_(other.last_errno_),
      receive_buffer_(other.receive_buffer_),
      in_(std::move(other.in_)),
      last_error_(std::move(other.last_error_)) {}

SpopClient& SpopClient::operator=(SpopClient&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    last_errno_ = other.last_errno_;
    receive_buffer_ = other.receive_buffer_;
    in_ = std::move(other.in_);
    last_error_ = std::move(other.last_error_);
  }
  return *this;
}

void SpopClient::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  in_.clear();
}

bool SpopClient::connect(const std::string& address, std::string& error) {
  close();
  constexpr std::string_view kUnixPrefix = "unix:";
  if (address.starts_with(kUnixPrefix)) {
    const std::string path = address.substr(kUnixPrefix.size());
    sockaddr_un sun{};
    if (path.size() >= sizeof(sun.sun_path)) {
      error = "unix socket path too long: " + path;
      return false;
    }
    sun.sun_family = AF_UNIX;
    std::memcpy(sun.sun_path, path.data(), path.size());
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&sun), sizeof(sun)) != 0) {
      error = "connect " + address + ": " + std::strerror(errno);
      close();
      return false;
    }
    return true;
  }

  std::string host, port;
  if (!split_host_port(address, host, port)) {
    error = "bad address: " + address;
    return false;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* result = nullptr;
  if (const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &result); rc != 0) {
    error = "getaddrinfo " + address + ": " + ::gai_strerror(rc);
    return false;
  }
  fd_ = ::socket(result->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ >= 0 && receive_buffer_ > 0) {
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer_, sizeof(receive_buffer_));
  }
  const bool ok = fd_ >= 0 && ::connect(fd_, result->ai_addr, result->ai_addrlen) == 0;
  if (!ok) error = "connect " + address + ": " + std::strerror(errno);
  ::freeaddrinfo(result);
  if (!ok) {
    close();
    return false;
  }
  return true;
}

void SpopClient::set_nodelay() {
  const int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

bool SpopClient::send(std::string_view bytes, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_for(fd_, POLLOUT, deadline)) {
        last_error_ = "send: timed out";
        return false;
      }
      continue;
    }
    last_error_ = std::string("send: ") + std::strerror(errno);
    return false;
  }
  return true;
}

bool SpopClient::send_bytewise(std::string_view bytes, std::chrono::milliseconds timeout) {
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (!send(bytes.substr(i, 1), timeout)) return false;
  }
  return true;
}

int SpopClient::fill(Clock::time_point deadline) {
  for (;;) {
    char buf[16384];
    const ssize_t n = ::recv(fd_, buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) {
      in_.append(buf, static_cast<std::size_t>(n));
      return 1;
    }
    if (n == 0) return 0;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!wait_for(fd_, POLLIN, deadline)) return -2;
      continue;
    }
    last_errno_ = errno;
    last_error_ = std::string("recv: ") + std::strerror(last_errno_);
    return -1;
  }
}

SpopClient::ReadStatus SpopClient::read_frame(ReceivedFrame& out,
                                              std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const spop::FrameScan scan = spop::scan_frame(in_, kLargestAcceptedFrame);
    if (scan.kind == spop::FrameScan::Kind::kError) {
      last_error_ = "agent sent a bad frame length (status " +
                    std::to_string(static_cast<std::uint32_t>(scan.error)) + ")";
      return ReadStatus::kError;
    }
    if (scan.kind == spop::FrameScan::Kind::kFrame) {
      spop::Frame frame;
      if (spop::decode_frame(scan.body, frame) != spop::Status::kNormal) {
        last_error_ = "agent sent a malformed frame header";
        return ReadStatus::kError;
      }
      out.type = frame.type;
      out.flags = frame.flags;
      out.stream_id = frame.stream_id;
      out.frame_id = frame.frame_id;
      out.payload = std::string(frame.payload);
      out.body_size = scan.body.size();
      in_.erase(0, scan.consumed);
      return ReadStatus::kFrame;
    }
    switch (fill(deadline)) {
      case 1:
        break;
      case 0:
        if (in_.empty()) {
          last_error_ = "EOF";
          return ReadStatus::kEof;
        }
        last_error_ = "EOF inside a frame (" + std::to_string(in_.size()) + " bytes pending)";
        return ReadStatus::kError;
      case -2:
        last_error_ = "timed out waiting for a frame";
        return ReadStatus::kTimeout;
      default:
        return ReadStatus::kError;
    }
  }
}

bool SpopClient::handshake(const spop::HaproxyHello& hello, AgentHelloInfo* info) {
  if (!send_hello(hello)) return false;
  ReceivedFrame frame;
  if (const ReadStatus s = read_frame(frame); s != ReadStatus::kFrame) return false;
  std::optional<AgentHelloInfo> decoded = decode_agent_hello(frame);
  if (!decoded) {
    last_error_ =
        "expected AGENT-HELLO, got frame type " + std::to_string(static_cast<int>(frame.type));
    return false;
  }
  if (info != nullptr) *info = std::move(*decoded);
  return true;
}

std::optional<std::vector<AckAction>> SpopClient::read_ack(ReceivedFrame* frame_out,
                                                           std::chrono::milliseconds timeout) {
  ReceivedFrame frame;
  if (read_frame(frame, timeout) != ReadStatus::kFrame) return std::nullopt;
  std::optional<std::vector<AckAction>> actions = decode_ack(frame);
  if (!actions) {
    last_error_ = "expected a well-formed ACK, got frame type " +
                  std::to_string(static_cast<int>(frame.type));
    if (auto d = decode_agent_disconnect(frame)) {
      last_error_ +=
          " (AGENT-DISCONNECT status " + std::to_string(d->status_code) + ": " + d->message + ")";
    }
  }
  if (frame_out != nullptr) *frame_out = std::move(frame);
  return actions;
}

std::optional<DisconnectInfo> SpopClient::read_disconnect(std::chrono::milliseconds timeout) {
  ReceivedFrame frame;
  if (read_frame(frame, timeout) != ReadStatus::kFrame) return std::nullopt;
  std::optional<DisconnectInfo> d = decode_agent_disconnect(frame);
  if (!d) {
    last_error_ = "expected a well-formed AGENT-DISCONNECT, got frame type " +
                  std::to_string(static_cast<int>(frame.type));
  }
  return d;
}

bool SpopClient::wait_eof(std::chrono::milliseconds timeout) {
  if (!in_.empty()) {
    last_error_ = "unread bytes before EOF";
    return false;
  }
  const auto deadline = Clock::now() + timeout;
  switch (fill(deadline)) {
    case 0:
      return true;
    case -1:
      // A reset is a close too (the agent may close with unread bytes pending).
      return last_errno_ == ECONNRESET;
    case -2:
      last_error_ = "timed out waiting for EOF";
      return false;
    default:
      last_error_ = "received " + std::to_string(in_.size()) + " bytes instead of EOF";
      return false;
  }
}

const char* to_string(SpopClient::ReadStatus status) {
  switch (status) {
    case SpopClient::ReadStatus::kFrame:
      return "frame";
    case SpopClient::ReadStatus::kEof:
      return "EOF";
    case SpopClient::ReadStatus::kTimeout:
      return "timeout";
    case SpopClient::ReadStatus::kError:
      return "error";
  }
  return "?";
}

}  // namespace keymux::testing
