// The mock upstream's request handling end to end, without sockets: keys and
// auth styles, rate limits with a fake clock, faults, the control endpoints
// and the stats (which must never show a secret).
#include "tests/mock_upstream/mock_service.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <string_view>

#include "agent/router/clock.h"
#include "tests/mock_upstream/json_scan.h"
#include "tests/mock_upstream/keys.h"
#include "tests/mock_upstream/mock_state.h"
#include "tests/unit/mock_test_util.h"

namespace keymux::mock {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::field;
using testing::header;
using testing::parse_json;
using testing::Response;
using testing::split_response;

class MockServiceTest : public ::testing::Test {
 protected:
  MockServiceTest()
      : state_({{"k1", "sk-secret-one", {.rpm = 2, .tpm = 0}},
                {"k2", "sk-secret-two", {.rpm = 0, .tpm = 100}},
                {"k3", "sk-three", {}}},
               Faults{}, clock_),
        service_(state_, 1, 0) {}

  // Sends one raw request; returns the reply's parts joined.
  std::string raw(const std::string& request) {
    HttpRequestParser parser;
    parser.feed(request);
    HttpRequest parsed;
    reply_.clear();
    if (parser.next(parsed) == ParseStatus::kRequest) {
      service_.handle(parsed, reply_);
    } else {
      service_.handle_malformed(parser.error_status(), reply_);
    }
    std::string out;
    for (std::size_t i = 0; i < reply_.part_count(); ++i) out += reply_.part(i);
    return out;
  }

  Response send(std::string_view method, std::string_view path, std::string_view auth,
                std::string_view body = "") {
    std::string request =
        std::string(method) + " " + std::string(path) + " HTTP/1.1\r\nHost: m\r\n";
    if (!auth.empty()) request += std::string(auth) + "\r\n";
    request += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
    return split_response(raw(request));
  }

  Response chat(std::string_view auth, std::string_view body = R"({"model":"m"})") {
    return send("POST", "/v1/chat/completions", auth, body);
  }

