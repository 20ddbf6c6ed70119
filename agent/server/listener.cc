#include "agent/server/listener.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

namespace keymux::server {
namespace {

constexpr int kBacklog = 1024;

std::string errno_text(int error) { return std::strerror(error); }

}  // namespace

std::unique_ptr<Listener> Listener::open(const std::string& spec, std::string& error,
                                         bool datagram) {
  std::unique_ptr<Listener> listener(new Listener());
  listener->type_ = datagram ? SOCK_DGRAM : SOCK_STREAM;
  if (!parse_listen_spec(spec, listener->spec_, error)) return nullptr;
  const bool ok =
      listener->spec_.is_unix ? listener->open_unix(error) : listener->open_tcp(spec, error);
  if (!ok) return nullptr;
  return listener;
}

Listener::~Listener() {
  if (fd_ < 0) return;
  ::close(fd_);
  if (spec_.is_unix) {
    struct stat st {};
    if (::lstat(spec_.path.c_str(), &st) == 0 && st.st_dev == unix_dev_ && st.st_ino == unix_ino_) {
      ::unlink(spec_.path.c_str());
    }
  }
}

bool Listener::open_tcp(const std::string& spec, std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = type_;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  const std::string port = std::to_string(spec_.port);
  const bool any = spec_.host.empty() || spec_.host == "*";
  addrinfo* results = nullptr;
  const int rc = ::getaddrinfo(any ? nullptr : spec_.host.c_str(), port.c_str(), &hints, &results);
  if (rc != 0) {
    error = "cannot resolve \"" + spec + "\": " + ::gai_strerror(rc);
    return false;
  }
  std::string last_error = "no address";
  for (addrinfo* ai = results; ai != nullptr; ai = ai->ai_next) {
    // Unless told otherwise, the wildcard is IPv4's: "*:PORT" means 0.0.0.0.
    if (any && ai->ai_family != AF_INET && ai->ai_next != nullptr) continue;
    const int fd =
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last_error = "socket: " + errno_text(errno);
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      last_error = "bind: " + errno_text(errno);
      ::close(fd);
      continue;
    }
    if (type_ == SOCK_STREAM && ::listen(fd, kBacklog) != 0) {
      last_error = "listen: " + errno_text(errno);
      ::close(fd);
      continue;
    }
    fd_ = fd;
    break;
  }
  ::freeaddrinfo(results);
  if (fd_ < 0) {
    error = "cannot listen on " + spec + ": " + last_error;
    return false;
  }
  sockaddr_storage bound{};
  socklen_t length = sizeof(bound);
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&bound), &length);
  bound_address_ = format_address(reinterpret_cast<sockaddr*>(&bound), length);
  return true;
}

bool Listener::open_unix(std::string& error) {
  const std::string& path = spec_.path;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.data(), path.size());

  // A socket file left by a dead agent is removed; one with a live listener
  // behind it is not ours to take.
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      error = "cannot listen on unix:" + path + ": the path exists and is not a socket";
      return false;
    }
    const int probe = ::socket(AF_UNIX, type_ | SOCK_CLOEXEC, 0);
    const bool live =
        probe >= 0 && ::connect(probe, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
    if (probe >= 0) ::close(probe);
    if (live) {
      error = "cannot listen on unix:" + path + ": another process is listening there";
      return false;
    }
    ::unlink(path.c_str());
  }

  const int fd = ::socket(AF_UNIX, type_ | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = "cannot listen on unix:" + path + ": socket: " + errno_text(errno);
    return false;
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    error = "cannot listen on unix:" + path + ": bind: " + errno_text(errno);
    ::close(fd);
    return false;
  }
  if (type_ == SOCK_STREAM && ::listen(fd, kBacklog) != 0) {
    error = "cannot listen on unix:" + path + ": listen: " + errno_text(errno);
    ::close(fd);
    ::unlink(path.c_str());
    return false;
  }
  if (::lstat(path.c_str(), &st) == 0) {
    unix_dev_ = st.st_dev;
    unix_ino_ = st.st_ino;
  }
  fd_ = fd;
  bound_address_ = "unix:" + path;
  return true;
}

}  // namespace keymux::server
