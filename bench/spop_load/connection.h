// One SPOP connection driven as HAProxy 3.x drives it: HAPROXY-HELLO, wait for
// AGENT-HELLO, then NOTIFY frames with per-connection odd stream ids (1, 3,
// 5, ...) and frame-id 1, at most `depth` in flight, each ACK matched back to
// its frame by ids. Non-blocking; the owning Worker's epoll loop calls in.
//
// Batching: a read parses every whole frame it brought, the freed slots are
// refilled (closed loop) or the due frames queued (open loop), then one write.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "agent/spop/ack.h"
#include "agent/spop/frame.h"
#include "bench/spop_load/clock.h"
#include "bench/spop_load/counters.h"
#include "bench/spop_load/notify_template.h"
#include "bench/spop_load/options.h"

namespace keymux::bench {

class Connection {
 public:
  enum class State { kHello, kRunning, kDisconnecting, kClosed };

  // `rate`: this connection's share of --rate (0: closed loop); `phase` in
  // [0, 1) staggers its schedule against the other connections'.
  Connection(int index, const Options& options, const NotifyTemplate& notify, const Timeline& time,
             double rate, double phase, Counters& counters);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Connects, registers with `epoll_fd` and sends HAPROXY-HELLO. False: closed, error printed.
  bool open(int epoll_fd);

  // epoll said readable / writable.
  void on_readable();
  void on_writable();
  // Open loop: queues the frames whose time has come and writes them.
  void pump(std::uint64_t now);
  // Open loop: when the next frame is due (UINT64_MAX if none can be sent).
  std::uint64_t next_due() const;

  // After the measured time: no new frames; HAPROXY-DISCONNECT once nothing is
  // in flight. Called by the worker at every turn once the run is over.
  void wind_down(std::uint64_t now);

  State state() const { return state_; }
  std::uint32_t in_flight() const { return in_flight_; }

 private:
  struct Slot {
    std::uint64_t seq_plus_one = 0;  // 0: free
    std::uint64_t time = 0;          // send time (closed loop) or scheduled time (open loop)
  };

  void fail(const char* what, const std::string& detail = {});
  void close_now();
  // Parses every whole frame in the input buffer.
  void parse_input();
  void on_frame(std::string_view body);
  void on_agent_hello(const spop::Frame& frame);
  void on_ack(const spop::Frame& frame, std::uint64_t now);
  // Queues the next NOTIFY, its latency counted from `time`.
  void queue_notify(std::uint64_t time);
  bool can_queue() const;
  // Closed loop: refill every free slot.
  void refill();
  void flush();
  void want_write(bool on);
  // Makes room for `bytes` more at out_end_.
  void reserve(std::size_t bytes);
  void append(std::string_view bytes);

  const int index_;
  const Options& options_;
  const NotifyTemplate& notify_;
  const Timeline& time_;
  Counters& counters_;
  const double interval_ns_;  // open loop: ns between frames; 0: closed loop
  std::uint64_t schedule_start_ = 0;

  int fd_ = -1;
  int epoll_fd_ = -1;
  bool writing_ = false;  // EPOLLOUT registered
  State state_ = State::kHello;
  bool sending_ = true;  // false once the measured time is over
  std::uint32_t agreed_max_frame_size_ = 0;
  int reported_ = 0;  // error messages printed for this connection

  std::vector<Slot> ring_;  // indexed by seq & ring_mask_
  std::uint64_t ring_mask_ = 0;
  std::uint64_t next_seq_ = 0;
  std::uint32_t in_flight_ = 0;

  std::vector<char> out_;
  std::size_t out_begin_ = 0;
  std::size_t out_end_ = 0;
  std::vector<char> in_;
  std::size_t in_len_ = 0;
  std::uint64_t read_time_ = 0;  // when the bytes being parsed arrived
  std::vector<spop::Action> actions_;
};

}  // namespace keymux::bench
