// The mock upstream's JSON bodies and server-sent events: valid JSON in the
// OpenAI and Anthropic shapes, content pieces that add up, the usage chunk.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "tests/mock_upstream/llm_request.h"
#include "tests/mock_upstream/responses.h"
#include "tests/unit/mock_test_util.h"

namespace keymux::mock {
namespace {

using testing::field;
using testing::parse_json;

// The JSON payloads of the "data: " lines of an event stream.
std::vector<std::string> data_lines(std::string_view stream) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while ((at = stream.find("data: ", at)) != std::string_view::npos) {
    const std::size_t end = stream.find("\n\n", at);
    out.emplace_back(stream.substr(at + 6, end - at - 6));
    at = end;
  }
  return out;
}

LlmRequest sample_request() {
  LlmRequest r;
  r.model = "gpt-\"quoted\"\n";
  r.prompt_tokens = 7;
  r.completion_tokens = 5;
  r.include_usage = true;
  return r;
}

TEST(MockLlmRequestTest, ReadsTheFieldsItNeeds) {
  const std::string body =
      R"({"model":"gpt-4o","messages":[{"role":"user","content":"hi \"model\":\"x\""}],)"
      R"("stream":true,"stream_options":{"include_usage":true},"max_tokens":4})";
  const LlmRequest r = parse_llm_request(body);
  EXPECT_EQ(r.model, "gpt-4o");
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
  ASSERT_EQ(body.size() % kUsageShapes, 0u) << "the shape with half the cap";
  EXPECT_EQ(r.completion_tokens, 2u);
  EXPECT_EQ(r.prompt_tokens, body.size() / 4);
}

// keymux estimates body bytes / 4 (rounded up) + the output cap; the mock's
// usage is below, at or above that by the body's length.
TEST(MockLlmRequestTest, UsageDiffersFromTheEstimateBothWays) {
  const auto body_of = [](std::size_t size) {
    std::string body = R"({"max_tokens":16,"pad":")";
    body.append(size - body.size() - 2, 'x');
    return body + "\"}";
  };
  const std::string below = body_of(120), at = body_of(121), above = body_of(122);
  ASSERT_EQ(below.size() % kUsageShapes, 0u);
  const LlmRequest b = parse_llm_request(below);
  EXPECT_EQ(b.prompt_tokens, 30u);
  EXPECT_EQ(b.completion_tokens, 8u);
  const LlmRequest a = parse_llm_request(at);
  EXPECT_EQ(a.prompt_tokens, 30u);
  EXPECT_EQ(a.completion_tokens, 16u);
  const LlmRequest o = parse_llm_request(above);
  EXPECT_EQ(o.prompt_tokens, 30u + 15u);
  EXPECT_EQ(o.completion_tokens, 16u);
  EXPECT_LT(b.total_tokens(), 30u + 16u);
  EXPECT_GT(o.total_tokens(), 31u + 16u);
}

TEST(MockLlmRequestTest, DefaultsForAnythingElse) {
  for (const std::string_view body : {"", "not json", "{", "[1,2]", "{\"model\":5}"}) {
    const LlmRequest r = parse_llm_request(body);
    EXPECT_EQ(r.model, "mock-model");
    EXPECT_FALSE(r.stream);
    EXPECT_EQ(r.completion_tokens, body.size() % kUsageShapes == 0 ? 8u : 16u);
    EXPECT_GE(r.prompt_tokens, 1u);
  }
  EXPECT_EQ(parse_llm_request(R"({"max_completion_tokens":100})").completion_tokens, 16u);
  EXPECT_EQ(parse_llm_request(R"({"max_tokens":100,"max_completion_tokens":3})").completion_tokens,
            3u);
}

TEST(MockResponsesTest, TextPiecesAddUp) {
  const std::string_view text = "Hello from keymux-mock (key k1)";
  for (std::uint32_t count : {1u, 2u, 7u, 8u, 31u, 100u}) {
    std::string joined;
    for (std::uint32_t i = 0; i < count; ++i) joined += text_piece(text, count, i);
    EXPECT_EQ(joined, text) << count;
  }
}

TEST(MockResponsesTest, OpenAiCompletionIsValidJson) {
  const LlmRequest request = sample_request();
  std::string body;
  append_openai_completion(body, {"chatcmpl-1", 1700000000, &request}, "Hello \"there\"");
  const auto json = parse_json(body);
  ASSERT_TRUE(json) << body;
  EXPECT_EQ(field(*json, "object").string_value(), "chat.completion");
  EXPECT_EQ(field(*json, "model").string_value(), request.model);
  const auto& choice = field(*json, "choices").list_value().values(0).struct_value();
  EXPECT_EQ(field(field(choice, "message").struct_value(), "content").string_value(),
            "Hello \"there\"");
  EXPECT_EQ(field(choice, "finish_reason").string_value(), "stop");
  const auto& usage = field(*json, "usage").struct_value();
  EXPECT_EQ(field(usage, "prompt_tokens").number_value(), 7);
  EXPECT_EQ(field(usage, "completion_tokens").number_value(), 5);
  EXPECT_EQ(field(usage, "total_tokens").number_value(), 12);
}

