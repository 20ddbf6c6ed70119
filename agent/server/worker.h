// A worker thread: its own libevent loop, one NotifyHandler, and the
// connections handed to it. Only adopt() and request_stop() are called from
// other threads; everything else runs on the worker's thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "agent/server/spop_stats.h"
#include "agent/spop/session.h"

struct event;
struct event_base;

namespace keymux::server {

class Connection;

class Worker {
 public:
  Worker(int index, std::unique_ptr<spop::NotifyHandler> handler, spop::SessionOptions options,
         SpopStats& stats);
  ~Worker();  // after join()
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Creates the loop and the wake-up event; false with `error` set on failure.
  bool init(std::string& error);
  void start();

  // Any thread: hands over an accepted, non-blocking socket. `peer` is for logs.
  void adopt(int fd, std::string peer);
  // Any thread: shut every connection down gracefully, then leave the loop.
  void request_stop();
  void join();

  // Worker thread only.
  event_base* base() { return base_; }
  std::span<char> read_buffer() { return {read_buffer_.get(), kReadBufferSize}; }
  spop::NotifyHandler& handler() { return *handler_; }
  const spop::SessionOptions& session_options() const { return session_options_; }
  SpopStats& stats() { return stats_; }
  bool stopping() const { return stopping_; }
  // Closes and destroys `connection`.
  void release(Connection* connection);

  // Any thread: what a held NOTIFY waits for may have come (a shared slice
  // landed): the worker lets its handler decide them again. Costs a wake-up
  // only while the handler holds something.
  void wake_held();
  // Worker thread, after frames were handled: arms the held NOTIFYs'
  // deadline, and resumes them at once if a wake_held() came meanwhile.
  void check_held(bool deadline = false);

 private:
  struct Handoff {
    int fd;
    std::string peer;
  };
  static constexpr std::size_t kReadBufferSize = 64 * 1024;

  static void on_wake(int fd, short what, void* arg);
  static void on_stop_deadline(int fd, short what, void* arg);
  static void on_held_deadline(int fd, short what, void* arg);
  void run();
  void take_handoffs();
  void begin_stop();
  void finish_stop_if_idle();

  const int index_;
  std::unique_ptr<spop::NotifyHandler> handler_;
  const spop::SessionOptions session_options_;
  SpopStats& stats_;

  event_base* base_ = nullptr;
  int wake_fd_ = -1;  // eventfd: new handoffs or a stop request
  event* wake_event_ = nullptr;
  event* stop_deadline_ = nullptr;
  event* held_deadline_ = nullptr;
  std::thread thread_;
  // wake_held() calls so far, and the count when the worker last resumed.
  std::atomic<std::uint64_t> refills_{0};
  std::uint64_t refills_seen_ = 0;
  std::atomic<bool> holding_{false};      // the handler holds NOTIFYs (worker writes)
  std::vector<spop::Session*> answered_;  // reused by check_held()

  std::mutex handoff_mutex_;  // taken once per accepted connection, never per frame
  std::vector<Handoff> handoffs_;
  std::vector<Handoff> taking_;  // worker-side swap target, keeps its capacity
  std::atomic<bool> stop_requested_{false};

  std::unique_ptr<char[]> read_buffer_;
  std::unordered_map<Connection*, std::unique_ptr<Connection>> connections_;
  std::unordered_map<const spop::Session*, Connection*> by_session_;  // for late answers
  bool stopping_ = false;
};

}  // namespace keymux::server
