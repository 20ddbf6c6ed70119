// The routing brain behind the SPOP server, spoken to as HAProxy would: a
// "route" message gets the variables HAProxy routes with, a "settle" message
// teaches the router about the key that served.
#include "agent/handler/decision_handler.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "agent/config/loader.h"
#include "agent/router/clock.h"
#include "agent/router/key_registry.h"
#include "agent/router/router.h"
#include "agent/router/snapshot.h"
#include "agent/spop/writer.h"
#include "tests/integration/server_fixture.h"

namespace keymux::testing {
namespace {

using spop::TypedValue;

constexpr std::string_view kConfig = R"(
providers:
  - name: openai
    backend: be_openai
    auth: bearer
    keys:
      - {id: oa-1, secret: test-secret-oa-1}
      - {id: oa-2, secret: test-secret-oa-2}
  - name: anthropic
    backend: be_anthropic
    auth: x-api-key
    keys:
      - {id: an-1, secret: test-secret-an-1}
routes:
  - models: ["gpt-4o", "gpt-4o-mini", "gpt-*"]
    targets: [{provider: openai}]
  - models: ["claude-*"]
    default: true
    targets: [{provider: anthropic}]
allow_anonymous: true
clients:
  - name: limited
    token_sha256: "a928aea21160b836c679afa38fd4d0d44539ea87e92652390ba70ab75ae98fc0"  # tok-limited
    models: ["gpt-4o"]
    rpm: 1
  - name: open
    token_sha256: "7789b6f913b11ceeb74f8adc74e641b118f5006507ff4268480099de5db720f5"  # tok-open
)";

// How a request carries its client token: SPOE args client_auth (the
// Authorization header) and client_api_key (x-api-key), NULL when absent.
struct Credentials {
  std::optional<std::string> authorization{};
  std::optional<std::string> api_key{};
};

TypedValue text_or_null(const std::optional<std::string>& text) {
  return text ? TypedValue::of_string(*text) : TypedValue::null();
}

// HAProxy's res.hdrs_bin: (name, value) length-prefixed pairs, then two zero bytes.
std::string header_block(const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string out;
  spop::Writer writer(out);
  for (const auto& [name, value] : headers) {
    writer.length_prefixed(name);
    writer.length_prefixed(value);
  }
  writer.varint(0);
  writer.varint(0);
  return out;
}

class DecisionHandlerTest : public ::testing::Test {
 protected:
  virtual std::string_view config_text() const { return kConfig; }

  void SetUp() override {
    config::LoadResult loaded =
        config::load_config_text(config_text(), "test.yaml", config::Environment::process());
    ASSERT_TRUE(loaded.errors.empty()) << config::format_error(loaded.errors.front());
    router_ = std::make_unique<router::Router>(
        clock_, router::Snapshot::build(*loaded.config, registry_, clients_), registry_);
    server_ = std::make_unique<RunningServer>(
        [this](int) { return std::make_unique<handler::DecisionHandler>(*router_); });
    ASSERT_TRUE(server_->ok()) << server_->error();
    connect_and_handshake(client_, server_->address());
  }

  std::vector<AckAction> get(std::string_view path, const Credentials& credentials = {}) {
    return exchange({{"route",
                      {{"method", TypedValue::of_string("GET")},
                       {"path", TypedValue::of_string(path)},
                       {"request_id", TypedValue::of_string("req-get")},
                       {"model", TypedValue::null()},
                       {"body_size", TypedValue::of_int64(0)},
                       {"client_auth", text_or_null(credentials.authorization)},
                       {"client_api_key", text_or_null(credentials.api_key)}}}});
  }

  // Sends one "route" message; `model` empty means HAProxy found none (NULL).
  std::vector<AckAction> route(std::string_view model, std::string_view request_id,
                               const Credentials& credentials = {}) {
    const std::string body = R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":50})";
    std::vector<TestArg> args = {
        {"method", TypedValue::of_string("POST")},
        {"path", TypedValue::of_string("/v1/chat/completions")},
        {"request_id", TypedValue::of_string(request_id)},
        {"model", model.empty() ? TypedValue::null() : TypedValue::of_string(model)},
        {"body_size", TypedValue::of_int64(static_cast<std::int64_t>(body.size()))},
        {"body", TypedValue::of_binary(body)},
        {"client_auth", text_or_null(credentials.authorization)},
        {"client_api_key", text_or_null(credentials.api_key)},
    };
    return exchange({{"route", args}});
  }

