// One client connection on a worker thread: bytes in through the request
// parser, each request answered by the worker's MockService in order. A
// delayed or streamed answer holds back the pipelined requests behind it,
// which keeps answers in request order.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "tests/mock_upstream/http_request_parser.h"
#include "tests/mock_upstream/reply.h"

struct event;

namespace keymux::mock {

class Worker;

class Connection {
 public:
  Connection(Worker& worker, int fd);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool start();

 private:
  static void on_readable(int fd, short what, void* arg);
  static void on_writable(int fd, short what, void* arg);
  static void on_timer(int fd, short what, void* arg);

  // Each returns false once the connection is destroyed: touch nothing then.
  bool read_input();
  bool answer_pending_requests();
  bool send_next_part();
  bool flush();
  void update_reading();
  void arm_timer(std::chrono::milliseconds delay);
  bool linger();
  bool close();

  Worker& worker_;
  const int fd_;
  event* read_event_ = nullptr;
  event* write_event_ = nullptr;
  event* timer_ = nullptr;
  bool reading_ = false;
  bool writing_ = false;

  HttpRequestParser parser_;
  HttpRequest request_;
  Reply reply_;
  std::size_t next_part_ = 0;
  bool replying_ = false;  // a delayed or streamed reply is under way

  std::string output_;
  std::size_t output_sent_ = 0;
  bool peer_closed_ = false;
  bool close_when_sent_ = false;  // after the output (and any reply under way)
  bool drop_when_sent_ = false;   // ... abruptly: a dropped request gets no answer
  bool lingering_ = false;        // our side shut: waiting for the peer's close
};

}  // namespace keymux::mock
