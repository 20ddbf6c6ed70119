#include "agent/router/request_memory.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <limits>

namespace keymux::router {
namespace {

// A ticket id is (generation << 28) | (slot << 4) | shard: settle finds its
// shard and slot without a search, and a reused slot never answers to an old id.
constexpr unsigned kShardBits = 4;
constexpr unsigned kSlotBits = 24;
static_assert((1u << kShardBits) == RequestMemory::kShards);
constexpr std::uint32_t kNoSlot = std::numeric_limits<std::uint32_t>::max();
constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();

std::size_t shard_of_ticket(std::uint64_t id) { return id & (RequestMemory::kShards - 1); }
std::uint32_t slot_of_ticket(std::uint64_t id) {
  return static_cast<std::uint32_t>((id >> kShardBits) & ((1u << kSlotBits) - 1));
}

std::size_t shard_of_request(std::string_view request_id) {
  return std::hash<std::string_view>{}(request_id) % RequestMemory::kShards;
}

// Requests without an id spread over the shards; per thread, so no sharing.
std::size_t next_anonymous_shard() {
  thread_local std::size_t next = 0;
  return next++ % RequestMemory::kShards;
}

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

struct TriedKey {
  const KeyState* key;
  std::uint64_t ticket;
};

struct RequestEntry {
  std::vector<TriedKey> tried;
  Time expires{};
  Time queued_expires{};  // the expiry its place in the queue was given for
};

// An open ticket sits in a doubly linked list through its slot, oldest first,
// so the next one to expire is always the head.
struct Slot {
  Ticket ticket;
  bool open = false;
  std::uint32_t prev = kNoSlot;
  std::uint32_t next = kNoSlot;
};

}  // namespace

struct RequestMemory::Shard {
  std::mutex mu;
  Duration request_ttl{};
  Duration ticket_ttl{};
  std::size_t max_requests = 1;

  using Requests = std::unordered_map<std::string, RequestEntry, StringHash, std::equal_to<>>;
  Requests requests;
  // Every remembered request id once, in the order its expiry was queued. The
  // keys point into `requests` (stable until erased, which happens only here).
  std::deque<std::pair<Time, const std::string*>> request_queue;

  std::vector<Slot> slots;
  std::vector<std::uint32_t> free_slots;
  std::uint32_t head = kNoSlot;  // oldest open ticket
  std::uint32_t tail = kNoSlot;
  std::uint64_t generation = 0;
  std::size_t open = 0;
  std::vector<Ticket> evicted;  // closed by eviction, handed out by expire()
  std::size_t index = 0;

  // The soonest moment expire() has work here, so it can pass by unlocked.
  std::atomic<std::int64_t> next_due_us{kNever};

  std::uint64_t open_ticket(KeyState& key, std::uint64_t tokens, Time now) {
    std::uint32_t slot;
    if (!free_slots.empty()) {
      slot = free_slots.back();
      free_slots.pop_back();
    } else {
      slot = static_cast<std::uint32_t>(slots.size());
      slots.emplace_back();
    }
    const std::uint64_t id =
        (++generation << (kShardBits + kSlotBits)) | (std::uint64_t{slot} << kShardBits) | index;
    Slot& s = slots[slot];
    s.ticket = {id, &key, tokens, now + ticket_ttl};
    s.open = true;
    s.prev = tail;
    s.next = kNoSlot;
    if (tail != kNoSlot) slots[tail].next = slot;
    tail = slot;
    if (head == kNoSlot) head = slot;
    ++open;
    return id;
  }

  std::optional<Ticket> close_ticket(std::uint64_t id) {
    const std::uint32_t slot = slot_of_ticket(id);
    if (slot >= slots.size()) return std::nullopt;
    Slot& s = slots[slot];
    if (!s.open || s.ticket.id != id) return std::nullopt;
    s.open = false;
    if (s.prev != kNoSlot) slots[s.prev].next = s.next;
    if (s.next != kNoSlot) slots[s.next].prev = s.prev;
    if (head == slot) head = s.next;
    if (tail == slot) tail = s.prev;
    free_slots.push_back(slot);
    --open;
    return s.ticket;
  }

  // Forgets a request id; with `close`, its open tickets go to `evicted`.
  void forget(Requests::iterator it, bool close) {
    if (close) {
      for (const TriedKey& tried : it->second.tried) {
        if (auto ticket = close_ticket(tried.ticket)) evicted.push_back(*ticket);
      }
    }
    requests.erase(it);
  }

  // Pops the queue head; true when it was forgotten, false when it was only
  // re-queued because the request came back since it was queued.
  bool pop_request(bool evict) {
    const auto [queued, key] = request_queue.front();
    request_queue.pop_front();
    const auto it = requests.find(*key);
    if (it->second.expires > queued) {
      it->second.queued_expires = it->second.expires;
      request_queue.emplace_back(it->second.expires, &it->first);
      return false;
    }
    forget(it, evict);
    return true;
  }

