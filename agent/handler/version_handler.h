// The placeholder NotifyHandler until the router exists: answers every message
// of a NOTIFY with txn.<prefix>.agent_version = the agent's version.
#pragma once

#include "agent/spop/session.h"

namespace keymux::handler {

class VersionHandler final : public spop::NotifyHandler {
 public:
  Reply on_notify(spop::Session& session, const spop::NotifyRequest& request,
                  spop::AckEncoder& ack) override;
};

}  // namespace keymux::handler
