// The SPOP server: listeners on TCP and unix sockets, N worker threads each
// with its own libevent loop owning the connections handed to it. A worker
// runs one spop::Session per connection and one NotifyHandler for all of them.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agent/server/spop_stats.h"
#include "agent/spop/session.h"

namespace keymux::server {

struct ServerOptions {
  // "HOST:PORT" (port 0 picks a free one) or "unix:/path/to/socket".
  std::vector<std::string> listen = {"127.0.0.1:12345"};
  int threads = 0;  // 0: one per CPU
  std::uint32_t max_frame_size = spop::kDefaultMaxFrameSize;
};

// Called once per worker, on the caller's thread, before the workers start.
using HandlerFactory = std::function<std::unique_ptr<spop::NotifyHandler>(int worker_index)>;

class Server {
 public:
  Server(ServerOptions options, HandlerFactory make_handler);
  ~Server();  // stops and joins if still running
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds every listener and starts the threads. False with `error` set when a
  // listener cannot be bound.
  bool start(std::string& error);

  // The addresses actually bound, in the order of options.listen, with real
  // ports ("127.0.0.1:41234", "unix:/path").
  std::vector<std::string> bound_addresses() const;

  // Graceful stop: stop accepting, answer what has arrived, send
  // AGENT-DISCONNECT status 0 on every connection, join the threads.
  // Safe to call from any thread (not from a signal handler: main uses libevent
  // signal events and calls this from its loop).
  void stop();

  // Blocks until stop() has completed.
  void wait();

  // Any thread: something a held NOTIFY waits for may have come (a shared
  // slice landed); every worker holding one decides it again on its thread.
  void wake_held();

  // Connections and frames so far (metrics).
  const SpopStats& stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace keymux::server
