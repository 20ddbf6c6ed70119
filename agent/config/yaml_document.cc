#include "agent/config/yaml_document.h"

#include <yaml-cpp/eventhandler.h>

#include <sstream>
#include <string>

#include "agent/config/flow_brackets.h"

namespace keymux::config {
namespace {

Place place_of(const YAML::Mark& mark) {
  if (mark.is_null() || mark.line < 0 || mark.column < 0) return {};
  return {mark.line + 1, mark.column + 1};
}

// Notes where each document starts and ignores the rest.
class DocumentStarts : public YAML::EventHandler {
 public:
  Place last;
  void OnDocumentStart(const YAML::Mark& mark) override { last = place_of(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

}  // namespace

std::optional<YAML::Node> parse_yaml_document(std::string_view text, Diagnostics& diagnostics) {
  try {
    YAML::Node root = YAML::Load(std::string(text));
    // A second document would be silently ignored by YAML::Load. (Not
    // YAML::LoadAll: yaml-cpp 0.7 loops forever on some inputs such as ",x",
    // where each call returns an empty document without consuming anything;
    // so at most two documents are asked for here.)
    std::istringstream stream{std::string(text)};
    YAML::Parser parser(stream);
    DocumentStarts starts;
    if (parser.HandleNextDocument(starts) && parser.HandleNextDocument(starts)) {
      diagnostics.error_at(starts.last, "",
                           "more than one YAML document; a configuration is one document");
      return std::nullopt;
    }
    return root;
  } catch (const YAML::Exception& e) {
    // yaml-cpp's messages name the construct, not the text around it. A flow
    // collection left open is noticed only where the text stops making sense
    // (often the next line): point at the bracket that needs closing.
    if (e.msg.find("flow not found") != std::string::npos && e.mark.pos >= 0) {
      if (const auto open = unclosed_flow_bracket(text, static_cast<std::size_t>(e.mark.pos))) {
        diagnostics.error_at(open->place, "",
                             std::string("YAML syntax: this '") + open->bracket +
                                 "' is never closed (" + e.msg + ")");
        return std::nullopt;
      }
    }
    diagnostics.error_at(place_of(e.mark), "", "YAML syntax: " + e.msg);
    return std::nullopt;
  }
}

}  // namespace keymux::config
