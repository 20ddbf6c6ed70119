#include "agent/server/acceptor.h"

#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <system_error>
#include <utility>

#include "agent/server/socket_address.h"

namespace keymux::server {
namespace {

// Accepts per wake-up and listener, so one busy listener cannot starve the others.
constexpr int kAcceptBatch = 64;
// Out of descriptors or memory: stop accepting for a moment instead of spinning.
constexpr timeval kAcceptPause = {0, 100 * 1000};

}  // namespace

Acceptor::Acceptor(const std::vector<std::unique_ptr<Listener>>& listeners, HandOff hand_off)
    : listeners_(listeners), hand_off_(std::move(hand_off)) {}

Acceptor::~Acceptor() {
  for (Watch& watch : watches_) {
    if (watch.accept_event != nullptr) event_free(watch.accept_event);
  }
  if (stop_event_ != nullptr) event_free(stop_event_);
  if (resume_timer_ != nullptr) event_free(resume_timer_);
  if (base_ != nullptr) event_base_free(base_);
  if (stop_fd_ >= 0) ::close(stop_fd_);
}

bool Acceptor::init(std::string& error) {
  base_ = event_base_new();
  stop_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (base_ == nullptr || stop_fd_ < 0) {
    error = "cannot create the acceptor's loop";
    return false;
  }
  stop_event_ = event_new(base_, stop_fd_, EV_READ, &Acceptor::on_stop, this);
  resume_timer_ = evtimer_new(base_, &Acceptor::on_resume, this);
  if (stop_event_ == nullptr || resume_timer_ == nullptr || event_add(stop_event_, nullptr) != 0) {
    error = "cannot create the acceptor's events";
    return false;
  }
  // Stable addresses: the events point at their Watch.
  watches_.reserve(listeners_.size());
  for (const auto& listener : listeners_) {
    Watch& watch = watches_.emplace_back(Watch{this, listener.get(), nullptr});
    watch.accept_event =
        event_new(base_, listener->fd(), EV_READ | EV_PERSIST, &Acceptor::on_acceptable, &watch);
    if (watch.accept_event == nullptr || event_add(watch.accept_event, nullptr) != 0) {
      error = "cannot watch listener " + listener->bound_address();
      return false;
    }
  }
  return true;
}

void Acceptor::start() {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "keymux-accept");
    event_base_dispatch(base_);
  });
}

void Acceptor::request_stop() {
  const std::uint64_t one = 1;
  while (::write(stop_fd_, &one, sizeof(one)) < 0 && errno == EINTR) {
  }
}

void Acceptor::join() {
  if (thread_.joinable()) thread_.join();
}

void Acceptor::on_stop(int /*fd*/, short /*what*/, void* arg) {
  event_base_loopbreak(static_cast<Acceptor*>(arg)->base_);
}

void Acceptor::on_acceptable(int /*fd*/, short /*what*/, void* arg) {
  const Watch* watch = static_cast<Watch*>(arg);
  watch->acceptor->accept_all(*watch->listener);
}

void Acceptor::accept_all(const Listener& listener) {
  for (int i = 0; i < kAcceptBatch; ++i) {
    sockaddr_storage peer{};
    socklen_t length = sizeof(peer);
    const int fd = ::accept4(listener.fd(), reinterpret_cast<sockaddr*>(&peer), &length,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      const int error = errno;
      switch (error) {
        case EAGAIN:
#if EAGAIN != EWOULDBLOCK
        case EWOULDBLOCK:
#endif
          return;
        case EINTR:
        case ECONNABORTED:
        case EPROTO:
          continue;
        case EMFILE:
        case ENFILE:
        case ENOBUFS:
        case ENOMEM:
          spdlog::warn("accept on {}: {}; pausing accepts for 100 ms", listener.bound_address(),
                       std::generic_category().message(error));
          pause_accepting();
          return;
        default:
          spdlog::error("accept on {}: {}", listener.bound_address(),
                        std::generic_category().message(error));
          return;
      }
    }
    std::string peer_name;
    if (listener.is_unix()) {
      peer_name = listener.bound_address();  // unix peers are unnamed
    } else {
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      peer_name = format_address(reinterpret_cast<sockaddr*>(&peer), length);
    }
    hand_off_(fd, std::move(peer_name));
  }
}

void Acceptor::pause_accepting() {
  if (paused_) return;
  paused_ = true;
  for (Watch& watch : watches_) event_del(watch.accept_event);
  evtimer_add(resume_timer_, &kAcceptPause);
}

void Acceptor::on_resume(int /*fd*/, short /*what*/, void* arg) {
  auto* self = static_cast<Acceptor*>(arg);
  self->paused_ = false;
  for (Watch& watch : self->watches_) event_add(watch.accept_event, nullptr);
}

}  // namespace keymux::server
