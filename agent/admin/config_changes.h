// What a reload changes, said by name: "key k3 added", "key k2 changed (rpm,
// weight)". Only field names, never a value: the value may be a secret.
#pragma once

#include <string>
#include <vector>

#include "proto/keymux/config.pb.h"

namespace keymux::admin {

// Providers, keys, clients, routes (by name), the policy and the admin token,
// in that order; empty when nothing changed.
std::vector<std::string> config_changes(const config::Config& before, const config::Config& after);

}  // namespace keymux::admin
