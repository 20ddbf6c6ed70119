#include "agent/server/datagram_receiver.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace keymux::server {
namespace {

// Room for bursts while the thread is descheduled (2 cores shared with
// HAProxy): ~10,000 lines of ~400 bytes. The kernel caps it at rmem_max.
constexpr int kReceiveBuffer = 4 << 20;
// How often the thread looks at stopping_ when nothing arrives.
constexpr int kPollMillis = 100;

}  // namespace

bool DatagramReceiver::start(const std::string& spec, std::string& error) {
  socket_ = Listener::open(spec, error, /*datagram=*/true);
  if (!socket_) return false;
  // HAProxy runs as another user (systemd: haproxy) and must be able to send;
  // the directory's permissions decide who may reach the socket.
  if (socket_->is_unix() && ::chmod(socket_->bound_address().substr(5).c_str(), 0666) != 0) {
    error = "cannot make " + socket_->bound_address() + " writable: " + std::strerror(errno);
    socket_.reset();
    return false;
  }
  const int size = kReceiveBuffer;
  ::setsockopt(socket_->fd(), SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  stopping_.store(false);
  thread_ = std::thread([this] { run(); });
  return true;
}

void DatagramReceiver::stop() {
  stopping_.store(true);
  if (thread_.joinable()) thread_.join();
  socket_.reset();
}

const std::string& DatagramReceiver::bound_address() const {
  static const std::string kNone;
  return socket_ ? socket_->bound_address() : kNone;
}

void DatagramReceiver::run() {
  std::array<char, kMaxDatagram> buffer{};
  pollfd waiter{socket_->fd(), POLLIN, 0};
  while (!stopping_.load(std::memory_order_relaxed)) {
    const ssize_t n = ::recv(socket_->fd(), buffer.data(), buffer.size(), 0);
    if (n >= 0) {
      callback_(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      waiter.revents = 0;
      ::poll(&waiter, 1, kPollMillis);
    } else if (errno != EINTR) {
      spdlog::error("outcome socket {}: recv failed ({}); lines are lost until a restart",
                    socket_->bound_address(), std::strerror(errno));
      return;
    }
  }
}

}  // namespace keymux::server
