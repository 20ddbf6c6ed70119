#include "bench/spop_load/worker.h"

#include <sys/epoll.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <string>

namespace keymux::bench {

Worker::Worker(int first, int stride, const Options& options, const Timeline& time)
    : options_(options), time_(time) {
  notify_ = std::make_unique<NotifyTemplate>(std::string("w").append(std::to_string(first)),
                                             options.gateway_secret);
  const double per_connection_rate = options.rate / options.connections;
  for (int i = first; i < options.connections; i += stride) {
    // Stagger the open-loop schedules so the connections do not fire together.
    const double phase = static_cast<double>(i) / options.connections;
    connections_.push_back(std::make_unique<Connection>(i, options, *notify_, time,
                                                        per_connection_rate, phase, counters_));
  }
}

Worker::~Worker() {
  connections_.clear();
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

void Worker::run() {
  // Paced sends wake on short timeouts: ask for them without the default 50 us slack.
  if (options_.rate > 0) prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) {
    std::perror("spop-load: epoll_create1");
    ++counters_.errors;
    return;
  }
  for (auto& c : connections_) c->open(epoll_fd_);

  const bool paced = options_.rate > 0;
  const auto tick_ns = static_cast<std::uint64_t>(options_.tick_us * 1000.0);
  std::uint64_t last_wake = 0;
  std::array<epoll_event, 256> events;
  for (;;) {
    std::uint64_t now = now_ns();
    last_wake = now;
    const bool over = now >= time_.measure_to;
    std::uint64_t wake = over ? now + 10'000'000u : time_.measure_to;
    bool open = false;
    for (auto& c : connections_) {
      if (over) {
        c->wind_down(now);
      } else if (paced) {
        c->pump(now);
        wake = std::min(wake, c->next_due());
      }
      open = open || c->state() != Connection::State::kClosed;
    }
    if (!open) break;
    now = now_ns();
    if (paced && !over) wake = std::max(wake, last_wake + tick_ns);
    const std::uint64_t wait = wake > now ? wake - now : 0;
    timespec timeout{static_cast<time_t>(wait / 1'000'000'000u),
                     static_cast<long>(wait % 1'000'000'000u)};
    const int n =
        epoll_pwait2(epoll_fd_, events.data(), static_cast<int>(events.size()), &timeout, nullptr);
    for (int i = 0; i < n; ++i) {
      auto* c = static_cast<Connection*>(events[i].data.ptr);
      if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) c->on_readable();
      if (events[i].events & EPOLLOUT) c->on_writable();
    }
  }
}

}  // namespace keymux::bench