  router::FakeClock clock_{Time(seconds(1'795'708'740))};  // 2026-11-26T15:59:00Z
  MockState state_;
  MockService service_;
  Reply reply_;
};

TEST_F(MockServiceTest, AnswersWithTheKeyAndItsStyle) {
  Response r = chat("Authorization: Bearer sk-secret-one");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(header(r, "x-mock-key-id"), "k1");
  EXPECT_EQ(header(r, "x-mock-auth-style"), "bearer");
  const auto json = parse_json(r.body);
  ASSERT_TRUE(json) << r.body;
  const auto& choice = field(*json, "choices").list_value().values(0).struct_value();
  EXPECT_EQ(field(field(choice, "message").struct_value(), "content").string_value(),
            "Hello from keymux-mock (key k1)");

  r = send("GET", "/v1/models", "x-api-key: sk-three");
  EXPECT_EQ(header(r, "x-mock-auth-style"), "x-api-key");
  EXPECT_EQ(header(r, "x-mock-key-id"), "k3");
  r = send("POST", "/v1/embeddings", "api-key: sk-three");
  EXPECT_EQ(header(r, "x-mock-auth-style"), "api-key");
  EXPECT_EQ(r.body, R"({"object":"mock","method":"POST","path":"/v1/embeddings"})");
  // Bearer wins over x-api-key.
  r = chat("Authorization: Bearer sk-three\r\nx-api-key: sk-secret-one");
  EXPECT_EQ(header(r, "x-mock-key-id"), "k3");
}

TEST_F(MockServiceTest, UnknownOrMissingKeyIs401) {
  for (const std::string_view auth : {"", "Authorization: Bearer nope", "Authorization: Basic x"}) {
    const Response r = chat(auth);
    EXPECT_EQ(r.status, 401);
    const auto json = parse_json(r.body);
    ASSERT_TRUE(json);
    EXPECT_EQ(field(field(*json, "error").struct_value(), "code").string_value(),
              "invalid_api_key");
  }
  const Response r = send("POST", "/v1/messages", "x-api-key: nope");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body.find("\"type\":\"error\""), 1u);
}

TEST_F(MockServiceTest, RateLimitAfterRpmWithExactHeaders) {
  Response r = chat("Authorization: Bearer sk-secret-one");
  EXPECT_EQ(header(r, "x-ratelimit-limit-requests"), "2");
  EXPECT_EQ(header(r, "x-ratelimit-remaining-requests"), "1");
  EXPECT_EQ(header(r, "x-ratelimit-reset-requests"), "1m0s");
  EXPECT_EQ(header(r, "x-ratelimit-limit-tokens"), "");
  clock_.advance(seconds(1));
  r = chat("Authorization: Bearer sk-secret-one");
  EXPECT_EQ(header(r, "x-ratelimit-remaining-requests"), "0");
  EXPECT_EQ(header(r, "x-ratelimit-reset-requests"), "59s");
  clock_.advance(milliseconds(500));
  r = chat("Authorization: Bearer sk-secret-one");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(header(r, "retry-after"), "59");
  EXPECT_EQ(header(r, "retry-after-ms"), "58500");
  EXPECT_EQ(header(r, "x-ratelimit-reset-requests"), "58.5s");
  const auto json = parse_json(r.body);
  ASSERT_TRUE(json);
  EXPECT_EQ(field(field(*json, "error").struct_value(), "type").string_value(), "rate_limit_error");
  EXPECT_EQ(field(field(*json, "error").struct_value(), "code").string_value(),
            "rate_limit_exceeded");

  // Anthropic shape on /v1/messages, same window.
  r = send("POST", "/v1/messages", "x-api-key: sk-secret-one", R"({"model":"c"})");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(header(r, "anthropic-ratelimit-requests-limit"), "2");
  EXPECT_EQ(header(r, "anthropic-ratelimit-requests-remaining"), "0");
  EXPECT_EQ(header(r, "anthropic-ratelimit-requests-reset"), "2026-11-26T16:00:00Z");
  EXPECT_EQ(r.body, R"({"type":"error","error":{"type":"rate_limit_error",)"
                    R"("message":"Rate limit reached (keymux-mock)."}})");

  clock_.advance(seconds(59));
  EXPECT_EQ(chat("Authorization: Bearer sk-secret-one").status, 200);
}

TEST_F(MockServiceTest, TokenBudget) {
  // Body of 40 bytes: 10 prompt tokens, plus 16 completion tokens.
  const std::string body = R"({"model":"m","messages":[],"pad":"xxxx"})";
  ASSERT_EQ(body.size(), 40u);
  Response r;
  for (int i = 0; i < 3; ++i) {
    r = chat("Authorization: Bearer sk-secret-two", body);
    ASSERT_EQ(r.status, 200);
  }
  EXPECT_EQ(header(r, "x-ratelimit-remaining-tokens"), "22");
  r = chat("Authorization: Bearer sk-secret-two", body);
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(header(r, "x-ratelimit-limit-tokens"), "100");
}

TEST_F(MockServiceTest, KeyOverrides) {
  EXPECT_EQ(send("POST", "/_mock/keys/nope", "", R"({"status":429})").status, 404);
  EXPECT_EQ(send("POST", "/_mock/keys/k3", "", R"({"status":429,"retry_after":30})").status, 200);
  Response r = chat("Authorization: Bearer sk-three");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(header(r, "retry-after"), "30");
  EXPECT_NE(r.body.find("rate_limit_error"), std::string::npos);

  send("POST", "/_mock/keys/k3", "", R"({"status":403})");
  r = chat("Authorization: Bearer sk-three");
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("permission_error"), std::string::npos);

  send("POST", "/_mock/keys/k3", "", R"({"status":503})");
  r = chat("Authorization: Bearer sk-three");
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("server_error"), std::string::npos);

