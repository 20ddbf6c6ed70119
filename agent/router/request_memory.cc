#include "agent/router/request_memory.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <utility>

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

// Request ids are remembered by a 64-bit hash only, never as strings: a lookup
// is one hash and (almost always) one cache line. Two different ids with the
// same hash would be taken for the same request; among the at most ~1e5..1e6
// ids remembered at once the chance of any such pair is below 1e-7, and the
// harm would be one retry skipping a key it could have used. 0 marks an empty
// table cell, so a hash of 0 is moved to 1.
inline std::uint64_t mum(std::uint64_t a, std::uint64_t b) {
  __extension__ using u128 = unsigned __int128;
  const u128 r = static_cast<u128>(a) * b;
  return static_cast<std::uint64_t>(r) ^ static_cast<std::uint64_t>(r >> 64);
}

inline std::uint64_t load64(const char* p) {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// A wyhash-style mix: 8 bytes per multiply, the tail zero-padded.
std::uint64_t hash_request_id(std::string_view s) {
  constexpr std::uint64_t kP0 = 0xa0761d6478bd642full;
  constexpr std::uint64_t kP1 = 0xe7037ed1a0b428dbull;
  constexpr std::uint64_t kP2 = 0x8ebc6af09c88c6e3ull;
  const char* p = s.data();
  std::size_t n = s.size();
  std::uint64_t h = kP0 ^ mum(s.size() ^ kP1, kP2);
  for (; n >= 16; n -= 16, p += 16) {
    h = mum(load64(p) ^ kP1 ^ h, load64(p + 8) ^ kP2);
  }
  std::uint64_t a = 0;
  std::uint64_t b = 0;
  if (n >= 8) {
    a = load64(p);
    std::memcpy(&b, p + 8, n - 8);
  } else {
    std::memcpy(&a, p, n);
  }
  h = mum(a ^ kP1 ^ h, b ^ kP2);
  h = mum(h ^ kP0, s.size() ^ kP1);
  return h == 0 ? 1 : h;
}

// The low bits pick the shard; the table index uses the high bits.
std::size_t shard_of_hash(std::uint64_t hash) { return hash & (RequestMemory::kShards - 1); }

// Requests without an id spread over the shards; per thread, so no sharing.
std::size_t next_anonymous_shard() {
  thread_local std::size_t next = 0;
  return next++ % RequestMemory::kShards;
}

struct TriedKey {
  const KeyState* key;
  std::uint64_t ticket;
};

// One remembered request id, stored in its table cell (64 bytes): the first
// tried keys inline, more (a request retried past kInlineTried) in a spill.
constexpr std::uint32_t kInlineTried = 2;

struct RequestEntry {
  std::uint64_t hash = 0;  // 0: empty cell
  Time expires{};
  std::uint16_t tried = 0;
  std::uint16_t spent = 0;  // bit i: the i-th tried key may not be tried again (attempts <= 10)
  TriedKey inline_tried[kInlineTried];
  std::unique_ptr<std::vector<TriedKey>> spill;  // tried keys past the inline ones

  const TriedKey& at(std::uint32_t i) const {
    return i < kInlineTried ? inline_tried[i] : (*spill)[i - kInlineTried];
  }
  void push(TriedKey t) {
    if (tried < kInlineTried) {
      inline_tried[tried] = t;
    } else {
      if (!spill) spill = std::make_unique<std::vector<TriedKey>>();
      spill->push_back(t);
    }
    ++tried;
  }
  void clear_tried() {
    tried = 0;
    spent = 0;
    if (spill) spill->clear();
  }
};

// Open addressing, linear probing, backward-shift deletion (no tombstones);
// kept at most half full, so a probe rarely leaves its first cache line.
class RequestTable {
 public:
  std::size_t size() const { return size_; }

  // The cell holding `hash`, or nullptr.
  RequestEntry* find(std::uint64_t hash) {
    if (cells_.empty()) return nullptr;
    for (std::size_t i = home(hash);; i = (i + 1) & mask_) {
      RequestEntry& e = cells_[i];
      if (e.hash == hash) return &e;
      if (e.hash == 0) return nullptr;
    }
  }

  // Inserts `hash` (not present) with an empty entry; the cell stays valid
  // until the next insert or erase.
  RequestEntry& insert(std::uint64_t hash) {
    if ((size_ + 1) * 2 > cells_.size()) grow((size_ + 1) * 2);
    std::size_t i = home(hash);
    while (cells_[i].hash != 0) i = (i + 1) & mask_;
    RequestEntry& e = cells_[i];
    e.hash = hash;
    ++size_;
    return e;
  }

  void erase(RequestEntry& entry) {
    std::size_t hole = static_cast<std::size_t>(&entry - cells_.data());
    cells_[hole] = RequestEntry{};
    --size_;
    // Move back each following entry of the run that may live in the hole:
    // one whose home is not cyclically within (hole, i].
    for (std::size_t i = (hole + 1) & mask_; cells_[i].hash != 0; i = (i + 1) & mask_) {
      const std::size_t h = home(cells_[i].hash);
      if (((i - h) & mask_) >= ((i - hole) & mask_)) {
        cells_[hole] = std::move(cells_[i]);
        cells_[i] = RequestEntry{};
        hole = i;
      }
    }
  }

  // Room for `entries` without growing.
  void reserve(std::size_t entries) {
    if (entries * 2 > cells_.size()) grow(entries * 2);
  }

 private:
  std::size_t home(std::uint64_t hash) const {
    return static_cast<std::size_t>(hash >> 32 ^ hash >> 7) & mask_;
  }

  void grow(std::size_t min_cells) {
    std::size_t cells = std::max<std::size_t>(16, cells_.size());
    while (cells < min_cells) cells *= 2;
    std::vector<RequestEntry> old = std::exchange(cells_, std::vector<RequestEntry>(cells));
    mask_ = cells - 1;
    for (RequestEntry& e : old) {
      if (e.hash == 0) continue;
      std::size_t i = home(e.hash);
      while (cells_[i].hash != 0) i = (i + 1) & mask_;
      cells_[i] = std::move(e);
    }
  }

  std::vector<RequestEntry> cells_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

// A FIFO ring that grows when full and never shrinks.
template <typename T>
class Ring {
 public:
  bool empty() const { return size_ == 0; }
  const T& front() const { return items_[head_]; }
  void pop_front() {
    head_ = (head_ + 1) & (items_.size() - 1);
    --size_;
  }
  void push_back(const T& item) {
    if (size_ == items_.size()) grow(size_ + 1);
    items_[(head_ + size_) & (items_.size() - 1)] = item;
    ++size_;
  }
  void reserve(std::size_t n) {
    if (n > items_.size()) grow(n);
  }

 private:
  void grow(std::size_t min_items) {
    std::size_t n = std::max<std::size_t>(16, items_.size());
    while (n < min_items) n *= 2;
    std::vector<T> items(n);
    for (std::size_t i = 0; i < size_; ++i) items[i] = items_[(head_ + i) & (items_.size() - 1)];
    items_ = std::move(items);
    head_ = 0;
  }

  std::vector<T> items_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

struct QueuedRequest {
  Time expires{};  // the expiry its place in the queue was given for
  std::uint64_t hash = 0;
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

  RequestTable requests;
  // Every remembered request id once, in the order its expiry was queued.
  Ring<QueuedRequest> request_queue;

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

  std::uint64_t open_ticket(KeyState& key, ClientState* client, std::uint64_t tokens, Time now,
                            std::uint64_t request, const AttemptTags& tags) {
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
    s.ticket = {id, &key, client, tokens, now + ticket_ttl, request, tags, now};
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
  void forget(RequestEntry& entry, bool close) {
    if (close) {
      for (std::uint32_t i = 0; i < entry.tried; ++i) {
        if (auto ticket = close_ticket(entry.at(i).ticket)) evicted.push_back(*ticket);
      }
    }
    requests.erase(entry);
  }

  // Pops the queue head; true when it was forgotten, false when it was only
  // re-queued because the request came back since it was queued.
  bool pop_request(bool evict) {
    const QueuedRequest queued = request_queue.front();
    request_queue.pop_front();
    RequestEntry* entry = requests.find(queued.hash);
    if (entry->expires > queued.expires) {
      request_queue.push_back({entry->expires, queued.hash});
      return false;
    }
    forget(*entry, evict);
    return true;
  }

  void update_next_due() {
    std::int64_t due = kNever;
    if (!evicted.empty()) due = std::numeric_limits<std::int64_t>::min();
    if (head != kNoSlot) {
      due = std::min(due, slots[head].ticket.expires.time_since_epoch().count());
    }
    if (!request_queue.empty()) {
      due = std::min(due, request_queue.front().expires.time_since_epoch().count());
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
    // Sized once for the bound (one over it while admit evicts), so a full
    // memory neither allocates nor rehashes per request.
    shard->requests.reserve(per_shard + 1);
    shard->request_queue.reserve(per_shard + 1);
  }
}

RequestMemory::Attempt RequestMemory::begin(std::string_view request_id, Time now) {
  Attempt attempt;
  if (request_id.empty()) return attempt;
  const std::uint64_t hash = hash_request_id(request_id);
  Shard& shard = *shards_[shard_of_hash(hash)];
  std::lock_guard lock(shard.mu);
  const RequestEntry* entry = shard.requests.find(hash);
  if (entry == nullptr || entry->expires <= now) return attempt;
  attempt.tried.reserve(entry->tried);
  for (std::uint32_t i = 0; i < entry->tried; ++i) {
    const TriedKey& tried = entry->at(i);
    attempt.tried.push_back(tried.key);
    if (i < 16 && (entry->spent >> i & 1u) != 0) attempt.spent.push_back(tried.key);
    // A new attempt means the earlier ones are over: one still open never
    // got a response.
    if (auto ticket = shard.close_ticket(tried.ticket)) attempt.abandoned.push_back(*ticket);
  }
  if (!attempt.abandoned.empty()) shard.update_next_due();
  return attempt;
}

std::uint64_t RequestMemory::admit(std::string_view request_id, KeyState& key, ClientState* client,
                                   std::uint64_t tokens, Time now, const AttemptTags& tags) {
  const std::uint64_t hash = request_id.empty() ? 0 : hash_request_id(request_id);
  const std::size_t index = request_id.empty() ? next_anonymous_shard() : shard_of_hash(hash);
  Shard& shard = *shards_[index];
  std::lock_guard lock(shard.mu);
  const std::uint64_t ticket = shard.open_ticket(key, client, tokens, now, hash, tags);
  if (!request_id.empty()) {
    RequestEntry* entry = shard.requests.find(hash);
    if (entry == nullptr) {
      entry = &shard.requests.insert(hash);
      shard.request_queue.push_back({now + shard.request_ttl, hash});
    } else if (entry->expires <= now) {
      entry->clear_tried();  // expired but not yet swept: a new request
    }
    entry->expires = now + shard.request_ttl;
    entry->push({&key, ticket});
    // `entry` is not used past here: evicting moves cells.
    // Over the bound: the least recently seen request ids go, tickets and all.
    while (shard.requests.size() > shard.max_requests && !shard.request_queue.empty()) {
      shard.pop_request(/*evict=*/true);
    }
  }
  shard.update_next_due();
  return ticket;
}

std::optional<Ticket> RequestMemory::settle(std::uint64_t ticket_id, bool spent) {
  Shard& shard = *shards_[shard_of_ticket(ticket_id)];
  std::lock_guard lock(shard.mu);
  auto ticket = shard.close_ticket(ticket_id);
  if (!ticket) return ticket;
  shard.update_next_due();
  // A ticket lives in the shard of its request id, so the entry is here.
  if (spent && ticket->request != 0) {
    if (RequestEntry* entry = shard.requests.find(ticket->request)) {
      for (std::uint32_t i = 0; i < entry->tried && i < 16; ++i) {
        if (entry->at(i).ticket == ticket_id) entry->spent |= static_cast<std::uint16_t>(1u << i);
      }
    }
  }
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
    while (!shard.request_queue.empty() && shard.request_queue.front().expires <= now) {
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
