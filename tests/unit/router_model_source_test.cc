// Where a request's model comes from when HAProxy holds only part of its body
// (model_source.h), and what Router::decide does with it: route by the body's
// model when visible, else by x-keymux-model or the path, else the default
// route, marked kUnseen; never a silent guess.
#include <gtest/gtest.h>

#include <string>

#include "agent/config/token_sha256.h"
#include "agent/router/model_source.h"
#include "tests/unit/router_test_config.h"

namespace keymux::router {
namespace {

using test::AddProvider;
using test::AddRoute;
using test::RouterRig;

TEST(ModelSourceTest, PathModelOfAzureAndGemini) {
  EXPECT_EQ(model_in_path("/openai/deployments/gpt4o-prod/chat/completions"), "gpt4o-prod");
  EXPECT_EQ(model_in_path("/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-06-01"),
            "gpt4o-prod");
  EXPECT_EQ(model_in_path("/v1beta/models/gemini-1.5-pro:generateContent"), "gemini-1.5-pro");
  EXPECT_EQ(model_in_path("/v1/models/gemini-1.5-pro:streamGenerateContent"), "gemini-1.5-pro");
  // Not a model: no name, a name without what follows it, other APIs.
  EXPECT_EQ(model_in_path("/openai/deployments//chat/completions"), "");
  EXPECT_EQ(model_in_path("/openai/deployments/gpt4o-prod"), "");
  EXPECT_EQ(model_in_path("/v1beta/models/:generateContent"), "");
  EXPECT_EQ(model_in_path("/v1beta/models/a/b:generateContent"), "");
  EXPECT_EQ(model_in_path("/v1/models/gpt-4o"), "");
  EXPECT_EQ(model_in_path("/v1/chat/completions"), "");
  EXPECT_EQ(model_in_path(""), "");
}

TEST(ModelSourceTest, TheBodysModelFirstThenHeaderThenPath) {
  constexpr std::string_view kAzure = "/openai/deployments/dep/chat/completions";
  RequestModel m = request_model("gpt-4o", false, "hdr", kAzure);
  EXPECT_EQ(m.name, "gpt-4o");
  EXPECT_EQ(m.source, ModelSource::kBody);
  m = request_model(std::nullopt, false, "hdr", kAzure);
  EXPECT_EQ(m.name, "hdr");
  EXPECT_EQ(m.source, ModelSource::kHeader);
  m = request_model(std::string_view(), false, "", kAzure);
  EXPECT_EQ(m.name, "dep");
  EXPECT_EQ(m.source, ModelSource::kPath);
  // A whole body that names no model asks for none; a partial one may hide it.
  m = request_model(std::nullopt, true, "", "/v1/chat/completions");
  EXPECT_EQ(m.name, "");
  EXPECT_EQ(m.source, ModelSource::kBody);
  m = request_model(std::nullopt, false, "", "/v1/chat/completions");
  EXPECT_EQ(m.source, ModelSource::kUnseen);
}

// Route "named" serves gpt-4o (key kn); the default route "other-*" (key kd).
config::Config NamedAndDefault() {
  config::Config c;
  AddProvider(c, "named", {{.id = "kn"}});
  AddProvider(c, "fallback", {{.id = "kd"}});
  AddRoute(c, {"gpt-4o"}, {{"named", 0, 1}});
  AddRoute(c, {"other-*"}, {{"fallback", 0, 1}}, /*is_default=*/true);
  test::SetTestDefaults(c);
  return c;
}

// 400 KiB announced, 64 KiB held: "model" (last) is not in the part held.
RouteRequest LargeBody() {
  RouteRequest r;
  r.method = "POST";
  r.path = "/v1/chat/completions";
  r.model = std::nullopt;
  r.body_size = 400 * 1024;
  r.body_len = 64 * 1024;
  r.body_prefix = R"({"messages":[{"role":"user","content":"xxxxxxxx)";
  r.content_type = "application/json";
  return r;
}

TEST(RouterModelSourceTest, AnUnseenModelTakesTheDefaultRouteMarked) {
  RouterRig rig(NamedAndDefault());
  const Decision d = rig.router.decide(LargeBody());
  ASSERT_TRUE(d.routed()) << d.message;
  EXPECT_EQ(d.key->id, "kd");
  EXPECT_EQ(d.model_source, ModelSource::kUnseen);
  EXPECT_TRUE(d.body_partial);
  EXPECT_FALSE(d.route_name.empty());
}

TEST(RouterModelSourceTest, TheHeaderOrThePathRoutesALargeBody) {
  RouterRig rig(NamedAndDefault());
  RouteRequest r = LargeBody();
  r.header_model = "gpt-4o";
  Decision d = rig.router.decide(r);
  ASSERT_TRUE(d.routed()) << d.message;
  EXPECT_EQ(d.key->id, "kn");
  EXPECT_EQ(d.model_source, ModelSource::kHeader);
  EXPECT_TRUE(d.body_partial);

  r = LargeBody();
  r.path = "/openai/deployments/gpt-4o/chat/completions";
  d = rig.router.decide(r);
  ASSERT_TRUE(d.routed()) << d.message;
  EXPECT_EQ(d.key->id, "kn");
  EXPECT_EQ(d.model_source, ModelSource::kPath);

  // A header naming a model no route serves is a 404, not the default route.
  r = LargeBody();
  r.header_model = "gpt-unknown";
  d = rig.router.decide(r);
  EXPECT_EQ(d.outcome, Outcome::kUnknownModel);
}

TEST(RouterModelSourceTest, ABodyWholeOrWithItsModelVisibleIsNotMarked) {
  RouterRig rig(NamedAndDefault());
  RouteRequest r = LargeBody();
  r.model = "gpt-4o";  // "model" came first: HAProxy found it in the part it holds
  Decision d = rig.router.decide(r);
  ASSERT_TRUE(d.routed()) << d.message;
  EXPECT_EQ(d.key->id, "kn");
  EXPECT_EQ(d.model_source, ModelSource::kBody);
  EXPECT_TRUE(d.body_partial);  // still not retryable

  r = LargeBody();
  r.body_len = r.body_size;  // held whole, names no model: the default route, as configured
  d = rig.router.decide(r);
  ASSERT_TRUE(d.routed()) << d.message;
  EXPECT_EQ(d.key->id, "kd");
  EXPECT_EQ(d.model_source, ModelSource::kBody);
  EXPECT_FALSE(d.body_partial);

  r = LargeBody();
  r.body_len = std::nullopt;  // HAProxy did not say: taken as whole
  EXPECT_FALSE(rig.router.decide(r).body_partial);
}

TEST(RouterModelSourceTest, NoDefaultRouteOrAModelListRefusesAnUnseenModelSayingWhy) {
  config::Config c;
  AddProvider(c, "named", {{.id = "kn"}});
  AddRoute(c, {"gpt-4o"}, {{"named", 0, 1}});
  test::SetTestDefaults(c);
  RouterRig no_default(c);
  Decision d = no_default.router.decide(LargeBody());
  EXPECT_EQ(d.outcome, Outcome::kNoModel);
  EXPECT_EQ(d.model_source, ModelSource::kUnseen);
  EXPECT_NE(d.message.find("x-keymux-model"), std::string::npos) << d.message;

  config::Config listed = NamedAndDefault();
  listed.set_allow_anonymous(false);
  config::Client* client = listed.add_clients();
  client->set_name("app");
  client->set_token_sha256(config::to_hex(config::sha256("app-token")));
  client->add_models("gpt-4o");
  RouterRig rig(listed);
  RouteRequest r = LargeBody();
  r.client_token = "app-token";
  d = rig.router.decide(r);
  EXPECT_EQ(d.outcome, Outcome::kModelNotAllowed);
  EXPECT_NE(d.message.find("x-keymux-model"), std::string::npos) << d.message;
  r.header_model = "gpt-4o";
  d = rig.router.decide(r);
  ASSERT_TRUE(d.routed()) << d.message;
  EXPECT_EQ(d.key->id, "kn");
}

}  // namespace
}  // namespace keymux::router
