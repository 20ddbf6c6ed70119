// One bound, listening socket (non-blocking, close-on-exec). A unix listener
// removes a stale socket file before binding and its own file when closed.
// A datagram one (the outcome lines) is bound only: it has nothing to accept.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "agent/server/socket_address.h"

namespace keymux::server {

class Listener {
 public:
  // Binds and listens on `spec` ("HOST:PORT", "[V6]:PORT", "unix:/path").
  // nullptr with `error` set on failure.
  static std::unique_ptr<Listener> open(const std::string& spec, std::string& error,
                                        bool datagram = false);

  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  int fd() const { return fd_; }
  bool is_unix() const { return spec_.is_unix; }
  // With the real port: "127.0.0.1:41234", "[::1]:41234", "unix:/path".
  const std::string& bound_address() const { return bound_address_; }

 private:
  Listener() = default;
  bool open_tcp(const std::string& spec, std::string& error);
  bool open_unix(std::string& error);

  int fd_ = -1;
  int type_ = 0;  // SOCK_STREAM or SOCK_DGRAM
  ListenSpec spec_;
  std::string bound_address_;
  // The socket file we created, so that we never unlink a successor's.
  dev_t unix_dev_ = 0;
  ino_t unix_ino_ = 0;
};

}  // namespace keymux::server
