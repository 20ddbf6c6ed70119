// The state every worker thread shares: the known keys with their rate
// windows, overrides and counters (one lock per key, so two keys never
// contend), the global counters (atomics), the recent requests and the faults.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "agent/router/clock.h"
#include "tests/mock_upstream/audit_log.h"
#include "tests/mock_upstream/faults.h"
#include "tests/mock_upstream/keys.h"
#include "tests/mock_upstream/rate_limiter.h"
#include "tests/mock_upstream/stats.h"

namespace keymux::mock {

// The fault dice a request rolled before its key was settled.
struct FaultRolls {
  bool drop = false;
  bool error = false;
  int error_status = 500;
};

struct KeyOutcome {
  enum class Kind { kDropped, kOverride, kFault, kRateLimited, kOk };
  Kind kind = Kind::kOk;
  int status = 200;
  Duration retry_after{0};  // a 429's wait
  RateStatus rate;          // for the rate-limit headers
};

// The members POST /_mock/keys/ID accepts, for --help and the errors.
inline constexpr std::string_view kKeyControlFields =
    "status, retry_after, rpm, tpm, error_rate, error_status";

// POST /_mock/keys/ID: what to change; absent fields stay as they are.
struct KeyControl {
  std::optional<int> status;  // 0 clears the override
  std::optional<std::uint32_t> retry_after_s;
  std::optional<std::uint64_t> rpm;
  std::optional<std::uint64_t> tpm;
  std::optional<double> error_rate;  // this key's own share of error_status answers
  std::optional<int> error_status;
};

// GET or POST /_mock/audit: which window, which keys, and whether to list
// every request (time, tokens, status) besides the peaks.
struct AuditQuery {
  Duration window{0};
  int key = -1;  // -1: every key
  bool events = false;
  Time since{};  // events before this are not listed (the peaks cover them all)
};

// The members POST /_mock/audit accepts.
inline constexpr std::string_view kAuditFields = "window_ms, key, events, since_us";

class MockState {
 public:
  // `window`: the length of the keys' rpm/tpm windows and the audit's default window.
  MockState(std::vector<KeySpec> keys, const Faults& faults, const router::Clock& clock,
            Duration window = kRateWindow);

  const router::Clock& clock() const { return clock_; }
  Duration window() const { return window_; }
  LiveFaults& faults() { return faults_; }
  // Serialises the read-modify-write of POST /_mock/faults.
  std::mutex& control_mutex() { return control_mutex_; }

  // -1 when unknown.
  int find_by_secret(std::string_view secret) const;
  int find_by_id(std::string_view id) const;
  const std::string& key_id(int key) const { return keys_[static_cast<std::size_t>(key)]->spec.id; }

  // Every /v1 request is recorded; `key` is -1 when none was recognised.
  void record(const HttpRequest& request, int key);
  void count_unauthorized() { unauthorized_.fetch_add(1, std::memory_order_relaxed); }
  void count_dropped() { dropped_.fetch_add(1, std::memory_order_relaxed); }

  // Counts a request presented with `key` and decides its fate, in this order:
  // dropped, the key's override status, an injected error (the global one in
  // `rolls`, else the key's own rate rolled with `dice`), the rate limits.
  // `tokens` is charged to the window (and the stats) only when the answer is 200.
  KeyOutcome settle(int key, AuthStyle style, const FaultRolls& rolls, std::uint64_t tokens,
                    FaultDice& dice);

  void control_key(int key, const KeyControl& control);
  // Zeroes counters, windows and recent requests; clears the key overrides and
  // restores the --key limits. Faults keep their values.
  void reset();

  void append_stats_json(std::string& out);
  void append_audit_json(std::string& out, const AuditQuery& query);

 private:
  struct Key {
    Key(KeySpec s, Duration window) : spec(std::move(s)), limiter(spec.limits, window) {}
    const KeySpec spec;
    std::mutex mutex;
    RateLimiter limiter;
    AuditLog audit;
    int override_status = 0;
    std::uint32_t override_retry_after_s = 0;
    double error_rate = 0;
    int error_status = 500;
    KeyCounters counters;
  };

  // Lets the maps be searched with a string_view, without a copy.
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const {
      return std::hash<std::string_view>{}(text);
    }
  };
  using IndexMap = std::unordered_map<std::string, int, StringHash, std::equal_to<>>;

  const router::Clock& clock_;
  const Duration window_;
  std::vector<std::unique_ptr<Key>> keys_;
  IndexMap by_secret_;
  IndexMap by_id_;
  LiveFaults faults_;
  std::mutex control_mutex_;

  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> unauthorized_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::mutex recent_mutex_;
  RecentRequests recent_;
};

}  // namespace keymux::mock
