// Exact sliding windows (not fixed minutes): a request admitted at t counts
// against every window that contains t, i.e. until t + span.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "agent/router/clock.h"

namespace keymux::router {

inline constexpr Duration kRateWindowSpan = std::chrono::seconds(60);
// The in-flight limit frees up when some request ends, which we cannot know;
// a second is a fair guess for a client's retry-after.
inline constexpr Duration kInFlightGuess = std::chrono::seconds(1);

// The limits of a windowed budget (a key's, a client's); 0 means "no limit".
// rpm and tpm count in a sliding window of `span` (policy.limit_window: 60 s
// unless tests shorten it to see many windows in seconds).
struct WindowLimits {
  std::uint32_t rpm = 0;
  std::uint64_t tpm = 0;
  std::uint32_t max_in_flight = 0;
  Duration span = kRateWindowSpan;
};

// Usage over the last window in 60 buckets of span/60 (one second for the
// default minute): for a window with no limit, which enforces nothing but is
// still shown (metrics, admin API) over the same span as the limits would be.
// Exact to a bucket, a fixed 1 KB however busy.
class WindowMeter {
 public:
  explicit WindowMeter(Duration span);
  void add(Time now, std::uint64_t amount);
  void remove(Time at, std::uint64_t amount);  // takes back an add(at, amount)
  std::uint64_t sum(Time now) const;           // what was added in the last span

 private:
  static constexpr std::size_t kBuckets = 60;
  std::int64_t bucket_of(Time t) const;
  Duration width_;
  std::array<std::int64_t, kBuckets> bucket_{};  // the bucket number each place counts
  std::array<std::uint64_t, kBuckets> amount_{};
};

// At most `limit` admissions in any window of `span`. Keeps the last `limit`
// admission times in a ring: admission is O(1) and exact.
class RequestWindow {
 public:
  RequestWindow(std::uint32_t limit, Duration span = kRateWindowSpan);
  std::uint32_t limit() const { return limit_; }  // 0: no limit (only a WindowMeter counts)
  // A reload's new limit; the newest admissions (up to the new limit) are kept.
  void set_limit(std::uint32_t limit);
  // A reload's new window length; the admissions are kept (an unlimited
  // window's meter starts again: it only shows usage).
  void set_span(Duration span);
  // Admissions in (now - span, now].
  std::uint32_t used(Time now) const;
  bool has_room(Time now) const;
  void admit(Time now);  // caller checked has_room()
  // Takes back an admission made at `at` (nothing when there is none).
  void cancel(Time at);
  // When the next admission becomes possible (now when there is room).
  Time next_room(Time now) const;

 private:
  std::uint32_t limit_;
  Duration span_;
  std::vector<Time> ring_;              // grows up to limit_
  std::size_t next_ = 0;                // oldest entry once the ring is full
  std::unique_ptr<WindowMeter> meter_;  // while limit_ is 0 (created on first use)
};

// At most `limit` tokens in any window of `span`: (time, tokens) entries with a
// running sum; expired entries leave as time passes. A request of more tokens
// than the whole limit is charged as the limit: it fits only an empty window.
class TokenWindow {
 public:
  TokenWindow(std::uint64_t limit, Duration span = kRateWindowSpan);
  std::uint64_t limit() const { return limit_; }  // 0: no limit (only a WindowMeter counts)
  void set_limit(std::uint64_t limit);            // the history is kept
  void set_span(Duration span);                   // as RequestWindow::set_span
  std::uint64_t used(Time now);
  bool has_room(Time now, std::uint64_t tokens);
  void admit(Time now, std::uint64_t tokens);  // caller checked has_room()
  // Takes back an admission of `tokens` made at `at`.
  void cancel(Time at, std::uint64_t tokens);
  // An admission of `estimated` tokens at `at` really cost `actual`: the
  // surplus leaves the window, an excess joins it, both at `at` (where the
  // provider counted the request), so the window holds real counts.
  void settle(Time at, std::uint64_t estimated, std::uint64_t actual);
  // When `tokens` more would fit (now when they do).
  Time next_room(Time now, std::uint64_t tokens);
  // What a request of `tokens` counts for: a request bigger than the whole
  // limit counts as exactly the limit.
  std::uint64_t charge(std::uint64_t tokens) const;

 private:
  void expire(Time now);
  std::uint64_t limit_;
  Duration span_;
  std::deque<std::pair<Time, std::uint64_t>> entries_;
  std::uint64_t sum_ = 0;
  std::unique_ptr<WindowMeter> meter_;  // while limit_ is 0 (created on first use)
};

// Applies a reload's rpm, tpm and window length to a budget's two windows.
void configure_windows(const WindowLimits& limits, RequestWindow& requests, TokenWindow& tokens);

// The soonest moment one more request of `tokens` fits both windows and the
// in-flight limit (0: none); now when it fits at once.
Time next_room(Time now, const RequestWindow& requests, TokenWindow& tokens,
               std::uint64_t request_tokens, std::uint32_t in_flight, std::uint32_t max_in_flight);

}  // namespace keymux::router
