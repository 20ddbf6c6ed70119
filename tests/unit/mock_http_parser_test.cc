// The mock upstream's HTTP/1.x request parser: pipelining, input arriving in
// pieces, Content-Length and chunked bodies, malformed input and limits.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "tests/mock_upstream/http_request_parser.h"

namespace keymux::mock {
namespace {

// What a parsed request looked like, copied out of the parser's buffer.
struct Seen {
  std::string method;
  std::string target;
  std::string body;
  bool keep_alive = true;
  std::vector<std::pair<std::string, std::string>> headers;
};

Seen seen_of(const HttpRequest& r) {
  Seen seen{std::string(r.method), std::string(r.target), std::string(r.body), r.keep_alive, {}};
  for (const HttpHeader& h : r.headers) seen.headers.emplace_back(h.name, h.value);
  return seen;
}

// Feeds `input` in pieces of `step` bytes and collects every request.
std::vector<Seen> parse_all(std::string_view input, std::size_t step, int* error = nullptr,
                            ParseLimits limits = {}) {
  HttpRequestParser parser(limits);
  HttpRequest request;
  std::vector<Seen> out;
  for (std::size_t at = 0; at < input.size(); at += step) {
    parser.feed(input.substr(at, step));
    for (;;) {
      const ParseStatus status = parser.next(request);
      if (status == ParseStatus::kRequest) {
        out.push_back(seen_of(request));
        continue;
      }
      if (status == ParseStatus::kError) {
        if (error != nullptr) *error = parser.error_status();
        return out;
      }
      break;
    }
  }
  return out;
}

int error_of(std::string_view input, ParseLimits limits = {}) {
  int error = 0;
  parse_all(input, input.size(), &error, limits);
  return error;
}

constexpr std::string_view kPost =
    "POST /v1/chat/completions HTTP/1.1\r\n"
    "Host: x\r\n"
    "Authorization: Bearer sk-1\r\n"
    "Content-Length: 11\r\n"
    "\r\n"
    "{\"a\":true}\n";

TEST(MockHttpParserTest, SimpleGet) {
  const auto seen =
      parse_all("GET /v1/models?x=1 HTTP/1.1\r\nHost: a\r\nX-Thing:  v  \r\n\r\n", 4096);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "GET");
  EXPECT_EQ(seen[0].target, "/v1/models?x=1");
  EXPECT_EQ(seen[0].body, "");
  EXPECT_TRUE(seen[0].keep_alive);
  ASSERT_EQ(seen[0].headers.size(), 2u);
  EXPECT_EQ(seen[0].headers[1].first, "X-Thing");
  EXPECT_EQ(seen[0].headers[1].second, "v");
}

TEST(MockHttpParserTest, HeaderLookupAndPath) {
  HttpRequestParser parser;
  parser.feed("GET /v1/x?y HTTP/1.1\r\nX-API-Key: k\r\n\r\n");
  HttpRequest request;
  ASSERT_EQ(parser.next(request), ParseStatus::kRequest);
  EXPECT_EQ(request.header("x-api-key"), "k");
  EXPECT_FALSE(request.header("api-key").has_value());
  EXPECT_EQ(request.path(), "/v1/x");
}

TEST(MockHttpParserTest, ContentLengthBody) {
  const auto seen = parse_all(kPost, 4096);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].body, "{\"a\":true}\n");
}

TEST(MockHttpParserTest, PipelinedRequestsInOneRead) {
  std::string input;
  for (int i = 0; i < 5; ++i) input += kPost;
  input += "GET /last HTTP/1.1\r\n\r\n";
  const auto seen = parse_all(input, input.size());
  ASSERT_EQ(seen.size(), 6u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(seen[i].body, "{\"a\":true}\n");
  EXPECT_EQ(seen[5].target, "/last");
}

TEST(MockHttpParserTest, ByteByByteGivesTheSameRequests) {
  std::string input = std::string(kPost) +
                      "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: t\r\n\r\n" +
                      std::string(kPost);
  const auto whole = parse_all(input, input.size());
  const auto bytewise = parse_all(input, 1);
  ASSERT_EQ(whole.size(), 3u);
  ASSERT_EQ(bytewise.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(bytewise[i].target, whole[i].target);
    EXPECT_EQ(bytewise[i].body, whole[i].body);
    EXPECT_EQ(bytewise[i].headers, whole[i].headers);
  }
  EXPECT_EQ(whole[1].body, "hello world");
}

TEST(MockHttpParserTest, ChunkedBodyWithBareNewlines) {
  const auto seen =
      parse_all("POST / HTTP/1.1\nTransfer-Encoding: Chunked\n\n3\nabc\nA\n0123456789\n0\n\n", 7);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].body, "abc0123456789");
}

