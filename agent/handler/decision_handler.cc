#include "agent/handler/decision_handler.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <limits>
#include <optional>
#include <string_view>

#include "agent/handler/error_body.h"
#include "agent/handler/models_list.h"
#include "agent/router/client_token.h"
#include "agent/router/upstream_report.h"
#include "agent/spop/header_block.h"
#include "agent/version.h"

namespace keymux::handler {
namespace {

using spop::TypedValue;
using spop::VarScope;

std::optional<std::string_view> text_arg(const spop::Message& message, std::string_view name) {
  const TypedValue* value = message.arg(name);
  return value == nullptr ? std::nullopt : value->as_text();
}

std::uint64_t count_arg(const spop::Message& message, std::string_view name) {
  const TypedValue* value = message.arg(name);
  return value == nullptr ? 0 : value->as_uint().value_or(0);
}

void set(spop::AckEncoder& ack, std::string_view name, const TypedValue& value) {
  ack.set_var(VarScope::kTransaction, name, value);
}

// The header style HAProxy puts the key in (haproxy.cfg, fe_inner).
std::string_view auth_style_name(config::AuthStyle style) {
  switch (style) {
    case config::X_API_KEY:
      return "x-api-key";
    case config::API_KEY:
      return "api-key";
    default:
      return "bearer";
  }
}

constexpr std::string_view kModelsPath = "/v1/models";
// Session::handler_marks(): the connection's first refusal has been logged.
constexpr std::uint32_t kRefusalLogged = 1;

// Whole seconds, rounded up, at least 1: what a client should wait.
std::int64_t retry_after_seconds(router::Duration wait) {
  constexpr std::int64_t kMicrosPerSecond = 1'000'000;
  const std::int64_t seconds = (wait.count() + kMicrosPerSecond - 1) / kMicrosPerSecond;
  return seconds < 1 ? 1 : seconds;
}

// The answer's real token count from the settle message's usage arguments
// (HAProxy reads them from a JSON body, haproxy.cfg): OpenAI's total_tokens,
// else Anthropic's input + output tokens. nullopt: none (the estimate stays).
std::optional<std::uint64_t> usage_tokens(const spop::Message& message) {
  const auto count = [&message](std::string_view name) -> std::optional<std::uint64_t> {
    const TypedValue* value = message.arg(name);
    return value == nullptr ? std::nullopt : value->as_uint();
  };
  if (const std::optional<std::uint64_t> total = count("usage_total")) return total;
  const std::optional<std::uint64_t> input = count("usage_input");
  const std::optional<std::uint64_t> output = count("usage_output");
  if (!input || !output) return std::nullopt;
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  return *input > kMax - *output ? kMax : *input + *output;
}

}  // namespace

spop::NotifyHandler::Reply DecisionHandler::on_notify(spop::Session& session,
                                                      const spop::NotifyRequest& request,
                                                      spop::AckEncoder& ack) {
  // Held only when the route is all the NOTIFY says: its ACK is then its own.
  const bool may_wait = wait_deadline_ > router::Duration::zero() && request.messages.size() == 1;
  for (const spop::Message& message : request.messages) {
    if (GatewayRefusal why; !gateway_.accepts(message, why)) {
      refuse(session, message, why, ack);
    } else if (message.name == "route") {
      const auto start = std::chrono::steady_clock::now();
      const bool answered = route(session, request, message, may_wait, ack);
      if (metrics_ != nullptr) {
        metrics_->time.observe(std::chrono::steady_clock::now() - start);
      }
      if (!answered) return Reply::kLater;
    } else if (message.name == "settle") {
      settle(message);
    } else if (message.name == "version") {
      set(ack, "agent_version", TypedValue::of_string(kAgentVersion));
    }
    // Other messages are not ours to answer; the session keeps the ACK non-empty.
  }
  return Reply::kNow;
}

bool DecisionHandler::route(spop::Session& session, const spop::NotifyRequest& notify,
                            const spop::Message& message, bool may_wait, spop::AckEncoder& ack) {
  router::RouteRequest request;
  request.method = text_arg(message, "method").value_or("");
  request.path = text_arg(message, "path").value_or("");
  request.client_token =
      router::client_token(text_arg(message, "client_auth"), text_arg(message, "client_api_key"));
  if (request.method == "GET" && request.path.starts_with(kModelsPath) &&
      answer_models(request.path, request.client_token, ack)) {
    return true;
  }
  request.model = text_arg(message, "model");
  request.request_id = text_arg(message, "request_id").value_or("");
  request.body_size = count_arg(message, "body_size");
  if (const TypedValue* len = message.arg("body_len"); len != nullptr && len->as_uint()) {
    request.body_len = *len->as_uint();
  }
  request.body_prefix = text_arg(message, "body").value_or("");
  request.header_model = text_arg(message, "header_model").value_or("");
  request.content_type = text_arg(message, "content_type").value_or("");
  request.may_wait = may_wait;

  const router::Decision decision = router_.decide(request);
  if (decision.waiting()) {
    const router::Time now = router_.clock().now();
    held_.emplace_back(session, notify.stream_id, notify.frame_id, request, now,
                       now + wait_deadline_);
    if (metrics_ != nullptr) metrics::bump(metrics_->waits_started);
    return false;
  }
  answer(request, decision, ack);
  return true;
}

void DecisionHandler::answer(const router::RouteRequest& request, const router::Decision& decision,
                             spop::AckEncoder& ack) {
  if (metrics_ != nullptr) {
    metrics_->count(decision.outcome);
    if (decision.panic) metrics::bump(metrics_->panic_routed);
  }
  // The client's name (never its token), for HAProxy's log.
  if (decision.client != nullptr) {
    set(ack, "client", TypedValue::of_string(decision.client->name));
    tell_request_size(request, decision, ack);
  }
  if (decision.routed()) {
    const router::KeyEntry& key = *decision.key;
    set(ack, "backend", TypedValue::of_string(key.provider->backend));
    set(ack, "secret", TypedValue::of_string(key.secret));
    set(ack, "key_id", TypedValue::of_string(key.id));
    set(ack, "provider", TypedValue::of_string(key.provider->name));
    set(ack, "auth", TypedValue::of_string(auth_style_name(key.provider->auth)));
    set(ack, "ticket", TypedValue::of_int64(static_cast<std::int64_t>(decision.ticket)));
    set(ack, "attempt", TypedValue::of_int32(static_cast<std::int32_t>(decision.attempt)));
    // A key or client that counts tokens: HAProxy waits for a JSON answer's
    // body to tell its usage in the settle message (haproxy.cfg, fe_inner).
    // Others skip that wait.
    if (decision.want_usage) set(ack, "want_usage", TypedValue::of_int32(1));
    return;
  }
  set_error(ack, decision.http_status, decision.error_type, decision.error_code, decision.message);
  if (decision.retry_after) {
    set(ack, "retry_after", TypedValue::of_int64(retry_after_seconds(*decision.retry_after)));
  }
}

std::chrono::microseconds DecisionHandler::next_deadline_in() const {
  if (held_.empty()) return {};
  return std::max(router::Duration::zero(), held_.front().deadline - router_.clock().now());
}

bool DecisionHandler::answer_held_route(const HeldRoute& held, bool last, metrics::WaitEnd why) {
  router::RouteRequest request = held.request();
  request.may_wait = !last;
  const router::Decision decision = router_.decide(request);
  if (decision.waiting()) return false;  // another request took the slice first
  held.session->answer(held.stream_id, held.frame_id,
                       [&](spop::AckEncoder& ack) { answer(request, decision, ack); });
  count_wait_end(why);
  if (metrics_ != nullptr) metrics_->wait_time.observe(router_.clock().now() - held.since);
  return true;
}

void DecisionHandler::count_wait_end(metrics::WaitEnd why) {
  if (metrics_ != nullptr) metrics::bump(metrics_->waits_ended[static_cast<std::size_t>(why)]);
}

void DecisionHandler::resume(bool woken, std::vector<spop::Session*>& answered) {
  const router::Time now = router_.clock().now();
  for (auto it = held_.begin(); it != held_.end();) {
    if (it->session->closing()) {
      // HAProxy said goodbye (or an error ended it): no ACK can go out, and
      // nothing was reserved for the request.
      count_wait_end(metrics::WaitEnd::kClosed);
      it = held_.erase(it);
      continue;
    }
    const bool due = now >= it->deadline;
    if ((woken || due) &&
        answer_held_route(*it, due,
                          due ? metrics::WaitEnd::kDeadline : metrics::WaitEnd::kRefill)) {
      answered.push_back(it->session);
      it = held_.erase(it);
    } else {
      ++it;
    }
  }
}

void DecisionHandler::answer_held(spop::Session& session) {
  std::erase_if(held_, [&](const HeldRoute& held) {
    if (held.session != &session) return false;
    answer_held_route(held, true, metrics::WaitEnd::kStop);
    return true;
  });
}

void DecisionHandler::forget(spop::Session& session) {
  std::erase_if(held_, [&](const HeldRoute& held) {
    if (held.session != &session) return false;
    count_wait_end(metrics::WaitEnd::kClosed);
    return true;
  });
}

void DecisionHandler::tell_request_size(const router::RouteRequest& request,
                                        const router::Decision& decision, spop::AckEncoder& ack) {
  using router::ModelSource;
  if (decision.body_partial) {
    set(ack, "body", TypedValue::of_string("partial"));
    if (metrics_ != nullptr) metrics::bump(metrics_->not_retryable);
  }
  if (decision.model_source == ModelSource::kBody) return;
  const metrics::UnseenModelRoute by =
      decision.model_source == ModelSource::kHeader ? metrics::UnseenModelRoute::kHeader
      : decision.model_source == ModelSource::kPath ? metrics::UnseenModelRoute::kPath
      : decision.routed()                           ? metrics::UnseenModelRoute::kDefault
                                                    : metrics::UnseenModelRoute::kNone;
  const auto index = static_cast<std::size_t>(by);
  set(ack, "model_from", TypedValue::of_string(metrics::kUnseenModelRouteNames[index]));
  if (decision.body_partial && metrics_ != nullptr) metrics::bump(metrics_->model_unseen[index]);
  if (by != metrics::UnseenModelRoute::kDefault) return;
  // Served by the default route: the client may have asked for another model.
  const std::int64_t second =
      std::chrono::duration_cast<std::chrono::seconds>(router_.clock().now().time_since_epoch())
          .count();
  if (second == unseen_logged_second_) {
    ++unseen_unlogged_;
    return;
  }
  unseen_logged_second_ = second;
  spdlog::warn(
      "request {}: its body is larger than HAProxy's buffer ({} of {} bytes held) and names no "
      "model in that part, and neither the x-keymux-model header nor the path names one: the "
      "default route '{}' served it (key {}). Send the model in x-keymux-model or raise "
      "KEYMUX_BUFSIZE.{}",
      request.request_id.empty() ? std::string_view("-") : request.request_id,
      request.body_len.value_or(0), request.body_size, decision.route_name, decision.key->id,
      unseen_unlogged_ == 0 ? std::string()
                            : fmt::format(" ({} more such requests not logged)", unseen_unlogged_));
  unseen_unlogged_ = 0;
}

void DecisionHandler::refuse(spop::Session& session, const spop::Message& message,
                             GatewayRefusal why, spop::AckEncoder& ack) {
  if (metrics_ != nullptr) metrics::bump(metrics_->unauthenticated[static_cast<std::size_t>(why)]);
  if ((session.handler_marks() & kRefusalLogged) == 0) {
    session.handler_marks() |= kRefusalLogged;
    spdlog::warn(
        "SPOP connection from {}: {} gateway secret in a '{}' message; refused (no key), as is "
        "every such message on this connection (HAProxy's KEYMUX_SPOP_SECRET must equal the "
        "agent's spop.secret)",
        session.peer().empty() ? std::string_view("?") : session.peer(),
        why == GatewayRefusal::kMissing ? "no" : "a wrong",
        message.name == "route" || message.name == "settle" ? message.name : "other");
  }
  if (message.name == "route") {
    set_error(ack, 503, "service_unavailable", "gateway_unauthenticated",
              "The routing agent refused this gateway: it did not present the agent's gateway "
              "secret.");
  }
}

void DecisionHandler::set_error(spop::AckEncoder& ack, int status, std::string_view type,
                                std::string_view code, std::string_view message) {
  error_body_ = openai_error_body(message, type, code);
  set(ack, "error_status", TypedValue::of_int32(status));
  set(ack, "error_code", TypedValue::of_string(code));
  set(ack, "error_body", TypedValue::of_string(error_body_));
}

bool DecisionHandler::answer_models(std::string_view path, std::string_view token,
                                    spop::AckEncoder& ack) {
  const bool list = path == kModelsPath || path == "/v1/models/";
  if (!list && path[kModelsPath.size()] != '/') return false;  // e.g. /v1/modelsX: not ours
  const router::Decision who = router_.authenticate(token);
  if (who.client == nullptr) {
    set_error(ack, who.http_status, who.error_type, who.error_code, who.message);
    return true;
  }
  const router::Snapshot& snapshot = *who.snapshot;
  set(ack, "client", TypedValue::of_string(who.client->name));
  if (list) {
    // Rare next to completions: built per request, for this client's models.
    answer_ = models_list_json(snapshot, who.client);
    set(ack, "answer_body", TypedValue::of_string(answer_));
    return true;
  }
  const std::string_view model = path.substr(kModelsPath.size() + 1);
  answer_ = model_json(snapshot, who.client, model);
  if (answer_.empty()) {
    set_error(ack, 404, "invalid_request_error", "model_not_found",
              "The model does not exist or is not served here.");
  } else {
    set(ack, "answer_body", TypedValue::of_string(answer_));
  }
  return true;
}

void DecisionHandler::settle(const spop::Message& message) {
  router::SettleRequest request;
  request.ticket = count_arg(message, "ticket");
  request.key_id = text_arg(message, "key_id").value_or("");
  // Anything but an HTTP status means HAProxy had no response to report.
  const std::uint64_t status = count_arg(message, "status");
  request.status = status >= 100 && status <= 999 ? static_cast<int>(status) : 0;
  router::UpstreamReportBuilder report(router_.clock().now());
  if (const std::optional<std::string_view> headers = text_arg(message, "headers")) {
    spop::for_each_header(*headers, [&report](std::string_view name, std::string_view value) {
      report.add(name, value);
    });
  }
  request.report = report.finish();
  request.tokens = usage_tokens(message);
  router::TokenSettle tokens;
  router_.settle(request, &tokens);
  if (metrics_ == nullptr) return;
  metrics::bump(metrics_->settles);
  if (!tokens.closed || !tokens.counted || request.status < 200 || request.status > 299) return;
  metrics::bump(metrics_->token_settles[tokens.real ? 1 : 0]);
  metrics::bump(metrics_->tokens_estimated, tokens.estimated);
  metrics::bump(metrics_->tokens_settled, tokens.settled);
}

}  // namespace keymux::handler
