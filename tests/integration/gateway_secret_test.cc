// The gateway secret (spop.secret) spoken to as HAProxy and as an intruder
// would: a client holding a valid client token but not the gateway secret
// gets no upstream key, and its settles change nothing.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <sstream>
#include <string>

#include "agent/config/loader.h"
#include "agent/handler/decision_handler.h"
#include "agent/metrics/agent_metrics.h"
#include "agent/router/clock.h"
#include "agent/router/key_registry.h"
#include "agent/router/router.h"
#include "agent/router/snapshot.h"
#include "tests/integration/server_fixture.h"

namespace keymux::testing {
namespace {

using spop::TypedValue;

// One key, and only a client with a token may call.
constexpr std::string_view kConfig = R"(
providers:
  - name: openai
    backend: be_openai
    auth: bearer
    keys:
      - {id: oa-1, secret: test-secret-oa-1}
routes:
  - models: ["*"]
    default: true
    targets: [{provider: openai}]
clients:
  - name: app
    token_sha256: "7789b6f913b11ceeb74f8adc74e641b118f5006507ff4268480099de5db720f5"  # tok-open
)";
constexpr std::string_view kClientAuth = "Bearer tok-open";
constexpr std::string_view kGatewaySecret = "gw-test-0123456789abcdef";
constexpr std::string_view kWrongSameLength = "gw-test-0123456789abcdeX";

std::optional<std::int64_t> int_var(const std::vector<AckAction>& actions, std::string_view name) {
  for (const AckAction& a : actions) {
    if (a.name == name) return a.value.sint;
  }
  return std::nullopt;
}

class GatewaySecretTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The handler's log lines, to count them.
    previous_logger_ = spdlog::default_logger();
    spdlog::set_default_logger(std::make_shared<spdlog::logger>(
        "test", std::make_shared<spdlog::sinks::ostream_sink_mt>(log_)));
    config::LoadResult loaded =
        config::load_config_text(kConfig, "test.yaml", config::Environment::process());
    ASSERT_TRUE(loaded.errors.empty()) << config::format_error(loaded.errors.front());
    router_ = std::make_unique<router::Router>(
        clock_, router::Snapshot::build(*loaded.config, registry_, clients_), registry_);
  }
  void TearDown() override {
    client_.close();  // first: the server's stop then needs no linger
    server_.reset();
    spdlog::set_default_logger(previous_logger_);
  }

  // The agent with `secret` as spop.secret ("" for none), and one connection.
  void Start(std::string_view secret) {
    server_ = std::make_unique<RunningServer>([this, secret](int) {
      return std::make_unique<handler::DecisionHandler>(
          *router_, &metrics_.add_worker(), handler::GatewaySecret(std::string(secret)));
    });
    ASSERT_TRUE(server_->ok()) << server_->error();
    Connect();
  }
  void Connect() {
    client_ = SpopClient();
    connect_and_handshake(client_, server_->address());
  }

  // A route message with a valid client token; `gateway` nullopt: no argument.
  std::vector<AckAction> Route(std::optional<std::string_view> gateway) {
    const std::string request_id = "req-" + std::to_string(next_stream_);
    std::vector<TestArg> args = {
        {"method", TypedValue::of_string("POST")},
        {"path", TypedValue::of_string("/v1/chat/completions")},
        {"request_id", TypedValue::of_string(request_id)},
        {"model", TypedValue::of_string("gpt-4o")},
        {"client_auth", TypedValue::of_string(kClientAuth)},
        {"client_api_key", TypedValue::null()},
    };
    if (gateway) args.push_back({"gateway_secret", TypedValue::of_string(*gateway)});
    return Exchange({{"route", args}});
  }

  // HAProxy reporting that the key was revoked (401).
  void Settle401(const std::vector<AckAction>& routed, std::optional<std::string_view> gateway) {
    std::vector<TestArg> args = {
        {"status", TypedValue::of_int64(401)},
        {"ticket", TypedValue::of_int64(int_var(routed, "ticket").value_or(0))},
        {"key_id", TypedValue::of_string("oa-1")},
        {"headers", TypedValue::null()},
    };
    if (gateway) args.push_back({"gateway_secret", TypedValue::of_string(*gateway)});
    Exchange({{"settle", args}});
  }

  std::vector<AckAction> Exchange(const std::vector<TestMessage>& messages) {
    next_stream_ += 2;
    EXPECT_TRUE(client_.send_notify(next_stream_, 1, messages)) << client_.last_error();
    auto actions = client_.read_ack();
    EXPECT_TRUE(actions.has_value()) << client_.last_error();
    return actions.value_or(std::vector<AckAction>{});
  }

  std::uint64_t Refused(std::size_t reason) const {
    return metrics_.totals().unauthenticated[reason];
  }
  int LogLines(std::string_view text) const {
    const std::string log = log_.str();
    int n = 0;
    for (std::size_t at = log.find(text); at != std::string::npos; at = log.find(text, at + 1)) {
      ++n;
    }
    return n;
  }

  static void ExpectRefused(const std::vector<AckAction>& actions) {
    EXPECT_FALSE(find_var_text(actions, "secret").has_value());
    EXPECT_FALSE(find_var_text(actions, "backend").has_value());
    EXPECT_FALSE(find_var_text(actions, "key_id").has_value());
    EXPECT_EQ(int_var(actions, "error_status"), 503);
    EXPECT_EQ(find_var_text(actions, "error_code"), "gateway_unauthenticated");
  }

  std::ostringstream log_;
  std::shared_ptr<spdlog::logger> previous_logger_;
  router::SystemClock clock_;
  router::KeyRegistry registry_;
  router::ClientRegistry clients_;
  metrics::AgentMetrics metrics_;
  std::unique_ptr<router::Router> router_;
  std::unique_ptr<RunningServer> server_;
  SpopClient client_;
  std::uint64_t next_stream_ = 1;
};

