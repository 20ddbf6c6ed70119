#include "bench/spop_load/connection.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "agent/spop/disconnect.h"
#include "agent/spop/hello.h"
#include "agent/spop/kv_list.h"
#include "bench/spop_load/socket.h"

namespace keymux::bench {
namespace {

constexpr int kMaxReportsPerConnection = 3;
constexpr std::size_t kReadSize = 64 * 1024;
// HAProxy 3.x stream ids on an SPOP connection: odd, increasing; one NOTIFY per stream.
constexpr std::uint64_t kFrameId = 1;

std::uint64_t stream_id_of(std::uint64_t seq) { return 2 * seq + 1; }

}  // namespace

Connection::Connection(int index, const Options& options, const NotifyTemplate& notify,
                       const Timeline& time, double rate, double phase, Counters& counters)
    : index_(index),
      options_(options),
      notify_(notify),
      time_(time),
      counters_(counters),
      interval_ns_(rate > 0 ? 1e9 / rate : 0.0) {
  if (interval_ns_ > 0) {
    schedule_start_ = time_.start + static_cast<std::uint64_t>(interval_ns_ * phase);
  }
  // A frame still unanswered when the sequence has moved a whole ring ahead
  // blocks its slot (and stalls this connection) until answered.
  const std::uint64_t ring_size =
      std::bit_ceil(std::max<std::uint64_t>(256, static_cast<std::uint64_t>(options.depth) * 16));
  ring_.resize(ring_size);
  ring_mask_ = ring_size - 1;
  out_.resize((static_cast<std::size_t>(options.depth) + 2) * notify.max_frame_size() + 4096);
  in_.resize(kReadSize + options.max_frame_size + 4);
}

Connection::~Connection() { close_now(); }

bool Connection::open(int epoll_fd) {
  epoll_fd_ = epoll_fd;
  std::string error;
  fd_ = connect_to(options_.target, error);
  if (fd_ < 0) {
    std::fprintf(stderr, "spop-load: connection %d: %s\n", index_, error.c_str());
    ++counters_.errors;
    state_ = State::kClosed;
    return false;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = this;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd_, &ev) != 0) {
    fail("epoll_ctl", std::strerror(errno));
    return false;
  }
  std::string hello_frame;
  spop::HaproxyHello hello;
  hello.supported_versions = spop::kSpopVersion;
  hello.max_frame_size = options_.max_frame_size;
  hello.capabilities = "pipelining";
  hello.healthcheck = false;
  char engine_id[48];
  std::snprintf(engine_id, sizeof(engine_id), "spop-load-%d-%d", static_cast<int>(getpid()),
                index_);
  hello.engine_id = engine_id;
  spop::encode_haproxy_hello(hello_frame, hello);
  append(hello_frame);
  flush();
  return state_ != State::kClosed;
}

void Connection::fail(const char* what, const std::string& detail) {
  ++counters_.errors;
  if (reported_++ < kMaxReportsPerConnection) {
    std::fprintf(stderr, "spop-load: connection %d: %s%s%s\n", index_, what,
                 detail.empty() ? "" : ": ", detail.c_str());
  }
}

void Connection::close_now() {
  if (fd_ >= 0) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd_, nullptr);
    close(fd_);
    fd_ = -1;
  }
  state_ = State::kClosed;
}

void Connection::reserve(std::size_t bytes) {
  if (out_end_ + bytes <= out_.size()) return;
  std::memmove(out_.data(), out_.data() + out_begin_, out_end_ - out_begin_);
  out_end_ -= out_begin_;
  out_begin_ = 0;
  if (out_end_ + bytes > out_.size()) out_.resize(out_end_ + bytes);
}

void Connection::append(std::string_view bytes) {
  reserve(bytes.size());
  std::memcpy(out_.data() + out_end_, bytes.data(), bytes.size());
  out_end_ += bytes.size();
}

bool Connection::can_queue() const {
  return state_ == State::kRunning && sending_ &&
         in_flight_ < static_cast<std::uint32_t>(options_.depth) &&
         ring_[next_seq_ & ring_mask_].seq_plus_one == 0;
}

void Connection::queue_notify(std::uint64_t time) {
  reserve(notify_.max_frame_size());
  const std::uint64_t seq = next_seq_++;
  // The request number is unique per run: connection index in the top bits.
  const std::uint64_t request = (static_cast<std::uint64_t>(index_) << 40) | seq;
  out_end_ += notify_.write(out_.data() + out_end_, stream_id_of(seq), kFrameId, request);
  Slot& slot = ring_[seq & ring_mask_];
  slot.seq_plus_one = seq + 1;
  slot.time = time;
  ++in_flight_;
  ++counters_.sent;
}

void Connection::refill() {
  if (!can_queue()) return;
  const std::uint64_t now = now_ns();
  while (can_queue()) queue_notify(now);
}

