// The admin API's JSON views of keys and clients: what each is doing and why,
// never a secret or a token (a key shows only its fingerprint).
#pragma once

#include <string>
#include <vector>

#include "agent/router/clock.h"
#include "agent/router/key_state.h"
#include "agent/router/snapshot.h"

namespace keymux::admin {

// One key: {"id":..,"provider":..,"fingerprint":..,"state":..,...}.
std::string key_json(const router::KeyEntry& key, const router::KeyView& view, router::Time now);
// {"keys":[...]} for every key of the configuration, in configuration order.
std::string keys_json(const router::Snapshot& snapshot, router::Time now);
// {"clients":[...]} for every configured client, then "anonymous" when allowed.
std::string clients_json(const router::Snapshot& snapshot, router::Time now);
// The array of clients_json alone ("[...]"), appended to `out`, for documents
// that hold it among other fields (status_json.h).
void append_clients_array(std::string& out, const router::Snapshot& snapshot, router::Time now);

// ["a","b"], each escaped.
std::string json_string_array(const std::vector<std::string>& items);

// RFC 3339 in UTC with milliseconds: 2026-11-27T03:20:01.123Z.
std::string rfc3339(router::Time time);

}  // namespace keymux::admin
