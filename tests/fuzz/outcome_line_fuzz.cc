// libFuzzer target: the outcome lines HAProxy logs for every attempt
// (outcome_line.h), whole and as the octet-counted stream its ring forwards
// (octet_framing.h), fed in two pieces cut where the first byte says.
//
// Nothing may crash or trip a sanitizer. Invariants: an accepted line is
// within the bounds; a status is an HTTP status; the header slots parse into
// an UpstreamReport; re-parsing the same bytes gives the same answer; the
// framer never yields a message longer than its bound, and a cut stream gives
// the same messages as a whole one.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/router/octet_framing.h"
#include "agent/router/outcome_line.h"
#include "agent/router/upstream_report.h"
#include "tests/fuzz/fuzz_check.h"

using keymux::router::OutcomeLine;

namespace {

void check_line(std::string_view line);

std::vector<std::string> frame(std::string_view bytes, std::size_t cut, bool& ok) {
  keymux::router::OctetFramer framer(keymux::router::kMaxOutcomeLine);
  std::vector<std::string> out;
  const auto take = [&out](std::string_view m) {
    FUZZ_CHECK(m.size() <= keymux::router::kMaxOutcomeLine);
    out.emplace_back(m);
  };
  ok = framer.feed(bytes.substr(0, cut), take) && framer.feed(bytes.substr(cut), take);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  check_line(bytes);
  if (size > 0) {
    bool whole_ok = false;
    bool cut_ok = false;
    const std::string_view stream = bytes.substr(1);
    const std::vector<std::string> whole = frame(stream, stream.size(), whole_ok);
    const std::vector<std::string> cut = frame(stream, data[0] % size, cut_ok);
    FUZZ_CHECK(whole_ok == cut_ok && whole == cut);
    for (const std::string& line : whole) check_line(line);
  }
  return 0;
}

namespace {

void check_line(std::string_view line) {
  OutcomeLine out;
  std::string error;
  const bool ok = keymux::router::parse_outcome_line(line, out, error);
  if (!ok) {
    FUZZ_CHECK(!error.empty());
    return;
  }
  FUZZ_CHECK(line.size() <= keymux::router::kMaxOutcomeLine + 1);
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
}

}  // namespace