  // `usage`: the settle message's usage_* arguments (HAProxy's json_query of the body).
  void settle(const std::vector<AckAction>& routed, int status, const std::string& headers,
              const std::vector<TestArg>& usage = {}) {
    const std::string key_id = var(routed, "key_id");
    std::vector<TestArg> args = {
        {"status", TypedValue::of_int64(status)},
        {"ticket", TypedValue::of_int64(ticket(routed))},
        {"key_id", TypedValue::of_string(key_id)},
        {"headers", TypedValue::of_binary(headers)},
    };
    args.insert(args.end(), usage.begin(), usage.end());
    exchange({{"settle", args}});
  }

  std::vector<AckAction> exchange(const std::vector<TestMessage>& messages) {
    next_stream_ += 2;
    EXPECT_TRUE(client_.send_notify(next_stream_, 1, messages)) << client_.last_error();
    ReceivedFrame frame;
    auto actions = client_.read_ack(&frame);
    EXPECT_TRUE(actions.has_value()) << client_.last_error();
    EXPECT_EQ(frame.stream_id, next_stream_);
    return actions.value_or(std::vector<AckAction>{});
  }

  static std::string var(const std::vector<AckAction>& actions, std::string_view name) {
    return find_var_text(actions, name).value_or("");
  }
  static std::int64_t int_var(const std::vector<AckAction>& actions, std::string_view name) {
    for (const AckAction& a : actions) {
      if (a.name == name) return a.value.sint;
    }
    return -1;
  }
  static std::int64_t ticket(const std::vector<AckAction>& actions) {
    return int_var(actions, "ticket");
  }

  router::SystemClock clock_;
  router::KeyRegistry registry_;
  router::ClientRegistry clients_;
  std::unique_ptr<router::Router> router_;
  std::unique_ptr<RunningServer> server_;
  SpopClient client_;
  std::uint64_t next_stream_ = 1;
};

TEST_F(DecisionHandlerTest, RouteGivesTheVariablesHaproxyRoutesWith) {
  const auto actions = route("gpt-4o", "req-1");
  EXPECT_EQ(var(actions, "backend"), "be_openai");
  EXPECT_EQ(var(actions, "provider"), "openai");
  const std::string key = var(actions, "key_id");
  ASSERT_TRUE(key == "oa-1" || key == "oa-2") << key;
  EXPECT_EQ(var(actions, "secret"), "test-secret-" + key);
  EXPECT_GT(ticket(actions), 0);
  EXPECT_EQ(int_var(actions, "attempt"), 1);
  EXPECT_EQ(var(actions, "auth"), "bearer");
  for (const AckAction& a : actions) EXPECT_EQ(a.scope, spop::VarScope::kTransaction);
  EXPECT_EQ(var(route("claude-3-5-haiku", "req-2"), "auth"), "x-api-key");
}

// A body larger than HAProxy's buffer: 400 KiB announced, 64 KiB held, its
// "model" past that part (SDKs write it last).
TEST_F(DecisionHandlerTest, APartialBodyIsMarkedAndItsModelComesFromTheHeaderElseTheDefault) {
  const auto large = [this](std::optional<std::string> header_model,
                            const Credentials& credentials = {}) {
    const std::string prefix = R"({"messages":[{"role":"user","content":"xxxxxxxx)";
    return exchange({{"route",
                      {{"method", TypedValue::of_string("POST")},
                       {"path", TypedValue::of_string("/v1/chat/completions")},
                       {"request_id", TypedValue::of_string("req-large")},
                       {"model", TypedValue::null()},
                       {"body_size", TypedValue::of_int64(400 * 1024)},
                       {"body_len", TypedValue::of_int64(64 * 1024)},
                       {"body", TypedValue::of_binary(prefix)},
                       {"header_model", text_or_null(header_model)},
                       {"client_auth", text_or_null(credentials.authorization)}}}});
  };
  const auto unseen = large(std::nullopt);
  EXPECT_EQ(var(unseen, "backend"), "be_anthropic");  // the default route
  EXPECT_EQ(var(unseen, "body"), "partial");
  EXPECT_EQ(var(unseen, "model_from"), "default");
  const auto named = large("gpt-4o");
  EXPECT_EQ(var(named, "backend"), "be_openai");
  EXPECT_EQ(var(named, "body"), "partial");
  EXPECT_EQ(var(named, "model_from"), "header");
  // A client with a model list cannot be shown to ask for an allowed one: refused.
  const auto refused = large(std::nullopt, {.authorization = "Bearer tok-limited"});
  EXPECT_EQ(int_var(refused, "error_status"), 403);
  EXPECT_EQ(var(refused, "model_from"), "none");
  EXPECT_EQ(var(refused, "body"), "partial");
  // A whole body with its model: neither variable.
  const auto whole = route("gpt-4o", "req-whole");
  EXPECT_EQ(var(whole, "backend"), "be_openai");
  EXPECT_FALSE(find_var_text(whole, "body").has_value());
  EXPECT_FALSE(find_var_text(whole, "model_from").has_value());
}

