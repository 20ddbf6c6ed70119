// What the integration tests that run gateways against a real redis-server
// share: a `state:` block pointing at it, and a wait that polls.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "proto/keymux/config.pb.h"

namespace keymux::test {

// Split when degraded, 1 s slices, a 100 ms command deadline; each test file
// its own key prefix.
inline config::State RedisState(const std::string& address, const std::string& key_prefix) {
  config::State s;
  s.set_redis(address);
  s.set_key_prefix(key_prefix);
  s.set_degraded(config::SPLIT);
  s.mutable_lease_lifetime()->set_seconds(1);
  s.mutable_command_timeout()->set_nanos(100'000'000);
  return s;
}

// True as soon as `ready` is, polled every 5 ms; else its value at `within`.
inline bool WaitFor(const std::function<bool()>& ready, std::chrono::milliseconds within) {
  const auto until = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < until) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return ready();
}

}  // namespace keymux::test
