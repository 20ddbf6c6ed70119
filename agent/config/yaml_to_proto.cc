#include "agent/config/yaml_to_proto.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "agent/config/duration.h"
#include "agent/config/edit_distance.h"

namespace keymux::config {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

Place place_of(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.line < 0 || mark.column < 0) return {};
  return {mark.line + 1, mark.column + 1};
}

const char* kind_of(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a scalar";
    case YAML::NodeType::Null:
      return "nothing";
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

// Text from the file as shown in an error message: cut short, control bytes
// replaced (they would garble a terminal or a log line).
std::string shown(std::string_view text) {
  constexpr std::size_t kMax = 40;
  std::string out;
  for (const char c : text.substr(0, kMax)) {
    const auto byte = static_cast<unsigned char>(c);
    out += (byte < 0x20 || byte == 0x7f) ? '?' : c;
  }
  if (text.size() > kMax) out += "...";
  return out;
}

// A value quoted for an error message. Only values of number, boolean, enum
// and duration fields are ever quoted: never a string field's, so a secret
// never reaches a message.
// Built in steps: GCC 12 at -O3 warns falsely (-Wrestrict) on "\"" + std::string.
// Not named `quoted`: called with a std::string, that name also finds std::quoted
// through argument-dependent lookup (ambiguous with GCC 14's libstdc++).
std::string in_quotes(std::string_view value) {
  std::string out = "\"";
  out += shown(value);
  out += '"';
  return out;
}

std::string lower_dashes_to_underscores(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c == '-') c = '_';
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    std::uint32_t code = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      length = 2;
      code = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      length = 3;
      code = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      length = 4;
      code = c & 0x07;
    } else {
      return false;
    }
    if (i + length > text.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3F);
    }
    constexpr std::uint32_t kMinimum[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < kMinimum[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
      return false;
    }
    i += length;
  }
  return true;
}

// Decimal digits, optionally grouped with '_' ("1_000_000"), with a leading
// '-' only for signed types.
template <typename Int>
bool parse_integer(std::string_view text, Int& out) {
  std::string digits;
  bool negative = false;
  if (!text.empty() && text[0] == '-' && std::numeric_limits<Int>::is_signed) {
    negative = true;
    text.remove_prefix(1);
  }
  if (text.empty() || text.front() == '_' || text.back() == '_') return false;
  for (const char c : text) {
    if (c == '_') continue;
    if (c < '0' || c > '9') return false;
    digits += c;
  }
  if (negative) digits.insert(digits.begin(), '-');
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
  return ec == std::errc() && end == digits.data() + digits.size();
}

const char* integer_expectation(FieldDescriptor::CppType type) {
  switch (type) {
    case FieldDescriptor::CPPTYPE_INT32:
      return "expected a 32-bit integer";
    case FieldDescriptor::CPPTYPE_INT64:
      return "expected a 64-bit integer";
    case FieldDescriptor::CPPTYPE_UINT32:
      return "expected an unsigned 32-bit integer";
    default:
      return "expected an unsigned 64-bit integer";
  }
}

bool is_duration(const Descriptor* type) { return type->full_name() == "google.protobuf.Duration"; }

class Walker {
 public:
  explicit Walker(Diagnostics& diagnostics) : diagnostics_(diagnostics) {}