TEST_F(DecisionHandlerTest, ModelsAreListedByTheGatewayWithoutAKey) {
  const auto list = get("/v1/models");
  // Exact names only: globs name no model.
  EXPECT_EQ(var(list, "answer_body"),
            R"({"object":"list","data":[)"
            R"({"id":"gpt-4o","object":"model","created":0,"owned_by":"openai"},)"
            R"({"id":"gpt-4o-mini","object":"model","created":0,"owned_by":"openai"}]})");
  EXPECT_EQ(var(list, "client"), "anonymous");
  EXPECT_EQ(var(list, "secret"), "");
  EXPECT_EQ(var(list, "backend"), "");
  const auto one = get("/v1/models/gpt-4.1");
  EXPECT_EQ(int_var(one, "error_status"), 404);
  EXPECT_EQ(var(one, "error_code"), "model_not_found");
  // Not a models path: routed as usual (no model, so the default route).
  EXPECT_EQ(var(get("/v1/modelsX"), "backend"), "be_anthropic");
}

TEST_F(DecisionHandlerTest, ARetryOfTheSameRequestGetsAnotherKey) {
  const auto first = route("gpt-4o", "req-retry");
  settle(first, 503, header_block({}));  // HAProxy retries after an upstream 5xx
  const auto second = route("gpt-4o", "req-retry");
  EXPECT_NE(var(first, "key_id"), var(second, "key_id"));
  EXPECT_EQ(int_var(second, "attempt"), 2);
}

TEST_F(DecisionHandlerTest, ARateLimitedKeyIsNotChosenDuringItsCooldown) {
  const auto routed = route("gpt-4o", "req-429");
  const std::string limited = var(routed, "key_id");
  settle(routed, 429, header_block({{"retry-after", "30"}, {"content-type", "application/json"}}));
  for (int i = 0; i < 10; ++i) {
    const auto next = route("gpt-4o", "req-after-" + std::to_string(i));
    EXPECT_NE(var(next, "key_id"), limited);
    settle(next, 200, header_block({{"x-ratelimit-remaining-requests", "99"}}));
  }
}

TEST_F(DecisionHandlerTest, RevokedKeysAreQuarantinedThen503) {
  const auto routed = route("claude-3-5-sonnet", "req-401");
  ASSERT_EQ(var(routed, "key_id"), "an-1");
  settle(routed, 401, header_block({}));
  const auto next = route("claude-3-5-sonnet", "req-after-401");
  EXPECT_EQ(int_var(next, "error_status"), 503);
  EXPECT_EQ(var(next, "error_code"), "keys_unavailable");
  EXPECT_EQ(var(next, "backend"), "");
}

TEST_F(DecisionHandlerTest, UnknownModelIsAnOpenAiStyle404) {
  const auto actions = route("no-such-model", "req-404");
  EXPECT_EQ(int_var(actions, "error_status"), 404);
  EXPECT_EQ(var(actions, "error_code"), "model_not_found");
  const std::string body = var(actions, "error_body");
  EXPECT_NE(body.find(R"("type":"invalid_request_error")"), std::string::npos) << body;
  EXPECT_NE(body.find(R"("code":"model_not_found")"), std::string::npos) << body;
  EXPECT_NE(body.find("no-such-model"), std::string::npos) << body;
  EXPECT_EQ(var(actions, "secret"), "");
}

TEST_F(DecisionHandlerTest, NoModelGoesToTheDefaultRoute) {
  const auto actions = route("", "req-default");
  EXPECT_EQ(var(actions, "backend"), "be_anthropic");
}

