#include "agent/router/json_prefix.h"

#include <bitset>
#include <cstddef>

namespace keymux::router {
namespace {

constexpr std::size_t kMaxDepth = 1024;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// A small recogniser: where in the grammar the next byte is read.
class Checker {
 public:
  explicit Checker(std::string_view text) : text_(text) {}

  // kInvalid on the first impossible byte; else kValidSoFar at the end of the
  // text, or kValid when one value ended and only whitespace followed.
  JsonCheck run(bool complete) {
    skip_space();
    if (at_end()) return JsonCheck::kValidSoFar;
    while (true) {
      // Expect a value.
      const JsonCheck value = this->value();
      if (value != JsonCheck::kValid) return value;
      // After a value: a separator, a closer, or the end.
      while (true) {
        skip_space();
        if (at_end()) {
          return depth_ == 0 && complete ? JsonCheck::kValid : JsonCheck::kValidSoFar;
        }
        if (depth_ == 0) return JsonCheck::kInvalid;  // something after the document
        const char c = text_[pos_++];
        const bool object = in_object_.test(depth_ - 1);
        if (c == ',') {
          if (object) {
            const JsonCheck key = member_key();
            if (key != JsonCheck::kValid) return key;
          }
          break;  // a value follows
        }
        if (c == (object ? '}' : ']')) {
          --depth_;
          continue;  // the container was a value: look after it
        }
        return JsonCheck::kInvalid;
      }
    }
  }

  bool too_deep() const { return too_deep_; }

 private:
  bool at_end() const { return pos_ >= text_.size(); }
  void skip_space() {
    while (!at_end() && is_space(text_[pos_])) ++pos_;
  }

  // A value, or the opening of a container (then kValid with depth_ raised,
  // and for an empty container the closer consumed).
  JsonCheck value() {
    skip_space();
    if (at_end()) return JsonCheck::kValidSoFar;
    const char c = text_[pos_];
    if (c == '{' || c == '[') {
      ++pos_;
      if (depth_ == kMaxDepth) {
        too_deep_ = true;
        return JsonCheck::kValidSoFar;
      }
      in_object_.set(depth_, c == '{');
      ++depth_;
      skip_space();
      if (at_end()) return JsonCheck::kValidSoFar;
      if (text_[pos_] == (c == '{' ? '}' : ']')) {
        ++pos_;
        --depth_;
        return JsonCheck::kValid;
      }
      if (c == '{') {
        const JsonCheck key = member_key_after_space();
        if (key != JsonCheck::kValid) return key;
      }
      return value();
    }
    if (c == '"') return string();
    if (c == '-' || is_digit(c)) return number();
    if (c == 't') return literal("true");
    if (c == 'f') return literal("false");
    if (c == 'n') return literal("null");
    return JsonCheck::kInvalid;
  }

  // `"name"` then `:` inside an object.
  JsonCheck member_key() {
    skip_space();
    return member_key_after_space();
  }
  JsonCheck member_key_after_space() {
    if (at_end()) return JsonCheck::kValidSoFar;
    if (text_[pos_] != '"') return JsonCheck::kInvalid;
    const JsonCheck name = string();
    if (name != JsonCheck::kValid) return name;
    skip_space();
    if (at_end()) return JsonCheck::kValidSoFar;
    if (text_[pos_++] != ':') return JsonCheck::kInvalid;
    return JsonCheck::kValid;
  }

  JsonCheck string() {
    ++pos_;  // the opening quote
    while (!at_end()) {
      const auto c = static_cast<unsigned char>(text_[pos_++]);
      if (c == '"') return JsonCheck::kValid;
      if (c < 0x20) return JsonCheck::kInvalid;
      if (c != '\\') continue;
      if (at_end()) return JsonCheck::kValidSoFar;
      const char escaped = text_[pos_++];
      if (escaped == 'u') {
        for (int i = 0; i < 4; ++i) {
          if (at_end()) return JsonCheck::kValidSoFar;
          if (!is_hex(text_[pos_++])) return JsonCheck::kInvalid;
        }
      } else if (std::string_view("\"\\/bfnrt").find(escaped) == std::string_view::npos) {
        return JsonCheck::kInvalid;
      }
    }
    return JsonCheck::kValidSoFar;
  }

  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?; a number cut by the end of
  // the text may go on.
  JsonCheck number() {
    if (text_[pos_] == '-') ++pos_;
    if (at_end()) return JsonCheck::kValidSoFar;
    if (text_[pos_] == '0') {
      ++pos_;
    } else if (is_digit(text_[pos_])) {
      while (!at_end() && is_digit(text_[pos_])) ++pos_;
    } else {
      return JsonCheck::kInvalid;
    }
    if (!at_end() && text_[pos_] == '.') {
      ++pos_;
      if (at_end()) return JsonCheck::kValidSoFar;
      if (!is_digit(text_[pos_])) return JsonCheck::kInvalid;
      while (!at_end() && is_digit(text_[pos_])) ++pos_;
    }
    if (!at_end() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
      if (!at_end() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
      if (at_end()) return JsonCheck::kValidSoFar;
      if (!is_digit(text_[pos_])) return JsonCheck::kInvalid;
      while (!at_end() && is_digit(text_[pos_])) ++pos_;
    }
    return JsonCheck::kValid;  // the end of the text may cut it: run() decides
  }

  JsonCheck literal(std::string_view word) {
    for (const char expected : word) {
      if (at_end()) return JsonCheck::kValidSoFar;
      if (text_[pos_++] != expected) return JsonCheck::kInvalid;
    }
    return JsonCheck::kValid;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  bool too_deep_ = false;
  std::size_t depth_ = 0;
  std::bitset<kMaxDepth> in_object_;  // per open container: an object (else an array)
};

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

JsonCheck check_json(std::string_view text, bool complete) {
  Checker checker(text);
  const JsonCheck result = checker.run(complete);
  if (checker.too_deep()) return JsonCheck::kValidSoFar;
  // Cut off inside a token or a container: fine for a prefix, not for a whole body.
  return complete && result == JsonCheck::kValidSoFar ? JsonCheck::kInvalid : result;
}

bool is_json_content_type(std::string_view content_type) {
  std::string_view type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  std::string lowered;
  for (const char c : type) lowered += lower(c);
  const std::string_view t = lowered;
  return t == "application/json" || (t.starts_with("application/") && t.ends_with("+json"));
}

}  // namespace keymux::router
