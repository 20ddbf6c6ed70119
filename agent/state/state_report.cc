#include "agent/state/state_report.h"

namespace keymux::state {
namespace {

// Node names and key ids are validated ([A-Za-z0-9._-]; a host name is of
// that kind too): they need no escaping in labels or JSON strings.
void family(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void per_key(std::string& out, const StateReport& r, const char* name, const char* type,
             const char* help, std::uint64_t (*value)(const SharedKeyBudget::View&)) {
  family(out, name, type, help);
  for (const StateReport::Key& k : r.keys) {
    out += name;
    out += "{key=\"" + k.key_id + "\"} " + std::to_string(value(k.view)) + "\n";
  }
}

}  // namespace

std::string state_readyz_line(const StateReport& r) {
  return std::string("redis: ") + (r.healthy ? "healthy" : "degraded") + " (node " + r.node +
         ", live nodes: " + std::to_string(r.live_nodes) + ")\n";
}

std::string state_metrics_text(const StateReport& r) {
  std::string out;
  family(out, "keymux_state_healthy", "gauge",
         "1 while Redis answers (budgets shared), 0 while degraded.");
  out += "keymux_state_healthy{node=\"" + r.node + "\"} " + (r.healthy ? "1" : "0") + "\n";
  family(out, "keymux_state_live_nodes", "gauge",
         "Gateways seen by the heartbeat, this one included.");
  out += "keymux_state_live_nodes " + std::to_string(r.live_nodes) + "\n";
  family(out, "keymux_state_mode_changes_total", "counter",
         "Changes between healthy and degraded.");
  out += "keymux_state_mode_changes_total " + std::to_string(r.mode_changes) + "\n";
  family(out, "keymux_state_replays_total", "counter",
         "Times this gateway recorded its live grants again after Redis lost its data.");
  out += "keymux_state_replays_total " + std::to_string(r.replays) + "\n";
  using V = SharedKeyBudget::View;
  per_key(out, r, "keymux_key_shared_requests_granted", "gauge",
          "Requests in the slices this gateway holds now.",
          [](const V& v) -> std::uint64_t { return v.requests_granted; });
  per_key(out, r, "keymux_key_shared_requests_left", "gauge",
          "Of those, not yet used by this gateway.",
          [](const V& v) -> std::uint64_t { return v.requests_left; });
  per_key(out, r, "keymux_key_shared_tokens_granted", "gauge",
          "Tokens in the slices this gateway holds now.",
          [](const V& v) -> std::uint64_t { return v.tokens_granted; });
  per_key(out, r, "keymux_key_shared_tokens_left", "gauge",
          "Of those, not yet used by this gateway.",
          [](const V& v) -> std::uint64_t { return v.tokens_left; });
  per_key(out, r, "keymux_key_shared_taken_total", "counter",
          "Requests this gateway took from Redis's slices.",
          [](const V& v) -> std::uint64_t { return v.taken_total; });
  per_key(out, r, "keymux_key_shared_taken_degraded_total", "counter",
          "Requests this gateway took from its degraded local share.",
          [](const V& v) -> std::uint64_t { return v.taken_degraded_total; });
  return out;
}

std::string state_json(const StateReport& r) {
  std::string out = "{\"node\":\"" + r.node + "\",\"redis\":\"" + r.redis + "\",\"mode\":\"" +
                    (r.healthy ? "healthy" : "degraded") +
                    "\",\"live_nodes\":" + std::to_string(r.live_nodes) +
                    ",\"mode_changes\":" + std::to_string(r.mode_changes) +
                    ",\"replays\":" + std::to_string(r.replays) + ",\"keys\":[";
  bool first = true;
  for (const StateReport::Key& k : r.keys) {
    if (!first) out += ',';
    first = false;
    const SharedKeyBudget::View& v = k.view;
    out += "{\"id\":\"" + k.key_id +
           "\",\"requests_granted\":" + std::to_string(v.requests_granted) +
           ",\"requests_left\":" + std::to_string(v.requests_left) +
           ",\"tokens_granted\":" + std::to_string(v.tokens_granted) +
           ",\"tokens_left\":" + std::to_string(v.tokens_left) +
           ",\"taken_total\":" + std::to_string(v.taken_total) +
           ",\"taken_degraded_total\":" + std::to_string(v.taken_degraded_total) + "}";
  }
  out += "]}";
  return out;
}

}  // namespace keymux::state
