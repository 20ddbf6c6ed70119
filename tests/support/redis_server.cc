#include "tests/support/redis_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace keymux::test {
namespace {

// A port the kernel just handed out and released: free unless another
// process takes it in the instant before redis-server binds it.
std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  std::uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

bool answers(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

RedisServer::RedisServer() : port_(free_port()) { start(); }

RedisServer::~RedisServer() { stop(); }

bool RedisServer::start() {
  if (port_ == 0) return false;
  const std::string port = std::to_string(port_);
  pid_ = ::fork();
  if (pid_ == 0) {
    // Its start-up banner and warnings would bury the test's output.
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, STDOUT_FILENO);
    ::execlp("redis-server", "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--loglevel", "warning", "--enable-debug-command",
             "local", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  for (int i = 0; i < 500 && pid_ > 0; ++i) {  // up to 5 s on a loaded machine
    if (answers(port_)) return ready_ = true;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {  // exited: not installed, or the port taken
      pid_ = -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return ready_ = false;
}

void RedisServer::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
  ready_ = false;
}

bool RedisServer::restart() {
  stop();
  return start();
}

}  // namespace keymux::test
