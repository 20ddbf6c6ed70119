#include "agent/state/redis/shared_state.h"

#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <random>

#include "agent/state/redis_functions.h"

namespace keymux::state {
namespace {

constexpr timeval kTick{0, 10'000};   // refills and returns: every 10 ms
constexpr timeval kBeat{0, 333'000};  // heartbeat (and ping): 3 a second
constexpr std::int64_t kMemberTtlMs = 3000;
// Heartbeats without an answer in a row before the gateway counts as degraded.
constexpr int kBeatFailuresDegraded = 2;
constexpr int kTimeoutsDegraded = 2;
// Until Redis first answers, a node spends no local share (it does not know
// how many gateways share a limit); past this after start it takes the whole
// limit as its share (alone, as far as it can tell) so requests are served.
constexpr std::chrono::seconds kFirstContactGrace{1};
// After Redis lost its data, how long a node stays degraded (recording its
// spends, asking nothing): the nodes lost the connection at the same moment
// and retry on the same backoff, so they are back within this of each other,
// and each has recorded what it spent alone and replayed its live grants
// before anyone takes a new grant.
constexpr std::chrono::milliseconds kSettle{500};

std::chrono::milliseconds millis(const google::protobuf::Duration& d) {
  return std::chrono::milliseconds(d.seconds() * 1000 + d.nanos() / 1'000'000);
}

// Whole milliseconds, rounded up (a spend duration Redis must not cut short).
std::int64_t ceil_ms(router::Duration d) {
  return std::chrono::ceil<std::chrono::milliseconds>(d).count();
}

DegradedMode mode_of(config::Degraded d) {
  switch (d) {
    case config::OPEN:
      return DegradedMode::kOpen;
    case config::CLOSED:
      return DegradedMode::kClosed;
    default:
      return DegradedMode::kSplit;
  }
}

const char* mode_name(DegradedMode m) {
  return m == DegradedMode::kOpen ? "open" : m == DegradedMode::kClosed ? "closed" : "split";
}

std::string random_marker() {
  std::random_device rd;
  return std::to_string(rd()) + std::to_string(rd());
}

bool is_error(const redisReply* r, const char* text) {
  return r != nullptr && r->type == REDIS_REPLY_ERROR &&
         std::string_view(r->str).find(text) != std::string_view::npos;
}

}  // namespace

SharedState::SharedState(const config::State& state, std::string node, router::Router& router)
    : state_(state),
      node_(std::move(node)),
      router_(router),
      policy_{
          .lifetime = std::chrono::duration_cast<router::Duration>(millis(state.lease_lifetime())),
          .ask_on_demand_when_slow =
              state.wait_deadline().seconds() > 0 || state.wait_deadline().nanos() > 0},
      mode_(mode_of(state.degraded())),
      lifetime_ms_(std::to_string(millis(state.lease_lifetime()).count())),
      channel_(state.key_prefix() + "events") {}

SharedState::~SharedState() { stop(); }

std::string SharedState::key(const std::string& key_id, const char* part) const {
  return state_.key_prefix() + "{" + key_id + "}:" + part;
}

bool SharedState::start(std::string& error) {
  std::string address_error;
  const auto address = config::parse_redis_address(state_.redis(), address_error);
  if (!address) {
    error = "state.redis: " + address_error;
    return false;
  }
  base_ = event_base_new();
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  demand_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (base_ == nullptr || wake_fd_ < 0 || demand_fd_ < 0) {
    error = "cannot create the Redis thread's event loop";
    return false;
  }
  link_ = std::make_unique<RedisLink>(
      base_, RedisLink::Options{*address, state_.password(), std::string(redis_functions_lua()),
                                millis(state_.command_timeout()), "commands"});
  link_->on_ready([this] {
    spdlog::info("redis: connected to {} as node {}", state_.redis(), node_);
    new_epoch();
  });
  link_->on_down([this] { set_healthy(false, "connection lost"); });
  events_ = std::make_unique<RedisLink>(
      base_, RedisLink::Options{*address, state_.password(), "", millis(state_.command_timeout()),
                                "events"});
  events_->on_ready([this] {
    events_->subscribe(channel_, [this](redisReply* r) { on_event_message(r); });
    resync();  // what was published while not subscribed
  });
  tick_ = event_new(base_, -1, EV_PERSIST, on_tick, this);
  beat_ = event_new(base_, -1, EV_PERSIST, on_beat, this);
  wake_ = event_new(base_, wake_fd_, EV_READ, on_wake, this);
  demand_ = event_new(base_, demand_fd_, EV_READ | EV_PERSIST, on_demand, this);
  event_add(tick_, &kTick);
  event_add(beat_, &kBeat);
  event_add(wake_, nullptr);
  event_add(demand_, nullptr);
  started_ = router_.clock().now();
  attach_keys();
  link_->start();
  events_->start();
  thread_ = std::thread([this] { event_base_dispatch(base_); });
  return true;
}

void SharedState::stop() {
  if (thread_.joinable()) {
    const std::uint64_t one = 1;
    while (::write(wake_fd_, &one, sizeof one) < 0 && errno == EINTR) {
    }
    thread_.join();
  }
  // The keys keep pointing at their budgets (also keys a reload removed,
  // which the registry keeps): detach every one before freeing.
  {
    std::lock_guard lock(budgets_mu_);
    for (const auto& [id, budget] : budgets_) {
      router_.registry().get(id).set_shared_budget(nullptr);
    }
  }
  attached_.reset();
  link_.reset();
  events_.reset();
  for (event* e : {tick_, beat_, wake_, demand_}) {
    if (e != nullptr) event_free(e);
  }
  tick_ = beat_ = wake_ = demand_ = nullptr;
  if (base_ != nullptr) event_base_free(base_);
  base_ = nullptr;
  for (int* fd : {&wake_fd_, &demand_fd_}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
}

void SharedState::demand() {
  if (demand_signalled_.exchange(true)) return;  // the tick it asks for has not run yet
  const std::uint64_t one = 1;
  while (::write(demand_fd_, &one, sizeof one) < 0 && errno == EINTR) {
  }
}

void SharedState::on_demand(evutil_socket_t fd, short, void* arg) {
  std::uint64_t count;
  while (::read(fd, &count, sizeof count) < 0 && errno == EINTR) {
  }
  auto* self = static_cast<SharedState*>(arg);
  self->demand_signalled_.store(false);
  self->tick();  // asks what the waiting requests need now, not within 10 ms
}

void SharedState::on_wake(evutil_socket_t, short, void* arg) {
  event_base_loopbreak(static_cast<SharedState*>(arg)->base_);
}
void SharedState::on_tick(evutil_socket_t, short, void* arg) {
  static_cast<SharedState*>(arg)->tick();
}
void SharedState::on_beat(evutil_socket_t, short, void* arg) {
  static_cast<SharedState*>(arg)->beat();
}

void SharedState::attach_keys() {
  std::shared_ptr<const router::Snapshot> snap = router_.snapshot();
  if (snap == attached_) return;
  std::lock_guard lock(budgets_mu_);
  for (const router::KeyEntry& k : snap->keys()) {
    auto& budget = budgets_[k.id];
    if (!budget) {
      budget = std::make_unique<SharedKeyBudget>(k.id, policy_, mode_);
      budget->set_on_demand([this] { demand(); });
      budget->set_healthy(healthy(), live_nodes(), members_known(router_.clock().now()));
    }
    budget->set_limits(k.limits);
    k.state->set_shared_budget(budget.get());
  }
  attached_ = std::move(snap);
  apply_in_flight_shares();  // the new snapshot configured the whole limits
}

void SharedState::apply_in_flight_shares() {
  if (!attached_) return;
  for (const router::KeyEntry& k : attached_->keys()) {
    if (k.limits.max_in_flight == 0) continue;
    router::KeyLimits limits = k.limits;
    // At least one: 0 would read as "no limit" (a key with fewer slots than
    // gateways may then run one over on each).
    limits.max_in_flight =
        std::max<std::uint32_t>(1, in_flight_share(k.limits.max_in_flight, members_, node_));
    k.state->configure(limits);
  }
}

void SharedState::tick() {
  attach_keys();
  send_shared_changes();
  const router::Time now = router_.clock().now();
  if (live_nodes() == 0 && now - started_ >= kFirstContactGrace) {
    live_nodes_.store(1, std::memory_order_relaxed);
    spdlog::warn(
        "redis: not reached within {} s of start: degraded with the live nodes unknown "
        "(this node's share is a whole limit until Redis answers)",
        kFirstContactGrace.count());
    set_healthy(false, "not reached since start");
  }
  // Two commands past their deadline in a row: Redis is slow or gone; the
  // next answered heartbeat says when it is back.
  if (healthy() && link_->timeouts_in_a_row() >= kTimeoutsDegraded) {
    set_healthy(false, "commands time out");
  }
  std::lock_guard lock(budgets_mu_);
  for (auto& [id, budget] : budgets_) {
    for (const LeaseReturn& r : budget->take_returns(now)) give_back(*budget, r);
    // Before this node's next ask on the same connection (so in Redis first).
    if (link_->ready()) record_spent(*budget, now);
    // While commands time out, only the heartbeat probes: asks would pile up
    // behind a stuck Redis (each granted late, and wasted).
    if (!healthy() || epoch_.empty() || replaying_ || link_->timeouts_in_a_row() > 0) continue;
    if (const auto want = budget->want(now)) ask(*budget, *want, now);
  }
}

void SharedState::ask(SharedKeyBudget& budget, const LeaseAsk& want, router::Time asked_at) {
  const router::KeyLimits limits = budget.limits();
  const auto window_ms = std::chrono::duration_cast<std::chrono::milliseconds>(limits.span);
  link_->command(
      {"FCALL", "keymux_grant", "3", key(budget.key_id(), "g"), key(budget.key_id(), "a"),
       state_.key_prefix() + "epoch", epoch_, std::to_string(limits.rpm),
       std::to_string(limits.tpm), std::to_string(window_ms.count()), lifetime_ms_,
       std::to_string(want.requests), std::to_string(want.tokens), std::to_string(want.min_tokens)},
      [this, &budget, asked_at](redisReply* r) {
        if (is_error(r, "Function not found")) {  // FUNCTION FLUSH: Redis is fine
          link_->reload_functions();              // before the next ask, same connection
          budget.ask_answered_with_error();  // a local share would overshoot (+1 of 40 at 8 nodes)
          return;
        }
        if (r == nullptr || r->type != REDIS_REPLY_ARRAY || r->elements < 1) {
          budget.ask_failed();
          refilled();  // the key's local share may open
          return;
        }
        if (std::string_view(r->element[0]->str) == "epoch") {
          budget.ask_failed();
          if (!epoch_pending_) new_epoch();  // Redis lost its data
          return;
        }
        if (r->elements < 4) {
          budget.ask_failed();
          return;
        }
        budget.granted(asked_at, static_cast<std::uint64_t>(r->element[1]->integer),
                       static_cast<std::uint32_t>(r->element[2]->integer),
                       static_cast<std::uint64_t>(r->element[3]->integer));
        refilled();  // a held request may take it (or, refused, stop waiting)
      });
}

void SharedState::give_back(SharedKeyBudget& budget, const LeaseReturn& r) {
  if (!link_->ready()) return;  // Redis counts a little more: never less safe
  if (r.id == 0) {
    const auto window_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(budget.limits().span).count();
    link_->command({"FCALL", "keymux_charge", "3", key(budget.key_id(), "g"),
                    key(budget.key_id(), "a"), state_.key_prefix() + "epoch", epoch_,
                    std::to_string(window_ms), lifetime_ms_, std::to_string(r.tokens)},
                   [](redisReply*) {});
    return;
  }
  std::vector<std::string> args = {"FCALL",
                                   "keymux_give_back",
                                   "2",
                                   key(budget.key_id(), "g"),
                                   key(budget.key_id(), "a"),
                                   std::to_string(r.id),
                                   std::to_string(r.requests),
                                   std::to_string(r.tokens)};
  // A closed slice: Redis counts the grant only until a window after its
  // last spend. Unanswered, the grant keeps its lifetime: never less safe.
  if (r.spent) args.push_back(std::to_string(ceil_ms(*r.spent)));
  link_->command(args, [](redisReply*) {});
}

void SharedState::record_spent(SharedKeyBudget& budget, router::Time now) {
  const std::vector<SharedKeyBudget::Spent> spent = budget.take_unrecorded(now);
  if (spent.empty()) return;
  const auto window_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(budget.limits().span).count();
  std::vector<std::string> args = {"FCALL",
                                   "keymux_record",
                                   "2",
                                   key(budget.key_id(), "g"),
                                   key(budget.key_id(), "a"),
                                   std::to_string(window_ms),
                                   lifetime_ms_};
  for (const SharedKeyBudget::Spent& s : spent) {
    args.push_back(std::to_string(std::max<std::int64_t>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(s.age).count())));
    args.push_back(std::to_string(s.requests));
    args.push_back(std::to_string(s.tokens));
  }
  // Unanswered: Redis may still have it, or lost it with the rest (a degraded
  // node's spends then count only in its own window).
  link_->command(args, [](redisReply*) {});
}

void SharedState::new_epoch() {
  epoch_pending_ = true;
  link_->command({"FCALL", "keymux_epoch", "1", state_.key_prefix() + "epoch", random_marker()},
                 [this](redisReply* r) {
                   epoch_pending_ = false;
                   if (r == nullptr || r->type != REDIS_REPLY_STRING)
                     return;  // the next beat retries
                   const std::string epoch(r->str, r->len);
                   if (!epoch_.empty() && epoch != epoch_) {
                     spdlog::warn(
                         "redis: lost its data (a new epoch); replaying this node's live "
                         "grants");
                     epoch_ = epoch;
                     settle_until_ = router_.clock().now() + kSettle;
                     replay_all();
                   } else {
                     epoch_ = epoch;
                   }
                   // Healthy on the heartbeat's answer: at once, not a beat later
                   // (until then a starting node serves nothing of shared keys).
                   if (!healthy()) beat();
                 });
}

void SharedState::replay_all() {
  replays_.fetch_add(1, std::memory_order_relaxed);
  // No new ask of this gateway before its own grants are back in the log.
  replaying_ = true;
  auto outstanding = std::make_shared<int>(0);
  const router::Time now = router_.clock().now();
  std::lock_guard lock(budgets_mu_);
  for (auto& [id, budget] : budgets_) {
    const std::vector<LeaseReplay> grants = budget->replay(now);
    if (grants.empty()) continue;
    const auto window_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(budget->limits().span).count();
    std::vector<std::string> args = {"FCALL",      "keymux_replay", "2",
                                     key(id, "g"), key(id, "a"),    std::to_string(window_ms),
                                     lifetime_ms_};
    for (const LeaseReplay& g : grants) {
      args.push_back(std::to_string(g.id));
      // The age rounded down and the spend duration up: the grant's spend end
      // is placed no earlier than it is.
      args.push_back(
          std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(g.age).count()));
      args.push_back(std::to_string(ceil_ms(g.spent)));
      args.push_back(std::to_string(g.requests));
      args.push_back(std::to_string(g.tokens));
    }
    ++*outstanding;
    link_->command(args, [this, outstanding](redisReply*) {
      if (--*outstanding == 0) replaying_ = false;  // own asks may go again
    });
  }
  if (*outstanding == 0) replaying_ = false;
}

void SharedState::beat() {
  if (!link_->ready()) return;
  if (++beats_ % 3 == 0) resync();  // pub/sub may lose messages
  if (epoch_.empty() && !epoch_pending_) new_epoch();
  link_->command({"FCALL", "keymux_heartbeat", "1", state_.key_prefix() + "members", node_,
                  std::to_string(kMemberTtlMs)},
                 [this](redisReply* r) {
                   if (r == nullptr || r->type != REDIS_REPLY_ARRAY) {
                     if (is_error(r, "Function not found")) link_->reload_functions();
                     if (++beat_failures_ >= kBeatFailuresDegraded) {
                       set_healthy(false, "heartbeats unanswered");
                     }
                     return;
                   }
                   beat_failures_ = 0;
                   std::vector<std::string> members;
                   for (std::size_t i = 0; i < r->elements; ++i) {
                     members.emplace_back(r->element[i]->str, r->element[i]->len);
                   }
                   if (members != members_) {
                     members_ = std::move(members);
                     apply_in_flight_shares();
                   }
                   const router::Time now = router_.clock().now();
                   if (!first_contact_) first_contact_ = now;
                   auto live = static_cast<std::uint32_t>(std::max<std::size_t>(1, r->elements));
                   // Redis lost the membership with its data: until every node beat
                   // again, fewer members mean not yet back, not gone (a smaller count
                   // would widen every degraded share: seen after kill -9 + restart).
                   if (now < settle_until_ - kSettle + std::chrono::milliseconds(kMemberTtlMs)) {
                     live = std::max(live, live_nodes());
                   }
                   // Back from a degraded spell, a gateway still reconnecting may have
                   // missed its beats: while the shares cap the spends (a window after
                   // the recovery), it still counts (seen: CLIENT PAUSE +5 when one
                   // gateway came back 1 s late and the others' shares grew to 1/2).
                   if (now < live_floor_until_) live = std::max(live, live_before_degraded_);
                   live_nodes_.store(live, std::memory_order_relaxed);
                   const bool settling = now < settle_until_;
                   set_healthy(
                       !epoch_.empty() && !settling,
                       settling ? "settling after Redis lost its data" : "heartbeat answered");
                 });
}

bool SharedState::members_known(router::Time now) const {
  return first_contact_ && now >= *first_contact_ + std::chrono::milliseconds(kMemberTtlMs);
}

void SharedState::set_healthy(bool healthy, const char* why) {
  const bool was = healthy_.exchange(healthy, std::memory_order_relaxed);
  const router::Time now = router_.clock().now();
  {
    std::lock_guard lock(budgets_mu_);
    if (was != healthy) {
      if (!healthy) {
        live_before_degraded_ = std::max(live_before_degraded_, live_nodes());
      } else {
        // For a member TTL and the longest window after the recovery (the shares'
        // cap, SharedKeyBudget::take), the live count does not drop below it.
        router::Duration longest{};
        for (const auto& [id, budget] : budgets_)
          longest = std::max(longest, budget->limits().span);
        live_floor_until_ = now + std::chrono::milliseconds(kMemberTtlMs) + longest;
      }
      mode_changes_.fetch_add(1, std::memory_order_relaxed);
      if (healthy) {
        spdlog::info("redis: shared state healthy ({}; live nodes: {})", why, live_nodes());
      } else {
        spdlog::warn("redis: shared state degraded ({}): spending held slices, then degraded: {}",
                     why, mode_name(mode_));
      }
    }
    if (healthy && now >= live_floor_until_) live_before_degraded_ = 0;
    const bool known = members_known(now);
    for (auto& [id, budget] : budgets_) budget->set_healthy(healthy, live_nodes(), known);
  }
  if (was != healthy) refilled();  // degraded: held requests may take the local share
}

namespace {
// Set while the Redis thread applies what another gateway saw: the router
// reports it to the sink, which must not send it back.
thread_local bool applying_remote = false;

// The cause of a deadline in the "eject" hash: an outlier ejection.
constexpr std::string_view kEjectedCause = "ejected";
// The cause in the "eject_provider" hash (provider name -> deadline).
constexpr std::string_view kProviderEjectedCause = "provider_ejected";

std::int64_t wall_ms(router::Time t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
}  // namespace

std::vector<std::string> SharedState::standing_call(const std::string& key_id, const char* what,
                                                    const std::string& reason) const {
  return {"FCALL",
          "keymux_standing",
          "3",
          state_.key_prefix() + "standing",
          state_.key_prefix() + "cool",
          state_.key_prefix() + "eject",
          channel_,
          key_id,
          what,
          reason};
}

std::vector<std::string> SharedState::deadline_call(const char* hash, const std::string& key_id,
                                                    router::Time until,
                                                    std::string_view cause) const {
  return {"FCALL",
          "keymux_cooldown",
          "1",
          state_.key_prefix() + hash,
          channel_,
          key_id,
          std::to_string(wall_ms(until)),
          std::string(cause)};
}

void SharedState::on_key_event(const router::KeyEvent& event) {
  if (next_sink_ != nullptr) next_sink_->on_key_event(event);
  if (applying_remote) return;
  const router::KeyChange& change = event.change;
  const std::string id(event.key_id);
  std::vector<std::string> call;
  switch (change.kind) {
    case router::KeyChange::Kind::kCooling:
      call = deadline_call("cool", id, change.until, router::cooldown_cause_name(change.cause));
      break;
    case router::KeyChange::Kind::kEjected:
      // Same path as a cooldown (max-merged, published), in a hash of its
      // own: a key may be cooling and ejected at once.
      call = deadline_call("eject", id, change.until, kEjectedCause);
      break;
    case router::KeyChange::Kind::kQuarantined:
      call = standing_call(id, "quarantine", change.reason);
      break;
    case router::KeyChange::Kind::kRecovered:
      if (!event.by_operator) return;  // a cooldown's end is everyone's own
      call = standing_call(id, "enable", "");
      break;
    default:
      return;
  }
  std::lock_guard lock(queue_mu_);
  queue_.push_back(std::move(call));
}

void SharedState::on_provider_event(const router::ProviderEvent& event) {
  if (next_sink_ != nullptr) next_sink_->on_provider_event(event);
  if (applying_remote || event.change.kind != router::HealthChange::Kind::kEjected) return;
  auto call = deadline_call("eject_provider", std::string(event.provider), event.change.until,
                            kProviderEjectedCause);
  std::lock_guard lock(queue_mu_);
  queue_.push_back(std::move(call));
}

void SharedState::on_route_event(const router::RouteEvent& event) {
  if (next_sink_ != nullptr) next_sink_->on_route_event(event);
}

void SharedState::send_shared_changes() {
  std::vector<std::vector<std::string>> calls;
  {
    std::lock_guard lock(queue_mu_);
    calls.swap(queue_);
  }
  // Not ready: dropped here, the change still acts locally; other gateways
  // learn it from their own answers (Redis being down, they would anyway).
  for (const auto& call : calls) link_->command(call, [](redisReply*) {});
}

void SharedState::on_event_message(redisReply* r) {
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
      r->element[2]->type != REDIS_REPLY_STRING) {
    return;
  }
  if (std::string_view(r->element[0]->str) != "message") return;
  apply(std::string(r->element[2]->str, r->element[2]->len));
}

// "cool <key> <until_ms> <cause>" (cause "ejected": an ejection; "provider_ejected":
// <key> is a provider's name), "quarantine <key> <reason...>",
// "enable <key>".
void SharedState::apply(const std::string& message) {
  const std::size_t a = message.find(' ');
  if (a == std::string::npos) return;
  const std::string verb = message.substr(0, a);
  const std::size_t b = message.find(' ', a + 1);
  const std::string id =
      message.substr(a + 1, b == std::string::npos ? std::string::npos : b - a - 1);
  const std::string rest = b == std::string::npos ? "" : message.substr(b + 1);
  applying_remote = true;
  if (verb == "cool") {
    const std::size_t c = rest.find(' ');
    const std::int64_t until_ms = std::atoll(rest.substr(0, c).c_str());
    const std::string cause = c == std::string::npos ? "" : rest.substr(c + 1);
    const router::Time until{std::chrono::milliseconds(until_ms)};
    if (until > router_.clock().now() && cause == kProviderEjectedCause) {
      router_.apply_shared_provider_ejection(id, until);
    } else if (until > router_.clock().now() && cause == kEjectedCause) {
      router_.apply_shared(id, router::Router::SharedChange::kEjection, until,
                           router::CooldownCause::kNone, "");
    } else if (until > router_.clock().now()) {
      router_.apply_shared(id, router::Router::SharedChange::kCooldown, until,
                           cause == "exhausted" ? router::CooldownCause::kExhausted
                                                : router::CooldownCause::kRateLimited,
                           "");
    }
  } else if (verb == "quarantine") {
    router_.apply_shared(id, router::Router::SharedChange::kQuarantine, {},
                         router::CooldownCause::kNone, rest);
  } else if (verb == "enable") {
    router_.apply_shared(id, router::Router::SharedChange::kEnable, {},
                         router::CooldownCause::kNone, "");
  }
  applying_remote = false;
}

void SharedState::resync() {
  auto each_field = [this](const char* hash, std::function<void(std::string, std::string)> f) {
    link_->command({"HGETALL", state_.key_prefix() + hash}, [f](redisReply* r) {
      if (r == nullptr || r->type != REDIS_REPLY_ARRAY) return;
      for (std::size_t i = 0; i + 1 < r->elements; i += 2) {
        f(std::string(r->element[i]->str, r->element[i]->len),
          std::string(r->element[i + 1]->str, r->element[i + 1]->len));
      }
    });
  };
  for (const char* hash : {"cool", "eject", "eject_provider"}) {
    each_field(hash,
               [this](std::string id, std::string value) { apply("cool " + id + " " + value); });
  }
  each_field("standing", [this](std::string id, std::string reason) {
    apply("quarantine " + id + " " + reason);
  });
}

StateReport SharedState::report(router::Time now) const {
  StateReport r{node_, state_.redis(), healthy(), live_nodes(), mode_changes(), replays(), {}};
  std::lock_guard lock(budgets_mu_);
  r.keys.reserve(budgets_.size());
  for (const auto& [id, budget] : budgets_) r.keys.push_back({id, budget->view(now)});
  return r;
}

}  // namespace keymux::state
