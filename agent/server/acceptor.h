// The accepting thread: its own libevent loop watching every listener. Each
// accepted socket (non-blocking, TCP_NODELAY on TCP) goes to `hand_off`, which
// picks a worker.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "agent/server/listener.h"

struct event;
struct event_base;

namespace keymux::server {

class Acceptor {
 public:
  using HandOff = std::function<void(int fd, std::string peer)>;

  Acceptor(const std::vector<std::unique_ptr<Listener>>& listeners, HandOff hand_off);
  ~Acceptor();  // after join()
  Acceptor(const Acceptor&) = delete;
  Acceptor& operator=(const Acceptor&) = delete;

  bool init(std::string& error);
  void start();
  // Any thread: leave the loop; accept nothing more.
  void request_stop();
  void join();

 private:
  struct Watch {
    Acceptor* acceptor;
    const Listener* listener;
    event* accept_event;
  };

  static void on_acceptable(int fd, short what, void* arg);
  static void on_stop(int fd, short what, void* arg);
  static void on_resume(int fd, short what, void* arg);
  void accept_all(const Listener& listener);
  void pause_accepting();

  const std::vector<std::unique_ptr<Listener>>& listeners_;
  HandOff hand_off_;
  event_base* base_ = nullptr;
  int stop_fd_ = -1;
  event* stop_event_ = nullptr;
  event* resume_timer_ = nullptr;
  std::vector<Watch> watches_;
  bool paused_ = false;
  std::thread thread_;
};

}  // namespace keymux::server
