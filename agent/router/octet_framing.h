// Syslog over TCP with octet counting (RFC 6587, 3.4.1): "LEN SP MSG", as a
// HAProxy ring forwards its lines to a TCP server. Pure and fuzzed: bytes go
// in as they arrive, whole messages come out, a broken frame is an error
// (the stream cannot be resynchronised: the caller closes the connection).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace keymux::router {

class OctetFramer {
 public:
  // Frames longer than `max_message` are refused (a bounded buffer).
  explicit OctetFramer(std::size_t max_message) : max_message_(max_message) {}

  // Appends `bytes`, then calls `on_message(std::string_view)` for every whole
  // message. False (with error()) on a malformed frame; nothing after it is read.
  template <typename OnMessage>
  bool feed(std::string_view bytes, OnMessage&& on_message) {
    if (!error_.empty()) return false;
    buffer_.append(bytes);
    std::size_t pos = 0;
    std::string_view message;
    while (next(pos, message)) on_message(message);
    buffer_.erase(0, pos);
    return error_.empty();
  }

  const std::string& error() const { return error_; }
  std::size_t buffered() const { return buffer_.size(); }

 private:
  // The message at `pos`, if whole; advances `pos` past it. Sets error_ on a
  // malformed frame.
  bool next(std::size_t& pos, std::string_view& message);

  const std::size_t max_message_;
  std::string buffer_;
  std::string error_;
};

}  // namespace keymux::router
