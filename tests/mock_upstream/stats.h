// What GET /_mock/stats reports: counters per key and the last requests seen,
// with every known secret replaced by "<key:ID>" so the stats never leak one.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/mock_upstream/http_request_parser.h"

namespace keymux::mock {

inline constexpr std::size_t kMaxStatus = 600;

struct KeyCounters {
  std::uint64_t requests = 0;
  std::array<std::uint64_t, 3> by_style{};  // indexed by AuthStyle
  std::array<std::uint64_t, kMaxStatus> by_status{};
  std::uint64_t tokens = 0;  // prompt + completion of the 200 answers
};

struct RecordedRequest {
  std::string method;
  std::string path;
  int key = -1;  // index of the known key, -1 for none
  // Lower-case names. Only the first header_count entries are in use: the
  // others keep their strings' capacity for the next request.
  std::vector<std::pair<std::string, std::string>> headers;
  std::size_t header_count = 0;
};

// The last kCapacity requests, in a ring whose strings are reused.
class RecentRequests {
 public:
  static constexpr std::size_t kCapacity = 32;

  void record(const HttpRequest& request, int key);
  void clear() { size_ = 0; }
  std::size_t size() const { return size_; }
  // 0 is the oldest.
  const RecordedRequest& at(std::size_t i) const;

 private:
  std::array<RecordedRequest, kCapacity> ring_;
  std::size_t next_ = 0;
  std::size_t size_ = 0;
};

struct KeyStats {
  std::string_view id;
  std::string_view secret;  // only to redact it
  KeyCounters counters;
};

struct StatsSnapshot {
  std::uint64_t requests = 0;
  std::uint64_t unauthorized = 0;
  std::uint64_t dropped = 0;
  std::vector<KeyStats> keys;  // indexed like the known keys
};

// `value` with each known secret replaced by "<key:ID>" (longest secrets first).
std::string redact_secrets(std::string_view value, const std::vector<KeyStats>& keys);

void append_stats_json(std::string& out, const StatsSnapshot& stats, const RecentRequests& recent);

}  // namespace keymux::mock
