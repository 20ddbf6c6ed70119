// The status page's files (agent/admin/ui/), compiled into the agent by CMake
// (ui_assets.cc.in): no file to install, no CDN, no build step. The admin API
// serves them without the admin token (they hold no data); the page asks for
// the token and reads GET /v1/status with it.
#pragma once

#include <string_view>

namespace keymux::admin {

struct UiAsset {
  std::string_view content_type;
  std::string_view body;
};

// "/" (the page), "/ui/app.js", "/ui/app.css"; nullptr for any other path.
const UiAsset* find_ui_asset(std::string_view path);

}  // namespace keymux::admin