TEST(MockHttpParserTest, ConnectionHeaderAndVersion) {
  EXPECT_FALSE(parse_all("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", 99)[0].keep_alive);
  EXPECT_FALSE(parse_all("GET / HTTP/1.0\r\n\r\n", 99)[0].keep_alive);
  EXPECT_TRUE(parse_all("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 99)[0].keep_alive);
  EXPECT_FALSE(parse_all("GET / HTTP/1.1\r\nConnection: foo, Close\r\n\r\n", 99)[0].keep_alive);
}

TEST(MockHttpParserTest, LeadingBlankLinesAreSkipped) {
  const auto seen = parse_all("\r\n\r\nGET /a HTTP/1.1\r\n\r\n\r\nGET /b HTTP/1.1\r\n\r\n", 3);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].target, "/b");
}

TEST(MockHttpParserTest, MalformedInputIs400) {
  for (const std::string_view bad : {
           "GET\r\n\r\n",
           "GET / HTTP/2.0\r\n\r\n",
           "GET  / HTTP/1.1\r\n\r\n",
           "GET / HTTP/1.1 \r\n\r\n",
           "G(T / HTTP/1.1\r\n\r\n",
           "GET / HTTP/1.1\r\nNo colon\r\n\r\n",
           "GET / HTTP/1.1\r\n: empty name\r\n\r\n",
           "GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",
           "GET / HTTP/1.1\r\nA: b\x01\r\n\r\n",
           "POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
           "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
           "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
           "POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
           "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
           "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
           "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n",
           "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n",
       }) {
    EXPECT_EQ(error_of(bad), 400) << bad;
  }
}

TEST(MockHttpParserTest, ErrorsAreSticky) {
  HttpRequestParser parser;
  parser.feed("BAD\r\n\r\n");
  HttpRequest request;
  EXPECT_EQ(parser.next(request), ParseStatus::kError);
  parser.feed("GET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(parser.next(request), ParseStatus::kError);
  EXPECT_EQ(parser.error_status(), 400);
}

TEST(MockHttpParserTest, HeadLimitIs413) {
  const ParseLimits limits{.max_head_bytes = 64, .max_body_bytes = 100};
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nA: " + std::string(100, 'x') + "\r\n\r\n", limits), 413);
  // Without an end in sight, too.
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nA: " + std::string(100, 'x'), limits), 413);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nA: b\r\n\r\n", limits), 0);
  // The default is 64 KiB.
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nA: " + std::string(65 * 1024, 'x') + "\r\n\r\n"), 413);
}

TEST(MockHttpParserTest, BodyLimitIs413) {
  const ParseLimits limits{.max_head_bytes = 1024, .max_body_bytes = 10};
  EXPECT_EQ(error_of("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", limits), 413);
  EXPECT_EQ(error_of("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789", limits), 0);
  EXPECT_EQ(error_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "6\r\nabcdef\r\n5\r\nabcde\r\n0\r\n\r\n",
                     limits),
            413);
}

TEST(MockHttpParserTest, IncompleteBodyWaits) {
  HttpRequestParser parser;
  HttpRequest request;
  parser.feed("POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nab");
  EXPECT_EQ(parser.next(request), ParseStatus::kNeedMore);
  EXPECT_EQ(parser.buffered(), 40u);
  parser.feed("cd");
  ASSERT_EQ(parser.next(request), ParseStatus::kRequest);
  EXPECT_EQ(request.body, "abcd");
  EXPECT_EQ(request.header("content-length"), "4");
  EXPECT_EQ(parser.next(request), ParseStatus::kNeedMore);
  EXPECT_EQ(parser.buffered(), 0u);
}

TEST(MockHttpParserTest, ExpectContinueOncePerWaitingBody) {
  HttpRequestParser parser;
  HttpRequest request;
  parser.feed("POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
  EXPECT_EQ(parser.next(request), ParseStatus::kNeedMore);
  EXPECT_TRUE(parser.take_continue());
  EXPECT_FALSE(parser.take_continue());
  parser.feed("a");
  EXPECT_EQ(parser.next(request), ParseStatus::kNeedMore);
  EXPECT_FALSE(parser.take_continue());
  parser.feed("b");
  EXPECT_EQ(parser.next(request), ParseStatus::kRequest);
  // With the body already there, no 100 is needed.
  parser.feed("POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx");
  EXPECT_EQ(parser.next(request), ParseStatus::kRequest);
  EXPECT_FALSE(parser.take_continue());
}

}  // namespace
}  // namespace keymux::mock
