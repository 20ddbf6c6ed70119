#include "agent/router/rate_window.h"

#include <algorithm>
#include <iterator>

namespace keymux::router {

WindowMeter::WindowMeter(Duration span)
    : width_(std::max(Duration(1), span / static_cast<std::int64_t>(kBuckets))) {}

std::int64_t WindowMeter::bucket_of(Time t) const {
  const Duration since = t.time_since_epoch();
  // Floor division: times before the epoch (never in practice) stay ordered.
  std::int64_t n = since / width_;
  if (since < Duration::zero() && since % width_ != Duration::zero()) --n;
  return n;
}

void WindowMeter::add(Time now, std::uint64_t amount) {
  const std::int64_t bucket = bucket_of(now);
  const auto i = static_cast<std::size_t>(bucket % static_cast<std::int64_t>(kBuckets));
  if (bucket_[i] != bucket) {
    bucket_[i] = bucket;
    amount_[i] = 0;
  }
  amount_[i] += amount;
}

void WindowMeter::remove(Time at, std::uint64_t amount) {
  const std::int64_t bucket = bucket_of(at);
  const auto i = static_cast<std::size_t>(bucket % static_cast<std::int64_t>(kBuckets));
  if (bucket_[i] == bucket) amount_[i] -= std::min(amount_[i], amount);
}

std::uint64_t WindowMeter::sum(Time now) const {
  const std::int64_t newest = bucket_of(now);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    if (bucket_[i] > newest - static_cast<std::int64_t>(kBuckets) && bucket_[i] <= newest) {
      total += amount_[i];
    }
  }
  return total;
}

RequestWindow::RequestWindow(std::uint32_t limit, Duration span) : limit_(limit), span_(span) {}

void RequestWindow::set_limit(std::uint32_t limit) {
  if (limit == limit_) return;
  // Keep the newest admissions, oldest first, so a smaller limit still counts
  // what was already sent in the window.
  std::vector<Time> kept;
  const std::size_t n = ring_.size();
  const std::size_t keep = std::min<std::size_t>(n, limit);
  kept.reserve(keep);
  for (std::size_t i = n - keep; i < n; ++i) kept.push_back(ring_[(next_ + i) % n]);
  ring_ = std::move(kept);
  next_ = 0;
  limit_ = limit;
}

void RequestWindow::set_span(Duration span) {
  if (span == span_) return;
  span_ = span;
  meter_.reset();
}

std::uint32_t RequestWindow::used(Time now) const {
  if (limit_ == 0) return meter_ ? static_cast<std::uint32_t>(meter_->sum(now)) : 0;
  const Time horizon = now - span_;
  return static_cast<std::uint32_t>(
      std::count_if(ring_.begin(), ring_.end(), [&](Time t) { return t > horizon; }));
}

bool RequestWindow::has_room(Time now) const {
  if (limit_ == 0 || ring_.size() < limit_) return true;
  // The oldest of the last `limit` admissions has left the window.
  return ring_[next_] <= now - span_;
}

void RequestWindow::admit(Time now) {
  if (limit_ == 0) {  // nothing to enforce: counted only to be shown
    if (!meter_) meter_ = std::make_unique<WindowMeter>(span_);
    meter_->add(now, 1);
    return;
  }
  if (ring_.size() < limit_) {
    ring_.push_back(now);
    return;
  }
  ring_[next_] = now;
  next_ = (next_ + 1) % limit_;
}

void RequestWindow::cancel(Time at) {
  if (limit_ == 0) {
    if (meter_) meter_->remove(at, 1);
    return;
  }
  if (ring_.empty()) return;
  const std::size_t n = ring_.size();
  // The newest admission at `at`, searched newest first (almost always the newest).
  std::size_t found = n;
  for (std::size_t age = 0; age < n; ++age) {
    const std::size_t i = (next_ + n - 1 - age) % n;
    if (ring_[i] == at) {
      found = i;
      break;
    }
  }
  if (found == n) return;
  if (n < limit_) {  // not full yet: oldest first from index 0
    ring_.erase(ring_.begin() + static_cast<std::ptrdiff_t>(found));
    return;
  }
  // Full: move the newer admissions back one place; the freed newest place
  // becomes the oldest, holding a time long expired.
  const std::size_t newest = (next_ + n - 1) % n;
  for (std::size_t i = found; i != newest; i = (i + 1) % n) ring_[i] = ring_[(i + 1) % n];
  ring_[newest] = Time{};
  next_ = newest;
}

