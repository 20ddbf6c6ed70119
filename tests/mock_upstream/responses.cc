#include "tests/mock_upstream/responses.h"

#include "tests/mock_upstream/json_write.h"

namespace keymux::mock {
namespace {

void append_openai_prefix(std::string& out, const Completion& c, std::string_view object) {
  out += "{\"id\":";
  append_json_string(out, c.id);
  out += ",\"object\":\"";
  out += object;
  out += "\",\"created\":";
  append_uint(out, static_cast<std::uint64_t>(c.created));
  out += ",\"model\":";
  append_json_string(out, c.request->model);
}

void append_openai_usage(std::string& out, const LlmRequest& r) {
  out += "\"usage\":{\"prompt_tokens\":";
  append_uint(out, r.prompt_tokens);
  out += ",\"completion_tokens\":";
  append_uint(out, r.completion_tokens);
  out += ",\"total_tokens\":";
  append_uint(out, r.total_tokens());
  out += '}';
}

void begin_anthropic_event(std::string& out, std::string_view type) {
  out += "event: ";
  out += type;
  out += "\ndata: {\"type\":\"";
  out += type;
  out += '"';
}

}  // namespace

void append_greeting(std::string& out, std::string_view key_id) {
  out += "Hello from keymux-mock (key ";
  out += key_id;
  out += ')';
}

std::string_view text_piece(std::string_view text, std::uint32_t count, std::uint32_t i) {
  if (count == 0 || i >= count) return {};
  const std::size_t begin = text.size() * i / count;
  const std::size_t end = text.size() * (i + 1) / count;
  return text.substr(begin, end - begin);
}

void append_openai_completion(std::string& out, const Completion& c, std::string_view content) {
  append_openai_prefix(out, c, "chat.completion");
  out += ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":";
  append_json_string(out, content);
  out += "},\"logprobs\":null,\"finish_reason\":\"stop\"}],";
  append_openai_usage(out, *c.request);
  out += '}';
}

void append_openai_chunk_event(std::string& out, const Completion& c, std::string_view piece,
                               bool first, bool last) {
  out += "data: ";
  append_openai_prefix(out, c, "chat.completion.chunk");
  out += ",\"choices\":[{\"index\":0,\"delta\":{";
  if (first) out += "\"role\":\"assistant\",";
  out += "\"content\":";
  append_json_string(out, piece);
  out += "},\"logprobs\":null,\"finish_reason\":";
  out += last ? "\"stop\"" : "null";
  out += "}]";
  if (c.request->include_usage) out += ",\"usage\":null";
  out += "}\n\n";
}

void append_openai_usage_event(std::string& out, const Completion& c) {
  out += "data: ";
  append_openai_prefix(out, c, "chat.completion.chunk");
  out += ",\"choices\":[],";
  append_openai_usage(out, *c.request);
  out += "}\n\n";
}

void append_anthropic_message(std::string& out, const Completion& c, std::string_view content) {
  out += "{\"id\":";
  append_json_string(out, c.id);
  out += ",\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":";
  append_json_string(out, content);
  out += "}],\"model\":";
  append_json_string(out, c.request->model);
  out += ",\"stop_reason\":\"end_turn\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":";
  append_uint(out, c.request->prompt_tokens);
  out += ",\"output_tokens\":";
  append_uint(out, c.request->completion_tokens);
  out += "}}";
}

void append_anthropic_stream_open(std::string& out, const Completion& c) {
  begin_anthropic_event(out, "message_start");
  out += ",\"message\":{\"id\":";
  append_json_string(out, c.id);
  out += ",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":";
  append_json_string(out, c.request->model);
  out += ",\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":";
  append_uint(out, c.request->prompt_tokens);
  out += ",\"output_tokens\":1}}}\n\n";
  begin_anthropic_event(out, "content_block_start");
  out += ",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n";
}

void append_anthropic_delta_event(std::string& out, std::string_view piece) {
  begin_anthropic_event(out, "content_block_delta");
  out += ",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":";
  append_json_string(out, piece);
  out += "}}\n\n";
}

void append_anthropic_stream_close(std::string& out, const Completion& c) {
  begin_anthropic_event(out, "content_block_stop");
  out += ",\"index\":0}\n\n";
  begin_anthropic_event(out, "message_delta");
  out +=
      ",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},"
      "\"usage\":{\"output_tokens\":";
  append_uint(out, c.request->completion_tokens);
  out += "}}\n\n";
  begin_anthropic_event(out, "message_stop");
  out += "}\n\n";
}

void append_openai_error(std::string& out, std::string_view message, std::string_view type,
                         std::string_view code) {
  out += "{\"error\":{\"message\":";
  append_json_string(out, message);
  out += ",\"type\":";
  append_json_string(out, type);
  out += ",\"param\":null,\"code\":";
  if (code.empty()) {
    out += "null";
  } else {
    append_json_string(out, code);
  }
  out += "}}";
}

void append_anthropic_error(std::string& out, std::string_view type, std::string_view message) {
  out += "{\"type\":\"error\",\"error\":{\"type\":";
  append_json_string(out, type);
  out += ",\"message\":";
  append_json_string(out, message);
  out += "}}";
}

void append_models_list(std::string& out) {
  out +=
      "{\"object\":\"list\",\"data\":[{\"id\":\"mock-model\",\"object\":\"model\",\"created\":0,"
      "\"owned_by\":\"keymux-mock\"}]}";
}

void append_echo(std::string& out, std::string_view method, std::string_view path) {
  out += "{\"object\":\"mock\",\"method\":";
  append_json_string(out, method);
  out += ",\"path\":";
  append_json_string(out, path);
  out += '}';
}

}  // namespace keymux::mock