TEST_F(DecisionHandlerTest, EveryKeyBusyIs429WithRetryAfter) {
  for (const char* id : {"a", "b"}) {
    const auto routed = route("gpt-4o", std::string("req-busy-") + id);
    settle(routed, 429, header_block({{"retry-after-ms", "2500"}}));
  }
  const auto actions = route("gpt-4o", "req-busy-c");
  EXPECT_EQ(int_var(actions, "error_status"), 429);
  EXPECT_EQ(var(actions, "error_code"), "keys_exhausted");
  const std::int64_t retry_after = int_var(actions, "retry_after");
  EXPECT_GE(retry_after, 1);
  EXPECT_LE(retry_after, 3);
}

TEST_F(DecisionHandlerTest, AClientTokenNamesTheClientNeverTheToken) {
  const auto bearer = route("gpt-4o", "req-c1", {.authorization = "Bearer tok-open"});
  EXPECT_EQ(var(bearer, "client"), "open");
  EXPECT_EQ(var(bearer, "backend"), "be_openai");
  const auto lower_case = route("gpt-4o", "req-c2", {.authorization = "bearer tok-open"});
  EXPECT_EQ(var(lower_case, "client"), "open");
  const auto api_key = route("claude-3-5-haiku", "req-c3", {.api_key = "tok-open"});
  EXPECT_EQ(var(api_key, "client"), "open");
  EXPECT_EQ(var(api_key, "backend"), "be_anthropic");
  // Authorization wins over x-api-key.
  const auto both =
      route("gpt-4o", "req-c4", {.authorization = "Bearer tok-open", .api_key = "tok-limited"});
  EXPECT_EQ(var(both, "client"), "open");
  const auto anonymous = route("gpt-4o", "req-c5");
  EXPECT_EQ(var(anonymous, "client"), "anonymous");
  for (const auto& actions : {bearer, lower_case, api_key, both, anonymous}) {
    for (const AckAction& a : actions) {
      EXPECT_EQ(a.value.bytes.find("tok-"), std::string::npos) << a.name;
    }
  }
}

TEST_F(DecisionHandlerTest, AnUnknownTokenIs401WithoutAKeyOrAClient) {
  const auto actions = route("gpt-4o", "req-401c", {.authorization = "Bearer tok-wrong"});
  EXPECT_EQ(int_var(actions, "error_status"), 401);
  EXPECT_EQ(var(actions, "error_code"), "invalid_client_token");
  const std::string body = var(actions, "error_body");
  EXPECT_NE(body.find(R"("type":"authentication_error")"), std::string::npos) << body;
  EXPECT_EQ(body.find("tok-wrong"), std::string::npos) << body;
  EXPECT_EQ(var(actions, "client"), "");
  EXPECT_EQ(var(actions, "backend"), "");
  EXPECT_EQ(var(actions, "secret"), "");
  // Another scheme carries no token: anonymous here.
  EXPECT_EQ(var(route("gpt-4o", "req-basic", {.authorization = "Basic eDp5"}), "client"),
            "anonymous");
}

TEST_F(DecisionHandlerTest, AModelOutsideTheClientsListIs403) {
  const auto actions = route("gpt-4o-mini", "req-403", {.api_key = "tok-limited"});
  EXPECT_EQ(int_var(actions, "error_status"), 403);
  EXPECT_EQ(var(actions, "error_code"), "model_not_allowed");
  EXPECT_NE(var(actions, "error_body").find(R"("type":"permission_error")"), std::string::npos);
  EXPECT_EQ(var(actions, "client"), "limited");
  EXPECT_EQ(var(actions, "backend"), "");
}

TEST_F(DecisionHandlerTest, AClientOverItsRpmIs429WithRetryAfter) {
  const Credentials limited{.authorization = "Bearer tok-limited"};
  const auto first = route("gpt-4o", "req-rpm-1", limited);
  ASSERT_EQ(var(first, "backend"), "be_openai");
  const auto second = route("gpt-4o", "req-rpm-2", limited);
  EXPECT_EQ(int_var(second, "error_status"), 429);
  EXPECT_EQ(var(second, "error_code"), "client_rate_limited");
  EXPECT_NE(var(second, "error_body").find(R"("type":"rate_limit_error")"), std::string::npos);
  EXPECT_EQ(var(second, "client"), "limited");
  const std::int64_t retry_after = int_var(second, "retry_after");
  EXPECT_GE(retry_after, 59);
  EXPECT_LE(retry_after, 60);
  EXPECT_EQ(var(second, "secret"), "");
}

