#include "agent/router/model_source.h"

namespace keymux::router {
namespace {

// NAME ends at `end` (Azure: '/', Gemini: ':'); the path must go on after it.
std::string_view name_after(std::string_view path, std::string_view prefix, char end) {
  if (!path.starts_with(prefix)) return {};
  const std::string_view rest = path.substr(prefix.size());
  const std::size_t stop = rest.find(end);
  if (stop == std::string_view::npos || stop == 0) return {};
  const std::string_view name = rest.substr(0, stop);
  return name.find('/') == std::string_view::npos ? name : std::string_view();
}

}  // namespace

std::string_view model_in_path(std::string_view path) {
  path = path.substr(0, path.find('?'));
  if (std::string_view name = name_after(path, "/openai/deployments/", '/'); !name.empty()) {
    return name;
  }
  if (std::string_view name = name_after(path, "/v1beta/models/", ':'); !name.empty()) return name;
  return name_after(path, "/v1/models/", ':');
}

RequestModel request_model(std::optional<std::string_view> body_model, bool body_whole,
                           std::string_view header_model, std::string_view path) {
  if (body_model && !body_model->empty()) return {*body_model, ModelSource::kBody};
  if (!header_model.empty()) return {header_model, ModelSource::kHeader};
  if (const std::string_view name = model_in_path(path); !name.empty()) {
    return {name, ModelSource::kPath};
  }
  return {{}, body_whole ? ModelSource::kBody : ModelSource::kUnseen};
}

}  // namespace keymux::router
