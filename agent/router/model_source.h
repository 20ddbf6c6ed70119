// Which model a request asks for, and where the gateway read it. The body's
// "model" wins when the agent can see it (HAProxy's json_query over the
// buffered body). A body larger than HAProxy's buffer (tune.bufsize) may hide
// it: SDKs write "model" after "messages", so a long context pushes it past
// the part HAProxy holds. Then the model comes from what the API puts outside
// the body: the x-keymux-model header, Azure's /openai/deployments/NAME/...,
// Gemini's /v1beta/models/NAME:ACTION. A request with none of them is kUnseen:
// the default route serves it, and the gateway says so (log line, metric,
// log field), never silently.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace keymux::router {

enum class ModelSource : std::uint8_t {
  kBody,    // the body's "model", or a whole body that names none
  kHeader,  // x-keymux-model
  kPath,    // the API path's deployment or model
  kUnseen,  // a partial body without "model" in its visible part, no header, no path model
};
// Names for logs and metrics: metrics::kUnseenModelRouteNames.

struct RequestModel {
  std::string_view name;  // empty: none found
  ModelSource source = ModelSource::kBody;
};

// `body_whole`: HAProxy held the whole body (its req.body_len reached req.body_size).
RequestModel request_model(std::optional<std::string_view> body_model, bool body_whole,
                           std::string_view header_model, std::string_view path);

// The model or deployment an API path names, else empty:
// /openai/deployments/NAME/... (Azure), /v1beta/models/NAME:ACTION and
// /v1/models/NAME:ACTION (Gemini). Only a non-empty NAME without '/' counts.
// (fe_public forwards /v1/ and /openai/ only: /v1beta/ is here for a
// gateway that opens it.)
std::string_view model_in_path(std::string_view path);

}  // namespace keymux::router
