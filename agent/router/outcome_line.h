// The outcome line: how one attempt through fe_inner ended, as HAProxy's log
// line for it (haproxy.cfg, fe_inner's log-format) tells the agent. Pure and
// fuzzed: no I/O, bounded, every malformed line refused with a reason.
//
// Grammar (one line, one datagram; a trailing "\n" is allowed):
//   line   = "keymux1" *( " " field )        at most kMaxOutcomeLine bytes
//   field  = key "=" value                   at most kMaxOutcomeFields fields
//   key    = 1*8 ( a-z / 0-9 )
//   value  = 1*kMaxOutcomeValue ( %x21-7E )  "-" is HAProxy's "absent"
// Fields (each known key at most once; unknown keys are skipped, so that a
// newer haproxy.cfg can add fields before the agent reads them):
//   t  ticket (decimal, required; "-": the agent gave no key)
//   s  the upstream's own status, or HAProxy's 502/504 (required; "-": none)
//   hs the status fe_inner answered with (a retryable failure shows 503)
//   k key id, rq request id, at attempt, se SPOE error, ec the agent's error
//   code, c client name (percent-encoded), ta/tr total and response time (ms,
//   -1 when unknown), b bytes, ts termination state
//   and the rate-limit headers, percent-encoded (HAProxy's url_enc), by short
//   key: see kOutcomeHeaders in outcome_line.cc.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace keymux::router {

inline constexpr std::size_t kMaxOutcomeLine = 4096;
inline constexpr std::size_t kMaxOutcomeFields = 64;
inline constexpr std::size_t kMaxOutcomeValue = 1024;
inline constexpr std::size_t kOutcomeHeaderCount = 14;

struct OutcomeLine {
  std::uint64_t ticket = 0;  // 0: none
  int status = 0;            // the upstream's (or HAProxy's 502/504); 0: none
  int gateway_status = 0;    // %ST; 0: unknown
  std::int64_t total_ms = -1;
  std::int64_t response_ms = -1;
  std::uint64_t bytes = 0;
  // Views into the parsed line ("" when absent).
  std::string_view key_id, request_id, attempt, spoe_error, error_code, termination;
  std::string client;  // decoded
  // Decoded rate-limit header values, by kOutcomeHeaders index; nullopt when absent.
  std::array<std::optional<std::string>, kOutcomeHeaderCount> headers;

  // A failure or an abnormal end (what an operator wants in the log).
  bool failed() const;
};

// The response header name of each header slot of OutcomeLine (lower-case).
std::string_view outcome_header_name(std::size_t index);

// False with `error` set (a short reason, never the line itself) when `line`
// breaks the grammar; `out` is then unspecified.
bool parse_outcome_line(std::string_view line, OutcomeLine& out, std::string& error);

}  // namespace keymux::router