  void update_next_due() {
    std::int64_t due = kNever;
    if (!evicted.empty()) due = std::numeric_limits<std::int64_t>::min();
    if (head != kNoSlot) {
      due = std::min(due, slots[head].ticket.expires.time_since_epoch().count());
    }
    if (!request_queue.empty()) {
      due = std::min(due, request_queue.front().first.time_since_epoch().count());
    }
    next_due_us.store(due, std::memory_order_relaxed);
  }
};

RequestMemory::RequestMemory(Duration request_ttl, Duration ticket_ttl, std::size_t max_requests) {
  shards_.reserve(kShards);
  for (std::size_t i = 0; i < kShards; ++i) {
    shards_.push_back(std::make_unique<Shard>());
    shards_.back()->index = i;
  }
  set_limits(request_ttl, ticket_ttl, max_requests);
}

RequestMemory::~RequestMemory() = default;

void RequestMemory::set_limits(Duration request_ttl, Duration ticket_ttl,
                               std::size_t max_requests) {
  const std::size_t per_shard = std::max<std::size_t>(1, (max_requests + kShards - 1) / kShards);
  for (auto& shard : shards_) {
    std::lock_guard lock(shard->mu);
    shard->request_ttl = request_ttl;
    shard->ticket_ttl = ticket_ttl;
    shard->max_requests = per_shard;
  }
}

RequestMemory::Attempt RequestMemory::begin(std::string_view request_id, Time now) {
  Attempt attempt;
  if (request_id.empty()) return attempt;
  Shard& shard = *shards_[shard_of_request(request_id)];
  std::lock_guard lock(shard.mu);
  auto it = shard.requests.find(request_id);
  if (it == shard.requests.end() || it->second.expires <= now) return attempt;
  attempt.tried.reserve(it->second.tried.size());
  for (const TriedKey& tried : it->second.tried) {
    attempt.tried.push_back(tried.key);
    // A new attempt means the earlier ones are over: one still open never
    // got a response.
    if (auto ticket = shard.close_ticket(tried.ticket)) attempt.abandoned.push_back(*ticket);
  }
  if (!attempt.abandoned.empty()) shard.update_next_due();
  return attempt;
}

std::uint64_t RequestMemory::admit(std::string_view request_id, KeyState& key, std::uint64_t tokens,
                                   Time now) {
  const std::size_t index =
      request_id.empty() ? next_anonymous_shard() : shard_of_request(request_id);
  Shard& shard = *shards_[index];
  std::lock_guard lock(shard.mu);
  const std::uint64_t ticket = shard.open_ticket(key, tokens, now);
  if (!request_id.empty()) {
    auto it = shard.requests.find(request_id);
    if (it == shard.requests.end()) {
      it = shard.requests.emplace(std::string(request_id), RequestEntry{}).first;
      it->second.queued_expires = now + shard.request_ttl;
      shard.request_queue.emplace_back(it->second.queued_expires, &it->first);
    } else if (it->second.expires <= now) {
      it->second.tried.clear();  // expired but not yet swept: a new request
    }
    it->second.expires = now + shard.request_ttl;
    it->second.tried.push_back({&key, ticket});
    // Over the bound: the least recently seen request ids go, tickets and all.
    while (shard.requests.size() > shard.max_requests && !shard.request_queue.empty()) {
      shard.pop_request(/*evict=*/true);
    }
  }
  shard.update_next_due();
  return ticket;
}

std::optional<Ticket> RequestMemory::settle(std::uint64_t ticket_id) {
  Shard& shard = *shards_[shard_of_ticket(ticket_id)];
  std::lock_guard lock(shard.mu);
  auto ticket = shard.close_ticket(ticket_id);
  if (ticket) shard.update_next_due();
  return ticket;
}

std::vector<Ticket> RequestMemory::expire(Time now) {
  std::vector<Ticket> out;
  const std::int64_t now_us = now.time_since_epoch().count();
  for (auto& shard_ptr : shards_) {
    Shard& shard = *shard_ptr;
    if (now_us < shard.next_due_us.load(std::memory_order_relaxed)) continue;
    std::lock_guard lock(shard.mu);
    while (shard.head != kNoSlot && shard.slots[shard.head].ticket.expires <= now) {
      out.push_back(*shard.close_ticket(shard.slots[shard.head].ticket.id));
    }
    while (!shard.request_queue.empty() && shard.request_queue.front().first <= now) {
      shard.pop_request(/*evict=*/false);
    }
    out.insert(out.end(), shard.evicted.begin(), shard.evicted.end());
    shard.evicted.clear();
    shard.update_next_due();
  }
  return out;
}

std::size_t RequestMemory::requests() const {
  std::size_t n = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mu);
    n += shard->requests.size();
  }
  return n;
}

std::size_t RequestMemory::open_tickets() const {
  std::size_t n = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mu);
    n += shard->open;
  }
  return n;
}

}  // namespace keymux::router