TEST_F(DecisionHandlerTest, ModelsListOnlyWhatTheClientMayUse) {
  const auto limited = get("/v1/models", {.authorization = "Bearer tok-limited"});
  EXPECT_EQ(var(limited, "answer_body"),
            R"({"object":"list","data":[)"
            R"({"id":"gpt-4o","object":"model","created":0,"owned_by":"openai"}]})");
  EXPECT_EQ(var(limited, "client"), "limited");
  EXPECT_EQ(int_var(get("/v1/models/gpt-4o-mini", {.api_key = "tok-limited"}), "error_status"),
            404);
  EXPECT_EQ(var(get("/v1/models/gpt-4o", {.api_key = "tok-limited"}), "answer_body"),
            R"({"id":"gpt-4o","object":"model","created":0,"owned_by":"openai"})");
  const auto open = get("/v1/models", {.api_key = "tok-open"});
  EXPECT_NE(var(open, "answer_body").find("gpt-4o-mini"), std::string::npos);
  const auto refused = get("/v1/models", {.authorization = "Bearer tok-wrong"});
  EXPECT_EQ(int_var(refused, "error_status"), 401);
  EXPECT_EQ(var(refused, "error_code"), "invalid_client_token");
  EXPECT_EQ(var(refused, "answer_body"), "");
}

TEST_F(DecisionHandlerTest, VersionMessageAnswersTheAgentVersion) {
  const auto actions = exchange({{"version", {}}});
  EXPECT_FALSE(var(actions, "agent_version").empty());
}

TEST_F(DecisionHandlerTest, UnknownMessageStillGetsAnAction) {
  const auto actions = exchange({{"something-else", {}}});
  EXPECT_EQ(actions.size(), 1u);
}

// A key with a tpm limit: HAProxy is told to read the answer's usage, and
// the settle's usage replaces the estimate in the key's window.
constexpr std::string_view kTpmConfig = R"(
providers:
  - name: openai
    backend: be_openai
    auth: bearer
    keys:
      - {id: free, secret: test-secret-free}
  - name: metered
    backend: be_openai
    auth: bearer
    keys:
      - {id: tpm-1, secret: test-secret-tpm-1, tpm: 100000}
routes:
  - models: ["gpt-4o"]
    targets: [{provider: openai}]
  - models: ["metered"]
    targets: [{provider: metered}]
allow_anonymous: true
)";

class DecisionHandlerTokensTest : public DecisionHandlerTest {
 protected:
  std::string_view config_text() const override { return kTpmConfig; }
  std::uint64_t tokens_in_window(const std::string& key) {
    return registry_.get(key).view(clock_.now()).tokens_in_window;
  }
};

TEST_F(DecisionHandlerTokensTest, OnlyAKeyWithATpmLimitAsksForTheUsage) {
  EXPECT_EQ(int_var(route("metered", "req-1"), "want_usage"), 1);
  EXPECT_EQ(int_var(route("gpt-4o", "req-2"), "want_usage"), -1) << "no such variable";
}

TEST_F(DecisionHandlerTokensTest, TheUsageReplacesTheEstimate) {
  const auto first = route("metered", "req-1");
  const std::uint64_t estimate = tokens_in_window("tpm-1");
  ASSERT_GT(estimate, 12u);
  settle(first, 200, header_block({}), {{"usage_total", TypedValue::of_int64(12)}});
  EXPECT_EQ(tokens_in_window("tpm-1"), 12u);
  // Anthropic's shape: input + output tokens.
  settle(route("metered", "req-2"), 200, header_block({}),
         {{"usage_input", TypedValue::of_int64(7)},
          {"usage_output", TypedValue::of_int64(500)},
          {"usage_total", TypedValue::null()}});
  EXPECT_EQ(tokens_in_window("tpm-1"), 12u + 507u);
  // No usage (a body past HAProxy's buffer), or half of Anthropic's: the estimate stays.
  settle(route("metered", "req-3"), 200, header_block({}),
         {{"usage_total", TypedValue::null()}, {"usage_input", TypedValue::of_int64(3)}});
  EXPECT_EQ(tokens_in_window("tpm-1"), 12u + 507u + estimate);
  // A negative count is no count.
  settle(route("metered", "req-4"), 200, header_block({}),
         {{"usage_total", TypedValue::of_int64(-5)}});
  EXPECT_EQ(tokens_in_window("tpm-1"), 12u + 507u + 2 * estimate);
}

}  // namespace
}  // namespace keymux::testing