TEST_F(GatewaySecretTest, AValidClientTokenWithoutTheGatewaySecretGetsNoKey) {
  Start(kGatewaySecret);
  ExpectRefused(Route(std::nullopt));
  ExpectRefused(Route(""));
  EXPECT_EQ(Refused(0), 2u);
  ExpectRefused(Route(kWrongSameLength));
  ExpectRefused(Route("none"));  // haproxy.cfg's default when KEYMUX_SPOP_SECRET is unset
  ExpectRefused(Route(std::string(kGatewaySecret) + "x"));
  EXPECT_EQ(Refused(1), 3u);
}

TEST_F(GatewaySecretTest, TheRightGatewaySecretGetsTheKey) {
  Start(kGatewaySecret);
  const auto actions = Route(kGatewaySecret);
  EXPECT_EQ(find_var_text(actions, "secret"), "test-secret-oa-1");
  EXPECT_EQ(find_var_text(actions, "client"), "app");
  EXPECT_EQ(Refused(0) + Refused(1), 0u);
  EXPECT_EQ(log_.str().find("gateway secret"), std::string::npos) << log_.str();
}

TEST_F(GatewaySecretTest, ASettleWithoutTheGatewaySecretChangesNothing) {
  Start(kGatewaySecret);
  const auto routed = Route(kGatewaySecret);
  ASSERT_TRUE(find_var_text(routed, "secret").has_value());
  Settle401(routed, std::nullopt);
  Settle401(routed, kWrongSameLength);
  // Not quarantined: the key still serves.
  EXPECT_EQ(find_var_text(Route(kGatewaySecret), "secret"), "test-secret-oa-1");
  EXPECT_EQ(Refused(0), 1u);
  EXPECT_EQ(Refused(1), 1u);
  // The real one is heard.
  Settle401(routed, kGatewaySecret);
  EXPECT_EQ(int_var(Route(kGatewaySecret), "error_status"), 503);
}

TEST_F(GatewaySecretTest, LoggedOncePerConnectionNeverTheValue) {
  Start(kGatewaySecret);
  for (int i = 0; i < 3; ++i) Route(kWrongSameLength);
  Route(std::nullopt);
  EXPECT_EQ(LogLines("gateway secret in a 'route' message; refused"), 1) << log_.str();
  Connect();
  Route(std::nullopt);
  Route(kWrongSameLength);
  spdlog::default_logger()->flush();
  EXPECT_EQ(LogLines("gateway secret in a 'route' message; refused"), 2) << log_.str();
  EXPECT_EQ(LogLines("SPOP connection from 127.0.0.1:"), 2) << log_.str();
  EXPECT_EQ(log_.str().find(kWrongSameLength), std::string::npos);
  EXPECT_EQ(log_.str().find("0123456789"), std::string::npos);
}

TEST_F(GatewaySecretTest, WithoutAConfiguredSecretTheArgumentIsIgnored) {
  Start("");
  EXPECT_EQ(find_var_text(Route(std::nullopt), "secret"), "test-secret-oa-1");
  const auto second = Route("none");
  EXPECT_EQ(find_var_text(second, "secret"), "test-secret-oa-1")
      << find_var_text(second, "error_body").value_or("");
  EXPECT_EQ(Refused(0) + Refused(1), 0u);
}

}  // namespace
}  // namespace keymux::testing
