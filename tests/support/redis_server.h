// A throwaway redis-server for tests: a free loopback port, no persistence,
// stopped (by its PID) when the object goes.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace keymux::test {

class RedisServer {
 public:
  RedisServer();  // starts it; ok() tells whether it answers
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  bool ok() const { return pid_ > 0 && ready_; }
  std::uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  void stop();     // SIGKILL, as a crash
  bool restart();  // on the same port, empty (no persistence)

 private:
  bool start();
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  bool ready_ = false;
};

}  // namespace keymux::test
