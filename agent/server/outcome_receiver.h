// One thread that receives the outcome lines HAProxy writes for every attempt
// (haproxy.cfg, fe_inner) and hands each to a callback. Reading is all it
// does, so that HAProxy's side never fills up.
//
// Transports (--outcome-listen), measured in bench/outcome_transport.py:
//   HOST:PORT, tcp@HOST:PORT, unix:/path
//       a stream with octet counting (syslog, RFC 6587), what a HAProxy `ring`
//       forwards (buffered by HAProxy, nothing lost under load: the default)
//   udp@HOST:PORT, unixgram:/path
//       one datagram per line (a full socket drops lines; a unix one queues
//       only net.unix.max_dgram_qlen datagrams, 10 by default)
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "agent/server/listener.h"

namespace keymux::server {

class OutcomeReceiver {
 public:
  using Callback = std::function<void(std::string_view line)>;
  // Longest line accepted (a datagram beyond it is cut, a frame refused).
  static constexpr std::size_t kMaxLine = 8192;
  // TCP connections at once (HAProxy opens one per ring server; reloads overlap).
  static constexpr std::size_t kMaxConnections = 16;

  explicit OutcomeReceiver(Callback callback) : callback_(std::move(callback)) {}
  ~OutcomeReceiver() { stop(); }
  OutcomeReceiver(const OutcomeReceiver&) = delete;
  OutcomeReceiver& operator=(const OutcomeReceiver&) = delete;

  // Binds `spec` (see above) and starts the thread.
  bool start(const std::string& spec, std::string& error);
  void stop();
  std::string bound_address() const;

  // False with `error` set when `spec` is not a transport above, or not
  // loopback or a unix socket (lines carry no credential).
  static bool valid_spec(std::string_view spec, std::string& error);

 private:
  void run_datagrams();
  void run_stream();

  Callback callback_;
  std::unique_ptr<Listener> socket_;
  bool stream_ = false;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
};

}  // namespace keymux::server
