// check_json: what a body that says it is JSON may be, from its prefix.
#include <gtest/gtest.h>

#include <string>

#include "agent/router/json_prefix.h"

namespace keymux::router {
namespace {

TEST(JsonPrefix, WholeBodies) {
  for (const char* valid :
       {R"({"model":"gpt-4o","messages":[{"role":"user","content":"hi \"there\" \u00e9\n"}]})",
        "[]", "{}", " \n{ } ", "42", "-0.5e+10", "true", "null", R"(["a",1,false,{"b":[]}])",
        R"({"max_tokens":16,"stream":true})"}) {
    EXPECT_EQ(check_json(valid, true), JsonCheck::kValid) << valid;
  }
  for (const char* invalid : {"",
                              "model=gpt-4o&messages=hi",
                              "hello",
                              "{model: 1}",
                              "{'a': 1}",
                              R"({"a":1,})",
                              "[1,]",
                              R"({"a" 1})",
                              R"({"a":1}})",
                              R"({"a":1} x)",
                              "[1 2]",
                              "01",
                              "1.",
                              "-",
                              "1e",
                              R"("tab	in string")",
                              R"("\x")",
                              R"("\u12g4")",
                              "tru",
                              "{\"a\":1",
                              "[",
                              R"({"a")",
                              "nul",
                              "{,}",
                              "]"}) {
    EXPECT_EQ(check_json(invalid, true), JsonCheck::kInvalid) << invalid;
  }
}

TEST(JsonPrefix, PrefixesAreJudgedOnlyOnWhatIsThere) {
  const std::string body =
      R"({"model":"gpt-4o","messages":[{"role":"user","content":"a \"quoted\" word"}],"max_tokens":1.5e3})";
  for (std::size_t n = 0; n < body.size(); ++n) {
    EXPECT_EQ(check_json(body.substr(0, n), false), JsonCheck::kValidSoFar) << body.substr(0, n);
  }
  EXPECT_EQ(check_json(body, false), JsonCheck::kValidSoFar);
  EXPECT_EQ(check_json("model=gpt-4o&x", false), JsonCheck::kInvalid);
  EXPECT_EQ(check_json(R"({"model":"gpt-4o",,)", false), JsonCheck::kInvalid);
  EXPECT_EQ(check_json("{\"a\":\"\x01", false), JsonCheck::kInvalid);
}

TEST(JsonPrefix, DeepNestingIsNotJudged) {
  const std::string deep = std::string(2000, '[') + std::string(2000, ']');
  EXPECT_EQ(check_json(deep, true), JsonCheck::kValidSoFar);
  const std::string fine = std::string(1000, '[') + std::string(1000, ']');
  EXPECT_EQ(check_json(fine, true), JsonCheck::kValid);
}

TEST(JsonPrefix, ContentTypes) {
  EXPECT_TRUE(is_json_content_type("application/json"));
  EXPECT_TRUE(is_json_content_type("Application/JSON; charset=utf-8"));
  EXPECT_TRUE(is_json_content_type(" application/json ;charset=utf-8"));
  EXPECT_TRUE(is_json_content_type("application/vnd.api+json"));
  EXPECT_FALSE(is_json_content_type(""));
  EXPECT_FALSE(is_json_content_type("text/plain"));
  EXPECT_FALSE(is_json_content_type("multipart/form-data; boundary=x"));
  EXPECT_FALSE(is_json_content_type("application/jsonl"));
}

}  // namespace
}  // namespace keymux::router
