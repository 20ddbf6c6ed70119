#include "tests/mock_upstream/control.h"

#include <limits>
#include <mutex>
#include <optional>
#include <string>

#include "tests/mock_upstream/http_response.h"
#include "tests/mock_upstream/json_scan.h"
#include "tests/mock_upstream/json_write.h"

namespace keymux::mock {
namespace {

constexpr std::string_view kKeysPrefix = "/_mock/keys/";

void answer(Reply& reply, int status, std::string_view body) {
  append_response(reply.add_part(), status, kJson, {}, body, reply.close);
}

void answer_error(Reply& reply, int status, std::string_view message) {
  std::string body = "{\"ok\":false,\"error\":";
  append_json_string(body, message);
  body += '}';
  answer(reply, status, body);
}

// Reads an optional non-negative integer member; false when present but malformed.
template <typename T>
bool read_member(std::string_view body, std::string_view name, std::optional<T>& out) {
  const std::optional<std::string_view> raw = json_member(body, name);
  if (!raw) return true;
  const std::optional<std::uint64_t> value = json_uint(*raw);
  if (!value || *value > std::numeric_limits<T>::max()) return false;
  out = static_cast<T>(*value);
  return true;
}

void control_faults(MockState& state, const HttpRequest& request, Reply& reply) {
  std::string error;
  Faults faults;
  {
    std::lock_guard lock(state.control_mutex());
    faults = state.faults().load();
    if (request.method == "POST" && !apply_faults_json(request.body, faults, error)) {
      return answer_error(reply, 400, error);
    }
    state.faults().store(faults);
  }
  std::string body = "{\"ok\":true,\"faults\":";
  append_faults_json(body, faults);
  body += '}';
  answer(reply, 200, body);
}

void control_key(MockState& state, const HttpRequest& request, Reply& reply) {
  const std::string_view id = request.path().substr(kKeysPrefix.size());
  const int key = state.find_by_id(id);
  if (key < 0) return answer_error(reply, 404, "no such key");
  if (!json_is_object(request.body))
    return answer_error(reply, 400, "the body must be a JSON object");
  std::string error;
  if (!json_only_members(request.body, kKeyControlFields, error)) {
    return answer_error(reply, 400, error);
  }
  KeyControl control;
  if (!read_member(request.body, "status", control.status) ||
      !read_member(request.body, "retry_after", control.retry_after_s) ||
      !read_member(request.body, "rpm", control.rpm) ||
      !read_member(request.body, "tpm", control.tpm) ||
      !read_member(request.body, "error_status", control.error_status)) {
    return answer_error(reply, 400, "status, retry_after, rpm, tpm and error_status want integers");
  }
  if (control.status && *control.status != 0 && (*control.status < 100 || *control.status > 599)) {
    return answer_error(reply, 400, "status wants 0 (clear) or 100..599");
  }
  if (control.error_status && (*control.error_status < 100 || *control.error_status > 599)) {
    return answer_error(reply, 400, "error_status wants 100..599");
  }
  if (const std::optional<std::string_view> raw = json_member(request.body, "error_rate")) {
    const std::optional<double> rate = json_number(*raw);
    if (!rate || *rate < 0 || *rate > 1) return answer_error(reply, 400, "error_rate wants 0..1");
    control.error_rate = *rate;
  }
  state.control_key(key, control);
  answer(reply, 200, "{\"ok\":true}");
}

// GET /_mock/audit: every key over the mock's window. POST: a JSON object
// choosing the window, one key, and the list of requests since a time.
void control_audit(MockState& state, const HttpRequest& request, Reply& reply) {
  AuditQuery query;
  query.window = state.window();
  if (request.method == "POST") {
    if (!json_is_object(request.body))
      return answer_error(reply, 400, "the body must be a JSON object");
    std::string error;
    if (!json_only_members(request.body, kAuditFields, error)) {
      return answer_error(reply, 400, error);
    }
    std::optional<std::uint32_t> window_ms;
    std::optional<std::uint64_t> since_us;
    if (!read_member(request.body, "window_ms", window_ms) ||
        !read_member(request.body, "since_us", since_us)) {
      return answer_error(reply, 400, "window_ms and since_us want non-negative integers");
    }
    if (window_ms) {
      if (*window_ms == 0) return answer_error(reply, 400, "window_ms wants at least 1");
      query.window = std::chrono::milliseconds(*window_ms);
    }
    if (since_us) query.since = Time(Duration(static_cast<Duration::rep>(*since_us)));
    if (const std::optional<std::string_view> raw = json_member(request.body, "events")) {
      const std::optional<bool> events = json_bool(*raw);
      if (!events) return answer_error(reply, 400, "events wants true or false");
      query.events = *events;
    }
    if (const std::optional<std::string_view> raw = json_member(request.body, "key")) {
      const std::optional<std::string> id = json_string(*raw);
      if (!id) return answer_error(reply, 400, "key wants a key id (a string)");
      query.key = state.find_by_id(*id);
      if (query.key < 0) return answer_error(reply, 404, "no such key");
    }
  }
  std::string body;
  state.append_audit_json(body, query);
  answer(reply, 200, body);
}

}  // namespace

void handle_control(MockState& state, const HttpRequest& request, Reply& reply) {
  reply.close = !request.keep_alive;
  const std::string_view path = request.path();
  const bool get = request.method == "GET";
  const bool post = request.method == "POST";
  if (path == "/_mock/stats" && get) {
    std::string body;
    state.append_stats_json(body);
    return answer(reply, 200, body);
  }
  if (path == "/_mock/reset" && post) {
    state.reset();
    return answer(reply, 200, "{\"ok\":true}");
  }
  if (path == "/_mock/audit" && (get || post)) return control_audit(state, request, reply);
  if (path == "/_mock/faults" && (get || post)) return control_faults(state, request, reply);
  if (path.starts_with(kKeysPrefix) && post) return control_key(state, request, reply);
  answer_error(reply, 404, "no such control endpoint");
}

}  // namespace keymux::mock
