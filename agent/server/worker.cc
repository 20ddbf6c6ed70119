#include "agent/server/worker.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <system_error>
#include <utility>

#include "agent/server/connection.h"

namespace keymux::server {
namespace {

// How long a graceful stop waits for the last answers to be flushed.
constexpr timeval kStopFlushTimeout = {2, 0};

void wake(int fd) {
  const std::uint64_t one = 1;
  ssize_t n;
  do {
    n = ::write(fd, &one, sizeof(one));
  } while (n < 0 && errno == EINTR);
  // EAGAIN means the counter is already non-zero: the worker wakes anyway.
}

}  // namespace

Worker::Worker(int index, std::unique_ptr<spop::NotifyHandler> handler,
               spop::SessionOptions options, SpopStats& stats)
    : index_(index),
      handler_(std::move(handler)),
      session_options_(options),
      stats_(stats),
      read_buffer_(new char[kReadBufferSize]) {}

Worker::~Worker() {
  by_session_.clear();
  connections_.clear();
  if (wake_event_ != nullptr) event_free(wake_event_);
  if (held_deadline_ != nullptr) event_free(held_deadline_);
  if (stop_deadline_ != nullptr) event_free(stop_deadline_);
  if (base_ != nullptr) event_base_free(base_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
  for (const Handoff& handoff : handoffs_) ::close(handoff.fd);
}

bool Worker::init(std::string& error) {
  base_ = event_base_new();
  if (base_ == nullptr) {
    error = "event_base_new failed";
    return false;
  }
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) {
    error = "eventfd: " + std::generic_category().message(errno);
    return false;
  }
  wake_event_ = event_new(base_, wake_fd_, EV_READ | EV_PERSIST, &Worker::on_wake, this);
  stop_deadline_ = evtimer_new(base_, &Worker::on_stop_deadline, this);
  held_deadline_ = evtimer_new(base_, &Worker::on_held_deadline, this);
  if (wake_event_ == nullptr || stop_deadline_ == nullptr || held_deadline_ == nullptr ||
      event_add(wake_event_, nullptr) != 0) {
    error = "cannot create the worker's events";
    return false;
  }
  return true;
}

void Worker::start() {
  thread_ = std::thread([this] { run(); });
}

void Worker::run() {
  const std::string name = "keymux-w" + std::to_string(index_);
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
  event_base_dispatch(base_);
  // Whatever is left after the flush deadline is closed here, on our thread.
  for (auto& [connection, owned] : connections_) connection->log_close();
  by_session_.clear();
  connections_.clear();
}

void Worker::adopt(int fd, std::string peer) {
  bool was_empty;
  {
    std::lock_guard lock(handoff_mutex_);
    was_empty = handoffs_.empty();
    handoffs_.push_back(Handoff{fd, std::move(peer)});
  }
  // One wake-up per batch of handoffs: the worker takes them all at once.
  if (was_empty) wake(wake_fd_);
}

void Worker::request_stop() {
  stop_requested_.store(true, std::memory_order_release);
  wake(wake_fd_);
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::on_wake(int fd, short /*what*/, void* arg) {
  auto* self = static_cast<Worker*>(arg);
  std::uint64_t count;
  while (::read(fd, &count, sizeof(count)) < 0 && errno == EINTR) {
  }
  self->take_handoffs();
  self->check_held();
  if (self->stop_requested_.load(std::memory_order_acquire) && !self->stopping_) {
    self->begin_stop();
  }
}

void Worker::take_handoffs() {
  {
    std::lock_guard lock(handoff_mutex_);
    taking_.swap(handoffs_);
  }
  for (Handoff& handoff : taking_) {
    auto owned = std::make_unique<Connection>(*this, handoff.fd, std::move(handoff.peer));
    Connection* connection = owned.get();
    if (!connection->start()) {
      spdlog::error("worker {}: cannot register connection from {}", index_, connection->peer());
      continue;  // `owned` closes the socket
    }
    spdlog::debug("worker {}: connection from {}", index_, connection->peer());
    by_session_.emplace(&connection->session(), connection);
    connections_.emplace(connection, std::move(owned));
    if (stopping_) connection->shut_down();
  }
  taking_.clear();
}

void Worker::begin_stop() {
  stopping_ = true;
  if (!connections_.empty()) {
    spdlog::debug("worker {}: shutting down {} connections", index_, connections_.size());
  }
  // shut_down() may release the connection: walk a copy of the set.
  std::vector<Connection*> open;
  open.reserve(connections_.size());
  for (const auto& [connection, owned] : connections_) open.push_back(connection);
  for (Connection* connection : open) connection->shut_down();
  if (connections_.empty()) {
    event_base_loopbreak(base_);
    return;
  }
  evtimer_add(stop_deadline_, &kStopFlushTimeout);
}

void Worker::on_stop_deadline(int /*fd*/, short /*what*/, void* arg) {
  auto* self = static_cast<Worker*>(arg);
  spdlog::warn("worker {}: {} connections not flushed within the stop timeout; closing them",
               self->index_, self->connections_.size());
  event_base_loopbreak(self->base_);
}

void Worker::wake_held() {
  // Sequentially consistent with check_held(): either it sees this count, or
  // this sees `holding_` and wakes it.
  refills_.fetch_add(1);
  if (holding_.load()) wake(wake_fd_);
}

void Worker::on_held_deadline(int /*fd*/, short /*what*/, void* arg) {
  static_cast<Worker*>(arg)->check_held(true);
}

void Worker::check_held(bool deadline) {
  spop::NotifyHandler& handler = *handler_;
  if (!handler.holding()) {
    if (holding_.load(std::memory_order_relaxed)) {
      holding_.store(false, std::memory_order_relaxed);
      evtimer_del(held_deadline_);
    }
    return;
  }
  holding_.store(true);
  const std::uint64_t refills = refills_.load();
  const bool woken = refills != refills_seen_;
  if (woken || deadline) {
    refills_seen_ = refills;
    answered_.clear();
    handler.resume(woken, answered_);
    for (spop::Session* session : answered_) {
      // flush() may release a connection: look each one up again.
      const auto found = by_session_.find(session);
      if (found != by_session_.end()) found->second->flush();
    }
    if (!handler.holding()) {
      holding_.store(false, std::memory_order_relaxed);
      evtimer_del(held_deadline_);
      return;
    }
  }
  const auto in = handler.next_deadline_in();
  const timeval tv = {static_cast<time_t>(in.count() / 1'000'000),
                      static_cast<suseconds_t>(in.count() % 1'000'000)};
  evtimer_add(held_deadline_, &tv);
}

void Worker::release(Connection* connection) {
  const auto found = connections_.find(connection);
  if (found == connections_.end()) return;
  connection->log_close();
  by_session_.erase(&connection->session());
  connections_.erase(found);
  finish_stop_if_idle();
}

void Worker::finish_stop_if_idle() {
  if (stopping_ && connections_.empty()) event_base_loopbreak(base_);
}

}  // namespace keymux::server
