// Injected misbehaviour: latency, latency spikes, errors, dropped connections,
// slow streams. The flags give the start values; POST /_mock/faults changes
// them live.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace keymux::mock {

// Bounds for the flags and POST /_mock/faults alike.
inline constexpr std::uint32_t kMaxDelayMs = 3'600'000;
inline constexpr std::uint32_t kMaxStreamChunks = 100'000;

struct Faults {
  std::uint32_t latency_ms = 0;  // added before every /v1 answer
  double error_rate = 0;         // share of requests answered error_status
  std::uint32_t error_status = 500;
  double drop_rate = 0;   // share of requests whose connection is closed unanswered
  double spike_rate = 0;  // share of requests delayed spike_ms more
  std::uint32_t spike_ms = 0;
  std::uint32_t chunk_delay_ms = 0;  // between stream chunks
  std::uint32_t stream_chunks = 8;
};

// The members POST /_mock/faults accepts, for --help and the errors.
inline constexpr std::string_view kFaultFields =
    "latency_ms, error_rate, error_status, drop_rate, spike_rate, spike_ms, chunk_delay_ms, "
    "stream_chunks";

// Applies the members present in the JSON object `body` to `faults`. False
// with `error` set (and `faults` untouched) when one is malformed, out of
// range or unknown (a misspelt field must not pass as a no-op).
bool apply_faults_json(std::string_view body, Faults& faults, std::string& error);
void append_faults_json(std::string& out, const Faults& faults);

// Faults shared by the worker threads: each field is read on its own, so a
// change is seen at once without a lock on the request path.
class LiveFaults {
 public:
  explicit LiveFaults(const Faults& start) { store(start); }
  Faults load() const;
  void store(const Faults& faults);

 private:
  std::atomic<std::uint32_t> latency_ms_;
  std::atomic<double> error_rate_;
  std::atomic<std::uint32_t> error_status_;
  std::atomic<double> drop_rate_;
  std::atomic<double> spike_rate_;
  std::atomic<std::uint32_t> spike_ms_;
  std::atomic<std::uint32_t> chunk_delay_ms_;
  std::atomic<std::uint32_t> stream_chunks_;
};

// A small deterministic generator (splitmix64), one per worker thread, so a
// run with the same seed and the same request order rolls the same faults.
class FaultDice {
 public:
  explicit FaultDice(std::uint64_t seed) : state_(seed) {}
  // True with probability `rate` (0 never rolls, 1 always does).
  bool roll(double rate);

 private:
  std::uint64_t state_;
};

}  // namespace keymux::mock
