#include "agent/handler/outcome_handler.h"

#include <spdlog/spdlog.h>

#include <bit>

#include "agent/router/outcome_line.h"
#include "agent/router/upstream_report.h"

namespace keymux::handler {
namespace {

std::string_view or_dash(std::string_view text) { return text.empty() ? "-" : text; }

}  // namespace

void OutcomeHandler::on_line(std::string_view line) {
  metrics::bump(metrics_.lines);
  router::OutcomeLine outcome;
  if (!router::parse_outcome_line(line, outcome, error_)) {
    // Logged at the 1st, 2nd, 4th, 8th... error: a broken haproxy.cfg shows
    // at once without flooding the log.
    const std::uint64_t n = metrics_.parse_errors.fetch_add(1, std::memory_order_relaxed) + 1;
    if (std::has_single_bit(n)) {
      spdlog::warn(
          "outcome line refused ({}; {} so far): check fe_inner's log-format in "
          "haproxy.cfg against this agent's version",
          error_, n);
    }
    return;
  }
  if (outcome.ticket != 0) {
    router::SettleRequest request;
    request.ticket = outcome.ticket;
    request.key_id = outcome.key_id;
    request.status = outcome.status;
    request.ticket_only = true;
    router::UpstreamReportBuilder report(router_.clock().now());
    for (std::size_t i = 0; i < outcome.headers.size(); ++i) {
      if (outcome.headers[i]) report.add(router::outcome_header_name(i), *outcome.headers[i]);
    }
    request.report = report.finish();
    metrics::bump(router_.settle(request) ? metrics_.settled : metrics_.unknown_tickets);
  }
  if (outcome.failed()) {
    // What fe_inner's own log line said before it moved here.
    spdlog::info(
        "attempt failed: req={} client={} key={} attempt={} status={} upstream={} time={}ms "
        "bytes={} term={} spoe_err={} error={}",
        or_dash(outcome.request_id), or_dash(outcome.client), or_dash(outcome.key_id),
        or_dash(outcome.attempt), outcome.gateway_status, outcome.status, outcome.total_ms,
        outcome.bytes, or_dash(outcome.termination), or_dash(outcome.spoe_error),
        or_dash(outcome.error_code));
  }
}

}  // namespace keymux::handler
