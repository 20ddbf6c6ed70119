// The Prometheus text format as written, the histogram's buckets, and the
// agent's page: every family once, labels only from the configuration.
#include <gtest/gtest.h>

#include <set>
#include <sstream>
#include <string>

#include "agent/admin/metrics_page.h"
#include "agent/metrics/histogram.h"
#include "agent/metrics/prometheus_text.h"
#include "router_test_config.h"

namespace keymux::metrics {
namespace {

TEST(PrometheusTextTest, FamiliesSamplesAndEscaping) {
  PrometheusText out;
  out.family("x_total", "counter", "Help with a \\ and a\nnewline.");
  out.sample("x_total", {{"a", "q\"uo\\te\n"}, {"b", "2"}}, std::uint64_t{7});
  out.sample("x_total", {}, 0.25);
  EXPECT_EQ(out.text(),
            "# HELP x_total Help with a \\\\ and a\\nnewline.\n"
            "# TYPE x_total counter\n"
            "x_total{a=\"q\\\"uo\\\\te\\n\",b=\"2\"} 7\n"
            "x_total 0.25\n");
}

TEST(PrometheusTextTest, FormatsSpecialDoubles) {
  EXPECT_EQ(PrometheusText::format_double(1e-06), "1e-06");
  EXPECT_EQ(PrometheusText::format_double(0.5), "0.5");
  EXPECT_EQ(PrometheusText::format_double(1.0 / 0.0), "+Inf");
}

TEST(LatencyHistogramTest, BucketsAreCumulativeWithInfinityAsTheCount) {
  LatencyHistogram h;
  h.observe(std::chrono::nanoseconds(500));  // <= 1 us
  h.observe(std::chrono::microseconds(1));   // <= 1 us (bounds are inclusive)
  h.observe(std::chrono::microseconds(7));   // <= 10 us
  h.observe(std::chrono::seconds(2));        // beyond every bound
  const LatencyHistogram::Snapshot s = h.snapshot();
  EXPECT_EQ(s.cumulative[0], 2u);
  EXPECT_EQ(s.cumulative[2], 2u);  // <= 5 us
  EXPECT_EQ(s.cumulative[3], 3u);  // <= 10 us
  EXPECT_EQ(s.cumulative.back(), 3u);
  EXPECT_EQ(s.count, 4u);
  EXPECT_NEAR(s.sum_seconds, 2.0000085, 1e-9);
}

TEST(MetricsPageTest, EveryFamilyOnceAndOnlyConfiguredLabels) {
  router::test::RouterRig rig(router::test::OneRoute({{.id = "k1"}, {.id = "k2"}}));
  AgentMetrics agent;
  DecisionMetrics& worker = agent.add_worker();
  agent.add_worker().count(router::Outcome::kRouted);  // shards are summed
  worker.time.observe(std::chrono::microseconds(3));
  bump(worker.panic_routed);
  server::SpopStats spop;
  spop.protocol_errors[server::SpopStats::status_slot(spop::Status::kInvalidFrame)] = 2;
  rig.Settle(rig.Decide(), 200);
  const std::string page =
      admin::render_metrics({*rig.router.snapshot(), rig.clock.now(), agent, &spop});

  std::istringstream lines(page);
  std::string line;
  std::set<std::string> typed;
  std::set<std::string> key_labels;
  while (std::getline(lines, line)) {
    if (line.starts_with("# TYPE ")) {
      const std::string name = line.substr(7, line.find(' ', 7) - 7);
      EXPECT_TRUE(typed.insert(name).second) << "family twice: " << name;
      continue;
    }
    if (line.starts_with("#")) continue;
    EXPECT_TRUE(line.starts_with("keymux_")) << line;
    if (const auto at = line.find("key=\""); at != std::string::npos) {
      key_labels.insert(line.substr(at + 5, line.find('"', at + 5) - at - 5));
    }
  }
  EXPECT_EQ(key_labels, (std::set<std::string>{"k1", "k2"}));
  for (const char* family :
       {"keymux_decisions_total", "keymux_decision_duration_seconds", "keymux_key_requests_total",
        "keymux_key_state", "keymux_key_cooldowns_total", "keymux_client_requests_total",
        "keymux_spop_protocol_errors_total", "keymux_config_reloads_total",
        "keymux_key_ejections_total", "keymux_provider_health", "keymux_provider_ejections_total",
        "keymux_panic_routed_total"}) {
    EXPECT_TRUE(typed.count(family)) << family;
  }
  EXPECT_NE(page.find("keymux_decisions_total{outcome=\"routed\"} 1\n"), std::string::npos);
  EXPECT_NE(page.find("keymux_decision_duration_seconds_bucket{le=\"5e-06\"} 1\n"),
            std::string::npos);
  EXPECT_NE(page.find("keymux_decision_duration_seconds_count 1\n"), std::string::npos);
  EXPECT_NE(page.find("keymux_spop_protocol_errors_total{status=\"invalid_frame_received\"} 2\n"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("status_class=\"2xx\"} 1\n"), std::string::npos);
  EXPECT_NE(page.find("keymux_client_requests_total{client=\"anonymous\",outcome=\"routed\"}"),
            std::string::npos);
  EXPECT_EQ(page.find("sk-secret"), std::string::npos);
  EXPECT_NE(page.find("keymux_provider_health{provider=\"p\"} 0\n"), std::string::npos);
  EXPECT_NE(page.find("keymux_panic_routed_total 1\n"), std::string::npos);
}

}  // namespace
}  // namespace keymux::metrics
