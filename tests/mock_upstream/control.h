// The /_mock/ control endpoints (no key needed): stats, reset, live faults and
// per-key overrides.
#pragma once

#include "tests/mock_upstream/http_request_parser.h"
#include "tests/mock_upstream/mock_state.h"
#include "tests/mock_upstream/reply.h"

namespace keymux::mock {

void handle_control(MockState& state, const HttpRequest& request, Reply& reply);

}  // namespace keymux::mock
