#include "tests/mock_upstream/listen_sockets.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "agent/server/socket_address.h"

namespace keymux::mock {
namespace {

constexpr int kBacklog = 4096;

// `share`: with SO_REUSEPORT. Without it, the socket only binds (a probe).
int open_one(const sockaddr* address, socklen_t length, bool share, std::string& error) {
  const int fd = ::socket(address->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (share) ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  if (::bind(fd, address, length) != 0 || (share && ::listen(fd, kBacklog) != 0)) {
    error = std::string("bind/listen: ") + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

bool open_listen_sockets(const std::string& spec, int count, ListenSockets& out,
                         std::string& error) {
  server::ListenSpec parsed;
  if (!server::parse_listen_spec(spec, parsed, error)) return false;
  if (parsed.is_unix) {
    error = "--listen wants HOST:PORT, not a unix socket";
    return false;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  const bool any = parsed.host.empty() || parsed.host == "*";
  const std::string port = std::to_string(parsed.port);
  addrinfo* results = nullptr;
  const int rc =
      ::getaddrinfo(any ? "0.0.0.0" : parsed.host.c_str(), port.c_str(), &hints, &results);
  if (rc != 0) {
    error = "cannot resolve \"" + spec + "\": " + ::gai_strerror(rc);
    return false;
  }
  sockaddr_storage address{};
  const socklen_t length = results->ai_addrlen;
  std::memcpy(&address, results->ai_addr, length);
  ::freeaddrinfo(results);

  // SO_REUSEPORT would let us share a port with a leftover mock of the same
  // user, which would then answer some of our connections. A plain bind fails
  // when anything listens there: the port must be ours alone.
  if (parsed.port != 0) {
    const int probe = open_one(reinterpret_cast<sockaddr*>(&address), length, false, error);
    if (probe < 0) {
      error = "cannot listen on " + spec + ": " + error;
      return false;
    }
    ::close(probe);
  }
  for (int i = 0; i < count; ++i) {
    const int fd = open_one(reinterpret_cast<sockaddr*>(&address), length, true, error);
    if (fd < 0) {
      for (const int open : out.fds) ::close(open);
      out.fds.clear();
      error = "cannot listen on " + spec + ": " + error;
      return false;
    }
    if (i == 0) {
      // Port 0 became a real port: the other sockets must share it.
      socklen_t bound_length = sizeof(address);
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &bound_length);
      out.bound_address =
          server::format_address(reinterpret_cast<sockaddr*>(&address), bound_length);
    }
    out.fds.push_back(fd);
  }
  return true;
}

}  // namespace keymux::mock