TEST(MockResponsesTest, OpenAiStreamEventsAndUsageChunk) {
  const LlmRequest request = sample_request();
  const Completion c{"chatcmpl-2", 1700000000, &request};
  std::string stream;
  append_openai_chunk_event(stream, c, "Hel", true, false);
  append_openai_chunk_event(stream, c, "lo", false, true);
  append_openai_usage_event(stream, c);
  stream += kOpenAiDoneEvent;
  const auto lines = data_lines(stream);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[3], "[DONE]");
  std::string content;
  for (int i = 0; i < 2; ++i) {
    const auto json = parse_json(lines[i]);
    ASSERT_TRUE(json) << lines[i];
    EXPECT_EQ(field(*json, "object").string_value(), "chat.completion.chunk");
    const auto& choice = field(*json, "choices").list_value().values(0).struct_value();
    content += field(field(choice, "delta").struct_value(), "content").string_value();
  }
  EXPECT_EQ(content, "Hello");
  const auto usage_chunk = parse_json(lines[2]);
  ASSERT_TRUE(usage_chunk);
  EXPECT_EQ(field(*usage_chunk, "choices").list_value().values_size(), 0);
  EXPECT_EQ(field(field(*usage_chunk, "usage").struct_value(), "total_tokens").number_value(), 12);
}

TEST(MockResponsesTest, AnthropicMessageAndEvents) {
  const LlmRequest request = sample_request();
  const Completion c{"msg_1", 0, &request};
  std::string body;
  append_anthropic_message(body, c, "Hi");
  const auto json = parse_json(body);
  ASSERT_TRUE(json) << body;
  EXPECT_EQ(field(*json, "type").string_value(), "message");
  EXPECT_EQ(field(*json, "role").string_value(), "assistant");
  EXPECT_EQ(field(*json, "stop_reason").string_value(), "end_turn");
  EXPECT_EQ(field(field(*json, "usage").struct_value(), "input_tokens").number_value(), 7);
  EXPECT_EQ(field(field(*json, "usage").struct_value(), "output_tokens").number_value(), 5);

  std::string stream;
  append_anthropic_stream_open(stream, c);
  append_anthropic_delta_event(stream, "H");
  append_anthropic_delta_event(stream, "i");
  append_anthropic_stream_close(stream, c);
  const std::vector<std::string> expected = {
      "message_start",      "content_block_start", "content_block_delta", "content_block_delta",
      "content_block_stop", "message_delta",       "message_stop"};
  const auto lines = data_lines(stream);
  ASSERT_EQ(lines.size(), expected.size());
  std::size_t at = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto event = parse_json(lines[i]);
    ASSERT_TRUE(event) << lines[i];
    EXPECT_EQ(field(*event, "type").string_value(), expected[i]);
    // Each event is "event: TYPE\ndata: {...}\n\n".
    at = stream.find("event: " + expected[i] + "\ndata: ", at);
    ASSERT_NE(at, std::string::npos) << expected[i];
    ++at;
  }
}

TEST(MockResponsesTest, ErrorsModelsAndEcho) {
  std::string body;
  append_openai_error(body, "m", "rate_limit_error", "rate_limit_exceeded");
  auto json = parse_json(body);
  ASSERT_TRUE(json);
  EXPECT_EQ(field(field(*json, "error").struct_value(), "code").string_value(),
            "rate_limit_exceeded");
  body.clear();
  append_anthropic_error(body, "rate_limit_error", "m");
  json = parse_json(body);
  ASSERT_TRUE(json);
  EXPECT_EQ(field(*json, "type").string_value(), "error");
  body.clear();
  append_models_list(body);
  EXPECT_EQ(body, R"({"object":"list","data":[{"id":"mock-model","object":"model","created":0,)"
                  R"("owned_by":"keymux-mock"}]})");
  body.clear();
  append_echo(body, "POST", "/v1/embeddings?\"x\"");
  json = parse_json(body);
  ASSERT_TRUE(json);
  EXPECT_EQ(field(*json, "path").string_value(), "/v1/embeddings?\"x\"");
}

}  // namespace
}  // namespace keymux::mock
