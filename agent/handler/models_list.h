// GET /v1/models, answered by the gateway itself from the configured routes
// (OpenAI list shape), so SDKs that list models before calling work without
// any upstream key being spent.
//
// Listed: every model named exactly in a route or a key's model list, once,
// in config order, that the client may use (all of them for no client).
// Glob patterns ("gpt-4o*", "*") name no model and are not listed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "agent/router/snapshot.h"

namespace keymux::handler {

std::vector<std::string_view> listable_models(const router::Snapshot& snapshot,
                                              const router::ClientEntry* client = nullptr);

// {"object":"list","data":[{"id":...,"object":"model","created":0,"owned_by":...}]}
std::string models_list_json(const router::Snapshot& snapshot,
                             const router::ClientEntry* client = nullptr);

// {"id":...,"object":"model",...} for one listable model; empty when unknown.
std::string model_json(const router::Snapshot& snapshot, const router::ClientEntry* client,
                       std::string_view model);

}  // namespace keymux::handler
