// The gateway's side of the state shared through Redis (`state:`): a thread
// with its own libevent loop and a RedisLink, that keeps every key's slices
// filled ahead of need (grant), hands unused units back, beats the heartbeat
// (membership, and the ping that tells healthy from degraded), and replays
// this gateway's live grants when Redis lost its data. The SPOP workers never
// wait for it: the router only takes from the slices (SharedKeyBudget).
#pragma once

#include <event2/event.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "agent/router/router.h"
#include "agent/state/redis/redis_link.h"
#include "agent/state/shared_key_budget.h"
#include "agent/state/state_report.h"
#include "proto/keymux/config.pb.h"

namespace keymux::state {

class SharedState final : public router::KeyEventSink {
 public:
  // `state` validated, with defaults; `node` its name (state.node or the host's).
  SharedState(const config::State& state, std::string node, router::Router& router);
  ~SharedState();
  SharedState(const SharedState&) = delete;
  SharedState& operator=(const SharedState&) = delete;

  bool start(std::string& error);  // the thread; connects in the background
  void stop();

  bool healthy() const { return healthy_.load(std::memory_order_relaxed); }
  std::uint32_t live_nodes() const { return live_nodes_.load(std::memory_order_relaxed); }
  const std::string& node() const { return node_; }
  std::uint64_t mode_changes() const { return mode_changes_.load(std::memory_order_relaxed); }
  std::uint64_t replays() const { return replays_.load(std::memory_order_relaxed); }

  // The router's sink: a cooldown, an ejection, a quarantine or an operator's enable seen
  // here goes to Redis (max-merged, published) after `next` has it. Called
  // on worker threads: only queues.
  void set_next_sink(router::KeyEventSink* next) { next_sink_ = next; }
  void on_key_event(const router::KeyEvent& event) override;
  void on_provider_event(const router::ProviderEvent& event) override;
  void on_route_event(const router::RouteEvent& event) override;

  // Called on the Redis thread when a waiting request may now be served: a
  // slice landed, an ask failed (the key's local share opens) or the mode
  // changed. Set before start(); it must only wake (Server::wake_held).
  void set_on_refill(std::function<void()> on_refill) { on_refill_ = std::move(on_refill); }

  // For /readyz, /metrics and GET /v1/state.
  StateReport report(router::Time now) const;

 private:
  static void on_tick(evutil_socket_t, short, void* arg);
  static void on_beat(evutil_socket_t, short, void* arg);
  static void on_wake(evutil_socket_t, short, void* arg);
  static void on_demand(evutil_socket_t, short, void* arg);
  // A worker: a request waits for a key with no ask on its way (any thread).
  void demand();

  void tick();
  void beat();
  void attach_keys();  // budgets for the snapshot's keys; limits kept current
  // Each key's max_in_flight split among the live gateways (as last seen).
  void apply_in_flight_shares();
  void ask(SharedKeyBudget& budget, const LeaseAsk& ask, router::Time now);
  void give_back(SharedKeyBudget& budget, const LeaseReturn& r);
  // This node's own (degraded) spends, recorded in Redis as spent.
  void record_spent(SharedKeyBudget& budget, router::Time now);
  void new_epoch();  // after a (re)connect or an "epoch" answer
  void replay_all();
  void set_healthy(bool healthy, const char* why);
  std::vector<std::string> standing_call(const std::string& key_id, const char* what,
                                         const std::string& reason) const;
  // keymux_cooldown on `hash` ("cool" or "eject"): max-merged, published.
  std::vector<std::string> deadline_call(const char* hash, const std::string& key_id,
                                         router::Time until, std::string_view cause) const;
  void send_shared_changes();            // the queue, to Redis
  void on_event_message(redisReply* r);  // a published change
  void apply(const std::string& message);
  void resync();  // the whole set: after a (re)subscribe and once a second
  std::string key(const std::string& key_id, const char* part) const;

  const config::State state_;
  const std::string node_;
  router::Router& router_;
  const LeasePolicy policy_;
  const DegradedMode mode_;
  const std::string lifetime_ms_;

  event_base* base_ = nullptr;
  event* tick_ = nullptr;
  event* beat_ = nullptr;
  event* wake_ = nullptr;
  int wake_fd_ = -1;
  event* demand_ = nullptr;  // asks at once for keys requests wait for
  int demand_fd_ = -1;
  std::atomic<bool> demand_signalled_{false};  // one eventfd write until the tick runs
  std::unique_ptr<RedisLink> link_;
  std::unique_ptr<RedisLink> events_;  // SUBSCRIBE holds a connection of its own
  const std::string channel_;
  router::KeyEventSink* next_sink_ = nullptr;
  std::function<void()> on_refill_;
  void refilled() const {
    if (on_refill_) on_refill_();
  }
  std::mutex queue_mu_;
  std::vector<std::vector<std::string>> queue_;  // FCALLs waiting for the Redis thread
  int beats_ = 0;
  std::vector<std::string> members_;  // the live gateways, from the heartbeat
  std::thread thread_;

  mutable std::mutex budgets_mu_;  // the map (the budgets lock themselves)
  std::map<std::string, std::unique_ptr<SharedKeyBudget>> budgets_;
  std::shared_ptr<const router::Snapshot> attached_;
  std::string epoch_;  // empty: unknown (asks wait for it)
  bool epoch_pending_ = false;
  bool replaying_ = false;  // this gateway's replay calls not all answered yet
  int beat_failures_ = 0;
  std::atomic<bool> healthy_{false};
  // 0: Redis never answered yet (how many share a limit is unknown).
  std::atomic<std::uint32_t> live_nodes_{0};
  router::Time started_{};
  std::optional<router::Time> first_contact_;  // the first answered heartbeat
  bool members_known(router::Time now) const;
  // After Redis lost its data: no asks (the node stays degraded) until every
  // node had time to reconnect and record its own spends and grants.
  router::Time settle_until_{};
  // The live count when the last degraded spell began, and until when a
  // heartbeat's smaller count is not believed (see set_healthy()).
  std::uint32_t live_before_degraded_ = 0;
  router::Time live_floor_until_{};
  std::atomic<std::uint64_t> mode_changes_{0};
  std::atomic<std::uint64_t> replays_{0};
};

}  // namespace keymux::state
