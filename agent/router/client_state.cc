#include "agent/router/client_state.h"

#include <algorithm>
#include <utility>

namespace keymux::router {
namespace {

using Days = std::chrono::duration<std::int64_t, std::ratio<86400>>;

// Time is UTC since the Unix epoch, so whole days start at 00:00 UTC.
std::int64_t day_of(Time t) { return std::chrono::floor<Days>(t).time_since_epoch().count(); }
Time start_of_day(std::int64_t day) { return Time(Days(day)); }

}  // namespace

ClientState::ClientState(std::string name) : name_(std::move(name)), requests_(0), tokens_(0) {}

void ClientState::configure(const ClientLimits& limits) {
  std::lock_guard lock(mu_);
  limits_ = limits;
  configure_windows(limits.window, requests_, tokens_);
}

std::uint64_t ClientState::daily_charge_locked(std::uint64_t tokens) const {
  // Within a day budget a request counts as in the token window (one bigger
  // than the whole budget counts as the budget); with none, as it is.
  return limits_.tokens_per_day != 0 ? std::min(tokens, limits_.tokens_per_day) : tokens;
}

void ClientState::roll_day_locked(Time now) {
  const std::int64_t today = day_of(now);
  // A thread still on yesterday's clock counts into today: never roll back.
  if (today > day_) {
    day_ = today;
    tokens_today_ = 0;
    requests_today_ = 0;
  }
}

ClientState::Admission ClientState::try_admit(Time now, std::uint64_t tokens) {
  std::lock_guard lock(mu_);
  roll_day_locked(now);
  const std::uint64_t daily_charge = daily_charge_locked(tokens);
  if (limits_.tokens_per_day != 0 && tokens_today_ > limits_.tokens_per_day - daily_charge) {
    return {false, start_of_day(day_ + 1), true};
  }
  const Time until =
      next_room(now, requests_, tokens_, tokens, in_flight_.load(std::memory_order_relaxed),
                limits_.window.max_in_flight);
  if (until != now) return {false, until, false};
  requests_.admit(now);
  tokens_.admit(now, tokens);
  tokens_today_ += daily_charge;
  ++requests_today_;
  in_flight_.fetch_add(1, std::memory_order_relaxed);
  return {true, now};
}

void ClientState::cancel(Time now, std::uint64_t tokens) {
  release();
  std::lock_guard lock(mu_);
  requests_.cancel(now);
  tokens_.cancel(now, tokens);
  if (day_of(now) == day_) {
    tokens_today_ -= std::min(tokens_today_, daily_charge_locked(tokens));
    if (requests_today_ > 0) --requests_today_;
  }
}

void ClientState::settle_tokens(Time at, std::uint64_t estimated, std::uint64_t actual) {
  if (actual == estimated) return;
  std::lock_guard lock(mu_);
  tokens_.settle(at, estimated, actual);
  if (day_of(at) != day_) return;  // a past day's budget is closed
  const std::uint64_t was = daily_charge_locked(estimated);
  const std::uint64_t is = daily_charge_locked(actual);
  tokens_today_ =
      is > was ? tokens_today_ + (is - was) : tokens_today_ - std::min(tokens_today_, was - is);
}

void ClientState::admit_retry() { in_flight_.fetch_add(1, std::memory_order_relaxed); }

void ClientState::release() {
  std::uint32_t current = in_flight_.load(std::memory_order_relaxed);
  while (current > 0 &&
         !in_flight_.compare_exchange_weak(current, current - 1, std::memory_order_relaxed)) {
  }
}

void ClientState::record(Outcome outcome, std::uint64_t tokens_reserved) {
  by_outcome_[static_cast<std::size_t>(outcome)].fetch_add(1, std::memory_order_relaxed);
  if (tokens_reserved != 0) {
    tokens_reserved_total_.fetch_add(tokens_reserved, std::memory_order_relaxed);
  }
}

ClientView ClientState::view(Time now) {
  ClientView v;
  v.in_flight = in_flight_.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < kOutcomeCount; ++i) {
    v.requests_by_outcome[i] = by_outcome_[i].load(std::memory_order_relaxed);
  }
  v.tokens_reserved_total = tokens_reserved_total_.load(std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  roll_day_locked(now);
  v.requests_in_window = requests_.used(now);
  v.tokens_in_window = tokens_.used(now);
  v.tokens_today = tokens_today_;
  v.requests_today = requests_today_;
  return v;
}

}  // namespace keymux::router
