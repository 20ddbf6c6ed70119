// Token reservation: prompt from the body size, output cap from the prefix.
#include <gtest/gtest.h>

#include "agent/router/token_estimate.h"

namespace keymux::router {
namespace {

TEST(TokenEstimateTest, PromptIsBodySizeOverFourRoundedUp) {
  EXPECT_EQ(estimate_prompt_tokens(0), 0u);
  EXPECT_EQ(estimate_prompt_tokens(1), 1u);
  EXPECT_EQ(estimate_prompt_tokens(400), 100u);
  EXPECT_EQ(estimate_prompt_tokens(401), 101u);
}

TEST(TokenEstimateTest, FindsTopLevelCaps) {
  EXPECT_EQ(find_max_output_tokens(R"({"model":"gpt-4o","max_tokens":512,"messages":[]})"), 512u);
  EXPECT_EQ(find_max_output_tokens(R"({ "max_completion_tokens" : 77 })"), 77u);
  EXPECT_EQ(find_max_output_tokens(R"({"input":"x","max_output_tokens":9})"), 9u);
}

TEST(TokenEstimateTest, FirstCapInBodyOrderWins) {
  EXPECT_EQ(find_max_output_tokens(R"({"max_completion_tokens":5,"max_tokens":10})"), 5u);
}

TEST(TokenEstimateTest, IgnoresNestedAndQuotedLookalikes) {
  EXPECT_EQ(
      find_max_output_tokens(
          R"({"messages":[{"role":"user","content":"\"max_tokens\": 999"}],"metadata":{"max_tokens":3}})"),
      std::nullopt);
  EXPECT_EQ(find_max_output_tokens(R"({"a":{"max_tokens":3},"max_tokens":4})"), 4u);
  EXPECT_EQ(find_max_output_tokens(R"({"stop":"max_tokens","x":1})"), std::nullopt);
}

TEST(TokenEstimateTest, RejectsNonIntegersAndCutNumbers) {
  EXPECT_EQ(find_max_output_tokens(R"({"max_tokens":null,"max_completion_tokens":8})"), 8u);
  EXPECT_EQ(find_max_output_tokens(R"({"max_tokens":1.5})"), std::nullopt);
  EXPECT_EQ(find_max_output_tokens(R"({"max_tokens":-3})"), std::nullopt);
  EXPECT_EQ(find_max_output_tokens(R"({"max_tokens":12)"), std::nullopt);  // prefix cut
  EXPECT_EQ(find_max_output_tokens(R"({"max_tokens":99999999999999999999999})"), std::nullopt);
  EXPECT_EQ(find_max_output_tokens(R"({"messages":[{"content":"abc)"), std::nullopt);
  EXPECT_EQ(find_max_output_tokens(""), std::nullopt);
  EXPECT_EQ(find_max_output_tokens("not json max_tokens:5"), std::nullopt);
}

TEST(TokenEstimateTest, RequestTokensAddPromptAndCap) {
  EXPECT_EQ(estimate_request_tokens(400, R"({"max_tokens":50})", 256), 150u);
  EXPECT_EQ(estimate_request_tokens(400, R"({"model":"x"})", 256), 356u);
  EXPECT_EQ(estimate_request_tokens(4, R"({"max_tokens":18446744073709551615 })", 256),
            18446744073709551615u);
}

TEST(TokenEstimateTest, EscapedQuotesAndBackslashesInStrings) {
  EXPECT_EQ(find_max_output_tokens(R"({"a":"x\\","max_tokens":7})"), 7u);
  EXPECT_EQ(find_max_output_tokens(R"({"a":"x\",\"max_tokens\":7}"})"), std::nullopt);
  EXPECT_EQ(find_max_output_tokens(R"({"a":"\\\"","max_tokens":6})"), 6u);
  EXPECT_EQ(find_max_output_tokens(R"({"\\":1,"max_output_tokens":5})"), 5u);
  EXPECT_EQ(find_max_output_tokens(R"({"max_\u0074okens":5})"), std::nullopt);
  EXPECT_EQ(find_max_output_tokens(R"({"max_x":1,"max_tokenz":2,"max_tokens":3})"), 3u);
  EXPECT_EQ(find_max_output_tokens(R"({"model":"x"} "max_tokens":3)"), std::nullopt);
}

}  // namespace
}  // namespace keymux::router
