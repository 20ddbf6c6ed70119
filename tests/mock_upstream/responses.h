// The JSON bodies and server-sent events the mock answers with, in the shapes
// of the OpenAI and Anthropic APIs. Each appends to a reused string.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tests/mock_upstream/llm_request.h"

namespace keymux::mock {

// What every completion says: "Hello from keymux-mock (key ID)".
void append_greeting(std::string& out, std::string_view key_id);
// Piece `i` of `count` near-equal pieces of `text`; together they are `text`.
std::string_view text_piece(std::string_view text, std::uint32_t count, std::uint32_t i);

// Identity of one answer, shared by all the events of a stream.
struct Completion {
  std::string_view id;
  std::int64_t created = 0;  // Unix seconds
  const LlmRequest* request = nullptr;
};

// OpenAI chat.completion (non-streaming).
void append_openai_completion(std::string& out, const Completion& c, std::string_view content);
// One "data: {chat.completion.chunk}\n\n" event; the first carries the role,
// the last the finish_reason.
void append_openai_chunk_event(std::string& out, const Completion& c, std::string_view piece,
                               bool first, bool last);
// The include_usage event: "choices": [] and the usage.
void append_openai_usage_event(std::string& out, const Completion& c);
inline constexpr std::string_view kOpenAiDoneEvent = "data: [DONE]\n\n";

// Anthropic message (non-streaming).
void append_anthropic_message(std::string& out, const Completion& c, std::string_view content);
// message_start and content_block_start.
void append_anthropic_stream_open(std::string& out, const Completion& c);
void append_anthropic_delta_event(std::string& out, std::string_view piece);
// content_block_stop, message_delta (with the usage) and message_stop.
void append_anthropic_stream_close(std::string& out, const Completion& c);

// {"error":{"message":..,"type":..,"code":..}}; an empty code is null.
void append_openai_error(std::string& out, std::string_view message, std::string_view type,
                         std::string_view code);
// {"type":"error","error":{"type":..,"message":..}}
void append_anthropic_error(std::string& out, std::string_view type, std::string_view message);

void append_models_list(std::string& out);
// {"object":"mock","method":..,"path":..}: what any other /v1 path answers.
void append_echo(std::string& out, std::string_view method, std::string_view path);

}  // namespace keymux::mock