void Connection::pump(std::uint64_t now) {
  if (interval_ns_ <= 0 || state_ != State::kRunning || !sending_ || now < schedule_start_) return;
  // Frames due by now: 0, 1, ... floor((now - start) / interval).
  const auto due = static_cast<std::uint64_t>(
                       std::floor(static_cast<double>(now - schedule_start_) / interval_ns_)) +
                   1;
  bool queued = false;
  while (next_seq_ < due && can_queue()) {
    const std::uint64_t scheduled =
        schedule_start_ + static_cast<std::uint64_t>(static_cast<double>(next_seq_) * interval_ns_);
    if (time_.measuring(now)) counters_.send_lag.record(now - scheduled);
    queue_notify(scheduled);
    queued = true;
  }
  if (queued) flush();
}

std::uint64_t Connection::next_due() const {
  if (interval_ns_ <= 0 || state_ != State::kRunning || !sending_ || !can_queue()) {
    return UINT64_MAX;
  }
  return schedule_start_ +
         static_cast<std::uint64_t>(static_cast<double>(next_seq_) * interval_ns_);
}

void Connection::want_write(bool on) {
  if (on == writing_ || fd_ < 0) return;
  epoll_event ev{};
  ev.events = on ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
  ev.data.ptr = this;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd_, &ev);
  writing_ = on;
}

void Connection::flush() {
  while (out_begin_ < out_end_ && fd_ >= 0) {
    const ssize_t n = ::write(fd_, out_.data() + out_begin_, out_end_ - out_begin_);
    if (n > 0) {
      out_begin_ += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      want_write(true);
      return;
    }
    if (state_ != State::kDisconnecting) {
      ++counters_.disconnects;
      fail("write", std::strerror(errno));
    }
    close_now();
    return;
  }
  out_begin_ = out_end_ = 0;
  want_write(false);
}

void Connection::on_writable() { flush(); }

