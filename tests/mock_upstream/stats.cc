#include "tests/mock_upstream/stats.h"

#include <algorithm>

#include "tests/mock_upstream/json_write.h"
#include "tests/mock_upstream/keys.h"

namespace keymux::mock {

void RecentRequests::record(const HttpRequest& request, int key) {
  RecordedRequest& slot = ring_[next_];
  next_ = (next_ + 1) % kCapacity;
  size_ = std::min(size_ + 1, kCapacity);
  slot.method.assign(request.method);
  slot.path.assign(request.target);
  slot.key = key;
  if (slot.headers.size() < request.headers.size()) slot.headers.resize(request.headers.size());
  slot.header_count = request.headers.size();
  for (std::size_t i = 0; i < request.headers.size(); ++i) {
    auto& [name, value] = slot.headers[i];
    name.assign(request.headers[i].name);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; });
    value.assign(request.headers[i].value);
  }
}

const RecordedRequest& RecentRequests::at(std::size_t i) const {
  return ring_[(next_ + kCapacity - size_ + i) % kCapacity];
}

std::string redact_secrets(std::string_view value, const std::vector<KeyStats>& keys) {
  std::vector<const KeyStats*> order;
  for (const KeyStats& key : keys) order.push_back(&key);
  std::stable_sort(order.begin(), order.end(), [](const KeyStats* a, const KeyStats* b) {
    return a->secret.size() > b->secret.size();
  });
  std::string text(value);
  for (const KeyStats* key : order) {
    if (key->secret.empty()) continue;
    const std::string mark = "<key:" + std::string(key->id) + ">";
    for (std::size_t at = text.find(key->secret); at != std::string::npos;
         at = text.find(key->secret, at + mark.size())) {
      text.replace(at, key->secret.size(), mark);
    }
  }
  return text;
}

void append_stats_json(std::string& out, const StatsSnapshot& stats, const RecentRequests& recent) {
  out += "{\"requests\":";
  append_uint(out, stats.requests);
  out += ",\"unauthorized\":";
  append_uint(out, stats.unauthorized);
  out += ",\"dropped\":";
  append_uint(out, stats.dropped);
  out += ",\"keys\":{";
  for (std::size_t k = 0; k < stats.keys.size(); ++k) {
    const KeyStats& key = stats.keys[k];
    if (k > 0) out += ',';
    append_json_string(out, key.id);
    out += ":{\"requests\":";
    append_uint(out, key.counters.requests);
    out += ",\"by_style\":{";
    for (const AuthStyle style : kAuthStyles) {
      if (style != kAuthStyles.front()) out += ',';
      append_json_string(out, style_name(style));
      out += ':';
      append_uint(out, key.counters.by_style[static_cast<std::size_t>(style)]);
    }
    out += "},\"by_status\":{";
    bool first = true;
    for (std::size_t status = 0; status < kMaxStatus; ++status) {
      if (key.counters.by_status[status] == 0) continue;
      if (!first) out += ',';
      first = false;
      out += '"';
      append_uint(out, status);
      out += "\":";
      append_uint(out, key.counters.by_status[status]);
    }
    out += "},\"tokens\":";
    append_uint(out, key.counters.tokens);
    out += '}';
  }
  out += "},\"last_requests\":[";
  for (std::size_t i = 0; i < recent.size(); ++i) {
    const RecordedRequest& request = recent.at(i);
    if (i > 0) out += ',';
    out += "{\"method\":";
    append_json_string(out, redact_secrets(request.method, stats.keys));
    out += ",\"path\":";
    append_json_string(out, redact_secrets(request.path, stats.keys));
    out += ",\"key_id\":";
    if (request.key >= 0 && static_cast<std::size_t>(request.key) < stats.keys.size()) {
      append_json_string(out, stats.keys[static_cast<std::size_t>(request.key)].id);
    } else {
      out += "null";
    }
    out += ",\"headers\":{";
    for (std::size_t h = 0; h < request.header_count; ++h) {
      const std::string& name = request.headers[h].first;
      // A repeated header is one member, its values joined as HTTP would.
      bool repeated = false;
      for (std::size_t e = 0; e < h && !repeated; ++e) repeated = request.headers[e].first == name;
      if (repeated) continue;
      std::string value = request.headers[h].second;
      for (std::size_t later = h + 1; later < request.header_count; ++later) {
        if (request.headers[later].first == name) value += ", " + request.headers[later].second;
      }
      if (h > 0) out += ',';
      append_json_string(out, name);
      out += ':';
      append_json_string(out, redact_secrets(value, stats.keys));
    }
    out += "}}";
  }
  out += "]}";
}

}  // namespace keymux::mock
