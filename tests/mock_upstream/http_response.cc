#include "tests/mock_upstream/http_response.h"

#include <charconv>

#include "tests/mock_upstream/json_write.h"

namespace keymux::mock {
namespace {

void append_status_and_headers(std::string& out, int status, std::string_view content_type,
                               std::string_view headers, bool close) {
  out += "HTTP/1.1 ";
  append_uint(out, static_cast<std::uint64_t>(status));
  out += ' ';
  out += reason_phrase(status);
  out += "\r\ncontent-type: ";
  out += content_type;
  out += "\r\n";
  out += headers;
  if (close) out += "connection: close\r\n";
}

}  // namespace

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Content Too Large";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 529:
      return "Overloaded";
    default:
      return status < 400 ? "OK" : status < 500 ? "Client Error" : "Server Error";
  }
}

void append_response(std::string& out, int status, std::string_view content_type,
                     std::string_view headers, std::string_view body, bool close) {
  append_status_and_headers(out, status, content_type, headers, close);
  out += "content-length: ";
  append_uint(out, body.size());
  out += "\r\n\r\n";
  out += body;
}

void append_stream_head(std::string& out, int status, std::string_view content_type,
                        std::string_view headers, bool close) {
  append_status_and_headers(out, status, content_type, headers, close);
  out += "cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n";
}

void append_chunk(std::string& out, std::string_view data) {
  if (data.empty()) return;  // an empty chunk would end the body
  char size[16];
  out.append(size, std::to_chars(size, size + sizeof(size), data.size(), 16).ptr);
  out += "\r\n";
  out += data;
  out += "\r\n";
}

void append_last_chunk(std::string& out) { out += "0\r\n\r\n"; }

}  // namespace keymux::mock
