// The mock's network side: N worker threads, each with its own libevent loop,
// its own SO_REUSEPORT listening socket, its own MockService and the
// connections it accepted. Workers share only the MockState.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "tests/mock_upstream/mock_service.h"
#include "tests/mock_upstream/mock_state.h"

struct event;
struct event_base;

namespace keymux::mock {

class Connection;

class Worker {
 public:
  Worker(int index, int listen_fd, MockState& state);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  bool init(std::string& error);
  void start();

  // Worker thread only.
  event_base* base() { return base_; }
  MockService& service() { return service_; }
  std::span<char> read_buffer() { return {read_buffer_.get(), kReadBufferSize}; }
  // Closes and destroys `connection`.
  void release(Connection* connection);

 private:
  static constexpr std::size_t kReadBufferSize = 64 * 1024;
  static void on_accept(int fd, short what, void* arg);

  const int index_;
  const int listen_fd_;
  MockService service_;
  event_base* base_ = nullptr;
  event* accept_event_ = nullptr;
  std::thread thread_;
  std::unique_ptr<char[]> read_buffer_;
  std::unordered_map<Connection*, std::unique_ptr<Connection>> connections_;
};

// Runs until the process exits: nothing the mock holds needs a graceful stop.
class Server {
 public:
  explicit Server(MockState& state) : state_(state) {}
  ~Server();

  // Binds `listen` once per thread and starts the threads; false with `error`
  // set on failure.
  bool start(const std::string& listen, int threads, std::string& error);
  const std::string& bound_address() const { return bound_address_; }

 private:
  MockState& state_;
  std::string bound_address_;
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace keymux::mock
