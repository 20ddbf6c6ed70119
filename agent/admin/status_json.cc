#include "agent/admin/status_json.h"

#include <unordered_map>
#include <vector>

#include "agent/admin/state_json.h"
#include "agent/handler/error_body.h"

namespace keymux::admin {
namespace {

using handler::append_json_escaped;

struct ProviderTally {
  std::uint32_t keys = 0;
  std::uint32_t ok = 0;
  std::uint32_t cooling = 0;
  std::uint32_t quarantined = 0;
  std::uint32_t ejected = 0;
};

// For people: "ejected" or "probing" when the router took the provider out of
// rotation for its failure ratio (provider_state.h); otherwise from its keys,
// "ok" when every key serves, "degraded" when some do, "down" when none.
std::string_view health(const router::ProviderView& provider, const ProviderTally& tally) {
  if (provider.health != router::HealthState::kServing) {
    return router::health_state_name(provider.health);
  }
  if (tally.ok == tally.keys) return "ok";
  return tally.ok == 0 ? "down" : "degraded";
}

void append_string(std::string& out, std::string_view value) {
  out += '"';
  append_json_escaped(out, value);
  out += '"';
}

}  // namespace

std::string status_json(const StatusInputs& in) {
  const std::vector<router::KeyEntry>& keys = in.snapshot.keys();
  const std::vector<router::ProviderEntry>& providers = in.snapshot.providers();
  std::unordered_map<const router::ProviderEntry*, ProviderTally> tallies;
  tallies.reserve(providers.size());

  // One pass over the keys: each key's view is taken once, for its JSON and its
  // provider's tally alike.
  std::string keys_array = "[";
  keys_array.reserve(keys.size() * 640);
  for (const router::KeyEntry& key : keys) {
    const router::KeyView view = key.state->view(in.now);
    if (keys_array.size() > 1) keys_array += ',';
    keys_array += key_json(key, view, in.now);
    ProviderTally& tally = tallies[key.provider];
    ++tally.keys;
    switch (view.condition) {
      case router::KeyCondition::kOk:
        ++tally.ok;
        break;
      case router::KeyCondition::kCooling:
        ++tally.cooling;
        break;
      case router::KeyCondition::kQuarantined:
        ++tally.quarantined;
        break;
      case router::KeyCondition::kEjected:
        ++tally.ejected;
        break;
    }
  }
  keys_array += ']';

  std::string out = "{\"version\":";
  out.reserve(keys_array.size() + 4096 + in.events_json.size());
  append_string(out, in.version);
  out += ",\"now\":";
  append_string(out, rfc3339(in.now));
  out += ",\"config\":{\"name\":";
  append_string(out, in.config_name);
  out += ",\"reload\":{\"at\":";
  append_string(out, rfc3339(in.reload.at));
  out += in.reload.ok ? ",\"ok\":true,\"detail\":" : ",\"ok\":false,\"detail\":";
  append_string(out, in.reload.detail);
  out += "}},\"providers\":[";
  bool first = true;
  for (const router::ProviderEntry& provider : providers) {
    const ProviderTally tally = tallies[&provider];
    if (!first) out += ',';
    first = false;
    out += "{\"name\":";
    append_string(out, provider.name);
    const router::ProviderView view = provider.state->view(in.now);
    out += ",\"health\":";
    append_string(out, health(view, tally));
    out += ",\"keys\":" + std::to_string(tally.keys) + ",\"keys_ok\":" + std::to_string(tally.ok) +
           ",\"keys_cooling\":" + std::to_string(tally.cooling) +
           ",\"keys_quarantined\":" + std::to_string(tally.quarantined) +
           ",\"keys_ejected\":" + std::to_string(tally.ejected) +
           ",\"ejections_total\":" + std::to_string(view.ejections_total) + '}';
  }
  out += "],\"keys\":";
  out += keys_array;
  out += ",\"clients\":";
  append_clients_array(out, in.snapshot, in.now);
  out += ",\"events\":";
  out += in.events_json;
  out += '}';
  return out;
}

}  // namespace keymux::admin
