// One node's share of one key's budget when gateways share it through Redis:
// the slices ("leases") Redis granted it, what is left of each, and what to
// ask, give back, charge or replay next. Pure: no I/O, time comes from the
// caller (tests use a fake clock).
//
// Why N gateways never exceed a limit in any window: a slice asked at local
// time A may be spent only until A + lifetime, and Redis records it at its own
// time T >= A, with its "spend end" at T + lifetime. Once the node closes the
// slice (spent out, too small for the next request, or its lifetime over) it
// tells Redis how long after A its last spend came, D by its own clock, and
// the end moves to T + D (never later). The grant counts in the key's log until
// one window after its end. Every spend of it thus falls in [T, end], so any
// window holding spends of several slices was covered by the log that Redis
// checked when it granted the latest of them. Clocks need not agree: each
// side measures its own intervals (Redis adds a margin for their rates and
// for the way from a decision to the upstream). At
// saturation a slice is spent out soon after it came, so the nodes together
// get about window / (window + D) of the limit instead of
// window / (window + lifetime).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "agent/router/clock.h"

namespace keymux::state {

using router::Duration;
using router::Time;

struct LeasePolicy {
  Duration lifetime = std::chrono::seconds(1);
  // The most one slice may take, as a fraction of the limit: an idle node
  // parks little, a busy one asks often enough.
  double max_fraction = 0.1;
  // A refill is asked while what is left would last less than this, at the
  // recent rate (so it arrives before the slice runs dry).
  Duration refill_lead = std::chrono::milliseconds(300);
  // A slice lasts at most this share of the key's window at the recent rate
  // (else two lifetimes): a closed slice counts for the window plus its spend
  // duration, so at saturation that duration is what the nodes lose of the
  // limit. Short windows mean smaller slices and more asks; at 60 s windows
  // this changes nothing.
  double max_window_share = 1.0 / 30;
  // Requests may wait for a slice (state.wait_deadline): a node that spends
  // less than one request in a slice's horizon asks only when a request
  // wants one, instead of parking a slice ahead until its next request (8
  // gateways, 90/10 traffic: seven light nodes parked an eighth of the limit).
  bool ask_on_demand_when_slow = false;
};

// What a node asks Redis for (0: that dimension has no limit).
struct LeaseAsk {
  std::uint32_t requests = 0;
  std::uint64_t tokens = 0;
  // The least worth granting: the charge of the largest request that found no
  // slice (a smaller slice could never serve it). 0: any amount helps.
  std::uint64_t min_tokens = 0;
};

// Units that go back to Redis (the grant `id` shrinks by them), or a charge
// beyond what was reserved (recorded against the key without a check).
struct LeaseReturn {
  std::uint64_t id = 0;  // the grant; 0 for a charge
  std::uint32_t requests = 0;
  std::uint64_t tokens = 0;
  // Set when the slice closes (nothing more is spent from it): how long after
  // its ask the last spend came. Redis then counts the grant only until a
  // window after that. Unset: a late surplus of a slice closed before.
  std::optional<Duration> spent;
};

// An own grant still in its lifetime, to record again after Redis lost its data.
struct LeaseReplay {
  std::uint64_t id = 0;
  Duration age{};              // since it was asked for, by this node's clock
  Duration spent{};            // its spends lie within this after the ask (lifetime: still open)
  std::uint32_t requests = 0;  // what of it was or may be spent
  std::uint64_t tokens = 0;
};

// Which slice a spend came from, to settle its tokens later.
struct LeaseReceipt {
  std::uint64_t id = 0;
  std::uint64_t tokens = 0;
};

class LeaseLedger {
 public:
  // `window`: the key's limit window (policy.limit_window), for slice sizes.
  LeaseLedger(std::uint32_t rpm, std::uint64_t tpm, LeasePolicy policy = {},
              Duration window = std::chrono::seconds(60));
  void set_limits(std::uint32_t rpm, std::uint64_t tpm, Duration window = std::chrono::seconds(60));

  // Takes one request of `tokens` from a live slice that holds them both;
  // nullopt when none does (the router picks another key).
  std::optional<LeaseReceipt> spend(Time now, std::uint64_t tokens);
  // The outcome's real token count: a surplus goes back to its slice while
  // it is open (else to Redis, shrinking the grant, never lengthening it), an
  // excess comes from any open slice (as a spend now) or else is charged to
  // Redis (counted from now).
  void settle(Time now, const LeaseReceipt& receipt, std::uint64_t actual_tokens);

  // The ask to send now, if any (one at a time): when what is left would run
  // out within refill_lead at the recent rate, or nothing is left; never for
  // a key with no recent spend and no refused one (an idle key parks nothing).
  std::optional<LeaseAsk> want(Time now);
  // Redis's answer to the ask made at `asked_at` (0 units: refused, nothing fits).
  void granted(Time asked_at, std::uint64_t id, std::uint32_t requests, std::uint64_t tokens);
  // The ask got no answer (timeout, Redis down): another may be sent.
  void ask_failed() { asking_ = false; }

  // Slices past their lifetime close and leave; the closes (unused units and
  // the spend duration), the surpluses of settled spends and the charges are
  // handed out once, to send to Redis.
  std::vector<LeaseReturn> take_returns(Time now);
  // The own grants still in their lifetime, open or closed, to record again
  // (Redis lost its data).
  std::vector<LeaseReplay> replay(Time now) const;

  std::uint32_t requests_left(Time now) const;
  std::uint64_t tokens_left(Time now) const;
  std::uint32_t requests_granted(Time now) const;  // the live slices' grants
  std::uint64_t tokens_granted(Time now) const;
  bool asking() const { return asking_; }

 private:
  struct Slice {
    std::uint64_t id;
    Time asked_at;
    Time deadline;
    std::uint32_t requests_granted;  // once closed: what was spent of it
    std::uint64_t tokens_granted;
    std::uint32_t requests_left;
    std::uint64_t tokens_left;
    Time last_spend;  // the latest spend's time, never before asked_at
    bool closed = false;
  };
  Slice* open_slice(Time now, std::uint64_t id);
  // Nothing more is spent from `s`: its unused units and its spend duration go to Redis.
  void close(Slice& s);
  bool spent_out(const Slice& s) const;
  template <typename T>
  T sum_live(Time now, T Slice::*field) const;  // over the live slices
  void expire(Time now);
  void roll_periods(Time now);
  void note_spend(Time now, std::uint64_t tokens);
  std::uint32_t request_cap() const;
  std::uint64_t token_cap() const;

  std::uint32_t rpm_;
  std::uint64_t tpm_;
  Duration window_;
  LeasePolicy policy_;
  std::deque<Slice> slices_;  // asked_at order: the first dies first
  std::vector<LeaseReturn> returns_;
  bool asking_ = false;
  bool demand_ = false;               // a spend found no slice since the last grant
  std::uint64_t waiting_tokens_ = 0;  // the largest such spend's charge
  // The recent rate: spends in the current and the previous period of `lifetime`.
  Time period_start_{};
  std::uint32_t requests_this_period_ = 0, requests_last_period_ = 0;
  std::uint64_t tokens_this_period_ = 0, tokens_last_period_ = 0;
  std::uint64_t largest_this_period_ = 0, largest_last_period_ = 0;  // one spend's charge
};

}  // namespace keymux::state
