#include "agent/state/shared_key_budget.h"

#include <algorithm>

namespace keymux::state {

SharedKeyBudget::SharedKeyBudget(std::string key_id, LeasePolicy policy, DegradedMode mode)
    : key_id_(std::move(key_id)), mode_(mode), ledger_(0, 0, policy) {}

void SharedKeyBudget::set_limits(const router::KeyLimits& limits) {
  std::lock_guard lock(mu_);
  limits_ = limits;
  ledger_.set_limits(limits.rpm, limits.tpm, limits.span);
  local_requests_.set_span(limits.span);
  local_tokens_.set_span(limits.span);
  configure_local_locked();
}

void SharedKeyBudget::configure_local_locked() {
  const std::uint32_t nodes = std::max<std::uint32_t>(1, live_nodes_);
  const auto rpm = degraded_limit(limits_.rpm, nodes, mode_);
  const auto tpm = degraded_limit(limits_.tpm, nodes, mode_);
  local_requests_.set_limit(static_cast<std::uint32_t>(rpm.value_or(limits_.rpm)));
  local_tokens_.set_limit(tpm.value_or(limits_.tpm));
}

router::KeyLimits SharedKeyBudget::limits() const {
  std::lock_guard lock(mu_);
  return limits_;
}

void SharedKeyBudget::set_healthy(bool healthy, std::uint32_t live_nodes, bool members_known) {
  std::lock_guard lock(mu_);
  // Back from a degraded spell: the others may have spent their shares too,
  // and Redis may not know it yet (each records its own when it is back).
  if (healthy && !healthy_ && was_healthy_) recovered_ = true;
  was_healthy_ = was_healthy_ || healthy;
  healthy_ = healthy;
  members_known_ = members_known;
  live_nodes_ = live_nodes;
  configure_local_locked();
}

std::optional<router::SharedSpend> SharedKeyBudget::take(Time now, std::uint64_t tokens) {
  std::lock_guard lock(mu_);
  if (recovered_) {
    recovered_ = false;
    capped_until_ = std::max(capped_until_, now + limits_.span);
  }
  // For a window after a degraded spell, or after this node spent from its
  // local share, its slice spends too stay within that share: grants Redis
  // makes then may not count what the nodes spent alone (their records come
  // when each is back), and the shares of any window add up to the limit.
  capped_ = now < capped_until_ &&
            (!local_requests_.has_room(now) || !local_tokens_.has_room(now, tokens));
  if (capped_) return std::nullopt;
  if (const std::optional<LeaseReceipt> receipt = ledger_.spend(now, tokens)) {
    ++taken_total_;
    // The local share counts this node's slice spends too: degraded, the node
    // spends its share of any window, not a share on top of what it spent.
    if (limits_.rpm != 0) local_requests_.admit(now);  // (an unlimited one only meters)
    if (limits_.tpm != 0) local_tokens_.admit(now, tokens);
    return router::SharedSpend{receipt->id, receipt->tokens};
  }
  // Healthy: only Redis's slices count (a refill is on its way). Degraded, or
  // the last ask unanswered (Redis stuck before the mode says so): the held
  // slices first (above), then the local share.
  if ((!healthy_ || (ask_unanswered_ && members_known_)) && take_degraded_locked(now, tokens)) {
    return router::SharedSpend{0, limits_.tpm != 0 ? std::min(tokens, limits_.tpm) : 0};
  }
  return std::nullopt;
}

void SharedKeyBudget::settle(Time now, Time taken_at, const router::SharedSpend& spend,
                             std::uint64_t actual_tokens) {
  std::lock_guard lock(mu_);
  if (limits_.tpm == 0) return;
  if (spend.slice != 0) ledger_.settle(now, {spend.slice, spend.tokens}, actual_tokens);
  // A degraded spend's excess or surplus stays local: Redis records its
  // batch as taken (take_unrecorded).
  local_tokens_.settle(taken_at, spend.tokens, actual_tokens);
}

bool SharedKeyBudget::refill_expected(Time /*now*/) {
  bool expected, nudge;
  {
    std::lock_guard lock(mu_);
    // The failed take() marked the demand: the Redis thread asks at its next
    // tick (or already did). Worth waiting for only while Redis answers and
    // the last answer was a grant: a full log or a stuck Redis would keep the
    // request until its deadline for a refusal.
    // Refused by the share's cap after a degraded spell: a slice would not
    // help (the request would wait its whole deadline for a refusal).
    expected = healthy_ && live_nodes_ != 0 && !ask_unanswered_ && !ask_refused_ && !capped_;
    nudge = expected && !ledger_.asking();
  }
  if (nudge && on_demand_) on_demand_();
  return expected;
}

bool SharedKeyBudget::take_degraded_locked(Time now, std::uint64_t tokens) {
  // A node that never heard from Redis does not know how many share the
  // limit: a whole limit each would overshoot N times (seen at start-up, +13
  // of 40 with 3 gateways). It waits for its first slice instead; SharedState
  // says 1 if Redis stays unreachable past the start-up grace.
  if (live_nodes_ == 0 || mode_ == DegradedMode::kClosed) return false;
  if (!local_requests_.has_room(now) || !local_tokens_.has_room(now, tokens)) return false;
  local_requests_.admit(now);
  local_tokens_.admit(now, tokens);
  ++taken_degraded_total_;
  capped_until_ = std::max(capped_until_, now + limits_.span);
  if (unrecorded_.empty() || now - unrecorded_.back().first >= kSpentBatch) {
    unrecorded_.push_back({now, now, 0, 0});
  }
  SpentBatch& batch = unrecorded_.back();
  batch.last = std::max(batch.last, now);
  ++batch.requests;
  batch.tokens += limits_.tpm != 0 ? std::min(tokens, limits_.tpm) : 0;
  return true;
}

std::vector<SharedKeyBudget::Spent> SharedKeyBudget::take_unrecorded(Time now) {
  std::lock_guard lock(mu_);
  std::vector<Spent> out;
  out.reserve(unrecorded_.size());
  // Aged by the batch's last spend: Redis keeps it at least as long as needed.
  for (const SpentBatch& b : unrecorded_) out.push_back({now - b.last, b.requests, b.tokens});
  unrecorded_.clear();
  return out;
}

std::optional<LeaseAsk> SharedKeyBudget::want(Time now) {
  std::lock_guard lock(mu_);
  return ledger_.want(now);
}

void SharedKeyBudget::granted(Time asked_at, std::uint64_t id, std::uint32_t requests,
                              std::uint64_t tokens) {
  std::lock_guard lock(mu_);
  ask_unanswered_ = false;
  ask_refused_ = requests == 0 && tokens == 0;
  ledger_.granted(asked_at, id, requests, tokens);
}

void SharedKeyBudget::ask_failed() {
  std::lock_guard lock(mu_);
  ask_unanswered_ = true;
  ledger_.ask_failed();
}

void SharedKeyBudget::ask_answered_with_error() {
  std::lock_guard lock(mu_);
  ledger_.ask_failed();
}

std::vector<LeaseReturn> SharedKeyBudget::take_returns(Time now) {
  std::lock_guard lock(mu_);
  return ledger_.take_returns(now);
}

std::vector<LeaseReplay> SharedKeyBudget::replay(Time now) {
  std::lock_guard lock(mu_);
  return ledger_.replay(now);
}

SharedKeyBudget::View SharedKeyBudget::view(Time now) {
  std::lock_guard lock(mu_);
  return {ledger_.requests_granted(now),
          ledger_.requests_left(now),
          ledger_.tokens_granted(now),
          ledger_.tokens_left(now),
          taken_total_,
          taken_degraded_total_};
}

}  // namespace keymux::state