  send("POST", "/_mock/keys/k3", "", R"({"status":0,"rpm":1})");
  EXPECT_EQ(chat("Authorization: Bearer sk-three").status, 200);
  r = chat("Authorization: Bearer sk-three");
  EXPECT_EQ(r.status, 429);

  // An unknown field is refused, not ignored: the key keeps its old override.
  send("POST", "/_mock/keys/k3", "", R"({"status":429,"retry_after":30})");
  r = send("POST", "/_mock/keys/k3", "", R"({"status":500,"retry_after_s":30})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find(R"(unknown field \"retry_after_s\")"), std::string::npos);
  EXPECT_EQ(header(chat("Authorization: Bearer sk-three"), "retry-after"), "30");
  EXPECT_EQ(send("POST", "/_mock/keys/k3", "", R"({"error_rate":1.5})").status, 400);
  EXPECT_EQ(send("POST", "/_mock/keys/k3", "", R"({"error_status":99})").status, 400);

  // A key's own error rate (here: always 529); the other keys are untouched.
  send("POST", "/_mock/keys/k3", "", R"({"status":0,"error_rate":1,"error_status":529})");
  r = chat("Authorization: Bearer sk-three");
  EXPECT_EQ(r.status, 529);
  EXPECT_NE(r.body.find("server_error"), std::string::npos);
  EXPECT_EQ(chat("Authorization: Bearer sk-secret-two").status, 200);
  send("POST", "/_mock/keys/k3", "", R"({"error_rate":0})");

  // Reset restores the --key limits (unlimited for k3) and clears windows.
  EXPECT_EQ(send("POST", "/_mock/reset", "").status, 200);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(chat("Authorization: Bearer sk-three").status, 200);
}

TEST_F(MockServiceTest, Faults) {
  Response r = send("POST", "/_mock/faults", "", R"({"error_rate":1,"error_status":502})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"ok":true,"faults":{"latency_ms":0,"error_rate":1,"error_status":502,)"
                    R"("drop_rate":0,"spike_rate":0,"spike_ms":0,"chunk_delay_ms":0,)"
                    R"("stream_chunks":8}})");
  r = chat("Authorization: Bearer sk-three");
  EXPECT_EQ(r.status, 502);
  EXPECT_NE(r.body.find("\"type\":\"server_error\""), std::string::npos);

  send("POST", "/_mock/faults", "", R"({"error_rate":0,"drop_rate":1,"latency_ms":25})");
  raw("POST /v1/chat/completions HTTP/1.1\r\nAuthorization: Bearer sk-three\r\n\r\n");
  EXPECT_TRUE(reply_.drop);
  EXPECT_EQ(reply_.part_count(), 0u);

  send("POST", "/_mock/faults", "", R"({"drop_rate":0})");
  raw("POST /v1/chat/completions HTTP/1.1\r\nAuthorization: Bearer sk-three\r\n\r\n");
  EXPECT_FALSE(reply_.drop);
  EXPECT_EQ(reply_.delay, milliseconds(25));

  // Latency spikes: spike_rate of the requests wait spike_ms more.
  send("POST", "/_mock/faults", "", R"({"latency_ms":0,"spike_rate":1,"spike_ms":2000})");
  raw("POST /v1/chat/completions HTTP/1.1\r\nAuthorization: Bearer sk-three\r\n\r\n");
  EXPECT_EQ(reply_.delay, milliseconds(2000));
  send("POST", "/_mock/faults", "", R"({"spike_rate":0})");

  r = send("POST", "/_mock/faults", "", R"({"error_rate":0.5,"eror_status":502})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find(R"(unknown field \"eror_status\")"), std::string::npos);
  EXPECT_EQ(send("GET", "/_mock/faults", "").body.find("\"error_rate\":0.5"), std::string::npos);
  EXPECT_EQ(send("POST", "/_mock/faults", "", R"({"error_rate":2})").status, 400);
  EXPECT_EQ(send("POST", "/_mock/faults", "", "nope").status, 400);
}

TEST_F(MockServiceTest, StreamComesInPaceableParts) {
  send("POST", "/_mock/faults", "", R"({"chunk_delay_ms":10,"stream_chunks":4})");
  const std::string out =
      raw("POST /v1/chat/completions HTTP/1.1\r\nAuthorization: Bearer sk-three\r\n"
          "Content-Length: 55\r\n\r\n"
          R"({"stream":true,"stream_options":{"include_usage":true}})");
  EXPECT_EQ(reply_.part_count(), 4u);
  EXPECT_EQ(reply_.chunk_delay, milliseconds(10));
  // The first part alone already holds the head and the first event.
  const std::string& first = reply_.part(0);
  EXPECT_NE(first.find("content-type: text/event-stream"), std::string::npos);
  EXPECT_NE(first.find("data: {"), std::string::npos);
  const Response r = split_response(out);
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("\"choices\":[],\"usage\":{"), std::string::npos);
  EXPECT_TRUE(r.body.ends_with("data: [DONE]\n\n"));
}

