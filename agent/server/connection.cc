#include "agent/server/connection.h"

#include <errno.h>
#include <event2/event.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstddef>
#include <system_error>
#include <utility>

#include "agent/server/worker.h"
#include "agent/spop/status.h"

namespace keymux::server {
namespace {

// Backpressure: a peer that sends faster than it reads our answers stops
// being read until most of what is queued for it has gone out.
constexpr std::size_t kPauseReadingAbove = 4 * 1024 * 1024;
constexpr std::size_t kResumeReadingBelow = 1024 * 1024;

constexpr timeval kLingerTimeout = {1, 0};

std::string errno_text(int error) { return std::generic_category().message(error); }

}  // namespace

Connection::Connection(Worker& worker, int fd, std::string peer)
    : worker_(worker),
      fd_(fd),
      peer_(std::move(peer)),
      session_(worker.handler(), worker.session_options(), peer_) {
  worker_.stats().connections_accepted.fetch_add(1, std::memory_order_relaxed);
  worker_.stats().connections_open.fetch_add(1, std::memory_order_relaxed);
}

Connection::~Connection() {
  worker_.handler().forget(session_);  // held NOTIFYs reserved nothing: dropped
  worker_.stats().connections_open.fetch_sub(1, std::memory_order_relaxed);
  if (read_event_ != nullptr) event_free(read_event_);
  if (write_event_ != nullptr) event_free(write_event_);
  if (linger_timer_ != nullptr) event_free(linger_timer_);
  ::close(fd_);
}

bool Connection::start() {
  read_event_ =
      event_new(worker_.base(), fd_, EV_READ | EV_PERSIST, &Connection::on_readable, this);
  write_event_ =
      event_new(worker_.base(), fd_, EV_WRITE | EV_PERSIST, &Connection::on_writable, this);
  return read_event_ != nullptr && write_event_ != nullptr && event_add(read_event_, nullptr) == 0;
}

void Connection::on_readable(int /*fd*/, short /*what*/, void* arg) {
  auto* self = static_cast<Connection*>(arg);
  Worker& worker = self->worker_;
  if (self->read_once() == ReadResult::kData) self->settle();  // may release *self
  worker.check_held();
}

void Connection::on_writable(int /*fd*/, short /*what*/, void* arg) {
  static_cast<Connection*>(arg)->settle();
}

Connection::ReadResult Connection::read_once() {
  const std::span<char> buffer = worker_.read_buffer();
  ssize_t n;
  do {
    n = ::recv(fd_, buffer.data(), buffer.size(), 0);
  } while (n < 0 && errno == EINTR);

  if (n > 0) {
    // While lingering the session has nothing more to say: input is dropped.
    if (!lingering_) {
      session_.receive(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
      worker_.stats().publish(session_.counters(), published_);
    }
    return ReadResult::kData;
  }
  if (n == 0) {
    // HAProxy 3.x often just closes; whatever is still queued is sent best effort.
    if (!lingering_) write_output();
    close(lingering_ ? "closed after our disconnect" : "peer closed");
    return ReadResult::kClosed;
  }
  const int error = errno;
  if (error == EAGAIN || error == EWOULDBLOCK) return ReadResult::kWouldBlock;
  if (error == ECONNRESET) {
    close("reset by peer");  // normal from HAProxy 3.x
  } else {
    io_error_ = true;
    close("read: " + errno_text(error));
  }
  return ReadResult::kClosed;
}

bool Connection::write_output() {
  std::string& output = session_.output();
  if (output.empty()) return true;
  ssize_t n;
  do {
    n = ::send(fd_, output.data(), output.size(), MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n >= 0) {
    if (static_cast<std::size_t>(n) == output.size()) {
      output.clear();  // keeps the capacity: no allocation on the next batch
    } else {
      output.erase(0, static_cast<std::size_t>(n));  // partial: the socket buffer is full
    }
    return true;
  }
  const int error = errno;
  if (error == EAGAIN || error == EWOULDBLOCK) return true;
  if (error == ECONNRESET || error == EPIPE) {
    close_reason_ = "reset by peer";
  } else {
    io_error_ = true;
    close_reason_ = "write: " + errno_text(error);
  }
  return false;
}

void Connection::settle() {
  if (lingering_) return;
  if (!write_output()) {
    close(close_reason_);
    return;
  }
  const std::size_t pending = session_.output().size();
  if (pending == 0) {
    if (session_.closing()) {
      linger();
      return;
    }
    if (write_armed_) {
      event_del(write_event_);
      write_armed_ = false;
    }
  } else if (!write_armed_) {
    event_add(write_event_, nullptr);
    write_armed_ = true;
  }
  if (!reading_paused_ && pending > kPauseReadingAbove) {
    pause_reading(true);
  } else if (reading_paused_ && pending < kResumeReadingBelow) {
    pause_reading(false);
  }
}

void Connection::pause_reading(bool pause) {
  if (pause) {
    event_del(read_event_);
    spdlog::debug("{}: {} bytes of answers queued, pausing reads", peer_, session_.output().size());
  } else {
    event_add(read_event_, nullptr);
  }
  reading_paused_ = pause;
}

void Connection::linger() {
  lingering_ = true;
  if (write_armed_) {
    event_del(write_event_);
    write_armed_ = false;
  }
  if (::shutdown(fd_, SHUT_WR) != 0) {
    close("closed");
    return;
  }
  if (reading_paused_) pause_reading(false);
  linger_timer_ = evtimer_new(worker_.base(), &Connection::on_linger_timeout, this);
  if (linger_timer_ == nullptr || evtimer_add(linger_timer_, &kLingerTimeout) != 0) {
    close("closed");
  }
  // The read event stays armed: it discards input and sees the peer's close.
}

void Connection::on_linger_timeout(int /*fd*/, short /*what*/, void* arg) {
  static_cast<Connection*>(arg)->close("closed (peer did not close after our disconnect)");
}

void Connection::shut_down() {
  if (lingering_) return;
  // Answer what has already arrived before saying goodbye.
  if (!reading_paused_ && !session_.closing()) {
    for (int i = 0; i < 16 && !session_.closing(); ++i) {
      const ReadResult result = read_once();
      if (result == ReadResult::kClosed) return;
      if (result == ReadResult::kWouldBlock) break;
    }
  }
  // NOTIFYs held for a shared slice get their answer now, before the goodbye.
  worker_.handler().answer_held(session_);
  session_.shutdown();
  settle();
}

void Connection::close(std::string reason) {
  close_reason_ = std::move(reason);
  worker_.release(this);  // destroys *this
}

void Connection::log_close() {
  SpopStats& stats = worker_.stats();
  stats.publish(session_.counters(), published_);
  const spop::Status status = session_.error();
  const spop::SessionCounters& counters = session_.counters();
  if (status != spop::Status::kNormal) {
    stats.protocol_errors[SpopStats::status_slot(status)].fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("SPOP protocol error on connection from {}: status {} ({}); closed", peer_,
                 static_cast<std::uint32_t>(status), spop::status_text(status));
    return;
  }
  if (io_error_) {
    spdlog::warn("connection from {} closed on {}", peer_, close_reason_);
    return;
  }
  spdlog::debug("connection from {} {}: {} notifies, {} acks", peer_, close_reason_,
                counters.notifies, counters.acks);
}

}  // namespace keymux::server
