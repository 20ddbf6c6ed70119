#include "agent/handler/models_list.h"

#include <gtest/gtest.h>

#include "tests/unit/router_test_config.h"

namespace keymux::handler {
namespace {

using router::test::AddProvider;
using router::test::AddRoute;

std::shared_ptr<const router::Snapshot> TwoProviders(router::KeyRegistry& registry,
                                                     router::ClientRegistry& clients) {
  config::Config c;
  AddProvider(c, "openai", {{.id = "o1"}, {.id = "o2", .models = {"gpt-4o", "o1-*"}}});
  AddProvider(c, "anthropic", {{.id = "a1"}});
  AddRoute(c, {"gpt-4o", "gpt-4o-mini", "gpt-*"}, {{"openai", 0, 1}});
  AddRoute(c, {"claude-3-5-haiku", "gpt-4o"}, {{"anthropic", 0, 1}});
  AddRoute(c, {"*"}, {{"openai", 0, 1}}, /*is_default=*/true);
  router::test::SetTestDefaults(c);
  return router::Snapshot::build(c, registry, clients);
}

TEST(HandlerModelsList, NamedModelsOnceInConfigOrderWithoutGlobs) {
  router::KeyRegistry registry;
  router::ClientRegistry clients;
  const auto snap = TwoProviders(registry, clients);
  const std::vector<std::string_view> models = listable_models(*snap);
  EXPECT_EQ(models, (std::vector<std::string_view>{"gpt-4o", "gpt-4o-mini", "claude-3-5-haiku"}));
}

TEST(HandlerModelsList, OpenAIListShapeOwnedByTheServingProvider) {
  router::KeyRegistry registry;
  router::ClientRegistry clients;
  const auto snap = TwoProviders(registry, clients);
  EXPECT_EQ(models_list_json(*snap),
            R"({"object":"list","data":[)"
            R"({"id":"gpt-4o","object":"model","created":0,"owned_by":"openai"},)"
            R"({"id":"gpt-4o-mini","object":"model","created":0,"owned_by":"openai"},)"
            R"({"id":"claude-3-5-haiku","object":"model","created":0,"owned_by":"anthropic"}]})");
}

TEST(HandlerModelsList, OneModelOrNothing) {
  router::KeyRegistry registry;
  router::ClientRegistry clients;
  const auto snap = TwoProviders(registry, clients);
  EXPECT_EQ(model_json(*snap, nullptr, "claude-3-5-haiku"),
            R"({"id":"claude-3-5-haiku","object":"model","created":0,"owned_by":"anthropic"})");
  EXPECT_EQ(model_json(*snap, nullptr, "gpt-*"), "");
  EXPECT_EQ(model_json(*snap, nullptr, "nope"), "");
}

TEST(HandlerModelsList, EmptyWhenOnlyGlobs) {
  router::KeyRegistry registry;
  router::ClientRegistry clients;
  config::Config c;
  AddProvider(c, "p", {{.id = "k"}});
  AddRoute(c, {"*"}, {{"p", 0, 1}}, true);
  router::test::SetTestDefaults(c);
  EXPECT_EQ(models_list_json(*router::Snapshot::build(c, registry, clients)),
            R"({"object":"list","data":[]})");
}

}  // namespace
}  // namespace keymux::handler
