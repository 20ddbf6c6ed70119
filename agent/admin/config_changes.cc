#include "agent/admin/config_changes.h"

#include <google/protobuf/util/message_differencer.h>

#include <functional>
#include <map>
#include <set>
#include <string_view>

namespace keymux::admin {
namespace {

using google::protobuf::Message;
using google::protobuf::util::MessageDifferencer;

// Collects the top-level names of the fields that differ, never their values.
class FieldNames : public MessageDifferencer::Reporter {
 public:
  std::set<std::string> names;

  void ReportAdded(const Message&, const Message&,
                   const std::vector<MessageDifferencer::SpecificField>& path) override {
    note(path);
  }
  void ReportDeleted(const Message&, const Message&,
                     const std::vector<MessageDifferencer::SpecificField>& path) override {
    note(path);
  }
  void ReportModified(const Message&, const Message&,
                      const std::vector<MessageDifferencer::SpecificField>& path) override {
    note(path);
  }

 private:
  void note(const std::vector<MessageDifferencer::SpecificField>& path) {
    if (!path.empty() && path.front().field != nullptr) names.insert(path.front().field->name());
  }
};

// "" when equal, else " (a, b)" naming the fields that differ.
std::string changed_fields(const Message& before, const Message& after) {
  FieldNames names;
  MessageDifferencer differencer;
  differencer.ReportDifferencesTo(&names);
  if (differencer.Compare(before, after)) return "";
  std::string out = " (";
  for (const std::string& name : names.names) {
    out += (out.size() == 2 ? "" : ", ") + name;
  }
  return out + ")";
}

// Compares two lists of named entries: added, removed, then changed, by name.
template <typename Entry>
void compare_named(std::string_view what, const std::map<std::string, const Entry*>& before,
                   const std::map<std::string, const Entry*>& after,
                   std::vector<std::string>& out) {
  const std::string prefix = std::string(what) + " ";
  for (const auto& [name, entry] : after) {
    if (!before.contains(name)) out.push_back(prefix + name + " added");
  }
  for (const auto& [name, entry] : before) {
    if (!after.contains(name)) out.push_back(prefix + name + " removed");
  }
  for (const auto& [name, entry] : after) {
    const auto old = before.find(name);
    if (old == before.end()) continue;
    const std::string fields = changed_fields(*old->second, *entry);
    if (!fields.empty()) out.push_back(prefix + name + " changed" + fields);
  }
}

template <typename Entry, typename List>
std::map<std::string, const Entry*> by_name(const List& list,
                                            std::function<std::string(const Entry&)> name) {
  std::map<std::string, const Entry*> out;
  for (const Entry& entry : list) out.emplace(name(entry), &entry);
  return out;
}

// A provider without its keys: keys are compared on their own.
config::Provider without_keys(const config::Provider& provider) {
  config::Provider copy = provider;
  copy.clear_keys();
  return copy;
}

}  // namespace

std::vector<std::string> config_changes(const config::Config& before, const config::Config& after) {
  std::vector<std::string> out;

  std::vector<config::Provider> providers_before;
  std::vector<config::Provider> providers_after;
  for (const auto& p : before.providers()) providers_before.push_back(without_keys(p));
  for (const auto& p : after.providers()) providers_after.push_back(without_keys(p));
  const auto provider_name = [](const config::Provider& p) { return p.name(); };
  compare_named<config::Provider>("provider",
                                  by_name<config::Provider>(providers_before, provider_name),
                                  by_name<config::Provider>(providers_after, provider_name), out);

  std::map<std::string, const config::Key*> keys_before;
  std::map<std::string, const config::Key*> keys_after;
  for (const auto& p : before.providers()) {
    for (const auto& k : p.keys()) keys_before.emplace(k.id(), &k);
  }
  for (const auto& p : after.providers()) {
    for (const auto& k : p.keys()) keys_after.emplace(k.id(), &k);
  }
  compare_named<config::Key>("key", keys_before, keys_after, out);

  const auto client_name = [](const config::Client& c) { return c.name(); };
  compare_named<config::Client>("client", by_name<config::Client>(before.clients(), client_name),
                                by_name<config::Client>(after.clients(), client_name), out);

  // Routes are ordered (first match wins): any difference is one change.
  const std::string routes = changed_fields(before, after).find("routes") != std::string::npos
                                 ? std::string("routes changed")
                                 : std::string();
  if (!routes.empty()) out.push_back(routes);
  const std::string policy = changed_fields(before.policy(), after.policy());
  if (!policy.empty()) out.push_back("policy changed" + policy);
  if (before.allow_anonymous() != after.allow_anonymous()) {
    out.push_back(after.allow_anonymous() ? "anonymous access allowed"
                                          : "anonymous access no longer allowed");
  }
  if (!changed_fields(before.admin(), after.admin()).empty()) out.push_back("admin token changed");
  return out;
}

}  // namespace keymux::admin
