#include "agent/server/outcome_receiver.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

#include "agent/router/octet_framing.h"

namespace keymux::server {
namespace {

// Room for bursts while the thread is descheduled (2 cores shared with
// HAProxy): thousands of lines. The kernel caps it at rmem_max.
constexpr int kReceiveBuffer = 4 << 20;
// How often the thread looks at stopping_ when nothing arrives.
constexpr int kPollMillis = 100;

struct Transport {
  bool stream = true;
  std::string listen;  // for Listener::open
};

bool parse_transport(std::string_view spec, Transport& out, std::string& error) {
  out = Transport();
  if (spec.starts_with("unixgram:")) {
    out.stream = false;
    out.listen = "unix:" + std::string(spec.substr(9));
  } else if (spec.starts_with("udp@")) {
    out.stream = false;
    out.listen = spec.substr(4);
  } else {
    out.listen = spec.starts_with("tcp@") ? spec.substr(4) : spec;
  }
  ListenSpec parsed;
  if (!parse_listen_spec(out.listen, parsed, error)) return false;
  // A line is not authenticated (no gateway secret): only this host may send.
  if (!is_local_only(parsed)) {
    error = "--outcome-listen " + std::string(spec) +
            ": outcome lines carry no credential; use a loopback address or a unix socket";
    return false;
  }
  return true;
}

}  // namespace

bool OutcomeReceiver::valid_spec(std::string_view spec, std::string& error) {
  Transport transport;
  return parse_transport(spec, transport, error);
}

bool OutcomeReceiver::start(const std::string& spec, std::string& error) {
  Transport transport;
  if (!parse_transport(spec, transport, error)) return false;
  stream_ = transport.stream;
  socket_ = Listener::open(transport.listen, error, /*datagram=*/!stream_);
  if (!socket_) return false;
  // HAProxy runs as another user (systemd: haproxy) and must be able to send;
  // the directory's permissions decide who may reach the socket.
  if (socket_->is_unix() && ::chmod(socket_->bound_address().substr(5).c_str(), 0666) != 0) {
    error = "cannot make " + socket_->bound_address() + " writable: " + std::strerror(errno);
    socket_.reset();
    return false;
  }
  if (!stream_) {
    const int size = kReceiveBuffer;
    ::setsockopt(socket_->fd(), SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  }
  stopping_.store(false);
  thread_ = std::thread([this] { stream_ ? run_stream() : run_datagrams(); });
  return true;
}

void OutcomeReceiver::stop() {
  stopping_.store(true);
  if (thread_.joinable()) thread_.join();
  socket_.reset();
}

std::string OutcomeReceiver::bound_address() const {
  if (!socket_) return {};
  const std::string& address = socket_->bound_address();
  if (stream_) return address;
  return socket_->is_unix() ? "unixgram:" + address.substr(5) : "udp@" + address;
}

void OutcomeReceiver::run_datagrams() {
  std::array<char, kMaxLine> buffer{};
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
                    bound_address(), std::strerror(errno));
      return;
    }
  }
}

void OutcomeReceiver::run_stream() {
  struct Peer {
    int fd;
    router::OctetFramer framer{kMaxLine};
  };
  std::vector<std::unique_ptr<Peer>> peers;
  std::vector<pollfd> waiters;
  std::array<char, 1 << 16> buffer{};
  while (!stopping_.load(std::memory_order_relaxed)) {
    waiters.assign(1, pollfd{socket_->fd(), POLLIN, 0});
    for (const auto& peer : peers) waiters.push_back(pollfd{peer->fd, POLLIN, 0});
    if (::poll(waiters.data(), waiters.size(), kPollMillis) <= 0) continue;
    // Readable peers first (their indexes match waiters[1..]), then accepts.
    for (std::size_t i = peers.size(); i-- > 0;) {
      if (waiters[i + 1].revents == 0) continue;
      Peer& peer = *peers[i];
      const ssize_t n = ::recv(peer.fd, buffer.data(), buffer.size(), 0);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      bool keep = n > 0;
      if (keep) {
        keep = peer.framer.feed(std::string_view(buffer.data(), static_cast<std::size_t>(n)),
                                [this](std::string_view line) { callback_(line); });
        if (!keep) {
          spdlog::warn("outcome connection on {}: {}; closed (HAProxy's ring reconnects)",
                       bound_address(), peer.framer.error());
        }
      }
      if (!keep) {
        ::close(peer.fd);
        peers.erase(peers.begin() + static_cast<std::ptrdiff_t>(i));
      }
    }
    if (waiters[0].revents != 0) {
      const int fd = ::accept4(socket_->fd(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd >= 0 && peers.size() >= kMaxConnections) {
        spdlog::warn("outcome listener {}: more than {} connections; one refused", bound_address(),
                     kMaxConnections);
        ::close(fd);
      } else if (fd >= 0) {
        peers.push_back(std::make_unique<Peer>(Peer{fd}));
      }
    }
  }
  for (const auto& peer : peers) ::close(peer->fd);
}

}  // namespace keymux::server
