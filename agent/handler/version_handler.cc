#include "agent/handler/version_handler.h"

#include "agent/version.h"

namespace keymux::handler {

spop::NotifyHandler::Reply VersionHandler::on_notify(spop::Session& /*session*/,
                                                     const spop::NotifyRequest& request,
                                                     spop::AckEncoder& ack) {
  const spop::TypedValue version = spop::TypedValue::of_string(kAgentVersion);
  for (std::size_t i = 0; i < request.messages.size(); ++i) {
    ack.set_var(spop::VarScope::kTransaction, "agent_version", version);
  }
  return Reply::kNow;
}

}  // namespace keymux::handler
