// What operators see of the shared state: the /readyz line, the metrics and
// GET /v1/state.
#include "agent/state/state_report.h"

#include <gtest/gtest.h>

namespace keymux::state {
namespace {

StateReport Sample(bool healthy) {
  StateReport r{"gw-1", "127.0.0.1:6379", healthy, 3, 2, 1, {}};
  r.keys.push_back({"k1",
                    {.requests_granted = 5,
                     .requests_left = 2,
                     .tokens_granted = 900,
                     .tokens_left = 100,
                     .taken_total = 40,
                     .taken_degraded_total = 7}});
  return r;
}

TEST(StateReportTest, ReadyzSaysTheMode) {
  EXPECT_EQ(state_readyz_line(Sample(true)), "redis: healthy (node gw-1, live nodes: 3)\n");
  EXPECT_EQ(state_readyz_line(Sample(false)), "redis: degraded (node gw-1, live nodes: 3)\n");
}

TEST(StateReportTest, MetricsPerNodeAndPerKey) {
  const std::string m = state_metrics_text(Sample(false));
  EXPECT_NE(m.find("keymux_state_healthy{node=\"gw-1\"} 0\n"), std::string::npos);
  EXPECT_NE(m.find("keymux_state_live_nodes 3\n"), std::string::npos);
  EXPECT_NE(m.find("keymux_key_shared_requests_granted{key=\"k1\"} 5\n"), std::string::npos);
  EXPECT_NE(m.find("keymux_key_shared_tokens_left{key=\"k1\"} 100\n"), std::string::npos);
  EXPECT_NE(m.find("keymux_key_shared_taken_degraded_total{key=\"k1\"} 7\n"), std::string::npos);
  EXPECT_NE(m.find("# TYPE keymux_key_shared_taken_total counter\n"), std::string::npos);
}

TEST(StateReportTest, Json) {
  EXPECT_EQ(state_json(Sample(true)),
            "{\"node\":\"gw-1\",\"redis\":\"127.0.0.1:6379\",\"mode\":\"healthy\","
            "\"live_nodes\":3,\"mode_changes\":2,\"replays\":1,\"keys\":[{\"id\":\"k1\","
            "\"requests_granted\":5,\"requests_left\":2,\"tokens_granted\":900,"
            "\"tokens_left\":100,\"taken_total\":40,\"taken_degraded_total\":7}]}");
}

}  // namespace
}  // namespace keymux::state
