// GET /v1/status: everything the status page shows, in one document, so that
// the page makes one request per second whatever the number of keys:
//   {"version":..,"now":..,"config":{"name":..,"reload":{"at":..,"ok":..,"detail":..}},
//    "providers":[{"name":..,"health":..,"keys":N,"keys_ok":N,...}],
//    "keys":[ as GET /v1/keys ], "clients":[ as GET /v1/clients ],
//    "events":[ the last state changes, newest first ]}
// Never a secret: keys show their fingerprint, clients their name.
#pragma once

#include <string>
#include <string_view>

#include "agent/admin/reloader.h"
#include "agent/router/snapshot.h"

namespace keymux::admin {

struct StatusInputs {
  const router::Snapshot& snapshot;
  router::Time now;
  std::string_view version;
  std::string_view config_name;
  const ReloadRecord& reload;
  std::string_view events_json;  // RecentEvents::json(), or "[]"
};

std::string status_json(const StatusInputs& in);

}  // namespace keymux::admin