  void message(const YAML::Node& node, Message& message, const std::string& path) {
    if (!count(node)) return;
    if (node.IsNull()) return;
    if (!node.IsMap()) {
      diagnostics_.error_at(here(node, path), path,
                            std::string("expected a mapping (") + message.GetDescriptor()->name() +
                                " fields), got " + kind_of(node));
      return;
    }
    const Descriptor* descriptor = message.GetDescriptor();
    std::map<std::string, Place, std::less<>> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      const YAML::Node key = it->first;
      const YAML::Node value = it->second;
      if (!key.IsScalar()) {
        diagnostics_.error_at(place_of(key), path,
                              std::string("expected a field name, got ") + kind_of(key),
                              /*mark_bad=*/false);
        continue;
      }
      const std::string& name = key.Scalar();
      if (const auto first = seen.find(name); first != seen.end()) {
        diagnostics_.error_at(place_of(key), field_path(path, name),
                              "duplicate field '" + shown(name) + "' (first given at line " +
                                  std::to_string(first->second.line) + ")",
                              /*mark_bad=*/false);
        continue;
      }
      seen.emplace(name, place_of(key));
      const FieldDescriptor* field = descriptor->FindFieldByName(name);
      if (field == nullptr) {
        std::string meant;
        diagnostics_.error_at(place_of(key), path, unknown_field(descriptor, name, meant),
                              /*mark_bad=*/false);
        // A misspelt field that the mapping does not also give correctly: take it as
        // given, but bad, so that later passes do not also report it missing.
        if (!meant.empty() && !node[meant]) {
          const std::string meant_path = field_path(path, meant);
          diagnostics_.record(meant_path, place_of(key));
          diagnostics_.mark_bad(meant_path);
        }
        continue;
      }
      const std::string child = field_path(path, name);
      diagnostics_.record(child, value_place(key, value));
      this->field(value, message, field, child);
    }
  }

 private:
  // Where an error about `node` points. A null value ("name:") has no text of its
  // own: point where the walk recorded it (its key).
  Place here(const YAML::Node& node, const std::string& path) const {
    return node.IsNull() ? diagnostics_.find(path) : place_of(node);
  }

  // A null value ("name:") has no text of its own; point at its key then.
  static Place value_place(const YAML::Node& key, const YAML::Node& value) {
    const Place place = place_of(value);
    return (value.IsNull() || place.line == 0) ? place_of(key) : place;
  }

  // False once the walk has seen too many values.
  bool count(const YAML::Node& node) {
    if (visited_ < kMaxYamlValues) {
      ++visited_;
      return true;
    }
    if (!too_large_reported_) {
      too_large_reported_ = true;
      diagnostics_.error_at(place_of(node), "",
                            "configuration too large (more than " + std::to_string(kMaxYamlValues) +
                                " values, counting aliases)");
    }
    return false;
  }

  // The message for an unknown field; `meant` is set when one field is close.
  static std::string unknown_field(const Descriptor* descriptor, const std::string& name,
                                   std::string& meant) {
    std::string message =
        "unknown field '" + shown(name) + "' in " + std::string(descriptor->name());
    const std::string wanted = lower_dashes_to_underscores(name);
    std::vector<std::string> close;
    std::string all;
    for (int i = 0; i < descriptor->field_count(); ++i) {
      const std::string& candidate = descriptor->field(i)->name();
      if (close_name(wanted, candidate)) {
        close.push_back(candidate);
      }
      all += (i == 0 ? "" : ", ") + candidate;
    }
    if (close.size() == 1) meant = close[0];
    if (!close.empty()) {
      message += "; did you mean ";
      for (std::size_t i = 0; i < close.size(); ++i) {
        message += (i == 0 ? "'" : " or '") + close[i] + "'";
      }
      message += "?";
    } else {
      message += " (fields: " + all + ")";
    }
    return message;
  }

  void field(const YAML::Node& value, Message& message, const FieldDescriptor* field,
             const std::string& path) {
    const Reflection* reflection = message.GetReflection();
    if (field->is_repeated()) {
      if (!count(value)) return;
      if (value.IsNull()) return;
      if (!value.IsSequence()) {
        diagnostics_.error_at(here(value, path), path,
                              std::string("expected a list, got ") + kind_of(value));
        return;
      }
      std::size_t index = 0;
      for (const YAML::Node& element : value) {
        const std::string element_at = element_path(path, index++);
        diagnostics_.record(element_at, place_of(element));
        if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
            !is_duration(field->message_type())) {
          this->message(element, *reflection->AddMessage(&message, field), element_at);
        } else {
          scalar(element, message, field, element_at);
        }
      }
      return;
    }
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
        !is_duration(field->message_type())) {
      this->message(value, *reflection->MutableMessage(&message, field), path);
      return;
    }
    scalar(value, message, field, path);
  }

  // Sets (or, for a repeated field, adds) one scalar value.
  void scalar(const YAML::Node& node, Message& message, const FieldDescriptor* field,
              const std::string& path) {
    if (!count(node)) return;
    const std::string expectation = expected(field);
    if (!node.IsScalar()) {
      const bool missing = node.IsNull();
      diagnostics_.error_at(here(node, path), path,
                            field->name() + ": " + (missing ? "missing value, " : "") +
                                expectation +
                                (missing ? "" : std::string(", got ") + kind_of(node)));
      return;
    }
    const std::string& text = node.Scalar();
    const Reflection* reflection = message.GetReflection();
    const bool repeated = field->is_repeated();
    auto bad = [&] {
      diagnostics_.error_at(place_of(node), path,
                            field->name() + ": " + expectation + ", got " + in_quotes(text));
    };
    // An unsigned field given a negative integer: say what is allowed.
    auto bad_unsigned = [&] {
      std::int64_t negative = 0;
      if (!parse_integer(text, negative) || negative >= 0) return bad();
      diagnostics_.error_at(place_of(node), path, field->name() + ": must be ≥ 0, got " + text);
    };
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING:
        if (!valid_utf8(text)) {
          // The value is not quoted: this may be a secret.
          diagnostics_.error_at(place_of(node), path, field->name() + ": not valid UTF-8");
          return;
        }
        repeated ? reflection->AddString(&message, field, text)
                 : reflection->SetString(&message, field, text);
        return;
      case FieldDescriptor::CPPTYPE_BOOL: {
        const std::string lower = lower_dashes_to_underscores(text);
        if (lower != "true" && lower != "false") return bad();
        repeated ? reflection->AddBool(&message, field, lower == "true")
                 : reflection->SetBool(&message, field, lower == "true");
        return;
      }
      case FieldDescriptor::CPPTYPE_INT32: {
        std::int32_t v = 0;
        if (!parse_integer(text, v)) return bad();
        repeated ? reflection->AddInt32(&message, field, v)
                 : reflection->SetInt32(&message, field, v);
        return;
      }
      case FieldDescriptor::CPPTYPE_INT64: {
        std::int64_t v = 0;
        if (!parse_integer(text, v)) return bad();
        repeated ? reflection->AddInt64(&message, field, v)
                 : reflection->SetInt64(&message, field, v);
        return;
      }
      case FieldDescriptor::CPPTYPE_UINT32: {
        std::uint32_t v = 0;
        if (!parse_integer(text, v)) return bad_unsigned();
        repeated ? reflection->AddUInt32(&message, field, v)
                 : reflection->SetUInt32(&message, field, v);
        return;
      }
      case FieldDescriptor::CPPTYPE_UINT64: {
        std::uint64_t v = 0;
        if (!parse_integer(text, v)) return bad_unsigned();
        repeated ? reflection->AddUInt64(&message, field, v)
                 : reflection->SetUInt64(&message, field, v);
        return;
      }
      case FieldDescriptor::CPPTYPE_DOUBLE:
      case FieldDescriptor::CPPTYPE_FLOAT: {
        double v = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc() || end != text.data() + text.size()) return bad();
        if (field->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE) {
          repeated ? reflection->AddDouble(&message, field, v)
                   : reflection->SetDouble(&message, field, v);
        } else {
          repeated ? reflection->AddFloat(&message, field, static_cast<float>(v))
                   : reflection->SetFloat(&message, field, static_cast<float>(v));
        }
        return;
      }
      case FieldDescriptor::CPPTYPE_ENUM: {
        const EnumValueDescriptor* value = find_enum_value(field->enum_type(), text);
        if (value == nullptr) return bad();
        repeated ? reflection->AddEnum(&message, field, value)
                 : reflection->SetEnum(&message, field, value);
        return;
      }
      case FieldDescriptor::CPPTYPE_MESSAGE: {  // google.protobuf.Duration
        const auto duration = parse_duration(text);
        if (!duration) return bad();
        Message* target = repeated ? reflection->AddMessage(&message, field)
                                   : reflection->MutableMessage(&message, field);
        const Descriptor* type = target->GetDescriptor();
        const Reflection* target_reflection = target->GetReflection();
        const std::int64_t micros = duration->count();
        target_reflection->SetInt64(target, type->FindFieldByName("seconds"), micros / 1'000'000);
        target_reflection->SetInt32(target, type->FindFieldByName("nanos"),
                                    static_cast<std::int32_t>(micros % 1'000'000) * 1000);
        return;
      }
    }
  }

  // Enum values that a file may name: all but the zero "*_UNSPECIFIED" one.
  static bool nameable(const EnumValueDescriptor* value) {
    return !(value->number() == 0 && value->name().ends_with("_UNSPECIFIED"));
  }

  static const EnumValueDescriptor* find_enum_value(const EnumDescriptor* type,
                                                    std::string_view text) {
    const std::string wanted = lower_dashes_to_underscores(text);
    for (int i = 0; i < type->value_count(); ++i) {
      const EnumValueDescriptor* value = type->value(i);
      if (nameable(value) && lower_dashes_to_underscores(value->name()) == wanted) return value;
    }
    return nullptr;
  }

  static std::string expected(const FieldDescriptor* field) {
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING:
        return "expected a string";
      case FieldDescriptor::CPPTYPE_BOOL:
        return "expected true or false";
      case FieldDescriptor::CPPTYPE_INT32:
      case FieldDescriptor::CPPTYPE_INT64:
      case FieldDescriptor::CPPTYPE_UINT32:
      case FieldDescriptor::CPPTYPE_UINT64:
        return integer_expectation(field->cpp_type());
      case FieldDescriptor::CPPTYPE_DOUBLE:
      case FieldDescriptor::CPPTYPE_FLOAT:
        return "expected a number";
      case FieldDescriptor::CPPTYPE_ENUM: {
        std::string out = "expected one of ";
        bool first = true;
        const EnumDescriptor* type = field->enum_type();
        for (int i = 0; i < type->value_count(); ++i) {
          if (!nameable(type->value(i))) continue;
          std::string spelled = lower_dashes_to_underscores(type->value(i)->name());
          std::replace(spelled.begin(), spelled.end(), '_', '-');
          out += (first ? "" : ", ") + spelled;
          first = false;
        }
        return out;
      }
      case FieldDescriptor::CPPTYPE_MESSAGE:
        return "expected a duration such as 500ms, 30s, 6m0s or 1h";
    }
    return "unexpected value";
  }

  Diagnostics& diagnostics_;
  std::size_t visited_ = 0;
  bool too_large_reported_ = false;
};

}  // namespace

void yaml_to_message(const YAML::Node& root, Message& message, Diagnostics& diagnostics) {
  Walker(diagnostics).message(root, message, "");
}

}  // namespace keymux::config
