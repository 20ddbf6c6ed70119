// At most a few log lines per subject (a key, a provider, a route) per
// second, whatever happens: a key flapping between ejected and probing, or a
// bug that reports too often, cannot flood the log. Lines over the budget are
// counted and the count is told with the next line that goes out.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "agent/router/clock.h"

namespace keymux::admin {

class LineBudget {
 public:
  static constexpr std::uint32_t kLinesPerSecond = 5;

  // Whether a line about `subject` may be written at `now`; when it may,
  // `suppressed` is how many were dropped since the last one written.
  bool allow(std::string_view subject, router::Time now, std::uint64_t& suppressed);

 private:
  struct Slot {
    std::int64_t second = 0;
    std::uint32_t lines = 0;
    std::uint64_t suppressed = 0;
  };
  static constexpr std::size_t kMaxSubjects = 100'000;  // keys removed by reloads stay: a bound

  std::mutex mu_;
  std::unordered_map<std::string, Slot> slots_;
};

}  // namespace keymux::admin
