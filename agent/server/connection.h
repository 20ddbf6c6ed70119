// One accepted SPOP connection on a worker: moves bytes between the socket and
// its spop::Session. Reads one batch, lets the session answer every whole frame
// in it, then writes the answers with one write; EV_WRITE is armed only while
// output is left over.
#pragma once

#include <string>

#include "agent/spop/session.h"

struct event;

namespace keymux::server {

class Worker;

class Connection {
 public:
  Connection(Worker& worker, int fd, std::string peer);
  ~Connection();  // closes the socket
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Registers the events; false when that fails (the caller releases it).
  bool start();
  // Graceful stop: answers what is already readable, sends AGENT-DISCONNECT
  // status 0 and closes once flushed. May release the connection.
  void shut_down();
  // Called by the worker just before destruction, when the connection goes.
  // Also counts its last frames and its protocol error, if any, in the stats.
  void log_close();

  const std::string& peer() const { return peer_; }
  spop::Session& session() { return session_; }
  // Sends what the session has queued outside a read (a held NOTIFY's late
  // ACK). May release the connection.
  void flush() { settle(); }

 private:
  enum class ReadResult { kData, kWouldBlock, kClosed };

  static void on_readable(int fd, short what, void* arg);
  static void on_writable(int fd, short what, void* arg);
  ReadResult read_once();
  // Writes what it can of the output; false on a fatal socket error.
  bool write_output();
  // After I/O: arm or disarm EV_WRITE, apply backpressure, close when done.
  void settle();
  // The session has said its last word and it is flushed: stop writing, then
  // read and discard until the peer closes (bounded), so that unread input
  // does not turn our close into a reset that loses the AGENT-DISCONNECT.
  void linger();
  static void on_linger_timeout(int fd, short what, void* arg);
  void close(std::string reason);
  void pause_reading(bool pause);

  Worker& worker_;
  const int fd_;
  const std::string peer_;
  spop::Session session_;
  event* read_event_ = nullptr;
  event* write_event_ = nullptr;
  event* linger_timer_ = nullptr;  // created only when lingering
  bool write_armed_ = false;
  bool reading_paused_ = false;
  bool lingering_ = false;
  bool io_error_ = false;  // a socket error other than a reset: worth a warning
  std::string close_reason_;
  spop::SessionCounters published_;  // what stats() already holds of this session
};

}  // namespace keymux::server