TEST_F(MockServiceTest, AnthropicStream) {
  const std::string out =
      raw("POST /v1/messages HTTP/1.1\r\nx-api-key: sk-three\r\n"
          "Transfer-Encoding: chunked\r\n\r\nf\r\n{\"stream\":true}\r\n0\r\n\r\n");
  const Response r = split_response(out);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.find("event: message_start\n"), 0u);
  EXPECT_TRUE(r.body.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
}

TEST_F(MockServiceTest, MalformedAndUnknownPaths) {
  EXPECT_EQ(split_response(raw("BAD\r\n\r\n")).status, 400);
  EXPECT_TRUE(reply_.close);
  EXPECT_EQ(send("GET", "/elsewhere", "").status, 404);
  EXPECT_EQ(send("GET", "/_mock/nothing", "").status, 404);
}

TEST_F(MockServiceTest, AuditFindsTheBusiestWindow) {
  // 40-byte bodies: 26 tokens each. k3 has no limits; k1 refuses its third
  // request (rpm 2), which the audit counts all the same: it was received.
  const std::string body = R"({"model":"m","messages":[],"pad":"xxxx"})";
  const auto at_start = static_cast<std::uint64_t>(clock_.now().time_since_epoch().count());
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(chat("Authorization: Bearer sk-three", body).status, 200);
    clock_.advance(milliseconds(400));
  }
  clock_.advance(seconds(2));
  ASSERT_EQ(chat("Authorization: Bearer sk-three", body).status, 200);
  for (int i = 0; i < 3; ++i) chat("Authorization: Bearer sk-secret-one", body);

  // GET: the mock's own window (60 s by default) over every key.
  auto all = parse_json(send("GET", "/_mock/audit", "").body);
  ASSERT_TRUE(all);
  EXPECT_EQ(field(*all, "window_ms").number_value(), 60000);
  const auto& k3 = field(field(*all, "keys").struct_value(), "k3").struct_value();
  EXPECT_EQ(field(k3, "requests").number_value(), 4);
  EXPECT_EQ(field(k3, "max_requests").number_value(), 4);
  EXPECT_EQ(field(k3, "max_tokens").number_value(), 104);
  const auto& k1 = field(field(*all, "keys").struct_value(), "k1").struct_value();
  EXPECT_EQ(field(k1, "max_requests").number_value(), 3);
  EXPECT_EQ(field(k1, "max_tokens").number_value(), 78);

  // One second: the three requests 400 ms apart fit; the fourth is alone.
  Response r = send("POST", "/_mock/audit", "", R"({"window_ms":1000,"key":"k3"})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto one = parse_json(r.body);
  ASSERT_TRUE(one);
  EXPECT_EQ(field(field(*one, "keys").struct_value(), "k1").kind_case(), 0) << "only k3 asked";
  const auto& k3_1s = field(field(*one, "keys").struct_value(), "k3").struct_value();
  EXPECT_EQ(field(k3_1s, "max_requests").number_value(), 3);
  EXPECT_EQ(field(k3_1s, "max_tokens").number_value(), 78);
  EXPECT_EQ(field(k3_1s, "max_requests_from_us").number_value(), static_cast<double>(at_start));
  EXPECT_EQ(field(k3_1s, "events").kind_case(), 0) << "events only when asked";

  // 400 ms is half-open: requests exactly 400 ms apart never share a window.
  r = send("POST", "/_mock/audit", "", R"({"window_ms":400,"key":"k3"})");
  EXPECT_NE(r.body.find("\"max_requests\":1,"), std::string::npos) << r.body;

  // The events since a time: [time_us, tokens, status].
  const std::string since = std::to_string(at_start + 800'000);
  r = send("POST", "/_mock/audit", "",
           R"({"key":"k1","events":true,"since_us":)" + std::to_string(at_start) + "}");
  auto listed = parse_json(r.body);
  ASSERT_TRUE(listed) << r.body;
  const auto& events =
      field(field(field(*listed, "keys").struct_value(), "k1").struct_value(), "events")
          .list_value();
  ASSERT_EQ(events.values_size(), 3);
  EXPECT_EQ(events.values(2).list_value().values(1).number_value(), 26);
  EXPECT_EQ(events.values(2).list_value().values(2).number_value(), 429);
  r = send("POST", "/_mock/audit", "", R"({"key":"k3","events":true,"since_us":)" + since + "}");
  EXPECT_EQ(
      field(field(field(*parse_json(r.body), "keys").struct_value(), "k3").struct_value(), "events")
          .list_value()
          .values_size(),
      2);

  // Strict fields, like the other control endpoints.
  EXPECT_EQ(send("POST", "/_mock/audit", "", R"({"window":1000})").status, 400);
  EXPECT_EQ(send("POST", "/_mock/audit", "", R"({"window_ms":0})").status, 400);
  EXPECT_EQ(send("POST", "/_mock/audit", "", R"({"window_ms":-5})").status, 400);
  EXPECT_EQ(send("POST", "/_mock/audit", "", R"({"events":1})").status, 400);
  EXPECT_EQ(send("POST", "/_mock/audit", "", R"({"key":"nope"})").status, 404);
  EXPECT_EQ(send("POST", "/_mock/audit", "", "[]").status, 400);

  // A reset forgets the audit too.
  send("POST", "/_mock/reset", "");
  EXPECT_NE(send("GET", "/_mock/audit", "").body.find("\"k3\":{\"requests\":0,"),
            std::string::npos);
}

TEST_F(MockServiceTest, StatsCountAndNeverShowSecrets) {
  chat("Authorization: Bearer sk-secret-one");
  chat("Authorization: Bearer sk-secret-one");
  chat("Authorization: Bearer sk-secret-one");  // 429
  send("GET", "/v1/models",
       "x-api-key: sk-three\r\nX-Echo: a sk-three b sk-secret-one\r\nx-echo: c");
  chat("Authorization: Bearer sk-client-own-token");

  const Response r = send("GET", "/_mock/stats", "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.find("sk-secret"), std::string::npos);
  EXPECT_EQ(r.body.find("sk-three"), std::string::npos);
  EXPECT_NE(r.body.find("sk-client-own-token"), std::string::npos);  // unknown: verbatim
  const auto json = parse_json(r.body);
  ASSERT_TRUE(json) << r.body;
  EXPECT_EQ(field(*json, "requests").number_value(), 5);
  EXPECT_EQ(field(*json, "unauthorized").number_value(), 1);
  const auto& k1 = field(field(*json, "keys").struct_value(), "k1").struct_value();
  EXPECT_EQ(field(k1, "requests").number_value(), 3);
  EXPECT_EQ(field(field(k1, "by_style").struct_value(), "bearer").number_value(), 3);
  EXPECT_EQ(field(field(k1, "by_status").struct_value(), "200").number_value(), 2);
  EXPECT_EQ(field(field(k1, "by_status").struct_value(), "429").number_value(), 1);
  EXPECT_GT(field(k1, "tokens").number_value(), 0);

  const auto& last = field(*json, "last_requests").list_value();
  ASSERT_EQ(last.values_size(), 5);
  const auto& models = last.values(3).struct_value();
  EXPECT_EQ(field(models, "key_id").string_value(), "k3");
  const auto& headers = field(models, "headers").struct_value();
  EXPECT_EQ(field(headers, "x-api-key").string_value(), "<key:k3>");
  EXPECT_EQ(field(headers, "x-echo").string_value(), "a <key:k3> b <key:k1>, c");
  EXPECT_TRUE(field(last.values(4).struct_value(), "key_id").has_null_value());

  send("POST", "/_mock/reset", "");
  const auto after = parse_json(send("GET", "/_mock/stats", "").body);
  ASSERT_TRUE(after);
  EXPECT_EQ(field(*after, "requests").number_value(), 0);
  EXPECT_EQ(field(*after, "last_requests").list_value().values_size(), 0);
}

TEST(MockKeysTest, ParsesKeyFlags) {
  std::string error;
  auto key = parse_key_flag("k1=sk-abc:rpm=60:tpm=1000", error);
  ASSERT_TRUE(key);
  EXPECT_EQ(key->id, "k1");
  EXPECT_EQ(key->secret, "sk-abc");
  EXPECT_EQ(key->limits.rpm, 60u);
  EXPECT_EQ(key->limits.tpm, 1000u);
  key = parse_key_flag("k2=s=x", error);
  ASSERT_TRUE(key);
  EXPECT_EQ(key->secret, "s=x");
  for (const std::string_view bad : {"", "k", "=s", "k=", "k=s:rpm=x", "k=s:foo=1", "k=s:"}) {
    EXPECT_FALSE(parse_key_flag(bad, error)) << bad;
  }
  EXPECT_FALSE(parse_key_flag("k=topsecret:bad", error));
  EXPECT_EQ(error.find("topsecret"), std::string::npos);
}

TEST(MockJsonScanTest, WalksMembersInOrder) {
  JsonMembers members(R"({"a":1, "b" : [2,{"x":"}"}], "c":"s"  ,"d":null} trailing)");
  std::string_view name;
  std::string_view value;
  std::string seen;
  while (members.next(name, value)) seen += std::string(name) + "=" + std::string(value) + ";";
  EXPECT_EQ(seen, R"(a=1;b=[2,{"x":"}"}];c="s";d=null;)");
  // Stops at the first malformed member.
  JsonMembers broken(R"({"a":1,"b" 2,"c":3})");
  EXPECT_TRUE(broken.next(name, value));
  EXPECT_FALSE(broken.next(name, value));
  EXPECT_FALSE(broken.next(name, value));
  EXPECT_FALSE(JsonMembers("[1]").next(name, value));
}

TEST(MockJsonScanTest, MembersAndValues) {
  const std::string_view json =
      R"( {"a" : {"b":[1,"]}",{"c":2}]}, "s":"x\"y\u00e9\ud83d\ude00", "n": -1.5e2, "t":true} )";
  EXPECT_EQ(json_member(json, "a"), R"({"b":[1,"]}",{"c":2}]})");
  EXPECT_EQ(json_string(*json_member(json, "s")), "x\"y\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(json_number(*json_member(json, "n")), -150.0);
  EXPECT_EQ(json_bool(*json_member(json, "t")), true);
  EXPECT_FALSE(json_member(json, "c"));  // not at the top level
  EXPECT_FALSE(json_member(R"({"a":"unterminated)", "a"));
  EXPECT_FALSE(json_uint("1.5"));
  EXPECT_EQ(json_uint("16.0"), 16u);
  EXPECT_FALSE(json_uint("-1"));
  EXPECT_EQ(json_string(R"("\ud800")"), "\xef\xbf\xbd");
  EXPECT_FALSE(json_string(R"("\u12")"));
}

}  // namespace
}  // namespace keymux::mock
