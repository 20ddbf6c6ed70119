#include "tests/mock_upstream/http_request_parser.h"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace keymux::mock {
namespace {

// Longest chunk-size line (size and extensions) we wait for.
constexpr std::size_t kMaxChunkLine = 1024;

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

bool is_ctl(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u < 0x20 && c != '\t') || u == 0x7f;
}

std::string_view trim_blanks(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::string_view strip_cr(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = lower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// True when the comma-separated list `value` holds `token`.
bool has_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    if (equals_ignore_case(trim_blanks(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::optional<std::string_view> HttpRequest::header(std::string_view name) const {
  for (const HttpHeader& h : headers) {
    if (equals_ignore_case(h.name, name)) return h.value;
  }
  return std::nullopt;
}

std::string_view HttpRequest::path() const { return target.substr(0, target.find('?')); }

void HttpRequestParser::feed(std::string_view bytes) {
  // Requests already returned are dropped here, never in next(): their views
  // stay valid until the caller feeds more.
  if (consumed_ > 0) {
    buffer_.erase(0, consumed_);
    scan_from_ -= std::min(scan_from_, consumed_);
    head_end_ -= std::min(head_end_, consumed_);
    chunk_pos_ -= std::min(chunk_pos_, consumed_);
    trailers_start_ -= std::min(trailers_start_, consumed_);
    consumed_ = 0;
  }
  buffer_.append(bytes);
}

ParseStatus HttpRequestParser::fail(int status) {
  error_status_ = status;
  return ParseStatus::kError;
}

bool HttpRequestParser::reject(int status) {
  error_status_ = status;
  return false;
}

ParseStatus HttpRequestParser::next(HttpRequest& request) {
  if (error_status_ != 0) return ParseStatus::kError;
  const bool head_is_new = phase_ == Phase::kHead;
  if (head_is_new) {
    // Blank lines between requests are tolerated (RFC 9112 section 2.2).
    while (consumed_ < buffer_.size() &&
           (buffer_[consumed_] == '\r' || buffer_[consumed_] == '\n')) {
      ++consumed_;
    }
    if (consumed_ == buffer_.size()) return ParseStatus::kNeedMore;
    const ParseStatus found = find_head_end();
    if (found != ParseStatus::kRequest) return found;
    phase_ = Phase::kBody;
    chunk_state_ = ChunkState::kSize;
    chunk_pos_ = head_end_;
    chunked_body_.clear();
  }
  // Parsed again while the body trickles in: views must point into the
  // buffer as it is now, and heads are small.
  const std::string_view head(buffer_.data() + consumed_, head_end_ - consumed_);
  if (!parse_head(head, request)) return ParseStatus::kError;

  switch (framing_) {
    case Framing::kNone:
      request.body = {};
      finish_request(head_end_);
      return ParseStatus::kRequest;
    case Framing::kLength:
      if (buffer_.size() - head_end_ < body_length_) return await_body(request, head_is_new);
      request.body = std::string_view(buffer_.data() + head_end_, body_length_);
      finish_request(head_end_ + body_length_);
      return ParseStatus::kRequest;
    case Framing::kChunked: {
      const ParseStatus status = read_chunked_body();
      if (status == ParseStatus::kNeedMore) return await_body(request, head_is_new);
      if (status != ParseStatus::kRequest) return status;
      request.body = chunked_body_;
      finish_request(chunk_pos_);
      return ParseStatus::kRequest;
    }
  }
  return fail(400);
}

ParseStatus HttpRequestParser::await_body(const HttpRequest& request, bool head_is_new) {
  if (head_is_new) {
    const std::optional<std::string_view> expect = request.header("expect");
    continue_pending_ = expect && equals_ignore_case(*expect, "100-continue");
  }
  return ParseStatus::kNeedMore;
}

ParseStatus HttpRequestParser::find_head_end() {
  std::size_t i = std::max(scan_from_, consumed_);
  const std::size_t size = buffer_.size();
  while (i < size) {
    const void* found = std::memchr(buffer_.data() + i, '\n', size - i);
    if (found == nullptr) {
      i = size;
      break;
    }
    i = static_cast<std::size_t>(static_cast<const char*>(found) - buffer_.data());
    // The head ends with an empty line: "\n\n" or "\n\r\n".
    if (i + 1 >= size) break;
    std::size_t end = 0;
    if (buffer_[i + 1] == '\n') {
      end = i + 2;
    } else if (buffer_[i + 1] == '\r') {
      if (i + 2 >= size) break;
      if (buffer_[i + 2] == '\n') end = i + 3;
    }
    if (end != 0) {
      if (end - consumed_ > limits_.max_head_bytes) return fail(413);
      head_end_ = end;
      return ParseStatus::kRequest;
    }
    ++i;
  }
  scan_from_ = i;
  if (size - consumed_ > limits_.max_head_bytes) return fail(413);
  return ParseStatus::kNeedMore;
}

bool HttpRequestParser::parse_head(std::string_view head, HttpRequest& request) {
  request.headers.clear();
  framing_ = Framing::kNone;
  body_length_ = 0;

  std::size_t pos = 0;
  auto next_line = [&head, &pos]() {
    const std::size_t nl = head.find('\n', pos);
    const std::string_view line = strip_cr(head.substr(pos, nl - pos));
    pos = nl == std::string_view::npos ? head.size() : nl + 1;
    return line;
  };

  // METHOD SP TARGET SP HTTP/1.x
  const std::string_view line = next_line();
  std::size_t m = 0;
  while (m < line.size() && is_tchar(line[m])) ++m;
  if (m == 0 || m >= line.size() || line[m] != ' ') return reject(400);
  const std::size_t target_start = m + 1;
  const std::size_t target_end = line.find(' ', target_start);
  if (target_end == std::string_view::npos || target_end == target_start) return reject(400);
  const std::string_view target = line.substr(target_start, target_end - target_start);
  for (const char c : target) {
    if (is_ctl(c) || c == '\t') return reject(400);
  }
  const std::string_view version = line.substr(target_end + 1);
  if (version.size() != 8 || version.substr(0, 7) != "HTTP/1." || version[7] < '0' ||
      version[7] > '9') {
    return reject(400);
  }
  request.method = line.substr(0, m);
  request.target = target;
  request.minor_version = version[7] - '0';
  request.keep_alive = request.minor_version >= 1;

  bool has_length = false;
  bool chunked = false;
  while (pos < head.size()) {
    const std::string_view header_line = next_line();
    if (header_line.empty()) break;  // the end of the head
    std::size_t n = 0;
    while (n < header_line.size() && is_tchar(header_line[n])) ++n;
    // No name, no colon, or a folded line (obs-fold starts with a blank).
    if (n == 0 || n >= header_line.size() || header_line[n] != ':') return reject(400);
    const std::string_view name = header_line.substr(0, n);
    const std::string_view value = trim_blanks(header_line.substr(n + 1));
    for (const char c : value) {
      if (is_ctl(c)) return reject(400);
    }
    request.headers.push_back(HttpHeader{name, value});

    if (equals_ignore_case(name, "content-length")) {
      std::uint64_t length = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
      if (value.empty() || ec != std::errc{} || end != value.data() + value.size() ||
          (has_length && length != body_length_)) {
        return reject(400);
      }
      has_length = true;
      body_length_ = length;
    } else if (equals_ignore_case(name, "transfer-encoding")) {
      // Only plain "chunked", once: anything else could frame the body differently.
      if (chunked || !equals_ignore_case(value, "chunked")) return reject(400);
      chunked = true;
    } else if (equals_ignore_case(name, "connection")) {
      if (has_token(value, "close")) {
        request.keep_alive = false;
      } else if (has_token(value, "keep-alive")) {
        request.keep_alive = true;
      }
    }
  }
  // Both framings at once is how requests get smuggled: refuse.
  if (has_length && chunked) return reject(400);
  if (has_length && body_length_ > limits_.max_body_bytes) return reject(413);
  if (chunked) framing_ = Framing::kChunked;
  if (has_length && body_length_ > 0) framing_ = Framing::kLength;
  return true;
}

ParseStatus HttpRequestParser::read_chunked_body() {
  const std::size_t size = buffer_.size();
  for (;;) {
    switch (chunk_state_) {
      case ChunkState::kSize: {
        const std::size_t nl = buffer_.find('\n', chunk_pos_);
        if (nl == std::string::npos) {
          return size - chunk_pos_ > kMaxChunkLine ? fail(400) : ParseStatus::kNeedMore;
        }
        const std::string_view line =
            strip_cr(std::string_view(buffer_).substr(chunk_pos_, nl - chunk_pos_));
        std::uint64_t chunk = 0;
        std::size_t i = 0;
        for (; i < line.size() && hex_value(line[i]) >= 0; ++i) {
          if (i >= 15) return fail(400);  // far beyond any body we accept
          chunk = chunk * 16 + static_cast<std::uint64_t>(hex_value(line[i]));
        }
        // Chunk extensions (";name=value") are allowed and ignored.
        if (i == 0 || (i < line.size() && line[i] != ';' && line[i] != ' ' && line[i] != '\t')) {
          return fail(400);
        }
        for (; i < line.size(); ++i) {
          if (is_ctl(line[i])) return fail(400);
        }
        chunk_pos_ = nl + 1;
        if (chunk == 0) {
          chunk_state_ = ChunkState::kTrailers;
          trailers_start_ = chunk_pos_;
          break;
        }
        if (chunked_body_.size() + chunk > limits_.max_body_bytes) return fail(413);
        chunk_left_ = chunk;
        chunk_state_ = ChunkState::kData;
        break;
      }
      case ChunkState::kData: {
        const std::size_t available =
            static_cast<std::size_t>(std::min<std::uint64_t>(chunk_left_, size - chunk_pos_));
        chunked_body_.append(buffer_, chunk_pos_, available);
        chunk_pos_ += available;
        chunk_left_ -= available;
        if (chunk_left_ > 0) return ParseStatus::kNeedMore;
        chunk_state_ = ChunkState::kDataEnd;
        break;
      }
      case ChunkState::kDataEnd:
        if (chunk_pos_ >= size) return ParseStatus::kNeedMore;
        if (buffer_[chunk_pos_] == '\r') {
          if (chunk_pos_ + 1 >= size) return ParseStatus::kNeedMore;
          if (buffer_[chunk_pos_ + 1] != '\n') return fail(400);
          chunk_pos_ += 2;
        } else if (buffer_[chunk_pos_] == '\n') {
          chunk_pos_ += 1;
        } else {
          return fail(400);
        }
        chunk_state_ = ChunkState::kSize;
        break;
      case ChunkState::kTrailers: {
        // Trailer fields are read and ignored, up to the head-size limit.
        const std::size_t nl = buffer_.find('\n', chunk_pos_);
        if (nl == std::string::npos) {
          return size - trailers_start_ > limits_.max_head_bytes ? fail(413)
                                                                 : ParseStatus::kNeedMore;
        }
        const std::string_view line =
            strip_cr(std::string_view(buffer_).substr(chunk_pos_, nl - chunk_pos_));
        chunk_pos_ = nl + 1;
        if (line.empty()) return ParseStatus::kRequest;
        if (chunk_pos_ - trailers_start_ > limits_.max_head_bytes) return fail(413);
        break;
      }
    }
  }
}

void HttpRequestParser::finish_request(std::size_t end) {
  consumed_ = end;
  scan_from_ = end;
  phase_ = Phase::kHead;
}

}  // namespace keymux::mock
