// A "route" NOTIFY held for a shared slice on its way (state:): which frame to
// answer, when it was held and until when, and an owned copy of the request
// (the NOTIFY's bytes are gone once on_notify returns). Nothing is reserved
// for it: it is decided again from scratch.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "agent/router/decision.h"
#include "agent/spop/session.h"

namespace keymux::handler {

struct HeldRoute {
  HeldRoute(spop::Session& session, std::uint64_t stream_id, std::uint64_t frame_id,
            const router::RouteRequest& request, router::Time since, router::Time deadline);

  // The request again, its views into this copy (valid while it lives).
  router::RouteRequest request() const;

  spop::Session* session;
  std::uint64_t stream_id;
  std::uint64_t frame_id;
  router::Time since;
  router::Time deadline;

 private:
  std::string method_, path_, request_id_, body_prefix_, header_model_, content_type_;
  std::string client_token_;  // a secret: kept only while held, never logged
  std::optional<std::string> model_;
  std::uint64_t body_size_;
  std::optional<std::uint64_t> body_len_;
};

}  // namespace keymux::handler
