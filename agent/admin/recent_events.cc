#include "agent/admin/recent_events.h"

#include "agent/admin/state_json.h"
#include "agent/handler/error_body.h"

namespace keymux::admin {

void RecentEvents::add(StateChange change) {
  std::lock_guard lock(mu_);
  changes_.push_back(std::move(change));
  while (changes_.size() > capacity_) changes_.pop_front();
}

std::string RecentEvents::json() const {
  std::deque<StateChange> copy;
  {
    std::lock_guard lock(mu_);
    copy = changes_;
  }
  std::string out = "[";
  for (auto it = copy.rbegin(); it != copy.rend(); ++it) {
    if (out.size() > 1) out += ',';
    out += "{\"at\":\"" + rfc3339(it->at) + "\",\"kind\":\"";
    handler::append_json_escaped(out, it->kind);
    out += "\",\"key\":\"";
    handler::append_json_escaped(out, it->key);
    out += "\",\"provider\":\"";
    handler::append_json_escaped(out, it->provider);
    out += "\",\"detail\":\"";
    handler::append_json_escaped(out, it->detail);
    out += "\"}";
  }
  out += ']';
  return out;
}

}  // namespace keymux::admin
