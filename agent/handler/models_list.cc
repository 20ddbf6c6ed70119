#include "agent/handler/models_list.h"

#include <algorithm>

#include "agent/handler/error_body.h"

namespace keymux::handler {
namespace {

bool is_glob(std::string_view pattern) {
  return pattern.find_first_of("*?") != std::string_view::npos;
}

void add_unique(std::vector<std::string_view>& out, std::string_view model) {
  if (model.empty() || is_glob(model)) return;
  if (std::find(out.begin(), out.end(), model) == out.end()) out.push_back(model);
}

// The provider serving `model` first: what "owned_by" tells a client.
std::string_view owner_of(const router::Snapshot& snapshot, std::string_view model) {
  const router::RouteEntry* route = snapshot.find_route(model);
  if (route == nullptr || route->keys.empty()) return "keymux";
  return route->keys.front()->provider->name;
}

void append_model(std::string& out, const router::Snapshot& snapshot, std::string_view model) {
  out += R"({"id":")";
  append_json_escaped(out, model);
  out += R"(","object":"model","created":0,"owned_by":")";
  append_json_escaped(out, owner_of(snapshot, model));
  out += R"("})";
}

}  // namespace

std::vector<std::string_view> listable_models(const router::Snapshot& snapshot,
                                              const router::ClientEntry* client) {
  std::vector<std::string_view> models;
  for (const router::RouteEntry& route : snapshot.routes()) {
    for (const std::string& pattern : route.model_patterns) add_unique(models, pattern);
  }
  for (const router::KeyEntry& key : snapshot.keys()) {
    for (const std::string& pattern : key.model_patterns) add_unique(models, pattern);
  }
  if (client != nullptr) {
    std::erase_if(models,
                  [client](std::string_view model) { return !client->allows_model(model); });
  }
  return models;
}

std::string models_list_json(const router::Snapshot& snapshot, const router::ClientEntry* client) {
  std::string out = R"({"object":"list","data":[)";
  bool first = true;
  for (std::string_view model : listable_models(snapshot, client)) {
    if (!first) out += ',';
    first = false;
    append_model(out, snapshot, model);
  }
  out += "]}";
  return out;
}

std::string model_json(const router::Snapshot& snapshot, const router::ClientEntry* client,
                       std::string_view model) {
  const std::vector<std::string_view> models = listable_models(snapshot, client);
  if (std::find(models.begin(), models.end(), model) == models.end()) return {};
  std::string out;
  append_model(out, snapshot, model);
  return out;
}

}  // namespace keymux::handler
