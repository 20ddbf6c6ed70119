// What is remembered per request id across its attempts (keys already tried)
// and per admitted attempt (a ticket holding an in-flight slot until settled).
// Bounded in entries and in time; sharded so worker threads rarely meet (the
// bound on request ids is split evenly over the shards).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/router/client_state.h"
#include "agent/router/clock.h"
#include "agent/router/key_state.h"
#include "agent/router/provider_state.h"

namespace keymux::router {

// Where an attempt went beyond its key, and how the key and the provider let
// it through: their detectors read its answer accordingly.
struct AttemptTags {
  ProviderState* provider = nullptr;
  AttemptKind key_kind = AttemptKind::kNormal;
  AttemptKind provider_kind = AttemptKind::kNormal;
  SharedSpend shared;  // what the key's shared budget gave it (KeyState::Admission)
  // The key or the client counts tokens (a tpm limit, or a client's day
  // budget): the answer's real count was asked for (Decision::want_usage).
  bool counts_tokens = false;
  // This attempt charged its client's budget (a first attempt; a retry's
  // request was charged with its first): the real count settles it too.
  bool client_charged = false;
};

struct Ticket {
  std::uint64_t id = 0;
  KeyState* key = nullptr;
  ClientState* client = nullptr;  // whose in-flight slot the attempt holds too
  std::uint64_t tokens = 0;       // the estimate charged to the key's token window at `admitted`
  Time expires{};
  std::uint64_t request = 0;  // the request id's hash; 0 without one
  AttemptTags tags;
  Time admitted{};  // where the estimate sits in the key's windows, to settle the real count
};

class RequestMemory {
 public:
  static constexpr std::size_t kShards = 16;

  RequestMemory(Duration request_ttl, Duration ticket_ttl, std::size_t max_requests);
  ~RequestMemory();  // Shard is complete only in the .cc
  RequestMemory(const RequestMemory&) = delete;
  RequestMemory& operator=(const RequestMemory&) = delete;
  void set_limits(Duration request_ttl, Duration ticket_ttl, std::size_t max_requests);

  struct Attempt {
    std::vector<const KeyState*> tried;  // keys already given to this request id
    // Tried keys that answered this request with a 429, 401 or 403: never
    // tried again for it (after a 5xx or no response a key may be).
    std::vector<const KeyState*> spent;
    // Tickets of earlier attempts never settled: the attempt failed without a
    // response (HAProxy retried after a connection failure or timeout).
    std::vector<Ticket> abandoned;
  };
  // Called before choosing a key. An empty request id has no memory.
  Attempt begin(std::string_view request_id, Time now);

  // Records the chosen key for the request and opens a ticket for it.
  std::uint64_t admit(std::string_view request_id, KeyState& key, ClientState* client,
                      std::uint64_t tokens, Time now, const AttemptTags& tags = {});

  // Closes a ticket; nullopt when unknown (already settled, expired, evicted).
  // `spent`: the key refused this request for its own reasons (429, 401,
  // 403); a later attempt of the request never goes to it again.
  std::optional<Ticket> settle(std::uint64_t ticket_id, bool spent = false);

  // Tickets whose time ran out or whose request was evicted; the caller
  // releases their slots. Also forgets expired request ids.
  std::vector<Ticket> expire(Time now);

  std::size_t requests() const;  // remembered request ids, for metrics
  std::size_t open_tickets() const;

 private:
  struct Shard;  // defined in the .cc
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace keymux::router
