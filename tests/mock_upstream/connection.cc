#include "tests/mock_upstream/connection.h"

#include <errno.h>
#include <event2/event.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/mock_upstream/server.h"

namespace keymux::mock {
namespace {

// A client that sends much more than it reads (or pipelines far ahead of a
// slow answer) stops being read until it catches up.
constexpr std::size_t kPauseReadingAbove = 4 * 1024 * 1024;

// How long we wait for the peer to close after we shut our side: closing at
// once with unread input would reset the connection and could destroy the
// answer (a 400, say) before the peer reads it.
constexpr std::chrono::milliseconds kLingerTimeout(1000);

}  // namespace

Connection::Connection(Worker& worker, int fd) : worker_(worker), fd_(fd) {}

Connection::~Connection() {
  if (read_event_ != nullptr) event_free(read_event_);
  if (write_event_ != nullptr) event_free(write_event_);
  if (timer_ != nullptr) event_free(timer_);
  ::close(fd_);
}

bool Connection::start() {
  read_event_ =
      event_new(worker_.base(), fd_, EV_READ | EV_PERSIST, &Connection::on_readable, this);
  write_event_ =
      event_new(worker_.base(), fd_, EV_WRITE | EV_PERSIST, &Connection::on_writable, this);
  timer_ = evtimer_new(worker_.base(), &Connection::on_timer, this);
  if (read_event_ == nullptr || write_event_ == nullptr || timer_ == nullptr) return false;
  update_reading();
  return reading_;
}

void Connection::on_readable(int /*fd*/, short /*what*/, void* arg) {
  static_cast<Connection*>(arg)->read_input();
}

void Connection::on_writable(int /*fd*/, short /*what*/, void* arg) {
  static_cast<Connection*>(arg)->flush();
}

void Connection::on_timer(int /*fd*/, short /*what*/, void* arg) {
  auto* self = static_cast<Connection*>(arg);
  if (self->lingering_) {
    self->close();
    return;
  }
  self->send_next_part();
}

bool Connection::read_input() {
  const std::span<char> buffer = worker_.read_buffer();
  ssize_t n;
  do {
    n = ::recv(fd_, buffer.data(), buffer.size(), 0);
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    if (lingering_) return true;  // we have said all we will say
    parser_.feed(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
    return answer_pending_requests() && flush();
  }
  if (n == 0) {
    if (lingering_) return close();
    // A half-closed peer still gets the answers to what it sent.
    peer_closed_ = true;
    if (!answer_pending_requests()) return false;
    close_when_sent_ = true;
    return flush();
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
  return close();
}

bool Connection::answer_pending_requests() {
  while (!replying_ && !close_when_sent_) {
    const ParseStatus status = parser_.next(request_);
    if (status == ParseStatus::kNeedMore) break;
    reply_.clear();
    if (status == ParseStatus::kError) {
      worker_.service().handle_malformed(parser_.error_status(), reply_);
    } else {
      worker_.service().handle(request_, reply_);
    }
    if (reply_.drop) {
      // The answers before this request still go out; this one gets none.
      close_when_sent_ = true;
      drop_when_sent_ = true;
      break;
    }
    next_part_ = 0;
    const bool paced = reply_.part_count() > 1 && reply_.chunk_delay.count() > 0;
    if (reply_.delay.count() > 0 || paced) {
      replying_ = true;
      if (reply_.delay.count() > 0) {
        arm_timer(reply_.delay);
      } else {
        // The first part goes out at once: clients see a stream start
        // before it ends.
        output_ += reply_.part(next_part_++);
        arm_timer(reply_.chunk_delay);
      }
      break;
    }
    for (std::size_t i = 0; i < reply_.part_count(); ++i) output_ += reply_.part(i);
    if (reply_.close) close_when_sent_ = true;
  }
  // curl, for one, waits a second for this before sending a large body.
  if (!replying_ && !close_when_sent_ && parser_.take_continue()) {
    output_ += "HTTP/1.1 100 Continue\r\n\r\n";
  }
  update_reading();
  return true;
}

bool Connection::send_next_part() {
  do {
    output_ += reply_.part(next_part_++);
  } while (next_part_ < reply_.part_count() && reply_.chunk_delay.count() == 0);
  if (next_part_ < reply_.part_count()) {
    arm_timer(reply_.chunk_delay);
  } else {
    replying_ = false;
    if (reply_.close) close_when_sent_ = true;
    if (!answer_pending_requests()) return false;
  }
  return flush();
}

bool Connection::flush() {
  while (output_sent_ < output_.size()) {
    const ssize_t n =
        ::send(fd_, output_.data() + output_sent_, output_.size() - output_sent_, MSG_NOSIGNAL);
    if (n > 0) {
      output_sent_ += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break;
    } else {
      return close();
    }
  }
  if (output_sent_ == output_.size()) {
    output_.clear();  // keeps the capacity
    output_sent_ = 0;
    if (writing_) {
      event_del(write_event_);
      writing_ = false;
    }
    if (close_when_sent_ && !replying_) {
      if (drop_when_sent_ || peer_closed_) return close();
      return linger();
    }
  } else if (!writing_) {
    event_add(write_event_, nullptr);
    writing_ = true;
  }
  update_reading();
  return true;
}

void Connection::update_reading() {
  const bool backlog = output_.size() - output_sent_ > kPauseReadingAbove ||
                       (replying_ && parser_.buffered() > kPauseReadingAbove);
  const bool want = !peer_closed_ && (lingering_ || (!close_when_sent_ && !backlog));
  if (want == reading_) return;
  if (want) {
    event_add(read_event_, nullptr);
  } else {
    event_del(read_event_);
  }
  reading_ = want;
}

void Connection::arm_timer(std::chrono::milliseconds delay) {
  const timeval tv = {static_cast<time_t>(delay.count() / 1000),
                      static_cast<suseconds_t>(delay.count() % 1000 * 1000)};
  evtimer_add(timer_, &tv);
}

bool Connection::linger() {
  ::shutdown(fd_, SHUT_WR);
  lingering_ = true;
  update_reading();
  arm_timer(kLingerTimeout);
  return true;
}

bool Connection::close() {
  worker_.release(this);
  return false;
}

}  // namespace keymux::mock
