// A thread that reads datagrams from one bound socket (unix or UDP) and hands
// each to a callback: the outcome lines HAProxy logs for every attempt
// (haproxy.cfg, fe_inner). Reading is all it does, so that HAProxy's socket
// never fills up (a full one drops lines: HAProxy counts them, DroppedLogs).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "agent/server/listener.h"

namespace keymux::server {

class DatagramReceiver {
 public:
  using Callback = std::function<void(std::string_view datagram)>;
  // Datagrams beyond this are cut (their end is lost); the parser refuses them.
  static constexpr std::size_t kMaxDatagram = 8192;

  explicit DatagramReceiver(Callback callback) : callback_(std::move(callback)) {}
  ~DatagramReceiver() { stop(); }
  DatagramReceiver(const DatagramReceiver&) = delete;
  DatagramReceiver& operator=(const DatagramReceiver&) = delete;

  // Binds `spec` ("unix:/path" or "HOST:PORT", UDP) and starts the thread.
  bool start(const std::string& spec, std::string& error);
  void stop();
  const std::string& bound_address() const;

 private:
  void run();

  Callback callback_;
  std::unique_ptr<Listener> socket_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
};

}  // namespace keymux::server
