#include "agent/router/outcome_line.h"

#include <bitset>
#include <charconv>
#include <limits>

namespace keymux::router {
namespace {

struct HeaderField {
  std::string_view key;   // in the line
  std::string_view name;  // the response header HAProxy captured
};

// Order = the `capture response header` lines of fe_inner (haproxy.cfg).
constexpr std::array<HeaderField, kOutcomeHeaderCount> kOutcomeHeaders{{
    {"rr", "x-ratelimit-remaining-requests"},
    {"rt", "x-ratelimit-remaining-tokens"},
    {"rsr", "x-ratelimit-reset-requests"},
    {"rst", "x-ratelimit-reset-tokens"},
    {"arr", "anthropic-ratelimit-requests-remaining"},
    {"ars", "anthropic-ratelimit-requests-reset"},
    {"atr", "anthropic-ratelimit-tokens-remaining"},
    {"ats", "anthropic-ratelimit-tokens-reset"},
    {"air", "anthropic-ratelimit-input-tokens-remaining"},
    {"ais", "anthropic-ratelimit-input-tokens-reset"},
    {"aor", "anthropic-ratelimit-output-tokens-remaining"},
    {"aos", "anthropic-ratelimit-output-tokens-reset"},
    {"ram", "retry-after-ms"},
    {"ra", "retry-after"},
}};

constexpr std::string_view kTag = "keymux1";
constexpr std::size_t kMaxKey = 8;

// The known plain fields; a header field's bit is kPlainCount + its index.
enum Plain : std::size_t {
  kT,
  kS,
  kHs,
  kK,
  kRq,
  kAt,
  kSe,
  kEc,
  kC,
  kTa,
  kTr,
  kB,
  kTs,
  kPlainCount
};
constexpr std::array<std::string_view, kPlainCount> kPlainKeys{
    "t", "s", "hs", "k", "rq", "at", "se", "ec", "c", "ta", "tr", "b", "ts"};

bool is_key_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_value_char(char c) { return c >= 0x21 && c <= 0x7e; }

template <typename T>
bool parse_number(std::string_view text, T& out) {
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// HAProxy's url_enc output back to bytes; false on a broken escape.
bool percent_decode(std::string_view text, std::string& out) {
  out.clear();
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return false;
    const int hi = hex_digit(text[i + 1]);
    const int lo = hex_digit(text[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

// An HTTP status: 100..999.
bool parse_status(std::string_view text, int& out) {
  return parse_number(text, out) && out >= 100 && out <= 999;
}

// One known field into `out`; false with `error` set when its value is bad.
bool take_plain(Plain which, std::string_view value, OutcomeLine& out, std::string& error) {
  bool ok = true;
  switch (which) {
    case kT:
      ok = parse_number(value, out.ticket);
      break;
    case kS:
      ok = parse_status(value, out.status);
      break;
    case kHs:
      ok = parse_status(value, out.gateway_status);
      break;
    case kTa:
      ok = parse_number(value, out.total_ms) && out.total_ms >= -1;
      break;
    case kTr:
      ok = parse_number(value, out.response_ms) && out.response_ms >= -1;
      break;
    case kB:
      ok = parse_number(value, out.bytes);
      break;
    case kC:
      ok = percent_decode(value, out.client);
      break;
    case kK:
      out.key_id = value;
      break;
    case kRq:
      out.request_id = value;
      break;
    case kAt:
      out.attempt = value;
      break;
    case kSe:
      out.spoe_error = value;
      break;
    case kEc:
      out.error_code = value;
      break;
    case kTs:
      out.termination = value;
      break;
    case kPlainCount:
      break;
  }
  if (!ok) error = "bad value for '" + std::string(kPlainKeys[which]) + "'";
  return ok;
}

}  // namespace

bool OutcomeLine::failed() const {
  const bool abnormal = !termination.empty() && termination.front() != '-';
  return abnormal || gateway_status < 200 || gateway_status >= 400 ||
         (status != 0 && (status < 200 || status >= 400));
}

std::string_view outcome_header_name(std::size_t index) {
  return index < kOutcomeHeaders.size() ? kOutcomeHeaders[index].name : std::string_view();
}

bool parse_outcome_line(std::string_view line, OutcomeLine& out, std::string& error) {
  out = OutcomeLine();
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (line.size() > kMaxOutcomeLine) {
    error = "line longer than " + std::to_string(kMaxOutcomeLine) + " bytes";
    return false;
  }
  if (!line.starts_with(kTag) || (line.size() > kTag.size() && line[kTag.size()] != ' ')) {
    error = "not an outcome line (no 'keymux1' tag)";
    return false;
  }
  line.remove_prefix(kTag.size());
  std::bitset<kPlainCount + kOutcomeHeaderCount> seen;
  std::size_t fields = 0;
  while (!line.empty()) {
    line.remove_prefix(1);  // the single space before each field
    const std::size_t end = line.find(' ');
    const std::string_view field = line.substr(0, end);
    line = end == std::string_view::npos ? std::string_view() : line.substr(end);
    if (++fields > kMaxOutcomeFields) {
      error = "more than " + std::to_string(kMaxOutcomeFields) + " fields";
      return false;
    }
    const std::size_t eq = field.find('=');
    if (eq == std::string_view::npos || eq == 0 || eq > kMaxKey) {
      error = "field " + std::to_string(fields) + " is not key=value";
      return false;
    }
    const std::string_view key = field.substr(0, eq);
    const std::string_view value = field.substr(eq + 1);
    for (const char c : key) {
      if (!is_key_char(c)) {
        error = "field " + std::to_string(fields) + " has a bad key";
        return false;
      }
    }
    if (value.empty() || value.size() > kMaxOutcomeValue) {
      error = "field '" + std::string(key) + "' has an empty or too long value";
      return false;
    }
    for (const char c : value) {
      if (!is_value_char(c)) {
        error = "field '" + std::string(key) + "' has a byte outside 0x21-0x7e";
        return false;
      }
    }
    std::size_t slot = seen.size();
    for (std::size_t i = 0; i < kPlainCount; ++i) {
      if (kPlainKeys[i] == key) slot = i;
    }
    for (std::size_t i = 0; i < kOutcomeHeaderCount; ++i) {
      if (kOutcomeHeaders[i].key == key) slot = kPlainCount + i;
    }
    if (slot == seen.size()) continue;  // unknown: a newer haproxy.cfg's
    if (seen.test(slot)) {
      error = "field '" + std::string(key) + "' given twice";
      return false;
    }
    seen.set(slot);
    if (value == "-") continue;  // absent
    if (slot < kPlainCount) {
      if (!take_plain(static_cast<Plain>(slot), value, out, error)) return false;
    } else {
      std::string& decoded = out.headers[slot - kPlainCount].emplace();
      if (!percent_decode(value, decoded)) {
        error = "field '" + std::string(key) + "' has a broken %-escape";
        return false;
      }
    }
  }
  if (!seen.test(kT) || !seen.test(kS)) {
    error = "a required field (t, s) is missing";
    return false;
  }
  return true;
}

}  // namespace keymux::router
