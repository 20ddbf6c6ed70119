#include "tests/mock_upstream/server.h"

#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "tests/mock_upstream/connection.h"
#include "tests/mock_upstream/listen_sockets.h"

namespace keymux::mock {
namespace {

// Accepts per wake-up, so one burst of connects cannot starve the others.
constexpr int kMaxAcceptsPerWake = 64;

}  // namespace

Worker::Worker(int index, int listen_fd, MockState& state)
    : index_(index),
      listen_fd_(listen_fd),
      service_(state, 0x6b65796d7578ull + static_cast<std::uint64_t>(index), index),
      read_buffer_(new char[kReadBufferSize]) {}

Worker::~Worker() {
  if (thread_.joinable()) thread_.join();
  connections_.clear();
  if (accept_event_ != nullptr) event_free(accept_event_);
  if (base_ != nullptr) event_base_free(base_);
  ::close(listen_fd_);
}

bool Worker::init(std::string& error) {
  base_ = event_base_new();
  if (base_ != nullptr) {
    accept_event_ = event_new(base_, listen_fd_, EV_READ | EV_PERSIST, &Worker::on_accept, this);
  }
  if (accept_event_ == nullptr || event_add(accept_event_, nullptr) != 0) {
    error = "cannot create worker " + std::to_string(index_) + "'s event loop";
    return false;
  }
  return true;
}

void Worker::start() {
  thread_ = std::thread([this] {
    const std::string name = "mock-w" + std::to_string(index_);
    pthread_setname_np(pthread_self(), name.c_str());
    event_base_dispatch(base_);
  });
}

void Worker::on_accept(int listen_fd, short /*what*/, void* arg) {
  auto* self = static_cast<Worker*>(arg);
  for (int i = 0; i < kMaxAcceptsPerWake; ++i) {
    const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED) {
        std::fprintf(stderr, "keymux-mock-upstream: accept: %s\n", std::strerror(errno));
      }
      return;
    }
    // Small answers go out at once instead of waiting for more to coalesce.
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    auto owned = std::make_unique<Connection>(*self, fd);
    Connection* connection = owned.get();
    if (!connection->start()) continue;  // `owned` closes the socket
    self->connections_.emplace(connection, std::move(owned));
  }
}

void Worker::release(Connection* connection) { connections_.erase(connection); }

Server::~Server() = default;

bool Server::start(const std::string& listen, int threads, std::string& error) {
  ListenSockets sockets;
  if (!open_listen_sockets(listen, threads, sockets, error)) return false;
  bound_address_ = sockets.bound_address;
  for (int i = 0; i < threads; ++i) {
    workers_.push_back(
        std::make_unique<Worker>(i, sockets.fds[static_cast<std::size_t>(i)], state_));
  }
  for (const auto& worker : workers_) {
    if (!worker->init(error)) return false;
  }
  for (const auto& worker : workers_) worker->start();
  return true;
}

}  // namespace keymux::mock
