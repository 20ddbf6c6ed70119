#include "tests/mock_upstream/faults.h"

#include <optional>

#include "tests/mock_upstream/json_scan.h"
#include "tests/mock_upstream/json_write.h"

namespace keymux::mock {
namespace {

// Reads member `name` into `field` when present; false when it is malformed or
// outside lo..hi.
bool read_uint(std::string_view body, std::string_view name, std::uint64_t lo, std::uint64_t hi,
               std::uint32_t& field, std::string& error) {
  const std::optional<std::string_view> raw = json_member(body, name);
  if (!raw) return true;
  const std::optional<std::uint64_t> value = json_uint(*raw);
  if (!value || *value < lo || *value > hi) {
    error =
        std::string(name) + " wants an integer " + std::to_string(lo) + ".." + std::to_string(hi);
    return false;
  }
  field = static_cast<std::uint32_t>(*value);
  return true;
}

bool read_rate(std::string_view body, std::string_view name, double& field, std::string& error) {
  const std::optional<std::string_view> raw = json_member(body, name);
  if (!raw) return true;
  const std::optional<double> value = json_number(*raw);
  if (!value || *value < 0 || *value > 1) {
    error = std::string(name) + " wants a number 0..1";
    return false;
  }
  field = *value;
  return true;
}

}  // namespace

bool apply_faults_json(std::string_view body, Faults& faults, std::string& error) {
  if (!json_is_object(body)) {
    error = "the body must be a JSON object";
    return false;
  }
  if (!json_only_members(body, kFaultFields, error)) return false;
  Faults next = faults;
  const bool ok = read_uint(body, "latency_ms", 0, kMaxDelayMs, next.latency_ms, error) &&
                  read_rate(body, "error_rate", next.error_rate, error) &&
                  read_uint(body, "error_status", 100, 599, next.error_status, error) &&
                  read_rate(body, "drop_rate", next.drop_rate, error) &&
                  read_rate(body, "spike_rate", next.spike_rate, error) &&
                  read_uint(body, "spike_ms", 0, kMaxDelayMs, next.spike_ms, error) &&
                  read_uint(body, "chunk_delay_ms", 0, kMaxDelayMs, next.chunk_delay_ms, error) &&
                  read_uint(body, "stream_chunks", 1, kMaxStreamChunks, next.stream_chunks, error);
  if (ok) faults = next;
  return ok;
}

void append_faults_json(std::string& out, const Faults& faults) {
  out += "{\"latency_ms\":";
  append_uint(out, faults.latency_ms);
  out += ",\"error_rate\":";
  append_double(out, faults.error_rate);
  out += ",\"error_status\":";
  append_uint(out, faults.error_status);
  out += ",\"drop_rate\":";
  append_double(out, faults.drop_rate);
  out += ",\"spike_rate\":";
  append_double(out, faults.spike_rate);
  out += ",\"spike_ms\":";
  append_uint(out, faults.spike_ms);
  out += ",\"chunk_delay_ms\":";
  append_uint(out, faults.chunk_delay_ms);
  out += ",\"stream_chunks\":";
  append_uint(out, faults.stream_chunks);
  out += '}';
}

Faults LiveFaults::load() const {
  Faults f;
  f.latency_ms = latency_ms_.load(std::memory_order_relaxed);
  f.error_rate = error_rate_.load(std::memory_order_relaxed);
  f.error_status = error_status_.load(std::memory_order_relaxed);
  f.drop_rate = drop_rate_.load(std::memory_order_relaxed);
  f.spike_rate = spike_rate_.load(std::memory_order_relaxed);
  f.spike_ms = spike_ms_.load(std::memory_order_relaxed);
  f.chunk_delay_ms = chunk_delay_ms_.load(std::memory_order_relaxed);
  f.stream_chunks = stream_chunks_.load(std::memory_order_relaxed);
  return f;
}

void LiveFaults::store(const Faults& f) {
  latency_ms_.store(f.latency_ms, std::memory_order_relaxed);
  error_rate_.store(f.error_rate, std::memory_order_relaxed);
  error_status_.store(f.error_status, std::memory_order_relaxed);
  drop_rate_.store(f.drop_rate, std::memory_order_relaxed);
  spike_rate_.store(f.spike_rate, std::memory_order_relaxed);
  spike_ms_.store(f.spike_ms, std::memory_order_relaxed);
  chunk_delay_ms_.store(f.chunk_delay_ms, std::memory_order_relaxed);
  stream_chunks_.store(f.stream_chunks, std::memory_order_relaxed);
}

bool FaultDice::roll(double rate) {
  if (rate <= 0) return false;
  if (rate >= 1) return true;
  state_ += 0x9E3779B97F4A7C15ull;
  std::uint64_t z = state_;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  // The top 53 bits as a fraction in [0, 1).
  return static_cast<double>(z >> 11) * 0x1.0p-53 < rate;
}

}  // namespace keymux::mock
