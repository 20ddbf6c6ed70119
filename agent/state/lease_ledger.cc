#include "agent/state/lease_ledger.h"

#include <algorithm>
#include <cmath>

namespace keymux::state {

LeaseLedger::LeaseLedger(std::uint32_t rpm, std::uint64_t tpm, LeasePolicy policy, Duration window)
    : rpm_(rpm), tpm_(tpm), window_(window), policy_(policy) {}

void LeaseLedger::set_limits(std::uint32_t rpm, std::uint64_t tpm, Duration window) {
  rpm_ = rpm;
  tpm_ = tpm;
  window_ = window;
}

std::uint32_t LeaseLedger::request_cap() const {
  return std::max<std::uint32_t>(
      1, static_cast<std::uint32_t>(std::floor(rpm_ * policy_.max_fraction)));
}

std::uint64_t LeaseLedger::token_cap() const {
  return std::max<std::uint64_t>(
      1, static_cast<std::uint64_t>(std::floor(static_cast<double>(tpm_) * policy_.max_fraction)));
}

void LeaseLedger::close(Slice& s) {
  returns_.push_back({s.id, s.requests_left, s.tokens_left, s.last_spend - s.asked_at});
  s.requests_granted -= s.requests_left;
  s.tokens_granted -= s.tokens_left;
  s.requests_left = 0;
  s.tokens_left = 0;
  s.closed = true;
}

bool LeaseLedger::spent_out(const Slice& s) const {
  return (rpm_ != 0 && s.requests_left == 0) || (tpm_ != 0 && s.tokens_left == 0);
}

void LeaseLedger::expire(Time now) {
  while (!slices_.empty() && slices_.front().deadline <= now) {
    if (!slices_.front().closed) close(slices_.front());
    slices_.pop_front();
  }
}

LeaseLedger::Slice* LeaseLedger::open_slice(Time now, std::uint64_t id) {
  for (Slice& s : slices_) {
    if (s.id == id && !s.closed && s.deadline > now) return &s;
  }
  return nullptr;
}

void LeaseLedger::roll_periods(Time now) {
  if (now >= period_start_ + policy_.lifetime) {
    const bool adjacent = now < period_start_ + 2 * policy_.lifetime;
    requests_last_period_ = adjacent ? requests_this_period_ : 0;
    tokens_last_period_ = adjacent ? tokens_this_period_ : 0;
    largest_last_period_ = adjacent ? largest_this_period_ : 0;
    requests_this_period_ = 0;
    tokens_this_period_ = 0;
    largest_this_period_ = 0;
    period_start_ = now;
  }
}

void LeaseLedger::note_spend(Time now, std::uint64_t tokens) {
  roll_periods(now);
  ++requests_this_period_;
  tokens_this_period_ += tokens;
  largest_this_period_ = std::max(largest_this_period_, tokens);
}

std::optional<LeaseReceipt> LeaseLedger::spend(Time now, std::uint64_t tokens) {
  // A request bigger than the whole token limit counts as the limit (as the
  // local TokenWindow charges it).
  const std::uint64_t charged = tpm_ != 0 ? std::min(tokens, tpm_) : 0;
  if (rpm_ == 0 && tpm_ == 0) return LeaseReceipt{0, 0};  // nothing shared to spend
  expire(now);
  for (Slice& s : slices_) {
    if (s.closed) continue;
    if ((rpm_ != 0 && s.requests_left == 0) || (tpm_ != 0 && s.tokens_left < charged)) {
      // Too small for this request: closed now rather than at its lifetime's
      // end, so that Redis counts it only as long as it was spent (its units
      // go back; a later, smaller request takes a fresh slice).
      close(s);
      continue;
    }
    if (rpm_ != 0) --s.requests_left;
    s.tokens_left -= charged;
    // Workers take `now` before they wait for the lock: never move it back
    // (a later spend with an older time would cut an earlier one's count).
    s.last_spend = std::max(s.last_spend, now);
    note_spend(now, charged);
    if (spent_out(s)) close(s);  // Redis learns at the next tick
    return LeaseReceipt{s.id, charged};
  }
  demand_ = true;  // refused: worth a slice at the next want()
  waiting_tokens_ = std::max(waiting_tokens_, charged);
  return std::nullopt;
}

void LeaseLedger::settle(Time now, const LeaseReceipt& receipt, std::uint64_t actual_tokens) {
  if (tpm_ == 0 || receipt.id == 0) return;
  const std::uint64_t actual = std::min(actual_tokens, tpm_);
  if (actual < receipt.tokens) {
    const std::uint64_t surplus = receipt.tokens - actual;
    if (Slice* s = open_slice(now, receipt.id)) {
      s->tokens_left += surplus;
    } else {
      returns_.push_back({receipt.id, 0, surplus, std::nullopt});  // shrinks the grant only
    }
    return;
  }
  std::uint64_t excess = actual - receipt.tokens;
  for (Slice& s : slices_) {
    if (excess == 0) break;
    if (s.closed || s.deadline <= now || s.tokens_left == 0) continue;
    // Counted as a spend now: the slice's grant then counts at least a window
    // from now, as a charge would (the tokens went out before now).
    const std::uint64_t taken = std::min(excess, s.tokens_left);
    s.tokens_left -= taken;
    s.last_spend = std::max(s.last_spend, now);
    excess -= taken;
    if (spent_out(s)) close(s);
  }
  if (excess != 0) {
    returns_.push_back({0, 0, excess, std::nullopt});  // a charge: Redis records it as spent
  }
}

std::optional<LeaseAsk> LeaseLedger::want(Time now) {
  if (asking_ || (rpm_ == 0 && tpm_ == 0)) return std::nullopt;
  roll_periods(now);
  expire(now);
  // How long a slice should last at the recent rate: two lifetimes (one ask
  // a lifetime suffices), but no more than a small share of the window: a
  // closed slice counts for the window plus its spend duration, so at
  // saturation that duration is the share of the limit lost. In lifetimes:
  const double horizon =
      std::min(2.0, static_cast<double>(window_.count()) * policy_.max_window_share /
                        static_cast<double>(policy_.lifetime.count()));
  const double lead = std::min(horizon, static_cast<double>(policy_.refill_lead.count()) /
                                            static_cast<double>(policy_.lifetime.count()));
  const std::uint32_t recent_requests = std::max(requests_this_period_, requests_last_period_);
  const std::uint64_t recent_tokens = std::max(tokens_this_period_, tokens_last_period_);
  const std::uint64_t recent_largest = std::max(largest_this_period_, largest_last_period_);
  const std::uint32_t req_left = requests_left(now);
  const std::uint64_t tok_left = tokens_left(now);
  const bool low_requests =
      rpm_ != 0 && (req_left == 0 || req_left < static_cast<double>(recent_requests) * lead);
  const bool low_tokens = tpm_ != 0 && (tok_left == 0 || tok_left < recent_tokens * lead);
  // A refused spend is worth an ask even with units left: what is left may be
  // too small for it (a request bigger than any slice).
  if (!low_requests && !low_tokens && !demand_) return std::nullopt;
  if (!demand_ && policy_.ask_on_demand_when_slow && recent_requests * horizon < 1.0) {
    return std::nullopt;
  }
  // An idle key parks nothing: no slice until a request wants one (the router
  // takes another key meanwhile), then slices follow the rate.
  if (recent_requests == 0 && !demand_) return std::nullopt;
  LeaseAsk ask;
  // Enough for the horizon at the recent rate, within the cap.
  if (rpm_ != 0) {
    ask.requests = std::clamp<std::uint32_t>(
        static_cast<std::uint32_t>(std::ceil(recent_requests * horizon)), 1, request_cap());
  }
  if (tpm_ != 0) {
    // The slice covers the request that asked for it (at most the limit,
    // spend() charges no more), however small the cap, and the largest
    // recent one (a slice too small for the next request closes unused).
    ask.min_tokens = waiting_tokens_;
    ask.tokens = std::max(
        {waiting_tokens_, std::min(recent_largest, token_cap()),
         std::clamp<std::uint64_t>(
             static_cast<std::uint64_t>(std::ceil(static_cast<double>(recent_tokens) * horizon)),
             std::max<std::uint64_t>(1, token_cap() / 4), token_cap())});
  }
  asking_ = true;
  return ask;
}

void LeaseLedger::granted(Time asked_at, std::uint64_t id, std::uint32_t requests,
                          std::uint64_t tokens) {
  asking_ = false;
  if (requests == 0 && tokens == 0) return;
  demand_ = false;
  waiting_tokens_ = 0;
  slices_.push_back(
      {id, asked_at, asked_at + policy_.lifetime, requests, tokens, requests, tokens, asked_at});
}

std::vector<LeaseReturn> LeaseLedger::take_returns(Time now) {
  expire(now);
  std::vector<LeaseReturn> out;
  out.swap(returns_);
  return out;
}

std::vector<LeaseReplay> LeaseLedger::replay(Time now) const {
  std::vector<LeaseReplay> out;
  for (const Slice& s : slices_) {
    if (s.deadline > now) {
      out.push_back({s.id, now - s.asked_at,
                     s.closed ? s.last_spend - s.asked_at : policy_.lifetime, s.requests_granted,
                     s.tokens_granted});
    }
  }
  return out;
}

template <typename T>
T LeaseLedger::sum_live(Time now, T Slice::*field) const {
  T n = 0;
  for (const Slice& s : slices_) n += s.deadline > now ? s.*field : 0;
  return n;
}

std::uint32_t LeaseLedger::requests_left(Time now) const {
  return sum_live(now, &Slice::requests_left);
}
std::uint64_t LeaseLedger::tokens_left(Time now) const {
  return sum_live(now, &Slice::tokens_left);
}
std::uint32_t LeaseLedger::requests_granted(Time now) const {
  return sum_live(now, &Slice::requests_granted);
}
std::uint64_t LeaseLedger::tokens_granted(Time now) const {
  return sum_live(now, &Slice::tokens_granted);
}

}  // namespace keymux::state
