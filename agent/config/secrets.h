// Resolves each key's secret: `${NAME}` from the environment, `secret_file`
// from the file system. Afterwards `Key.secret` holds the value itself.
#pragma once

#include "agent/config/diagnostics.h"
#include "agent/config/loader.h"

namespace keymux::config {

// Reports a key without a secret, with both `secret` and `secret_file`, an
// unset variable, an unreadable file, an empty secret and a secret with a
// control character. No message contains a secret or a part of one.
void resolve_secrets(Config& config, const Environment& env, Diagnostics& diagnostics);

}  // namespace keymux::config
