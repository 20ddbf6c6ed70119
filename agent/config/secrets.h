// Resolves each key's secret and the gateway secret (`spop`): `${NAME}` from
// the environment, `secret_file` from the file system. Afterwards
// `Key.secret` and `Spop.secret` hold the values themselves.
#pragma once

#include "agent/config/diagnostics.h"
#include "agent/config/loader.h"

namespace keymux::config {

// Reports a key without a secret, with both `secret` and `secret_file`, an
// unset variable, an unreadable file, an empty secret and a secret with a
// control character; a gateway secret that is too short or holds a character
// HAProxy's SPOE conf cannot carry. No message contains a secret or a part of one.
void resolve_secrets(Config& config, const Environment& env, Diagnostics& diagnostics);

}  // namespace keymux::config
