#include "tests/mock_upstream/mock_service.h"

#include <chrono>

#include "tests/mock_upstream/control.h"
#include "tests/mock_upstream/http_response.h"
#include "tests/mock_upstream/json_write.h"
#include "tests/mock_upstream/rate_headers.h"
#include "tests/mock_upstream/responses.h"

namespace keymux::mock {
namespace {

using std::chrono::milliseconds;

struct ErrorShape {
  std::string_view openai_type;
  std::string_view openai_code;  // empty: null
  std::string_view anthropic_type;
};

ErrorShape error_shape(int status) {
  switch (status) {
    case 401:
      return {"invalid_request_error", "invalid_api_key", "authentication_error"};
    case 403:
      return {"permission_error", "", "permission_error"};
    case 404:
      return {"invalid_request_error", "not_found", "not_found_error"};
    case 429:
      return {"rate_limit_error", "rate_limit_exceeded", "rate_limit_error"};
    case 529:
      return {"server_error", "", "overloaded_error"};
    default:
      if (status >= 500) return {"server_error", "", "api_error"};
      return {"invalid_request_error", "", "invalid_request_error"};
  }
}

std::string_view error_message(int status) {
  switch (status) {
    case 401:
      return "Incorrect API key provided (keymux-mock).";
    case 403:
      return "This key may not be used (keymux-mock).";
    case 404:
      return "Unknown endpoint (keymux-mock).";
    case 413:
      return "Request too large (keymux-mock).";
    case 429:
      return "Rate limit reached (keymux-mock).";
    default:
      return status >= 500 ? "The server had an error (keymux-mock)."
                           : "Bad request (keymux-mock).";
  }
}

}  // namespace

MockService::MockService(MockState& state, std::uint64_t seed, int worker)
    : state_(state), dice_(seed), worker_(worker) {}

void MockService::handle(const HttpRequest& request, Reply& reply) {
  const std::string_view path = request.path();
  if (path.starts_with("/_mock/")) return handle_control(state_, request, reply);
  reply.close = !request.keep_alive;
  if (!path.starts_with("/v1/")) {
    headers_.clear();
    return answer_error(Api::kOpenAi, 404, error_message(404), reply);
  }
  answer_v1(request, reply);
}

void MockService::handle_malformed(int status, Reply& reply) {
  reply.close = true;
  headers_.clear();
  answer_error(Api::kOpenAi, status, error_message(status), reply);
}

void MockService::answer_v1(const HttpRequest& request, Reply& reply) {
  const std::string_view path = request.path();
  const Api api = path == "/v1/messages" ? Api::kAnthropic : Api::kOpenAi;
  const std::optional<PresentedKey> presented = find_presented_key(request);
  const int key = presented ? state_.find_by_secret(presented->secret) : -1;
  state_.record(request, key);
  const Faults faults = state_.faults().load();
  reply.delay = milliseconds(faults.latency_ms);
  if (dice_.roll(faults.spike_rate)) reply.delay += milliseconds(faults.spike_ms);
  headers_.clear();
  if (key < 0) {
    state_.count_unauthorized();
    return answer_error(api, 401, error_message(401), reply);
  }

  Endpoint endpoint = Endpoint::kEcho;
  if (request.method == "POST" && path == "/v1/chat/completions") endpoint = Endpoint::kChat;
  if (request.method == "POST" && path == "/v1/messages") endpoint = Endpoint::kMessages;
  if (request.method == "GET" && path == "/v1/models") endpoint = Endpoint::kModels;
  const bool chat = endpoint == Endpoint::kChat || endpoint == Endpoint::kMessages;
  const LlmRequest llm = chat ? parse_llm_request(request.body) : LlmRequest{};

  FaultRolls rolls;
  rolls.drop = dice_.roll(faults.drop_rate);
  rolls.error = dice_.roll(faults.error_rate);
  rolls.error_status = static_cast<int>(faults.error_status);
  const KeyOutcome outcome =
      state_.settle(key, presented->style, rolls, chat ? llm.total_tokens() : 0, dice_);
  if (outcome.kind == KeyOutcome::Kind::kDropped) {
    state_.count_dropped();
    reply.drop = true;
    return;
  }

  const std::string& key_id = state_.key_id(key);
  headers_ += "x-mock-key-id: ";
  headers_ += key_id;
  headers_ += "\r\nx-mock-auth-style: ";
  headers_ += style_name(presented->style);
  headers_ += "\r\n";
  if (api == Api::kAnthropic) {
    append_anthropic_rate_headers(headers_, outcome.rate);
  } else {
    append_openai_rate_headers(headers_, outcome.rate, state_.clock().now());
  }
  if (outcome.status == 429) append_retry_after(headers_, outcome.retry_after);
  if (outcome.kind != KeyOutcome::Kind::kOk) {
    return answer_error(api, outcome.status, error_message(outcome.status), reply);
  }
  answer_ok(endpoint, request, llm, key_id, faults, reply);
}

void MockService::answer_error(Api api, int status, std::string_view message, Reply& reply) {
  const ErrorShape shape = error_shape(status);
  body_.clear();
  if (api == Api::kAnthropic) {
    append_anthropic_error(body_, shape.anthropic_type, message);
  } else {
    append_openai_error(body_, message, shape.openai_type, shape.openai_code);
  }
  append_response(reply.add_part(), status, kJson, headers_, body_, reply.close);
}

void MockService::answer_ok(Endpoint endpoint, const HttpRequest& request, const LlmRequest& llm,
                            std::string_view key_id, const Faults& faults, Reply& reply) {
  body_.clear();
  switch (endpoint) {
    case Endpoint::kModels:
      append_models_list(body_);
      break;
    case Endpoint::kEcho:
      append_echo(body_, request.method, request.target);
      break;
    case Endpoint::kChat:
    case Endpoint::kMessages: {
      const Api api = endpoint == Endpoint::kMessages ? Api::kAnthropic : Api::kOpenAi;
      if (llm.stream) return answer_stream(api, llm, key_id, faults, reply);
      const Completion completion = new_completion(api, llm, key_id);
      if (api == Api::kAnthropic) {
        append_anthropic_message(body_, completion, text_);
      } else {
        append_openai_completion(body_, completion, text_);
      }
      break;
    }
  }
  append_response(reply.add_part(), 200, kJson, headers_, body_, reply.close);
}

Completion MockService::new_completion(Api api, const LlmRequest& llm, std::string_view key_id) {
  // Unique across workers: "chatcmpl-mock-W-N", "msg_mock_W-N".
  id_ = api == Api::kAnthropic ? "msg_mock_" : "chatcmpl-mock-";
  append_uint(id_, static_cast<std::uint64_t>(worker_));
  id_ += '-';
  append_uint(id_, ++serial_);
  text_.clear();
  append_greeting(text_, key_id);
  const auto now = std::chrono::floor<std::chrono::seconds>(state_.clock().now());
  return Completion{id_, now.time_since_epoch().count(), &llm};
}

void MockService::answer_stream(Api api, const LlmRequest& llm, std::string_view key_id,
                                const Faults& faults, Reply& reply) {
  const Completion completion = new_completion(api, llm, key_id);
  reply.chunk_delay = milliseconds(faults.chunk_delay_ms);
  const std::uint32_t chunks = faults.stream_chunks == 0 ? 1 : faults.stream_chunks;

  // Each event travels in its own HTTP chunk; part i holds content piece i,
  // the first part the head too and the last one the closing events.
  for (std::uint32_t i = 0; i < chunks; ++i) {
    std::string& part = reply.add_part();
    if (i == 0) append_stream_head(part, 200, kEventStream, headers_, reply.close);
    const std::string_view piece = text_piece(text_, chunks, i);
    const bool last = i + 1 == chunks;
    body_.clear();
    if (api == Api::kAnthropic) {
      if (i == 0) append_anthropic_stream_open(body_, completion);
      append_anthropic_delta_event(body_, piece);
      if (last) append_anthropic_stream_close(body_, completion);
    } else {
      append_openai_chunk_event(body_, completion, piece, i == 0, last);
      if (last && llm.include_usage) append_openai_usage_event(body_, completion);
      if (last) body_ += kOpenAiDoneEvent;
    }
    append_chunk(part, body_);
    if (last) append_last_chunk(part);
  }
}

}  // namespace keymux::mock