void Connection::on_readable() {
  if (fd_ < 0) return;
  for (;;) {
    const std::size_t space = in_.size() - in_len_;
    const ssize_t n = ::read(fd_, in_.data() + in_len_, space);
    if (n > 0) {
      read_time_ = now_ns();
      in_len_ += static_cast<std::size_t>(n);
      parse_input();
      if (fd_ < 0) return;
      // A short read drained the socket; a full one may have left more behind.
      if (static_cast<std::size_t>(n) < space) break;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    // EOF or reset.
    if (state_ != State::kDisconnecting) {
      ++counters_.disconnects;
      fail(n == 0 ? "agent closed the connection" : "read", n == 0 ? "" : std::strerror(errno));
    }
    close_now();
    return;
  }
  // Freed slots: refill them (closed loop) or send the frames that were held
  // back by the depth (open loop), in the same write.
  if (interval_ns_ <= 0) {
    refill();
  } else {
    pump(now_ns());
  }
  flush();
}

void Connection::parse_input() {
  std::size_t used = 0;
  while (fd_ >= 0 && state_ != State::kClosed) {
    const std::string_view rest(in_.data() + used, in_len_ - used);
    // The agent must respect the size we announced (or the smaller agreed one).
    const std::uint32_t limit =
        agreed_max_frame_size_ ? agreed_max_frame_size_ : options_.max_frame_size;
    const spop::FrameScan scan = spop::scan_frame(rest, limit);
    if (scan.kind == spop::FrameScan::Kind::kNeedMore) break;
    if (scan.kind == spop::FrameScan::Kind::kError) {
      fail(scan.error == spop::Status::kTooBig ? "agent frame over max-frame-size"
                                               : "agent sent a zero-length frame");
      close_now();
      return;
    }
    used += scan.consumed;
    on_frame(scan.body);
  }
  if (used > 0) {
    std::memmove(in_.data(), in_.data() + used, in_len_ - used);
    in_len_ -= used;
  }
}

void Connection::on_frame(std::string_view body) {
  spop::Frame frame;
  if (spop::decode_frame(body, frame) != spop::Status::kNormal) {
    fail("malformed frame header from the agent");
    close_now();
    return;
  }
  if (frame.type == spop::FrameType::kAgentDisconnect) {
    spop::Disconnect disconnect;
    spop::decode_disconnect(frame.payload, disconnect);
    if (state_ == State::kDisconnecting && disconnect.status_code == 0) {
      close_now();
      return;
    }
    ++counters_.disconnects;
    fail("AGENT-DISCONNECT", "status " + std::to_string(disconnect.status_code) + " \"" +
                                 std::string(disconnect.message) + "\"");
    close_now();
    return;
  }
  if ((frame.flags & spop::kFlagFin) == 0 || (frame.flags & spop::kFlagAbort) != 0) {
    fail("agent frame without FIN or with ABORT");
    return;
  }
  switch (state_) {
    case State::kHello:
      if (frame.type != spop::FrameType::kAgentHello) {
        fail("expected AGENT-HELLO", "got frame type " + std::to_string(int(frame.type)));
        close_now();
        return;
      }
      on_agent_hello(frame);
      return;
    case State::kRunning:
    case State::kDisconnecting:
      if (frame.type != spop::FrameType::kAck) {
        fail("expected ACK", "got frame type " + std::to_string(int(frame.type)));
        return;
      }
      on_ack(frame, read_time_);
      return;
    case State::kClosed:
      return;
  }
}

void Connection::on_agent_hello(const spop::Frame& frame) {
  spop::KvListReader reader(frame.payload);
  spop::KeyValue kv;
  std::string_view version;
  std::string_view capabilities;
  std::uint64_t max_frame_size = 0;
  bool have_max = false;
  while (reader.next(kv)) {
    if (kv.key == "version") {
      version = kv.value.as_text().value_or("");
    } else if (kv.key == "max-frame-size") {
      if (auto v = kv.value.as_uint()) {
        max_frame_size = *v;
        have_max = true;
      }
    } else if (kv.key == "capabilities") {
      capabilities = kv.value.as_text().value_or("");
    }
  }
  if (reader.failed()) {
    fail("malformed AGENT-HELLO");
    close_now();
    return;
  }
  if (version != spop::kSpopVersion) {
    std::string quoted(1, '"');
    quoted.append(version).push_back('"');
    fail("AGENT-HELLO version", quoted);
    close_now();
    return;
  }
  if (!have_max || max_frame_size < spop::kMinFrameSize ||
      max_frame_size > options_.max_frame_size) {
    fail("AGENT-HELLO max-frame-size missing or out of [256, ours]",
         std::to_string(max_frame_size));
    close_now();
    return;
  }
  agreed_max_frame_size_ = static_cast<std::uint32_t>(max_frame_size);
  if (notify_.max_body_size() > agreed_max_frame_size_) {
    fail("the agreed max-frame-size is too small for the NOTIFY frame",
         std::to_string(agreed_max_frame_size_));
    close_now();
    return;
  }
  if (capabilities.find("async") != std::string_view::npos ||
      capabilities.find("fragmentation") != std::string_view::npos) {
    fail("AGENT-HELLO announces capabilities HAProxy 3.x would not use", std::string(capabilities));
  }
  state_ = State::kRunning;
  if (interval_ns_ <= 0) {
    refill();
  } else {
    pump(now_ns());
  }
}

void Connection::on_ack(const spop::Frame& frame, std::uint64_t now) {
  const std::uint64_t sid = frame.stream_id;
  if ((sid & 1) == 0 || frame.frame_id != kFrameId) {
    fail("ACK with ids never sent",
         "stream " + std::to_string(sid) + " frame " + std::to_string(frame.frame_id));
    return;
  }
  const std::uint64_t seq = (sid - 1) / 2;
  Slot& slot = ring_[seq & ring_mask_];
  if (seq >= next_seq_ || slot.seq_plus_one != seq + 1) {
    fail("ACK for a frame not in flight",
         "stream " + std::to_string(sid) + " frame " + std::to_string(frame.frame_id));
    return;
  }
  slot.seq_plus_one = 0;
  --in_flight_;
  if (spop::decode_actions(frame.payload, actions_) != spop::Status::kNormal) {
    fail("malformed ACK actions");
    return;
  }
  if (actions_.empty()) {
    fail("ACK without any action");
    return;
  }
  ++counters_.acked;
  if (time_.measuring(now)) {
    ++counters_.measured;
    counters_.latency.record(now > slot.time ? now - slot.time : 0);
  }
}

void Connection::wind_down(std::uint64_t now) {
  if (state_ == State::kClosed) return;
  sending_ = false;
  if (state_ == State::kHello) {
    fail("no AGENT-HELLO before the end of the run");
    close_now();
    return;
  }
  if (state_ == State::kRunning && (in_flight_ == 0 || now >= time_.drain_to)) {
    if (in_flight_ > 0) {
      counters_.unanswered += in_flight_;
      fail("frames never answered", std::to_string(in_flight_));
      counters_.errors += in_flight_ - 1;
    }
    std::string bye;
    spop::encode_disconnect(bye, spop::Status::kNormal, "spop-load done",
                            spop::FrameType::kHaproxyDisconnect);
    append(bye);
    state_ = State::kDisconnecting;
    flush();
    return;
  }
  if (state_ == State::kDisconnecting && now >= time_.drain_to + 1'000'000'000u) {
    // The agent should answer HAPROXY-DISCONNECT; a reset is also normal on 3.x.
    close_now();
  }
}

}  // namespace keymux::bench
