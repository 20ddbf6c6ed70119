// HTTP/1.1 response framing: status line, headers, a Content-Length body or a
// chunked stream. Headers are passed pre-formatted ("name: value\r\n" each).
#pragma once

#include <string>
#include <string_view>

namespace keymux::mock {

inline constexpr std::string_view kJson = "application/json";
inline constexpr std::string_view kEventStream = "text/event-stream";

std::string_view reason_phrase(int status);

// A whole response with a Content-Length body.
void append_response(std::string& out, int status, std::string_view content_type,
                     std::string_view headers, std::string_view body, bool close);
// The head of a chunked response; the body follows with append_chunk().
void append_stream_head(std::string& out, int status, std::string_view content_type,
                        std::string_view headers, bool close);
void append_chunk(std::string& out, std::string_view data);
void append_last_chunk(std::string& out);

}  // namespace keymux::mock
