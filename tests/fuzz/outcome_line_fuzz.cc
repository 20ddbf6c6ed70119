// libFuzzer target: the outcome line HAProxy logs for every attempt
// (outcome_line.h), as the agent's datagram receiver hands it over.
//
// Nothing may crash or trip a sanitizer. Invariants: an accepted line is
// within the bounds; a status is an HTTP status; the header slots parse into
// an UpstreamReport; re-parsing the same bytes gives the same answer.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "agent/router/outcome_line.h"
#include "agent/router/upstream_report.h"
#include "tests/fuzz/fuzz_check.h"

using keymux::router::OutcomeLine;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  OutcomeLine out;
  std::string error;
  const bool ok = keymux::router::parse_outcome_line(line, out, error);
  if (!ok) {
    FUZZ_CHECK(!error.empty());
    return 0;
  }
  FUZZ_CHECK(size <= keymux::router::kMaxOutcomeLine + 1);
  FUZZ_CHECK(out.status == 0 || (out.status >= 100 && out.status <= 999));
  FUZZ_CHECK(out.total_ms >= -1 && out.response_ms >= -1);
  keymux::router::UpstreamReportBuilder report(
      keymux::router::Time(std::chrono::seconds(1'714'564'800)));
  for (std::size_t i = 0; i < out.headers.size(); ++i) {
    if (out.headers[i]) report.add(keymux::router::outcome_header_name(i), *out.headers[i]);
  }
  (void)report.finish();
  (void)out.failed();
  OutcomeLine again;
  std::string error_again;
  FUZZ_CHECK(keymux::router::parse_outcome_line(line, again, error_again));
  FUZZ_CHECK(again.ticket == out.ticket && again.status == out.status);
  return 0;
}