Time RequestWindow::next_room(Time now) const {
  if (has_room(now)) return now;
  return ring_[next_] + span_;
}

TokenWindow::TokenWindow(std::uint64_t limit, Duration span) : limit_(limit), span_(span) {}

void TokenWindow::set_limit(std::uint64_t limit) { limit_ = limit; }

void TokenWindow::set_span(Duration span) {
  if (span == span_) return;
  span_ = span;
  meter_.reset();
}

void TokenWindow::expire(Time now) {
  const Time horizon = now - span_;
  while (!entries_.empty() && entries_.front().first <= horizon) {
    sum_ -= entries_.front().second;
    entries_.pop_front();
  }
}

std::uint64_t TokenWindow::used(Time now) {
  if (limit_ == 0) return meter_ ? meter_->sum(now) : 0;
  expire(now);
  return sum_;
}

// It fits an empty window instead of being refused forever.
std::uint64_t TokenWindow::charge(std::uint64_t tokens) const { return std::min(tokens, limit_); }

bool TokenWindow::has_room(Time now, std::uint64_t tokens) {
  if (limit_ == 0) return true;
  expire(now);
  return sum_ <= limit_ - charge(tokens);
}

void TokenWindow::admit(Time now, std::uint64_t tokens) {
  if (limit_ == 0) {  // nothing to enforce: counted only to be shown
    if (!meter_) meter_ = std::make_unique<WindowMeter>(span_);
    meter_->add(now, tokens);
    return;
  }
  const std::uint64_t charged = charge(tokens);
  if (charged == 0) return;
  expire(now);
  if (!entries_.empty() && entries_.back().first == now) {
    entries_.back().second += charged;
  } else {
    entries_.emplace_back(now, charged);
  }
  sum_ += charged;
}

void TokenWindow::cancel(Time at, std::uint64_t tokens) {
  if (limit_ == 0) {
    if (meter_) meter_->remove(at, tokens);
    return;
  }
  const std::uint64_t charged = charge(tokens);
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    if (it->first != at) continue;
    const std::uint64_t taken = std::min(charged, it->second);
    it->second -= taken;
    sum_ -= taken;
    return;
  }
}

void TokenWindow::settle(Time at, std::uint64_t estimated, std::uint64_t actual) {
  if (limit_ == 0) {
    if (actual < estimated) {
      if (meter_) meter_->remove(at, estimated - actual);
    } else if (actual > estimated) {
      if (!meter_) meter_ = std::make_unique<WindowMeter>(span_);
      meter_->add(at, actual - estimated);
    }
    return;
  }
  const std::uint64_t was = charge(estimated);
  const std::uint64_t is = charge(actual);
  if (is < was) {
    cancel(at, was - is);
    return;
  }
  if (is == was) return;
  // Newest first: the entry at `at` is almost always among the last.
  auto it = entries_.end();
  while (it != entries_.begin() && std::prev(it)->first > at) --it;
  if (it != entries_.begin() && std::prev(it)->first == at) {
    std::prev(it)->second += is - was;
  } else {
    entries_.insert(it, {at, is - was});
  }
  sum_ += is - was;
}

Time TokenWindow::next_room(Time now, std::uint64_t tokens) {
  if (has_room(now, tokens)) return now;
  // Walk the oldest entries until enough would have left.
  const std::uint64_t need = charge(tokens);
  std::uint64_t remaining = sum_;
  for (const auto& [time, amount] : entries_) {
    remaining -= amount;
    if (remaining <= limit_ - need) return time + span_;
  }
  return now;  // unreachable: an empty window always has room
}

void configure_windows(const WindowLimits& limits, RequestWindow& requests, TokenWindow& tokens) {
  requests.set_limit(limits.rpm);
  tokens.set_limit(limits.tpm);
  requests.set_span(limits.span);
  tokens.set_span(limits.span);
}

Time next_room(Time now, const RequestWindow& requests, TokenWindow& tokens,
               std::uint64_t request_tokens, std::uint32_t in_flight, std::uint32_t max_in_flight) {
  Time until = now;
  if (max_in_flight != 0 && in_flight >= max_in_flight) until = now + kInFlightGuess;
  if (!requests.has_room(now)) until = std::max(until, requests.next_room(now));
  if (!tokens.has_room(now, request_tokens)) {
    until = std::max(until, tokens.next_room(now, request_tokens));
  }
  return until;
}

}  // namespace keymux::router
