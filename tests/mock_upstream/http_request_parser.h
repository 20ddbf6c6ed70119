// An incremental HTTP/1.x request parser for the mock upstream: bytes go in as
// they arrive, complete requests come out in order (pipelining), with
// Content-Length or chunked bodies. Pure: no I/O, no clock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keymux::mock {

struct HttpHeader {
  std::string_view name;   // as sent; compare case-insensitively
  std::string_view value;  // without surrounding blanks
};

// Views into the parser's buffer: valid until its next feed() or next().
struct HttpRequest {
  std::string_view method;
  std::string_view target;  // as sent, query included
  int minor_version = 1;    // HTTP/1.x
  std::vector<HttpHeader> headers;
  std::string_view body;  // decoded when it came chunked
  bool keep_alive = true;

  // The first header called `name` (case-insensitive).
  std::optional<std::string_view> header(std::string_view name) const;
  // The target without its query.
  std::string_view path() const;
};

struct ParseLimits {
  std::size_t max_head_bytes = 64 * 1024;  // request line and headers (and trailers)
  std::size_t max_body_bytes = 16 * 1024 * 1024;
};

enum class ParseStatus { kNeedMore, kRequest, kError };

class HttpRequestParser {
 public:
  explicit HttpRequestParser(ParseLimits limits = {}) : limits_(limits) {}

  void feed(std::string_view bytes);

  // kRequest: `request` is the next complete request. kError: the input is not
  // HTTP we accept; error_status() says how to answer (400 or 413) and every
  // later call returns kError too.
  ParseStatus next(HttpRequest& request);

  int error_status() const { return error_status_; }
  // True once after next() found the head of a request that sent
  // "Expect: 100-continue" and waits for its body: the client wants a
  // "100 Continue" before it sends the body.
  bool take_continue() { return std::exchange(continue_pending_, false); }
  // Bytes received and not yet returned as part of a request.
  std::size_t buffered() const { return buffer_.size() - consumed_; }

 private:
  enum class Phase { kHead, kBody };
  enum class ChunkState { kSize, kData, kDataEnd, kTrailers };
  enum class Framing { kNone, kLength, kChunked };

  ParseStatus fail(int status);
  bool reject(int status);  // fail() for the bool-returning steps
  ParseStatus find_head_end();
  // Fills `request` from the head and sets framing_ and body_length_.
  bool parse_head(std::string_view head, HttpRequest& request);
  ParseStatus read_chunked_body();
  ParseStatus await_body(const HttpRequest& request, bool head_is_new);
  void finish_request(std::size_t end);

  const ParseLimits limits_;
  std::string buffer_;
  std::size_t consumed_ = 0;   // bytes of buffer_ already returned in requests
  std::size_t scan_from_ = 0;  // where the search for the end of the head resumes
  std::size_t head_end_ = 0;
  Phase phase_ = Phase::kHead;
  Framing framing_ = Framing::kNone;
  std::uint64_t body_length_ = 0;
  ChunkState chunk_state_ = ChunkState::kSize;
  std::size_t chunk_pos_ = 0;
  std::size_t trailers_start_ = 0;
  std::uint64_t chunk_left_ = 0;
  std::string chunked_body_;
  int error_status_ = 0;
  bool continue_pending_ = false;
};

// ASCII case-insensitive equality, for header names and tokens.
bool equals_ignore_case(std::string_view a, std::string_view b);

}  // namespace keymux::mock
