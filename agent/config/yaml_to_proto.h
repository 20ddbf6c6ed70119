// Maps a YAML document onto a proto message by reflection: mappings onto
// messages by field name, sequences onto repeated fields, scalars by field
// type, enums by value name (any case, '-' for '_'), google.protobuf.Duration
// from strings such as "30s". Records the place of every value it maps.
#pragma once

#include <google/protobuf/message.h>
#include <yaml-cpp/yaml.h>

#include "agent/config/diagnostics.h"

namespace keymux::config {

// Walks at most this many YAML values (aliases may repeat a large subtree).
inline constexpr std::size_t kMaxYamlValues = 1'000'000;

// Fills `message` from `root` (a mapping, or null for an empty file). Unknown
// fields, duplicate fields and values of the wrong type are reported to
// `diagnostics` and skipped; the rest is still mapped.
void yaml_to_message(const YAML::Node& root, google::protobuf::Message& message,
                     Diagnostics& diagnostics);

}  // namespace keymux::config
