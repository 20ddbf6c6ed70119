// Every provider's backend must be a section of the HAProxy configuration that
// serves this agent, else HAProxy answers with its no-route backend for every
// request the agent sends there. Checked at start, by --check and at every
// reload, against the files the agent was given (--haproxy-config).
#pragma once

#include <string>
#include <vector>

#include "agent/config/diagnostics.h"
#include "agent/config/loader.h"

namespace keymux::config {

// Reads `haproxy_files` (HAProxy loads every -f file as one configuration)
// and reports each provider whose backend none of them defines, at the
// provider's `backend` line. Nothing to do when `haproxy_files` is empty.
void check_haproxy_backends(const Config& config, const std::vector<std::string>& haproxy_files,
                            const Environment& env, Diagnostics& diagnostics);

}  // namespace keymux::config
